use super::*;

fn key() -> TicketKey {
    TicketKey::new(DigestKey::new(&[3; 32]).unwrap(), Duration::from_secs(600))
}

fn claims() -> Claims {
    let mut c = Claims::new(TicketKind::ContactChange, UserId::from_u128(7), Timestamp::from_unix_secs(1_000));
    c.flags = 0b101;
    c.device = Some(DeviceId::from_u128(9));
    c.refs = [Some(Id128::from_u128(11)), None];
    c.digests = [None, Some([5; 32])];
    c
}

#[test]
fn round_trip_and_binding() {
    let k = key();
    let c = claims();
    let t = k.sign(&c);
    let now = Timestamp::from_unix_secs(1_100);
    assert_eq!(k.open(&t, TicketKind::ContactChange, Some(c.user), now).unwrap(), c);
    assert_eq!(k.open(&t, TicketKind::ContactChange, None, now).unwrap(), c);
    let wrong_kind = k.open(&t, TicketKind::Registration, None, now);
    assert!(matches!(wrong_kind, Err(WalletError::TicketInvalid)));
    let wrong_user = k.open(&t, TicketKind::ContactChange, Some(UserId::from_u128(8)), now);
    assert!(matches!(wrong_user, Err(WalletError::TicketInvalid)));
    assert!(!format!("{t:?}").contains(t.as_str()));
}

#[test]
fn expired_tampered_and_foreign_tickets_are_refused() {
    let k = key();
    let t = k.sign(&claims());
    let late = Timestamp::from_unix_secs(1_000 + 601);
    assert!(matches!(k.open(&t, TicketKind::ContactChange, None, late), Err(WalletError::TicketExpired)));
    let early = Timestamp::from_unix_secs(900);
    assert!(matches!(k.open(&t, TicketKind::ContactChange, None, early), Err(WalletError::TicketExpired)));
    let now = Timestamp::from_unix_secs(1_001);
    let mut bytes = BASE64URL_NOPAD.decode(t.as_str().as_bytes()).unwrap();
    bytes[10] ^= 1;
    let tampered = FlowTicket::new(BASE64URL_NOPAD.encode(&bytes));
    assert!(matches!(k.open(&tampered, TicketKind::ContactChange, None, now), Err(WalletError::TicketInvalid)));
    let other = TicketKey::new(DigestKey::new(&[4; 32]).unwrap(), Duration::from_secs(600));
    assert!(matches!(other.open(&t, TicketKind::ContactChange, None, now), Err(WalletError::TicketInvalid)));
    for junk in ["", "not base64!", "AAAA"] {
        let j = FlowTicket::new(junk);
        assert!(matches!(k.open(&j, TicketKind::ContactChange, None, now), Err(WalletError::TicketInvalid)));
    }
}
