//! Sealing of secrets the server must read back (TOTP and payment-code secrets): AES-256-GCM under a key
//! derived from the service's [`DigestKey`] (HMAC-SHA-256 with a fixed label, a one-block HKDF-expand),
//! with the record's identity as associated data so a sealed secret moved to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use qianbao_core::{DigestKey, Entropy};
use zeroize::Zeroizing;

use crate::TokenError;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// The sealing key (derived once).
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([REDACTED])")
    }
}

impl Sealer {
    pub(crate) fn new(key: &DigestKey) -> Self {
        let k = Zeroizing::new(key.digest("qianbao-token/seal-key/v1", b""));
        // The derived key is 32 bytes, exactly what AES-256 takes.
        let cipher = Aes256Gcm::new_from_slice(k.as_ref()).unwrap_or_else(|_| unreachable!("32-byte AES-256 key"));
        Sealer { cipher }
    }

    /// `version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8], entropy: &dyn Entropy) -> Result<Vec<u8>, TokenError> {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| TokenError::Misuse("AES-GCM sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let (&version, rest) = sealed.split_first().ok_or(TokenError::Unseal)?;
        if version != VERSION || rest.len() < NONCE_LEN + 16 {
            return Err(TokenError::Unseal);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TokenError::Unseal)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| TokenError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_label() {
        let e = SeededEntropy::new(1);
        let s = Sealer::new(&DigestKey::new(&[1; 32]).unwrap());
        let sealed = s.seal(b"row 1", b"secret", &e).unwrap();
        assert_eq!(s.open(b"row 1", &sealed).unwrap().as_slice(), b"secret");
        assert!(s.open(b"row 2", &sealed).is_err());
        let other = Sealer::new(&DigestKey::new(&[2; 32]).unwrap());
        assert!(other.open(b"row 1", &sealed).is_err());
        assert!(s.open(b"row 1", &sealed[..10]).is_err());
    }
}
