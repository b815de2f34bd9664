//! Intake of a device's certificate signing request (PKCS#10, RFC 2986): decode it (RustCrypto's `der`
//! and `spki`, borrowing from the input: no copy, no allocation), insist on a P-256 key, check the
//! self-signature (ring, through webpki's ECDSA P-256 / SHA-256, as for signed orders), and keep only the
//! public key.
//!
//! Why not `rcgen::CertificateSigningRequestParams::from_der`: it names the key's algorithm after the
//! *signature* algorithm (a P-384 key signing with ecdsa-with-SHA256 would come back labelled P-256) and
//! refuses harmless requested extensions. This CA ignores everything a CSR asks for except the key —
//! subject, SAN, key usages and validity come from the CA's profile — so it reads the key itself. (It
//! used x509-parser until 2026-11-24, which also builds the subject and the requested extensions this
//! CA ignores. In profiles of the bench `ca`, x509-parser took 1.35% of an issuance's CPU and this
//! decoding 1.06%.)

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use rcgen::{PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::CaError;
use crate::verify::verify_with_key;

/// id-ecPublicKey (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1, the P-256 curve (RFC 5480).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1, the P-384 curve (RFC 5480).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// id-Ed25519 (RFC 8410).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// ecdsa-with-SHA256 (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

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

/// The parts of a CSR this CA reads.
struct CsrParts<'a> {
    /// The DER of `CertificationRequestInfo`: what the signature covers.
    info: &'a [u8],
    version: u8,
    key: SubjectPublicKeyInfoRef<'a>,
    signature_algorithm: ObjectIdentifier,
    signature: BitStringRef<'a>,
}

/// Decodes `CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }`
/// with `CertificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name, subjectPKInfo,
/// attributes [0] IMPLICIT SET OF Attribute }` (RFC 2986 §4): strict DER, nothing after the request.
/// The subject and attributes are only checked to be a SEQUENCE and a `[0]` constructed value.
fn decode(der: &[u8]) -> der::Result<CsrParts<'_>> {
    let mut outer = SliceReader::new(der)?;
    let (info, signature_algorithm, signature) = outer.sequence(|r| {
        let info = r.tlv_bytes()?;
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        Ok::<_, der::Error>((info, algorithm.oid, BitStringRef::decode(r)?))
    })?;
    outer.finish()?;
    let (version, key) = SliceReader::new(info)?.sequence(|r| {
        let version = u8::decode(r)?;
        AnyRef::decode(r)?.tag().assert_eq(Tag::Sequence)?;
        let key = SubjectPublicKeyInfoRef::decode(r)?;
        let attributes = Tag::ContextSpecific { constructed: true, number: TagNumber(0) };
        AnyRef::decode(r)?.tag().assert_eq(attributes)?;
        Ok::<_, der::Error>((version, key))
    })?;
    Ok(CsrParts { info, version, key, signature_algorithm, signature })
}

/// Parses and checks a device CSR (DER). Typed refusals: [`CaError::CsrMalformed`],
/// [`CaError::UnsupportedKeyType`] (anything but an uncompressed P-256 point), and
/// [`CaError::CsrSignatureInvalid`] (the self-signature does not verify, or is not ECDSA with SHA-256).
pub fn parse_device_csr(der: &[u8]) -> Result<DevicePublicKey, CaError> {
    if der.len() > CSR_LEN_MAX {
        return Err(CaError::CsrMalformed(format!("longer than {CSR_LEN_MAX} bytes")));
    }
    let csr = decode(der).map_err(|e| CaError::CsrMalformed(e.to_string()))?;
    if csr.version != 0 {
        return Err(CaError::CsrMalformed(format!("version {} (only v1 = 0 exists)", csr.version)));
    }
    let alg = &csr.key.algorithm;
    if alg.oid != ID_EC_PUBLIC_KEY {
        let found = if alg.oid == ID_ED25519 { "Ed25519".to_string() } else { alg.oid.to_string() };
        return Err(CaError::UnsupportedKeyType { found });
    }
    let curve = alg.parameters.and_then(|p| ObjectIdentifier::try_from(p).ok());
    match curve {
        Some(c) if c == SECP256R1 => {}
        Some(c) if c == SECP384R1 => return Err(CaError::UnsupportedKeyType { found: "P-384".into() }),
        Some(c) => return Err(CaError::UnsupportedKeyType { found: format!("EC curve {c}") }),
        None => return Err(CaError::UnsupportedKeyType { found: "EC key without a named curve".into() }),
    }
    let point: [u8; 65] = csr
        .key
        .subject_public_key
        .as_bytes()
        .and_then(|b| b.try_into().ok())
        .filter(|p: &[u8; 65]| p[0] == 0x04)
        .ok_or_else(|| CaError::UnsupportedKeyType { found: "a compressed or malformed P-256 point".into() })?;
    if csr.signature_algorithm != ECDSA_WITH_SHA256 {
        return Err(CaError::CsrSignatureInvalid);
    }
    // ring's ECDSA_P256_SHA256_ASN1; it also rejects points not on the curve.
    let signature = csr.signature.as_bytes().ok_or(CaError::CsrSignatureInvalid)?;
    verify_with_key(&point, csr.info, signature).map_err(|_| CaError::CsrSignatureInvalid)?;
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

    /// A P-256 CSR made by rcgen, with its key.
    fn p256_csr() -> (rcgen::KeyPair, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let csr =
            rcgen::CertificateParams::new(vec!["device.example".into()]).unwrap().serialize_request(&key).unwrap();
        (key, csr.der().to_vec())
    }

    #[test]
    fn refuses_trailing_bytes_and_truncations() {
        let (_, der) = p256_csr();
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(parse_device_csr(&trailing), Err(CaError::CsrMalformed(_))));
        // A request cut short anywhere.
        for n in 0..der.len() {
            assert!(parse_device_csr(&der[..n]).is_err(), "accepted the first {n} bytes");
        }
    }

    /// The key it accepts is the one x509-parser reads from the same request, whose signature x509-parser
    /// also verifies (the parser this one replaced).
    #[test]
    fn agrees_with_x509_parser() {
        use x509_parser::certification_request::X509CertificationRequest;
        use x509_parser::prelude::FromDer;
        let (key, der) = p256_csr();
        let ours = parse_device_csr(&der).unwrap();
        let (_, theirs) = X509CertificationRequest::from_der(&der).unwrap();
        theirs.verify_signature().unwrap();
        assert_eq!(
            ours.sec1().as_slice(),
            theirs.certification_request_info.subject_pki.subject_public_key.data.as_ref()
        );
        assert_eq!(ours.sec1().as_slice(), key.public_key_raw());
    }

    proptest::proptest! {
        /// Every change of one byte of a valid request is refused: the signature covers the request
        /// information, and the rest is the signature and its algorithm.
        #[test]
        fn any_one_byte_changed_is_refused(at in proptest::prelude::any::<proptest::sample::Index>(), xor in 1u8..=255) {
            static CSR: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| p256_csr().1);
            let mut der = CSR.clone();
            let i = at.index(der.len());
            der[i] ^= xor;
            proptest::prop_assert!(parse_device_csr(&der).is_err(), "byte {} ^ {:#x} accepted", i, xor);
        }
    }
}
