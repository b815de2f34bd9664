//! Bearer-token and x5t#S256 parsing: whatever parses is canonical (renders back to the same bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qianbao_token::{BearerToken, CertThumbprint};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = BearerToken::parse(s) {
            assert_eq!(t.expose(), s);
        }
        if let Ok(c) = CertThumbprint::from_x5t_s256(s) {
            assert_eq!(c.to_x5t_s256(), s);
        }
    }
});
