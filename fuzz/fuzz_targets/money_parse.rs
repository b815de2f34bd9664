#![no_main]
use libfuzzer_sys::fuzz_target;
use qianbao_core::{Currency, Money};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for c in Currency::ALL {
            if let Ok(m) = Money::parse(s, c) {
                assert_eq!(Money::parse(&m.to_decimal_string(), c), Ok(m));
            }
        }
    }
});
