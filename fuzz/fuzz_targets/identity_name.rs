//! Real names (and payment passwords): any input either parses canonically or is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_identity::{PaymentPassword, PaymentPasswordContext, RealName};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(name) = RealName::parse(s) {
            assert_eq!(RealName::parse(name.expose()).ok(), Some(name.clone()));
            let _ = name.masked();
        }
        if let Ok(p) = PaymentPassword::parse(s) {
            let _ = p.check_not_trivial(&PaymentPasswordContext::default());
        }
    }
});
