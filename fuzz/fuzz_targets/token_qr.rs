//! QR-confirmation payload and one-time-code parsing: whatever parses renders back canonically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_token::OneTimeCode;
use qianbao_token::qr::{parse_qr_payload, qr_payload};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(n) = parse_qr_payload(s) {
            assert_eq!(qr_payload(&n), s.trim());
        }
        if let Ok(c) = OneTimeCode::parse(s) {
            assert_eq!(c.expose(), s.trim());
        }
    }
});
