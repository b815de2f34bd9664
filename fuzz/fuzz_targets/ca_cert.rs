//! Certificate parsing and chain verification against a fixed root: never a panic, and nothing that a
//! fuzzer can make verifies (it cannot sign with the root's key).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use qianbao_core::Timestamp;
use rustls_pki_types::{CertificateDer, TrustAnchor};

/// A root with no issuing CA: a chain to it needs a signature by its key, which the fuzzer lacks.
fn anchor() -> &'static TrustAnchor<'static> {
    static ANCHOR: OnceLock<TrustAnchor<'static>> = OnceLock::new();
    ANCHOR.get_or_init(|| TrustAnchor {
        subject: b"\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x0c\x02qb".to_vec().into(),
        subject_public_key_info: b"\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
            .to_vec()
            .into(),
        name_constraints: None,
    })
}

fuzz_target!(|data: &[u8]| {
    let der = CertificateDer::from(data);
    let now = Timestamp::from_unix_secs(1_800_000_000);
    assert!(qianbao_ca::verify_client_chain(&der, anchor(), &[], now).is_err());
});
