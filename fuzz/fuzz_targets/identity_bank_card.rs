//! Bank card numbers: any input either parses to canonical digits or is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_identity::BankCardNumber;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(card) = BankCardNumber::parse(s)
    {
        assert_eq!(BankCardNumber::parse(card.expose()).ok(), Some(card.clone()));
        assert!((12..=19).contains(&card.expose().len()));
        let _ = (card.scheme(), card.masked(), card.last4());
    }
});
