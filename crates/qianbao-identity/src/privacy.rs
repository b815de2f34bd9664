//! Personal data at rest: resident ID numbers, card numbers, names and contacts are stored sealed with
//! AES-256-GCM under a key supplied by the embedding service, beside a keyed digest ([`DigestKey`]) for
//! uniqueness look-ups and a masked form for display. Nothing of them is stored in the clear.
//!
//! A sealed value is `key id (1) || nonce (12) || ciphertext || tag (16)`; the associated data binds it to
//! its purpose and owner (`qianbao-identity/v1/<purpose>/<owner id>`), so a sealed ID number copied into
//! another user's row, or into another column, does not open. Keys carry a one-byte id: rotate by adding a
//! new current key and keeping the old ones for opening ([`PrivacyKeys::with_retired`]).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use qianbao_core::{DigestKey, Entropy, Id128, SecretBytes};

use crate::IdentityError;

const NONCE_LEN: usize = 12;

/// A 32-byte AES-256-GCM key with a one-byte id. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct SealingKey {
    id: u8,
    key: SecretBytes,
}

impl SealingKey {
    /// A key from exactly 32 bytes of secret material; `None` otherwise.
    pub fn new(id: u8, material: &[u8]) -> Option<Self> {
        (material.len() == 32).then(|| SealingKey { id, key: SecretBytes::new(material.to_vec()) })
    }

    /// Its id (stored in front of every value it seals).
    pub fn id(&self) -> u8 {
        self.id
    }

    fn cipher(&self) -> Result<Aes256Gcm, IdentityError> {
        Aes256Gcm::new_from_slice(self.key.expose()).map_err(|_| IdentityError::Misuse("sealing key length".into()))
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey(id {}, [REDACTED])", self.id)
    }
}

/// The keys of personal data: the current sealing key, retired ones still accepted for opening, and the
/// digest key for look-ups (it cannot rotate without re-digesting every row — and the Argon2 peppers of
/// passwords and payment passwords are derived from it — so keep it in the secret manager with care).
#[derive(Debug, Clone)]
pub struct PrivacyKeys {
    current: SealingKey,
    retired: Vec<SealingKey>,
    digest: DigestKey,
}

/// What a sealed value or digest is of; part of the associated data and of the digest framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A resident ID number.
    ResidentId,
    /// A bank card number.
    BankCard,
    /// A real name.
    RealName,
    /// A phone number or email address.
    Contact,
    /// A real-name application's whole payload.
    Application,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::ResidentId => "resident-id",
            Purpose::BankCard => "bank-card",
            Purpose::RealName => "real-name",
            Purpose::Contact => "contact",
            Purpose::Application => "kyc-application",
        }
    }
}

fn aad(purpose: Purpose, owner: Id128) -> Vec<u8> {
    format!("qianbao-identity/v1/{}/{owner}", purpose.label()).into_bytes()
}

impl PrivacyKeys {
    /// Keys from a sealing key and a digest key.
    pub fn new(sealing: SealingKey, digest: DigestKey) -> Self {
        PrivacyKeys { current: sealing, retired: Vec::new(), digest }
    }

    /// Adds a retired sealing key: values it sealed still open; new values use the current key.
    pub fn with_retired(mut self, key: SealingKey) -> Self {
        self.retired.push(key);
        self
    }

    /// Seals `plaintext` of `purpose` for `owner` (a user or application id).
    pub fn seal(
        &self,
        purpose: Purpose,
        owner: Id128,
        plaintext: &[u8],
        entropy: &dyn Entropy,
    ) -> Result<Vec<u8>, IdentityError> {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        let ct = self
            .current
            .cipher()?
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad(purpose, owner) })
            .map_err(|_| IdentityError::Misuse("AES-GCM sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value of `purpose` for `owner`. The plaintext is zeroized on drop.
    pub fn open(&self, purpose: Purpose, owner: Id128, sealed: &[u8]) -> Result<SecretBytes, IdentityError> {
        if sealed.len() < 1 + NONCE_LEN + 16 {
            return Err(IdentityError::Unseal);
        }
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == sealed[0])
            .ok_or(IdentityError::Unseal)?;
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().map_err(|_| IdentityError::Unseal)?;
        let pt = key
            .cipher()?
            .decrypt(&Nonce::from(nonce), Payload { msg: &sealed[1 + NONCE_LEN..], aad: &aad(purpose, owner) })
            .map_err(|_| IdentityError::Unseal)?;
        Ok(SecretBytes::new(pt))
    }

    /// Opens a sealed UTF-8 string.
    pub fn open_string(
        &self,
        purpose: Purpose,
        owner: Id128,
        sealed: &[u8],
    ) -> Result<qianbao_core::SecretString, IdentityError> {
        let bytes = self.open(purpose, owner, sealed)?;
        let s = std::str::from_utf8(bytes.expose()).map_err(|_| IdentityError::Unseal)?;
        Ok(qianbao_core::SecretString::from(s))
    }

    /// The keyed look-up digest of a normalized value of `purpose` (same value, same digest; no key, no
    /// way to test guesses).
    pub fn digest(&self, purpose: Purpose, normalized: &str) -> [u8; 32] {
        self.digest.digest(&format!("qianbao-identity/{}", purpose.label()), normalized.as_bytes())
    }

    /// A keyed digest for another use inside this crate (login guard keys).
    pub(crate) fn digest_raw(&self, label: &str, value: &[u8]) -> [u8; 32] {
        self.digest.digest(label, value)
    }
}

#[cfg(test)]
mod tests {
    use qianbao_core::SeededEntropy;

    use super::*;

    fn keys(id: u8, byte: u8) -> PrivacyKeys {
        PrivacyKeys::new(SealingKey::new(id, &[byte; 32]).unwrap(), DigestKey::new(&[7; 32]).unwrap())
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose_owner_and_key() {
        let e = SeededEntropy::new(3);
        let k = keys(1, 9);
        let owner = Id128::from_u128(5);
        let sealed = k.seal(Purpose::ResidentId, owner, b"11010519491231002X", &e).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"110105"));
        assert_eq!(k.open(Purpose::ResidentId, owner, &sealed).unwrap().expose(), b"11010519491231002X");
        assert!(matches!(k.open(Purpose::BankCard, owner, &sealed), Err(IdentityError::Unseal)));
        assert!(matches!(k.open(Purpose::ResidentId, Id128::from_u128(6), &sealed), Err(IdentityError::Unseal)));
        assert!(matches!(keys(1, 8).open(Purpose::ResidentId, owner, &sealed), Err(IdentityError::Unseal)));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(k.open(Purpose::ResidentId, owner, &tampered), Err(IdentityError::Unseal)));
        assert!(matches!(k.open(Purpose::ResidentId, owner, &[1, 2]), Err(IdentityError::Unseal)));
        // Rotation: a new current key opens old values through the retired list.
        let rotated = keys(2, 4).with_retired(SealingKey::new(1, &[9; 32]).unwrap());
        assert_eq!(rotated.open(Purpose::ResidentId, owner, &sealed).unwrap().expose(), b"11010519491231002X");
        assert_eq!(rotated.seal(Purpose::ResidentId, owner, b"x", &e).unwrap()[0], 2);
        assert_eq!(k.digest(Purpose::ResidentId, "a"), rotated.digest(Purpose::ResidentId, "a"));
        assert_ne!(k.digest(Purpose::ResidentId, "a"), k.digest(Purpose::BankCard, "a"));
        assert!(!format!("{k:?}").contains('9'));
    }
}
