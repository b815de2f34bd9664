//! Keyed digests (HMAC-SHA-256): how one-time codes, tokens and look-up keys (ID and card numbers) are
//! stored. A stolen database without the key gives neither the values nor a way to test guesses.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::SecretBytes;

/// A 32-byte HMAC-SHA-256 key with a purpose label, so one key serves many uses without cross-use.
#[derive(Clone, Debug)]
pub struct DigestKey {
    key: SecretBytes,
}

impl DigestKey {
    /// A key from at least 32 bytes of secret material. Returns `None` when shorter.
    pub fn new(material: &[u8]) -> Option<Self> {
        (material.len() >= 32).then(|| DigestKey { key: SecretBytes::new(material.to_vec()) })
    }

    /// `HMAC-SHA-256(key, purpose || 0x00 || value)`.
    pub fn digest(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// Checks `value` against a stored digest in constant time.
    pub fn verify(&self, purpose: &str, value: &[u8], stored: &[u8]) -> bool {
        self.digest(purpose, value).ct_eq(stored).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_hmac_of_the_framed_value() {
        // Keys shorter than 32 bytes are refused; the digest is a plain HMAC of `purpose || 0 || value`.
        assert!(DigestKey::new(b"Jefe").is_none());
        let k = DigestKey::new(&[0x0b; 32]).unwrap();
        let d = k.digest("code", b"123456");
        assert!(k.verify("code", b"123456", &d));
        assert!(!k.verify("code", b"123457", &d));
        assert!(!k.verify("token", b"123456", &d));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(b"code\x00123456");
        assert_eq!(d.as_slice(), mac.finalize().into_bytes().as_slice());
        assert!(!format!("{k:?}").contains("11"));
    }
}
