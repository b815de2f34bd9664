//! CSR intake: any bytes either become a P-256 device key or a typed refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = qianbao_ca::parse_device_csr(data) {
        assert_eq!(key.sec1()[0], 0x04);
        assert_eq!(qianbao_ca::parse_device_csr(data).ok(), Some(key));
    }
});
