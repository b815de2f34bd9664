//! Intake of a device's certificate signing request (PKCS#10): parse, insist on a P-256 key, check the
//! self-signature (ring, through x509-parser's `verify`), and keep only the public key.
//!
//! Why not `rcgen::CertificateSigningRequestParams::from_der`: it names the key's algorithm after the
//! *signature* algorithm (a P-384 key signing with ecdsa-with-SHA256 would come back labelled P-256) and
//! refuses harmless requested extensions. This CA ignores everything a CSR asks for except the key —
//! subject, SAN, key usages and validity come from the CA's profile — so it reads the key itself.

use rcgen::{PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;

use crate::CaError;

/// The largest CSR accepted, in bytes (a P-256 CSR is about 250 bytes).
pub const CSR_LEN_MAX: usize = 8 * 1024;

/// A device's P-256 public key, taken from a CSR whose signature verified.
#[derive(Clone, PartialEq, Eq)]
pub struct DevicePublicKey {
    point: [u8; 65],
}

impl DevicePublicKey {
    /// The uncompressed SEC1 point (`04 || x || y`).
    pub fn sec1(&self) -> &[u8; 65] {
        &self.point
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        self.spki().to_vec()
    }

    /// The DER SubjectPublicKeyInfo, on the stack: `P256_SPKI_PREFIX` then the point.
    pub(crate) fn spki(&self) -> [u8; 91] {
        let mut spki = [0u8; 91];
        spki[..P256_SPKI_PREFIX.len()].copy_from_slice(P256_SPKI_PREFIX);
        spki[P256_SPKI_PREFIX.len()..].copy_from_slice(&self.point);
        spki
    }
}

/// The SubjectPublicKeyInfo of an uncompressed P-256 point, up to the point: `SEQUENCE { SEQUENCE {
/// id-ecPublicKey, prime256v1 }, BIT STRING (no unused bits) ...`.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl std::fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevicePublicKey({})", data_encoding::HEXLOWER.encode(&self.point[..9]))
    }
}

impl PublicKeyData for DevicePublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

/// Parses and checks a device CSR (DER). Typed refusals: [`CaError::CsrMalformed`],
/// [`CaError::UnsupportedKeyType`] (anything but an uncompressed P-256 point), and
/// [`CaError::CsrSignatureInvalid`] (the self-signature does not verify, or is not ECDSA with SHA-256).
pub fn parse_device_csr(der: &[u8]) -> Result<DevicePublicKey, CaError> {
    if der.len() > CSR_LEN_MAX {
        return Err(CaError::CsrMalformed(format!("longer than {CSR_LEN_MAX} bytes")));
    }
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| CaError::CsrMalformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CaError::CsrMalformed("trailing bytes after the request".into()));
    }
    let info = &csr.certification_request_info;
    if info.version.0 != 0 {
        return Err(CaError::CsrMalformed(format!("version {} (only v1 = 0 exists)", info.version.0)));
    }
    let spki = &info.subject_pki;
    let alg = &spki.algorithm;
    if alg.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        let found = if alg.algorithm == OID_SIG_ED25519 { "Ed25519".to_string() } else { alg.algorithm.to_id_string() };
        return Err(CaError::UnsupportedKeyType { found });
    }
    let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
    match curve {
        Some(c) if c == OID_EC_P256 => {}
        Some(c) if c == OID_NIST_EC_P384 => return Err(CaError::UnsupportedKeyType { found: "P-384".into() }),
        Some(c) => return Err(CaError::UnsupportedKeyType { found: format!("EC curve {}", c.to_id_string()) }),
        None => return Err(CaError::UnsupportedKeyType { found: "EC key without a named curve".into() }),
    }
    let point: [u8; 65] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| CaError::UnsupportedKeyType { found: "a compressed or malformed P-256 point".into() })?;
    if point[0] != 0x04 {
        return Err(CaError::UnsupportedKeyType { found: "a compressed or malformed P-256 point".into() });
    }
    if csr.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA256 {
        return Err(CaError::CsrSignatureInvalid);
    }
    // ring's ECDSA_P256_SHA256_ASN1 (x509-parser `verify`); it also rejects points not on the curve.
    csr.verify_signature().map_err(|_| CaError::CsrSignatureInvalid)?;
    Ok(DevicePublicKey { point })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage_and_other_key_types() {
        assert!(matches!(parse_device_csr(b"not a csr"), Err(CaError::CsrMalformed(_))));
        assert!(matches!(parse_device_csr(&vec![0u8; CSR_LEN_MAX + 1]), Err(CaError::CsrMalformed(_))));
        for (alg, name) in [(&rcgen::PKCS_ECDSA_P384_SHA384, "P-384"), (&rcgen::PKCS_ED25519, "Ed25519")] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let csr = rcgen::CertificateParams::default().serialize_request(&key).unwrap();
            match parse_device_csr(csr.der()) {
                Err(CaError::UnsupportedKeyType { found }) => assert_eq!(found, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        let key = rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let csr = rcgen::CertificateParams::default().serialize_request(&key).unwrap();
        let parsed = parse_device_csr(csr.der()).unwrap();
        assert_eq!(parsed.der_bytes(), key.public_key_raw());
        let mut bad = csr.der().to_vec();
        let n = bad.len();
        bad[n - 5] ^= 0x01; // inside the signature's INTEGER s
        assert!(matches!(parse_device_csr(&bad), Err(CaError::CsrSignatureInvalid | CaError::CsrMalformed(_))));
    }

    #[test]
    fn the_spki_is_the_one_rcgen_writes() {
        let key = rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let csr = rcgen::CertificateParams::default().serialize_request(&key).unwrap();
        let parsed = parse_device_csr(csr.der()).unwrap();
        assert_eq!(parsed.spki_der(), key.subject_public_key_info());
        assert_eq!(parsed.spki_der(), parsed.subject_public_key_info());
    }
}
