//! Secrets: zeroized on drop, redacted in `Debug`, compared in constant time.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value. It never prints (`Debug` shows `Secret([REDACTED])`), is wiped from memory when
/// dropped, and compares in constant time. Read it with [`Secret::expose`] only where it is used.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret<T: Zeroize>(T);

/// A secret string: a password, a one-time code, a token.
pub type SecretString = Secret<String>;
/// Secret bytes: key material.
pub type SecretBytes = Secret<Vec<u8>>;

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value. Keep the borrow short.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T: Zeroize + AsRef<[u8]>> Secret<T> {
    /// Constant-time comparison with plain bytes (length may leak, content does not).
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        self.0.as_ref().ct_eq(other).into()
    }
}

impl<T: Zeroize + AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq_bytes(other.0.as_ref())
    }
}

impl<T: Zeroize + AsRef<[u8]>> Eq for Secret<T> {}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        Secret(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print_and_compare_by_value() {
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(s, SecretString::from("hunter2"));
        assert_ne!(s, SecretString::from("hunter3"));
        assert!(s.ct_eq_bytes(b"hunter2"));
        assert!(!s.ct_eq_bytes(b"hunter"));
        assert_eq!(s.expose(), "hunter2");
    }
}
