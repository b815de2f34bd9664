//! The fuzz targets' corpora (`fuzz/corpus/ca_*`) run through the same checks as the fuzz targets.

use std::path::PathBuf;

use super::*;

/// Every file of a fuzz target's corpus, as bytes.
fn corpus(name: &str) -> Vec<Vec<u8>> {
    qianbao_store::testing::fuzz_corpus(name).into_iter().map(|(_, bytes)| bytes).collect()
}

#[test]
fn ca_csr_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for input in corpus("ca_csr") {
        if let Ok(key) = parse_device_csr(&input) {
            assert_eq!(key.sec1()[0], 0x04);
            assert_eq!(parse_device_csr(&input).unwrap(), key);
            accepted += 1;
        }
    }
    assert_eq!(accepted, 2, "exactly the two valid P-256 CSR seeds (rcgen's and openssl's) are accepted");
    // The named seeds made with the openssl command line are refused for the right reason.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/ca_csr");
    let named = |name: &str| parse_device_csr(&std::fs::read(dir.join(name)).unwrap());
    assert!(named("openssl_p256").is_ok());
    assert!(matches!(named("openssl_p256_compressed_point"), Err(CaError::UnsupportedKeyType { .. })));
    assert!(matches!(named("openssl_secp256k1"), Err(CaError::UnsupportedKeyType { .. })));
    assert!(matches!(named("openssl_p256_sha384"), Err(CaError::CsrSignatureInvalid)));
}

#[tokio::test]
async fn ca_cert_corpus_holds_the_fuzz_properties() {
    let env = env().await;
    let root = env.ca.root_certificate();
    let anchor = webpki::anchor_from_trusted_cert(&root).unwrap();
    let intermediates = env.ca.issuing_certificates();
    for input in corpus("ca_cert") {
        let der = rustls_pki_types::CertificateDer::from(input.clone());
        // None of the seeds is ours: every one is refused, none panics.
        assert!(verify_client_chain(&der, &anchor, &intermediates, env.now()).is_err());
        let err = env.ca.verify_certificate(&der).await.unwrap_err();
        assert!(err.is_rejection(), "{err:?}");
    }
}

#[test]
fn ca_order_corpus_holds_the_fuzz_properties() {
    let mut accepted = 0;
    for input in corpus("ca_order") {
        if let Ok(o) = SignedOrder::from_bytes(&input) {
            assert_eq!(o.to_bytes().unwrap(), input, "decoding is canonical");
            accepted += 1;
        }
        if input.len() >= ORDER_LEN
            && let Ok(o) = PaymentOrder::decode(&input[..ORDER_LEN])
        {
            assert_eq!(o.encode().unwrap().as_slice(), &input[..ORDER_LEN]);
        }
    }
    assert_eq!(accepted, 1);
}
