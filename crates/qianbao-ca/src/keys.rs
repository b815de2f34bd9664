//! The CA's own keys: the [`CaSigner`] trait (any `rcgen::SigningKey` — an in-process key, an HSM or a
//! KMS), the [`KeyCustody`] that creates and reopens them, and [`LocalKeyCustody`], the default, which
//! keeps each private key as PKCS#8 sealed with AES-256-GCM under a key-encryption key supplied by the
//! embedding service. A CA private key is never stored in the clear.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use p256::pkcs8::EncodePrivateKey;
use qianbao_core::{Entropy, SecretBytes};
use rcgen::{PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm, SigningKey};
use zeroize::Zeroizing;

use crate::CaError;

/// A CA signing key: anything rcgen can sign with (its `sign` returns the DER `ECDSA-Sig-Value`), that is
/// also thread-safe and printable without its secret. The CA accepts only ECDSA P-256 / SHA-256 signers.
///
/// Blanket-implemented: an `rcgen::KeyPair` (ring) is a `CaSigner`; so is an HSM or KMS client that
/// implements `rcgen::SigningKey`.
pub trait CaSigner: SigningKey + Send + Sync + fmt::Debug {}

impl<T: SigningKey + Send + Sync + fmt::Debug> CaSigner for T {}

/// A shared CA signer usable wherever rcgen wants a `SigningKey`.
#[derive(Clone, Debug)]
pub(crate) struct SignerRef(pub(crate) Arc<dyn CaSigner>);

impl PublicKeyData for SignerRef {
    fn der_bytes(&self) -> &[u8] {
        self.0.der_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.0.algorithm()
    }
}

impl SigningKey for SignerRef {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg)
    }
}

/// Refuses signers of any algorithm but ECDSA P-256 / SHA-256.
pub(crate) fn check_signer(signer: &dyn CaSigner) -> Result<(), CaError> {
    if signer.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(CaError::Signer("the CA signer must be an ECDSA P-256 / SHA-256 key".into()));
    }
    Ok(())
}

/// What the store keeps to find a CA key again: for [`LocalKeyCustody`] the sealed PKCS#8; for an HSM or
/// KMS custody, a key label or ARN. Opaque to the CA.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHandle(pub Vec<u8>);

impl fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHandle({} bytes)", self.0.len())
    }
}

/// Where the CA's private keys live. The CA asks it for a new key when it creates its root or an issuing
/// CA, stores the returned [`KeyHandle`], and hands the handle back when it reopens.
pub trait KeyCustody: Send + Sync + fmt::Debug {
    /// Creates a new ECDSA P-256 key named `label` (e.g. `root`, `issuing-2`).
    fn create_key(&self, label: &str, entropy: &dyn Entropy) -> Result<(Arc<dyn CaSigner>, KeyHandle), CaError>;

    /// Reopens the key `label` from its handle.
    fn open_key(&self, label: &str, handle: &KeyHandle) -> Result<Arc<dyn CaSigner>, CaError>;
}

/// The 32-byte AES-256-GCM key that seals the CA's private keys at rest. Supplied by the embedding
/// service (from its secret manager); zeroized on drop and never printed.
#[derive(Clone)]
pub struct KeyEncryptionKey(SecretBytes);

impl KeyEncryptionKey {
    /// The key from exactly 32 bytes of secret material; `None` otherwise.
    pub fn new(material: &[u8]) -> Option<Self> {
        (material.len() == 32).then(|| KeyEncryptionKey(SecretBytes::new(material.to_vec())))
    }

    fn cipher(&self) -> Result<Aes256Gcm, CaError> {
        Aes256Gcm::new_from_slice(self.0.expose()).map_err(|_| CaError::Misuse("key-encryption key length".into()))
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([REDACTED])")
    }
}

const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

fn aad(label: &str) -> Vec<u8> {
    let mut a = b"qianbao-ca/key/v1/".to_vec();
    a.extend_from_slice(label.as_bytes());
    a
}

/// Seals `plaintext` for `label`: `version(1) || nonce(12) || AES-256-GCM(ciphertext || tag)`, with the
/// label as associated data (a sealed key moved to another label does not open).
pub(crate) fn seal(
    kek: &KeyEncryptionKey,
    label: &str,
    plaintext: &[u8],
    entropy: &dyn Entropy,
) -> Result<Vec<u8>, CaError> {
    let mut nonce = [0u8; NONCE_LEN];
    entropy.fill(&mut nonce);
    let ct = kek
        .cipher()?
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad(label) })
        .map_err(|_| CaError::Misuse("AES-GCM sealing failed".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens what [`seal`] made. Any change, a wrong key or a wrong label gives [`CaError::KeyDecryption`].
pub(crate) fn open(kek: &KeyEncryptionKey, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CaError> {
    let (&version, rest) = sealed.split_first().ok_or(CaError::KeyDecryption)?;
    if version != SEAL_VERSION || rest.len() < NONCE_LEN + 16 {
        return Err(CaError::KeyDecryption);
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CaError::KeyDecryption)?;
    kek.cipher()?
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: &aad(label) })
        .map(Zeroizing::new)
        .map_err(|_| CaError::KeyDecryption)
}

/// The default custody: keys generated in process (P-256 scalar from the injected entropy), used through
/// ring (`rcgen::KeyPair`), persisted as PKCS#8 sealed with AES-256-GCM under a [`KeyEncryptionKey`].
#[derive(Debug, Clone)]
pub struct LocalKeyCustody {
    kek: KeyEncryptionKey,
}

impl LocalKeyCustody {
    /// A custody sealing with `kek`.
    pub fn new(kek: KeyEncryptionKey) -> Self {
        LocalKeyCustody { kek }
    }

    fn key_pair(pkcs8: &[u8]) -> Result<rcgen::KeyPair, CaError> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8);
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ECDSA_P256_SHA256).map_err(CaError::signer)
    }
}

/// A P-256 secret scalar drawn from `entropy` (rejection sampling: zero and values ≥ n are redrawn).
pub(crate) fn p256_secret(entropy: &dyn Entropy) -> p256::SecretKey {
    loop {
        let mut b = Zeroizing::new([0u8; 32]);
        entropy.fill(b.as_mut());
        if let Ok(k) = p256::SecretKey::from_slice(b.as_ref()) {
            return k;
        }
    }
}

impl KeyCustody for LocalKeyCustody {
    fn create_key(&self, label: &str, entropy: &dyn Entropy) -> Result<(Arc<dyn CaSigner>, KeyHandle), CaError> {
        let secret = p256_secret(entropy);
        let pkcs8 = secret.to_pkcs8_der().map_err(|e| CaError::Signer(format!("PKCS#8 encoding: {e}")))?;
        let key = Self::key_pair(pkcs8.as_bytes())?;
        let sealed = seal(&self.kek, label, pkcs8.as_bytes(), entropy)?;
        Ok((Arc::new(key), KeyHandle(sealed)))
    }

    fn open_key(&self, label: &str, handle: &KeyHandle) -> Result<Arc<dyn CaSigner>, CaError> {
        let pkcs8 = open(&self.kek, label, &handle.0)?;
        Ok(Arc::new(Self::key_pair(&pkcs8)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn sealed_keys_open_only_with_the_right_key_and_label() {
        let e = SeededEntropy::new(1);
        let kek = KeyEncryptionKey::new(&[7; 32]).unwrap();
        assert!(KeyEncryptionKey::new(&[7; 31]).is_none());
        let custody = LocalKeyCustody::new(kek.clone());
        let (signer, handle) = custody.create_key("root", &e).unwrap();
        let reopened = custody.open_key("root", &handle).unwrap();
        assert_eq!(signer.der_bytes(), reopened.der_bytes());
        // The PKCS#8 is not in the handle in the clear.
        let secret = p256_secret(&SeededEntropy::new(1));
        let raw = secret.to_bytes();
        assert!(!handle.0.windows(32).any(|w| w == raw.as_slice()));
        assert!(matches!(custody.open_key("issuing-1", &handle), Err(CaError::KeyDecryption)));
        let other = LocalKeyCustody::new(KeyEncryptionKey::new(&[8; 32]).unwrap());
        assert!(matches!(other.open_key("root", &handle), Err(CaError::KeyDecryption)));
        let mut tampered = handle.0.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(custody.open_key("root", &KeyHandle(tampered)), Err(CaError::KeyDecryption)));
        assert!(!format!("{kek:?}").contains('7'));
    }
}
