//! Payment-code parsing: whatever parses is 18 digits and renders back to them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_token::PaymentCode;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = PaymentCode::parse(s) {
            let digits: String = s.chars().filter(|c| *c != ' ').collect();
            assert_eq!(c.to_string(), digits);
            assert_eq!(PaymentCode::parse(&digits).ok(), Some(c));
        }
    }
});
