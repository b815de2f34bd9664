//! Verification of presented device certificates with rustls-webpki (ring): chain to our root through
//! an issuing CA, validity at the given time, and the clientAuth extended key usage — required to be
//! *present* (webpki's `KeyUsage::client_auth()` would also accept a certificate with no EKU at all).
//! Status is not checked here: it comes from our own records.

use std::time::Duration;

use qianbao_core::Timestamp;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::CaError;
use crate::record::{CertSerial, CertificateRecord};

/// The only signature algorithm in our chains.
static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[webpki::ring::ECDSA_P256_SHA256];

/// `t` as webpki's time.
pub(crate) fn unix_time(t: Timestamp) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_nanos(t.unix_nanos()))
}

/// A webpki error as the CA's typed refusal.
pub(crate) fn map_webpki(e: webpki::Error) -> CaError {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => CaError::CertificateExpired,
        E::CertNotValidYet { .. } => CaError::CertificateNotYetValid,
        E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => CaError::WrongKeyUsage,
        E::UnknownIssuer
        | E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::CaUsedAsEndEntity
        | E::PathLenConstraintViolated => CaError::UnknownIssuer,
        other => CaError::CertificateMalformed(format!("{other:?}")),
    }
}

/// Verifies `der` as a client certificate chaining to `root` through one of `intermediates` at `now`,
/// with the clientAuth EKU present. Returns its serial, which must be one of ours (16 bytes).
pub fn verify_client_chain(
    der: &CertificateDer<'_>,
    root: &TrustAnchor<'_>,
    intermediates: &[CertificateDer<'_>],
    now: Timestamp,
) -> Result<CertSerial, CaError> {
    let ee = EndEntityCert::try_from(der).map_err(|e| CaError::CertificateMalformed(format!("{e:?}")))?;
    // `KeyUsage::client_auth()` accepts a leaf with no EKU at all, and `KeyUsage::required` would demand
    // the EKU of the CA certificates too (webpki applies the usage to every certificate of the path); so
    // the path is checked with the former and the leaf's EKU presence separately.
    ee.verify_for_usage(
        CHAIN_ALGS,
        std::slice::from_ref(root),
        intermediates,
        unix_time(now),
        KeyUsage::client_auth(),
        None,
        None,
    )
    .map_err(map_webpki)?;
    if !has_client_auth_eku(der.as_ref()) {
        return Err(CaError::WrongKeyUsage);
    }
    CertSerial::from_der_integer(ee.serial()).ok_or(CaError::UnknownCertificate)
}

/// True when the certificate carries an extendedKeyUsage extension listing id-kp-clientAuth.
fn has_client_auth_eku(der: &[u8]) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return false };
    matches!(cert.extended_key_usage(), Ok(Some(eku)) if eku.value.client_auth)
}

/// Checks a device's DER ECDSA P-256 / SHA-256 signature over `msg` with the certificate's own key
/// (its [`device_public_key`], through [`verify_with_key`], as the order check does with a cached key).
pub(crate) fn verify_device_signature(der: &CertificateDer<'_>, msg: &[u8], sig: &[u8]) -> Result<(), ()> {
    verify_with_key(&device_public_key(der.as_ref()).ok_or(())?, msg, sig)
}

/// The certificate's public key (the subjectPublicKey bits: an uncompressed P-256 point for ours), taken
/// once when a verified certificate enters the cache, so each order checks its signature with
/// [`verify_with_key`] without parsing the certificate again. `None` unless the key is EC P-256.
pub(crate) fn device_public_key(der: &[u8]) -> Option<Box<[u8]>> {
    use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let spki = cert.public_key();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve != Some(OID_EC_P256) {
        return None;
    }
    Some(spki.subject_public_key.data.as_ref().into())
}

/// Checks a DER ECDSA P-256 / SHA-256 signature over `msg` with `public_key` (from
/// [`device_public_key`]): ring's verification, as webpki runs it for a certificate's key.
pub(crate) fn verify_with_key(public_key: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), ()> {
    webpki::ring::ECDSA_P256_SHA256.verify_signature(public_key, msg, sig).map_err(|_| ())
}

/// Checks the certificate's own validity window (the chain was checked when it entered the cache; an
/// issuing CA always outlives what it signs, so the leaf's window bounds the chain's).
pub(crate) fn check_validity(r: &CertificateRecord, now: Timestamp) -> Result<(), CaError> {
    if now < r.not_before {
        return Err(CaError::CertificateNotYetValid);
    }
    if now > r.not_after {
        return Err(CaError::CertificateExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, SigningKey};

    use super::*;

    #[test]
    fn the_cached_key_verifies_what_the_certificate_verifies() {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = CertificateParams::default().self_signed(&key).unwrap();
        let public_key = device_public_key(cert.der()).unwrap();
        assert_eq!(&*public_key, key.public_key_raw());
        let sig = key.sign(b"order").unwrap();
        assert_eq!(verify_with_key(&public_key, b"order", &sig), Ok(()));
        assert_eq!(verify_device_signature(cert.der(), b"order", &sig), Ok(()));
        assert_eq!(verify_with_key(&public_key, b"0rder", &sig), Err(()));
        assert_eq!(verify_device_signature(cert.der(), b"0rder", &sig), Err(()));
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        assert_eq!(verify_with_key(&public_key, b"order", &other.sign(b"order").unwrap()), Err(()));

        let p384 = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let cert = CertificateParams::default().self_signed(&p384).unwrap();
        assert_eq!(device_public_key(cert.der()), None);
        assert_eq!(device_public_key(b"not a certificate"), None);
    }
}
