#![no_main]
use libfuzzer_sys::fuzz_target;
use qianbao_core::{Email, PhoneNumber};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = PhoneNumber::parse(s) {
            assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p));
        }
        if let Ok(e) = Email::parse(s) {
            assert_eq!(Email::parse(e.as_str()), Ok(e));
        }
    }
});
