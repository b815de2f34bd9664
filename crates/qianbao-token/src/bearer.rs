//! Opaque bearer tokens: 256 random bits with a recognizable prefix and a checksum, and the keyed digest
//! they are stored and looked up by.
//!
//! Format: `PREFIX` (4 characters: `qba_` access, `qbr_` refresh, `qbt_` transaction token) then 43
//! base64url characters (32 random bytes) then 6 base64url characters of the CRC-32 of everything before
//! them: 53 characters. The prefix lets secret scanners and people recognize a leaked token; the checksum
//! lets a typo or a random string be refused before any digest or database work.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use qianbao_core::{DigestKey, Entropy, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::TokenError;

/// The length of every bearer token string.
pub const TOKEN_LEN: usize = 53;
const BODY_LEN: usize = 43;
static CRC32: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

/// Which kind of bearer token a string is (from its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A short-lived access token (`qba_`).
    Access,
    /// A long-lived refresh token (`qbr_`).
    Refresh,
    /// A scoped transaction token (`qbt_`).
    Transaction,
}

impl TokenKind {
    /// The 4-character prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "qba_",
            TokenKind::Refresh => "qbr_",
            TokenKind::Transaction => "qbt_",
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Transaction => "transaction",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        match s {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            "transaction" => Some(TokenKind::Transaction),
            _ => None,
        }
    }

    /// RFC 7662's `token_type` hint value.
    pub fn type_hint(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
            TokenKind::Transaction => "transaction_token",
        }
    }

    fn from_prefix(s: &str) -> Option<Self> {
        [TokenKind::Access, TokenKind::Refresh, TokenKind::Transaction].into_iter().find(|k| s.starts_with(k.prefix()))
    }
}

/// A bearer token string that parsed (prefix, alphabet, length and checksum). Secret: redacted in Debug,
/// zeroized on drop, compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken {
    kind: TokenKind,
    text: SecretString,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken({}[REDACTED])", self.kind.prefix())
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The 6 base64url characters of the CRC-32 of `head` (big-endian, 4 zero padding bits), without
/// allocating: this runs on every authentication.
fn checksum(head: &[u8]) -> [u8; 6] {
    let v = u64::from(CRC32.checksum(head)) << 4;
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = B64URL[((v >> (30 - 6 * i)) & 63) as usize];
    }
    out
}

/// base64url character → its 6-bit value; 0xFF for anything else (a table: no branches per character).
const B64URL_VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 64 {
        t[B64URL[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Checks a token string's shape (prefix, length, alphabet, canonical body, checksum) without
/// allocating; its kind.
pub(crate) fn validate(input: &str) -> Result<TokenKind, TokenError> {
    let m = |why| TokenError::malformed("a bearer token", why);
    let kind = TokenKind::from_prefix(input).ok_or_else(|| m("it must start with qba_, qbr_ or qbt_"))?;
    if input.len() != TOKEN_LEN {
        return Err(m("it must be 53 characters long"));
    }
    let b = input.as_bytes();
    let bad = b[4..].iter().fold(0u8, |acc, &c| acc | B64URL_VALUE[usize::from(c)]);
    if bad & 0x80 != 0 {
        return Err(m("it must use base64url characters after the prefix"));
    }
    // Canonical base64url: 43 characters carry 258 bits for 32 bytes, so the last body character's 2 low
    // bits are padding and must be zero; likewise the checksum's last character's 4 low bits.
    let body_last = B64URL_VALUE[usize::from(b[4 + BODY_LEN - 1])];
    let last = B64URL_VALUE[usize::from(b[TOKEN_LEN - 1])];
    if body_last & 0b11 != 0 || last & 0b1111 != 0 {
        return Err(m("it is not canonical base64url"));
    }
    let expected = checksum(&b[..4 + BODY_LEN]);
    if !bool::from(expected.ct_eq(&b[4 + BODY_LEN..])) {
        return Err(m("its checksum does not match (mistyped or truncated)"));
    }
    Ok(kind)
}

/// [`validate`], and the kind must be `kind`.
pub(crate) fn validate_kind(input: &str, kind: TokenKind) -> Result<(), TokenError> {
    if validate(input)? != kind {
        return Err(TokenError::malformed("a bearer token", "it is another kind of token than expected"));
    }
    Ok(())
}

impl BearerToken {
    /// A fresh token of `kind`: 32 bytes from `entropy`.
    pub fn generate(kind: TokenKind, entropy: &dyn Entropy) -> Self {
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        entropy.fill(raw.as_mut());
        let mut text = String::with_capacity(TOKEN_LEN);
        text.push_str(kind.prefix());
        text.push_str(&BASE64URL_NOPAD.encode(raw.as_ref()));
        let crc = checksum(text.as_bytes());
        text.extend(crc.iter().map(|&c| char::from(c)));
        BearerToken { kind, text: SecretString::new(text) }
    }

    /// Parses any kind of token.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let kind = validate(input)?;
        Ok(BearerToken { kind, text: SecretString::new(input.to_string()) })
    }

    /// Parses a token and checks it is of `kind`.
    pub fn parse_kind(input: &str, kind: TokenKind) -> Result<Self, TokenError> {
        validate_kind(input, kind)?;
        Ok(BearerToken { kind, text: SecretString::new(input.to_string()) })
    }

    /// Its kind.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The token string: hand it to its owner, never log it.
    pub fn expose(&self) -> &str {
        self.text.expose()
    }
}

/// The keyed digest a token is stored and looked up by: HMAC-SHA-256 under a key derived from the
/// service's [`DigestKey`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenDigest(pub(crate) [u8; 32]);

impl TokenDigest {
    /// The bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// From stored bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        TokenDigest(b)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// Computes [`TokenDigest`]s. The HMAC key schedule is computed once and cloned per digest (the
/// introspection hot path: one clone and two SHA-256 blocks per token).
#[derive(Clone)]
pub(crate) struct TokenHasher {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHasher([REDACTED])")
    }
}

impl TokenHasher {
    pub(crate) fn new(key: &DigestKey) -> Self {
        let sub = zeroize::Zeroizing::new(key.digest("qianbao-token/bearer-digest-key/v1", b""));
        // HMAC takes keys of any length, so this cannot fail.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(sub.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        TokenHasher { mac }
    }

    pub(crate) fn digest(&self, token: &BearerToken) -> TokenDigest {
        self.digest_bytes(token.expose().as_bytes())
    }

    /// The digest of a token string that passed [`validate`] (no copy of the secret is made).
    pub(crate) fn digest_str(&self, token: &str) -> TokenDigest {
        self.digest_bytes(token.as_bytes())
    }

    pub(crate) fn digest_bytes(&self, value: &[u8]) -> TokenDigest {
        let mut m = self.mac.clone();
        m.update(value);
        TokenDigest(m.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn tokens_round_trip_and_typos_are_caught() {
        let e = SeededEntropy::new(1);
        for kind in [TokenKind::Access, TokenKind::Refresh, TokenKind::Transaction] {
            let t = BearerToken::generate(kind, &e);
            assert_eq!(t.expose().len(), TOKEN_LEN);
            assert!(t.expose().starts_with(kind.prefix()));
            assert_eq!(BearerToken::parse(t.expose()).unwrap(), t);
            assert!(!format!("{t:?}").contains(&t.expose()[4..]));
            let mut typo = t.expose().to_string().into_bytes();
            typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
            assert!(BearerToken::parse(std::str::from_utf8(&typo).unwrap()).is_err());
        }
        let a = BearerToken::generate(TokenKind::Access, &e);
        assert!(BearerToken::parse_kind(a.expose(), TokenKind::Refresh).is_err());
        assert!(BearerToken::parse("qba_short").is_err());
        assert!(BearerToken::parse("").is_err());
    }
}
