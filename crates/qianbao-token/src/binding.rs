//! Certificate binding (RFC 8705 §3): a token may carry the SHA-256 thumbprint of the client certificate
//! it was issued to (`cnf.x5t#S256`); it is then accepted only when that certificate is presented (mutual
//! TLS), so a stolen token is useless without the device's private key.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::TokenError;

/// The SHA-256 thumbprint of a DER client certificate (RFC 8705 `x5t#S256`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertThumbprint([u8; 32]);

impl CertThumbprint {
    /// The thumbprint of a DER-encoded certificate (the bytes TLS presented).
    pub fn of_der(certificate_der: &[u8]) -> Self {
        CertThumbprint(Sha256::digest(certificate_der).into())
    }

    /// From the 32 raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        CertThumbprint(b)
    }

    /// The 32 bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The `x5t#S256` form: base64url without padding (43 characters).
    pub fn to_x5t_s256(self) -> String {
        BASE64URL_NOPAD.encode(&self.0)
    }

    /// Parses the `x5t#S256` form.
    pub fn from_x5t_s256(s: &str) -> Result<Self, TokenError> {
        let m = |why| TokenError::malformed("an x5t#S256 thumbprint", why);
        if s.len() != 43 {
            return Err(m("it must be 43 base64url characters"));
        }
        let bytes = BASE64URL_NOPAD.decode(s.as_bytes()).map_err(|_| m("it must be canonical base64url"))?;
        <[u8; 32]>::try_from(bytes.as_slice()).map(CertThumbprint).map_err(|_| m("it must decode to 32 bytes"))
    }
}

impl fmt::Debug for CertThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertThumbprint({})", self.to_x5t_s256())
    }
}

impl fmt::Display for CertThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_x5t_s256())
    }
}

impl Serialize for CertThumbprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_x5t_s256())
    }
}

impl<'de> Deserialize<'de> for CertThumbprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CertThumbprint::from_x5t_s256(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks a token's binding against the certificate presented with it: an unbound token passes; a bound
/// one needs the same certificate (compared in constant time).
pub fn check_binding(bound: Option<&CertThumbprint>, presented: Option<&CertThumbprint>) -> Result<(), TokenError> {
    match (bound, presented) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(TokenError::CertificateRequired),
        (Some(b), Some(p)) if bool::from(b.0.ct_eq(&p.0)) => Ok(()),
        (Some(_), Some(_)) => Err(TokenError::CertificateMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_round_trip_and_binding_is_enforced() {
        let a = CertThumbprint::of_der(b"certificate a");
        let b = CertThumbprint::of_der(b"certificate b");
        assert_eq!(CertThumbprint::from_x5t_s256(&a.to_x5t_s256()).unwrap(), a);
        assert!(CertThumbprint::from_x5t_s256("abc").is_err());
        assert!(check_binding(None, None).is_ok());
        assert!(check_binding(None, Some(&a)).is_ok());
        assert!(matches!(check_binding(Some(&a), None), Err(TokenError::CertificateRequired)));
        assert!(matches!(check_binding(Some(&a), Some(&b)), Err(TokenError::CertificateMismatch)));
        assert!(check_binding(Some(&a), Some(&a)).is_ok());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<CertThumbprint>(&json).unwrap(), a);
    }
}
