//! The device side: a P-256 key (p256, pure Rust) that makes CSRs, signs payment orders and renewal
//! proofs, and exports itself as PKCS#8. For client code, tests and examples; the server never holds one.

use std::fmt;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey as P256SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use qianbao_core::{Entropy, Timestamp};
use rcgen::{CertificateParams, DistinguishedName, DnType, PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm};
use rustls_pki_types::{CertificateSigningRequestDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::CaError;
use crate::order::{PaymentOrder, SignedOrder, renewal_message};
use crate::record::CertSerial;

/// A device's P-256 key pair.
#[derive(Clone)]
pub struct DeviceKey {
    key: P256SigningKey,
    point: [u8; 65],
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey(public {})", data_encoding::HEXLOWER.encode(&self.point[..9]))
    }
}

impl DeviceKey {
    /// A fresh key from `entropy`.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        Self::from_signing_key(P256SigningKey::from(crate::keys::p256_secret(entropy)))
    }

    fn from_signing_key(key: P256SigningKey) -> Self {
        let mut point = [0u8; 65];
        point.copy_from_slice(key.verifying_key().to_sec1_point(false).as_bytes());
        DeviceKey { key, point }
    }

    /// The key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CaError> {
        P256SigningKey::from_pkcs8_der(der)
            .map(Self::from_signing_key)
            .map_err(|e| CaError::Misuse(format!("not a P-256 PKCS#8 key: {e}")))
    }

    /// PKCS#8 DER (secret).
    pub fn to_pkcs8_der(&self) -> Result<PrivateKeyDer<'static>, CaError> {
        let doc = self.key.to_pkcs8_der().map_err(|e| CaError::Misuse(format!("PKCS#8 encoding: {e}")))?;
        Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec())))
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, secret).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CaError> {
        self.key.to_pkcs8_pem(LineEnding::LF).map_err(|e| CaError::Misuse(format!("PKCS#8 encoding: {e}")))
    }

    /// The uncompressed SEC1 public point.
    pub fn public_point(&self) -> &[u8; 65] {
        &self.point
    }

    /// A CSR for this key (subject `CN=qianbao device`; the CA ignores everything but the key).
    pub fn csr(&self) -> Result<CertificateSigningRequestDer<'static>, CaError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "qianbao device");
        params.distinguished_name = dn;
        params.serialize_request(self).map(|r| r.der().clone()).map_err(CaError::signer)
    }

    /// A DER ECDSA P-256 / SHA-256 signature over `msg`.
    pub fn sign_bytes(&self, msg: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.key.sign(msg);
        sig.to_bytes().to_vec()
    }

    /// Signs a payment order.
    pub fn sign_order(&self, order: PaymentOrder) -> Result<SignedOrder, CaError> {
        let signature = self.sign_bytes(&order.encode()?);
        Ok(SignedOrder { order, signature })
    }

    /// The signature proving possession of `current`'s key for a renewal with `csr`, signed at `at`.
    pub fn sign_renewal(&self, current: CertSerial, csr: &CertificateSigningRequestDer<'_>, at: Timestamp) -> Vec<u8> {
        self.sign_bytes(&renewal_message(current, csr.as_ref(), at))
    }
}

impl PublicKeyData for DeviceKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for DeviceKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.sign_bytes(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn device_key_makes_a_valid_csr_and_round_trips_pkcs8() {
        let k = DeviceKey::generate(&SeededEntropy::new(3));
        let csr = k.csr().unwrap();
        let parsed = crate::csr::parse_device_csr(csr.as_ref()).unwrap();
        assert_eq!(parsed.sec1(), k.public_point());
        let der = k.to_pkcs8_der().unwrap();
        let back = DeviceKey::from_pkcs8_der(der.secret_der()).unwrap();
        assert_eq!(back.public_point(), k.public_point());
        assert!(k.to_pkcs8_pem().unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{k:?}").contains("PRIVATE"));
    }
}
