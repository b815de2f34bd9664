//! The issued certificate and CRL against RFC 5280, rustls-webpki (always) and OpenSSL's command line
//! (when installed).

use std::path::Path;
use std::process::Command;

use rustls_pki_types::CertificateRevocationListDer;
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::prelude::*;

use super::*;

#[tokio::test]
async fn the_device_certificate_follows_the_rfc5280_client_profile() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    let (rest, cert) = X509Certificate::from_der(&issued.record.der).unwrap();
    assert!(rest.is_empty());
    assert_eq!(cert.version(), X509Version::V3);
    let serial = cert.raw_serial();
    assert_eq!(serial.len(), 16);
    assert!(serial[0] != 0 && serial[0] & 0x80 == 0);
    assert_eq!(serial, issued.record.serial.to_bytes());
    assert_eq!(cert.signature_algorithm.algorithm, x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256);
    assert_eq!(cert.public_key().subject_public_key.data.as_ref(), key.public_point());
    assert_eq!(cert.validity().not_before.timestamp() as u64, START - 300);
    assert_eq!(cert.validity().not_after.timestamp() as u64, START + 365 * 86_400);
    let subject = cert.subject().to_string();
    assert!(subject.contains(&format!("CN={}", user(1))), "{subject}");
    assert!(subject.contains("O=qianbao"), "{subject}");
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && !bc.value.ca);
    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.digital_signature() && !ku.value.key_cert_sign() && !ku.value.crl_sign());
    let eku = cert.extended_key_usage().unwrap().unwrap();
    assert!(eku.value.client_auth && !eku.value.server_auth && !eku.value.any);
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names, vec![GeneralName::URI(&binding_uri(user(1), device(1)))]);
    assert_eq!(parse_binding_uri(&binding_uri(user(1), device(1))), Some((user(1), device(1))));
    let ski = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap();
    assert!(!ski.is_empty());
    let aki = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
            _ => None,
        })
        .unwrap();
    let (_, issuer) = X509Certificate::from_der(&issued.issuer_der).unwrap();
    let issuer_ski = issuer
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap();
    assert_eq!(aki, issuer_ski);
    assert_eq!(cert.issuer(), issuer.subject());
    assert!(issuer.basic_constraints().unwrap().unwrap().value.ca);
    // Every extension is one we meant to write.
    assert_eq!(cert.extensions().len(), 6);
}

#[tokio::test]
async fn webpki_verifies_the_chain_and_the_crl() {
    let env = env().await;
    let (_, good) = env.issue(user(1), device(1)).await;
    let (_, bad) = env.issue(user(2), device(2)).await;
    env.ca.revoke(bad.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    let crl = env.ca.crl().await.unwrap();
    let crl_der = CertificateRevocationListDer::from(crl.der.clone());
    let borrowed = BorrowedCertRevocationList::from_der(&crl_der).unwrap();
    let list = CertRevocationList::from(borrowed);
    let entry = list.find_serial(&bad.record.serial.to_bytes()).unwrap().unwrap();
    assert_eq!(entry.reason_code, Some(webpki::RevocationReason::KeyCompromise));
    assert!(list.find_serial(&good.record.serial.to_bytes()).unwrap().is_none());
    let crls = [&list];
    let root = env.ca.root_certificate();
    let anchor = webpki::anchor_from_trusted_cert(&root).unwrap();
    let intermediates = env.ca.issuing_certificates();
    let time = rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(env.now().unix_secs()));
    let check = |der: &rustls_pki_types::CertificateDer<'_>| {
        let ee = EndEntityCert::try_from(der).unwrap();
        let revocation = RevocationOptionsBuilder::new(&crls)
            .unwrap()
            .with_depth(RevocationCheckDepth::EndEntity)
            .with_status_policy(UnknownStatusPolicy::Deny)
            .with_expiration_policy(ExpirationPolicy::Enforce)
            .build();
        ee.verify_for_usage(
            &[webpki::ring::ECDSA_P256_SHA256],
            std::slice::from_ref(&anchor),
            &intermediates,
            time,
            KeyUsage::client_auth(),
            Some(revocation),
            None,
        )
        .map(|_| ())
    };
    check(&good.certificate()).unwrap();
    assert_eq!(check(&bad.certificate()), Err(webpki::Error::CertRevoked));
}

fn openssl() -> Option<&'static str> {
    Command::new("openssl").arg("version").output().ok().filter(|o| o.status.success()).map(|_| "openssl")
}

fn run(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn openssl_verifies_the_certificate_and_crl() {
    let Some(_) = openssl() else {
        eprintln!("openssl skipped: the openssl command line is not installed");
        return;
    };
    let env = env().await;
    let (_, good) = env.issue(user(1), device(1)).await;
    let (_, bad) = env.issue(user(2), device(2)).await;
    env.ca.revoke(bad.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    let crl = env.ca.crl().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), env.ca.chain_pem()).unwrap();
    std::fs::write(dir.path().join("client.pem"), good.pem()).unwrap();
    std::fs::write(dir.path().join("revoked.pem"), bad.pem()).unwrap();
    std::fs::write(dir.path().join("crl.pem"), crl.pem()).unwrap();
    let at = env.now().unix_secs().to_string();
    let verify = |file: &str| {
        run(
            &[
                "verify",
                "-attime",
                &at,
                "-purpose",
                "sslclient",
                "-x509_strict",
                "-CAfile",
                "ca.pem",
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                file,
            ],
            dir.path(),
        )
    };
    let (ok, text) = verify("client.pem");
    assert!(ok && text.contains("client.pem: OK"), "{text}");
    let (ok, text) = verify("revoked.pem");
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (ok, text) = run(&["x509", "-in", "client.pem", "-noout", "-text"], dir.path());
    assert!(ok, "{text}");
    for needle in [
        "TLS Web Client Authentication",
        "CA:FALSE",
        "Digital Signature",
        "URI:urn:qianbao:user:",
        "ecdsa-with-SHA256",
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier",
        "NIST CURVE: P-256",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let (ok, text) = run(&["crl", "-in", "crl.pem", "-noout", "-text", "-CAfile", "ca.pem"], dir.path());
    assert!(ok && text.contains("verify OK"), "{text}");
    let serial_hex = bad.record.serial.to_string().to_uppercase();
    for needle in ["X509v3 CRL Number", "Key Compromise", "Next Update", &serial_hex, "X509v3 Authority Key Identifier"]
    {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
