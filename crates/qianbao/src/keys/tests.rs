use super::*;

#[test]
fn master_secret_derives_stable_independent_keys() {
    let a = WalletKeys::from_master_secret(&[1u8; 32]).unwrap();
    let b = WalletKeys::from_master_secret(&[1u8; 32]).unwrap();
    let c = WalletKeys::from_master_secret(&[2u8; 32]).unwrap();
    let d = |k: &DigestKey| k.digest("probe", b"x");
    assert_eq!(d(&a.digest), d(&b.digest));
    assert_eq!(d(&a.token), d(&b.token));
    assert_ne!(d(&a.digest), d(&c.digest));
    // The sub-keys differ from each other and from the ticket key.
    let all = [d(&a.digest), d(&a.token), d(&a.qr_signing), d(&a.ticket_key().unwrap())];
    for i in 0..all.len() {
        for j in i + 1..all.len() {
            assert_ne!(all[i], all[j], "keys {i} and {j} coincide");
        }
    }
    assert_eq!(a.identity_sealing.id(), DERIVED_SEALING_KEY_ID);
    assert!(WalletKeys::from_master_secret(&[1u8; 31]).is_err());
    assert_eq!(format!("{a:?}"), "WalletKeys([REDACTED])");
}

#[test]
fn explicit_keys_replace_derived_ones() {
    let a = WalletKeys::from_master_secret(&[1u8; 32]).unwrap();
    let before = a.token.digest("probe", b"x");
    let b = a.with_token_key(DigestKey::new(&[9u8; 32]).unwrap());
    assert_ne!(before, b.token.digest("probe", b"x"));
    assert_eq!(b.token.digest("probe", b"x"), DigestKey::new(&[9u8; 32]).unwrap().digest("probe", b"x"));
}
