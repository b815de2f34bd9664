//! Every rejection is a typed error and changes nothing.

use std::sync::Mutex;

use qianbao_core::Entropy;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SerialNumber};
use rustls_pki_types::CertificateSigningRequestDer;

use super::*;

fn csr_for(alg: &'static rcgen::SignatureAlgorithm) -> CertificateSigningRequestDer<'static> {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    CertificateParams::default().serialize_request(&key).unwrap().der().clone()
}

#[tokio::test]
async fn bad_csrs_are_refused_and_nothing_is_issued() {
    let env = env().await;
    let proof = env.proof(user(1));
    // Bad signature: flip a bit of the signature value (the last bytes of the DER).
    let mut bad = env.key().csr().unwrap().to_vec();
    let n = bad.len();
    bad[n - 3] ^= 0x01;
    let err = env.ca.issue(&proof, device(1), &bad.into()).await.unwrap_err();
    assert!(matches!(err, CaError::CsrSignatureInvalid), "{err:?}");
    // Bad signature: the subject changed after signing (same length).
    let mut tampered = env.key().csr().unwrap().to_vec();
    let at = tampered.windows(7).position(|w| w == b"qianbao").unwrap();
    tampered[at] = b'Q';
    let err = env.ca.issue(&proof, device(1), &tampered.into()).await.unwrap_err();
    assert!(matches!(err, CaError::CsrSignatureInvalid), "{err:?}");
    // Wrong key types.
    for (alg, name) in [(&rcgen::PKCS_ECDSA_P384_SHA384, "P-384"), (&rcgen::PKCS_ED25519, "Ed25519")] {
        let err = env.ca.issue(&proof, device(1), &csr_for(alg)).await.unwrap_err();
        assert!(matches!(&err, CaError::UnsupportedKeyType { found } if found == name), "{err:?}");
        assert_eq!(err.code(), "unsupported_key_type");
    }
    let err = env.ca.issue(&proof, device(1), &b"\x30\x03\x02\x01\x00".to_vec().into()).await.unwrap_err();
    assert!(matches!(err, CaError::CsrMalformed(_)));
    assert!(env.ca.list(user(1)).await.unwrap().is_empty());
}

#[tokio::test]
async fn identity_proofs_must_be_fresh_and_for_the_same_user() {
    let env = env().await;
    let csr = env.key().csr().unwrap();
    let old = IdentityProof::new(user(1), env.now(), IdentityProofMethod::SmsCodeAndPaymentPassword);
    env.clock.advance(Duration::from_secs(301));
    assert!(matches!(env.ca.issue(&old, device(1), &csr).await, Err(CaError::IdentityProofStale { .. })));
    assert!(matches!(env.ca.reissue(&old, device(1), &csr).await, Err(CaError::IdentityProofStale { .. })));
    let (_, issued) = env.issue(user(1), device(1)).await;
    // The device is bound to user 1: user 2 cannot take it over, by issue or reissue.
    let p2 = env.proof(user(2));
    assert!(matches!(env.ca.issue(&p2, device(1), &csr).await, Err(CaError::DeviceBoundToAnotherUser)));
    assert!(matches!(env.ca.reissue(&p2, device(1), &csr).await, Err(CaError::DeviceBoundToAnotherUser)));
    // One active certificate per device.
    let err = env.ca.issue(&env.proof(user(1)), device(1), &csr).await.unwrap_err();
    assert!(matches!(err, CaError::DeviceHasActiveCertificate(s) if s == issued.record.serial));
    assert!(!err.is_rejection());
    env.ca.verify_certificate(&issued.certificate()).await.unwrap();
}

#[tokio::test]
async fn revoked_superseded_and_expired_certificates_are_refused() {
    let env = env().await;
    let (key, a) = env.issue(user(1), device(1)).await;
    let (_, b) = env.issue(user(2), device(2)).await;
    env.ca.revoke(b.record.serial, RevocationReason::PrivilegeWithdrawn).await.unwrap();
    assert!(matches!(
        env.ca.verify_certificate(&b.certificate()).await,
        Err(CaError::CertificateRevoked { reason: RevocationReason::PrivilegeWithdrawn, .. })
    ));
    assert!(matches!(
        env.ca.revoke(b.record.serial, RevocationReason::KeyCompromise).await,
        Err(CaError::AlreadyRevoked(_))
    ));
    let unknown = CertSerial::from_bytes([1; 16]).unwrap();
    assert!(matches!(env.ca.revoke(unknown, RevocationReason::KeyCompromise).await, Err(CaError::NotFound(_))));
    env.clock.advance(340 * DAY);
    let renewed = env.renew(&key, &a).await.unwrap();
    env.clock.advance(Duration::from_secs(3600));
    assert!(matches!(env.ca.verify_certificate(&a.certificate()).await, Err(CaError::CertificateSuperseded { .. })));
    // A superseded certificate cannot be renewed again.
    assert!(matches!(env.renew(&key, &a).await, Err(CaError::NotActive(_))));
    env.clock.advance(400 * DAY);
    assert!(matches!(env.ca.verify_certificate(&renewed.certificate()).await, Err(CaError::CertificateExpired)));
    assert!(matches!(env.renew(&key, &renewed).await, Err(CaError::CertificateExpired)));
}

#[tokio::test]
async fn renewal_needs_the_window_and_a_valid_proof() {
    let env = env().await;
    let (key, a) = env.issue(user(1), device(1)).await;
    assert!(matches!(env.renew(&key, &a).await, Err(CaError::RenewalNotOpen { .. })));
    env.clock.advance(340 * DAY);
    let csr = key.csr().unwrap();
    // Signed by another key.
    let other = env.key();
    let at = env.now();
    let proof = RenewalProof::Signature { signed_at: at, signature: other.sign_renewal(a.record.serial, &csr, at) };
    assert!(matches!(env.ca.renew(a.record.serial, &proof, &csr).await, Err(CaError::RenewalProofInvalid(_))));
    // A proof for another CSR.
    let proof = RenewalProof::Signature {
        signed_at: at,
        signature: key.sign_renewal(a.record.serial, &other.csr().unwrap(), at),
    };
    assert!(matches!(env.ca.renew(a.record.serial, &proof, &csr).await, Err(CaError::RenewalProofInvalid(_))));
    // A stale proof.
    let old_at = at.saturating_sub(Duration::from_secs(600));
    let proof =
        RenewalProof::Signature { signed_at: old_at, signature: key.sign_renewal(a.record.serial, &csr, old_at) };
    assert!(matches!(env.ca.renew(a.record.serial, &proof, &csr).await, Err(CaError::RenewalProofInvalid(_))));
    // mTLS with another certificate.
    let (_, b) = env.issue(user(2), device(2)).await;
    let proof = RenewalProof::MutualTls { certificate: b.certificate() };
    assert!(matches!(env.ca.renew(a.record.serial, &proof, &csr).await, Err(CaError::RenewalProofInvalid(_))));
    assert_eq!(env.ca.list(user(1)).await.unwrap().len(), 1);
    let usage = env.ca.usage_for_certificate(a.record.serial, 10).await.unwrap();
    assert!(usage.iter().any(|u| u.event.failure.as_deref() == Some("renewal_proof_invalid")));
}

#[tokio::test]
async fn orders_that_are_replayed_stale_tampered_or_misattributed_are_refused() {
    let env = env().await;
    let (key, a) = env.issue(user(1), device(1)).await;
    let cert = a.certificate();
    let signed = key.sign_order(env.order(user(1), 100)).unwrap();
    env.ca.verify_order(&cert, &signed).await.unwrap();
    assert!(matches!(env.ca.verify_order(&cert, &signed).await, Err(CaError::NonceReplayed)));
    // Tampered: the amount changed after signing.
    let mut tampered = key.sign_order(env.order(user(1), 100)).unwrap();
    tampered.order.amount = Money::from_minor(100_000, Currency::CNY);
    assert!(matches!(env.ca.verify_order(&cert, &tampered).await, Err(CaError::OrderSignatureInvalid)));
    // Signed by a key that is not the certificate's.
    let forged = env.key().sign_order(env.order(user(1), 100)).unwrap();
    assert!(matches!(env.ca.verify_order(&cert, &forged).await, Err(CaError::OrderSignatureInvalid)));
    // The payer is not the certificate's user.
    let other_payer = key.sign_order(env.order(user(2), 100)).unwrap();
    assert!(matches!(env.ca.verify_order(&cert, &other_payer).await, Err(CaError::PayerMismatch)));
    // Stale, and too far in the future.
    let stale = key.sign_order(env.order(user(1), 100)).unwrap();
    env.clock.advance(Duration::from_secs(301));
    assert!(matches!(env.ca.verify_order(&cert, &stale).await, Err(CaError::OrderStale { window_secs: 300 })));
    let mut future = env.order(user(1), 100);
    future.signed_at = env.now().saturating_add(Duration::from_secs(60));
    let future = key.sign_order(future).unwrap();
    assert!(matches!(env.ca.verify_order(&cert, &future).await, Err(CaError::OrderStale { .. })));
    // The tampered order's nonce was not consumed: the genuine one still goes through once.
    let mut genuine = tampered.clone();
    genuine.order.amount = Money::from_minor(100, Currency::CNY);
    genuine.order.signed_at = env.now();
    let genuine = key.sign_order(genuine.order).unwrap();
    env.ca.verify_order(&cert, &genuine).await.unwrap();
    // Wire decoding refuses garbage.
    assert!(matches!(SignedOrder::from_bytes(b"QBPO"), Err(CaError::OrderMalformed(_))));
}

#[tokio::test]
async fn a_certificate_from_a_foreign_ca_is_refused() {
    let env = env().await;
    let foreign = env_with(Database::open_in_memory().unwrap(), CaConfig::default(), env.now(), 99).await;
    let (key, theirs) = foreign.issue(user(1), device(1)).await;
    assert!(matches!(env.ca.verify_certificate(&theirs.certificate()).await, Err(CaError::UnknownIssuer)));
    let signed = key.sign_order(env.order(user(1), 1)).unwrap();
    assert!(matches!(env.ca.verify_order(&theirs.certificate(), &signed).await, Err(CaError::UnknownIssuer)));
    assert!(matches!(
        env.ca.verify_certificate(&b"garbage".to_vec().into()).await,
        Err(CaError::CertificateMalformed(_))
    ));
}

/// A custody that remembers the signers it hands out, so a test can forge certificates with the real
/// issuing key (a stand-in for a compromised or buggy signer).
#[derive(Debug)]
struct LeakyCustody {
    inner: LocalKeyCustody,
    leaked: Mutex<Vec<(String, Arc<dyn CaSigner>)>>,
}

impl KeyCustody for LeakyCustody {
    fn create_key(&self, label: &str, entropy: &dyn Entropy) -> Result<(Arc<dyn CaSigner>, KeyHandle), CaError> {
        let (s, h) = self.inner.create_key(label, entropy)?;
        self.leaked.lock().unwrap().push((label.to_string(), s.clone()));
        Ok((s, h))
    }

    fn open_key(&self, label: &str, handle: &KeyHandle) -> Result<Arc<dyn CaSigner>, CaError> {
        self.inner.open_key(label, handle)
    }
}

#[tokio::test]
async fn certificates_without_the_client_auth_eku_are_refused_even_from_our_issuing_ca() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let entropy = Arc::new(SeededEntropy::new(5));
    let custody = Arc::new(LeakyCustody {
        inner: LocalKeyCustody::new(KeyEncryptionKey::new(&[1; 32]).unwrap()),
        leaked: Mutex::new(Vec::new()),
    });
    let store = CaDb::open(Database::open_in_memory().unwrap()).await.unwrap();
    let ca = CertificateAuthority::open(store, custody.clone(), CaConfig::default(), clock.clone(), entropy.clone())
        .await
        .unwrap();
    let signer = custody.leaked.lock().unwrap().iter().find(|(l, _)| l == "issuing-1").unwrap().1.clone();
    let issuing = ca.issuing_certificates()[0].clone();
    let issuer = Issuer::from_ca_cert_der(&issuing, signer.as_ref()).unwrap();
    let device_key = DeviceKey::generate(entropy.as_ref());
    let forge = |ekus: Vec<ExtendedKeyUsagePurpose>| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.serial_number = Some(SerialNumber::from_slice(&CertSerial::random(entropy.as_ref()).to_bytes()));
        p.not_before = Timestamp::from_unix_secs(START - 60).to_datetime();
        p.not_after = Timestamp::from_unix_secs(START + 86_400).to_datetime();
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = ekus;
        p.use_authority_key_identifier_extension = true;
        p.signed_by(&device_key, &issuer).unwrap().der().clone()
    };
    let no_eku = forge(vec![]);
    let server_only = forge(vec![ExtendedKeyUsagePurpose::ServerAuth]);
    assert!(matches!(ca.verify_certificate(&no_eku).await, Err(CaError::WrongKeyUsage)));
    assert!(matches!(ca.verify_certificate(&server_only).await, Err(CaError::WrongKeyUsage)));
    // The right EKU but never recorded: not ours to honour.
    let unrecorded = forge(vec![ExtendedKeyUsagePurpose::ClientAuth]);
    assert!(matches!(ca.verify_certificate(&unrecorded).await, Err(CaError::UnknownCertificate)));
    // The pure check agrees.
    let anchor = webpki::anchor_from_trusted_cert(&ca.root_certificate()).unwrap().to_owned();
    let now = clock.now();
    assert!(matches!(
        verify_client_chain(&no_eku, &anchor, std::slice::from_ref(&issuing), now),
        Err(CaError::WrongKeyUsage)
    ));
    assert!(verify_client_chain(&unrecorded, &anchor, &[issuing], now).is_ok());
}
