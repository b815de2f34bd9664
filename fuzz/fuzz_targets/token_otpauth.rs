//! otpauth:// URI parsing: whatever parses renders to a URI that parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_token::OtpAuthUri;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(u) = OtpAuthUri::parse(s) {
            assert_eq!(OtpAuthUri::parse(&u.to_uri()).ok(), Some(u));
        }
    }
});
