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

/// Checks a device's DER ECDSA P-256 / SHA-256 signature over `msg` with the certificate's own key.
pub(crate) fn verify_device_signature(der: &CertificateDer<'_>, msg: &[u8], sig: &[u8]) -> Result<(), ()> {
    let ee = EndEntityCert::try_from(der).map_err(|_| ())?;
    ee.verify_signature(webpki::ring::ECDSA_P256_SHA256, msg, sig).map_err(|_| ())
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
