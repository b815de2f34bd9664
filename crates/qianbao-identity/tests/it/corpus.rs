//! The fuzz targets' corpora (`fuzz/corpus/identity_*`) run through the same checks as the fuzz targets.

use super::*;

/// Every file of a fuzz target's corpus, as bytes.
fn corpus(name: &str) -> Vec<Vec<u8>> {
    qianbao_store::testing::fuzz_corpus(name).into_iter().map(|(_, bytes)| bytes).collect()
}

#[test]
fn identity_resident_id_corpus_holds_the_fuzz_properties() {
    let today = Timestamp::from_unix_secs(START);
    let mut accepted = 0;
    for input in corpus("identity_resident_id") {
        let Ok(s) = std::str::from_utf8(&input) else { continue };
        if let Ok(id) = ResidentId::parse(s, today) {
            assert_eq!(ResidentId::parse(id.expose(), today).unwrap(), id);
            assert_eq!(id.masked().chars().count(), 18);
            accepted += 1;
        }
    }
    assert!(accepted >= 2, "the published valid numbers are in the corpus");
}

#[test]
fn identity_bank_card_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for input in corpus("identity_bank_card") {
        let Ok(s) = std::str::from_utf8(&input) else { continue };
        if let Ok(c) = BankCardNumber::parse(s) {
            assert_eq!(BankCardNumber::parse(c.expose()).unwrap(), c);
            assert!((12..=19).contains(&c.expose().len()));
            accepted += 1;
        }
    }
    assert!(accepted >= 2);
}

#[test]
fn identity_name_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for input in corpus("identity_name") {
        let Ok(s) = std::str::from_utf8(&input) else { continue };
        if let Ok(n) = RealName::parse(s) {
            assert_eq!(RealName::parse(n.expose()).unwrap(), n);
            accepted += 1;
        }
        let _ = PaymentPassword::parse(s);
    }
    assert!(accepted >= 2);
}
