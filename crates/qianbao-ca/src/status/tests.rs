use super::*;

const TTL: Duration = Duration::from_secs(5);
const GRACE: Duration = Duration::from_secs(600);

fn serial(n: u8) -> CertSerial {
    CertSerial::from_bytes([n; 16]).unwrap()
}

fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(1_800_000_000 + secs)
}

fn revoked(at: u64) -> CertStatus {
    CertStatus::Revoked { at: t(at), reason: crate::RevocationReason::KeyCompromise }
}

#[test]
fn a_stale_active_read_never_overwrites_a_revocation() {
    let book = StatusBook::new(10, TTL, GRACE);
    let s = serial(1);
    let not_after = t(86_400);
    // A reader saw "active" at t=0, a revocation landed at t=1, then the reader's note arrives late.
    book.note(s, CertStatus::Active, not_after, t(0));
    book.note(s, revoked(1), not_after, t(1));
    book.note(s, CertStatus::Active, not_after, t(2));
    assert_eq!(book.lookup(s, t(2)), Some(revoked(1)));
    // Revocation is final: long after the TTL it is still known, without a store read.
    assert_eq!(book.lookup(s, t(3_600)), Some(revoked(1)));
    assert!(book.check_known(s, t(3)).is_err());
}

#[test]
fn superseded_never_goes_back_to_active_and_revoked_never_back_to_superseded() {
    let book = StatusBook::new(10, TTL, GRACE);
    let s = serial(2);
    let sup = CertStatus::Superseded { at: t(10), by: serial(3) };
    book.note(s, sup, t(86_400), t(10));
    book.note(s, CertStatus::Active, t(86_400), t(11));
    assert_eq!(book.lookup(s, t(11)), Some(sup));
    book.note(s, revoked(12), t(86_400), t(12));
    book.note(s, sup, t(86_400), t(13));
    assert_eq!(book.lookup(s, t(13)), Some(revoked(12)));
}

#[test]
fn active_and_superseded_within_grace_are_read_again_after_the_ttl() {
    let book = StatusBook::new(10, TTL, GRACE);
    let (a, b) = (serial(4), serial(5));
    book.note(a, CertStatus::Active, t(86_400), t(0));
    assert_eq!(book.lookup(a, t(5)), Some(CertStatus::Active));
    assert_eq!(book.lookup(a, t(6)), None);
    let sup = CertStatus::Superseded { at: t(0), by: a };
    book.note(b, sup, t(86_400), t(0));
    assert_eq!(book.lookup(b, t(6)), None, "within the grace another instance may have revoked it");
    assert_eq!(book.lookup(b, t(600)), Some(sup), "past the grace superseded is final");
    assert!(book.check_known(b, t(599)).is_ok());
    assert!(book.check_known(b, t(600)).is_err());
}

#[test]
fn a_full_active_map_is_emptied_but_revocations_are_kept_until_expiry() {
    let book = StatusBook::new(2, TTL, GRACE);
    book.note(serial(9), revoked(0), t(100), t(0));
    for n in 10..20 {
        book.note(serial(n), CertStatus::Active, t(100), t(0));
    }
    assert_eq!(book.lookup(serial(9), t(1)), Some(revoked(0)));
    book.merge(&[], t(100));
    assert_eq!(book.inactive_len(), 1, "kept through its notAfter");
    book.merge(&[], t(101));
    assert_eq!(book.inactive_len(), 0, "dropped once expired");
}

#[test]
fn racing_notes_from_many_threads_end_revoked() {
    let book = Arc::new(StatusBook::new(1_000, TTL, GRACE));
    let s = serial(7);
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            let book = book.clone();
            std::thread::spawn(move || {
                for k in 0..500u64 {
                    if i == 0 && k == 250 {
                        book.note(s, revoked(1), t(86_400), t(1));
                    } else {
                        book.note(s, CertStatus::Active, t(86_400), t(k % 3));
                    }
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    assert_eq!(book.lookup(s, t(2)), Some(revoked(1)));
}
