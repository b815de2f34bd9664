//! HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA-1, -SHA-256 or -SHA-512 and 6 to 8 digits, plus
//! `otpauth://totp/` enrollment URIs (the Google Authenticator key-URI format, read by every common
//! authenticator app). Pure functions: no clock, no storage.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use qianbao_core::{SecretBytes, Timestamp};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::TokenError;

/// The HMAC hash of an HOTP/TOTP generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OtpAlgorithm {
    /// HMAC-SHA-1: the RFC 4226 default and what every authenticator app supports.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl OtpAlgorithm {
    /// The name used in `otpauth://` URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            OtpAlgorithm::Sha1 => "SHA1",
            OtpAlgorithm::Sha256 => "SHA256",
            OtpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// From a URI name, case-insensitively.
    pub fn from_uri_name(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" => Some(OtpAlgorithm::Sha1),
            "SHA256" => Some(OtpAlgorithm::Sha256),
            "SHA512" => Some(OtpAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The secret length RFC 6238 uses for this hash (its output size): 20, 32 or 64 bytes.
    pub fn secret_len(self) -> usize {
        match self {
            OtpAlgorithm::Sha1 => 20,
            OtpAlgorithm::Sha256 => 32,
            OtpAlgorithm::Sha512 => 64,
        }
    }
}

/// How many digits a code has: 6, 7 or 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct OtpDigits(u8);

impl OtpDigits {
    /// Six digits (the common default).
    pub const SIX: OtpDigits = OtpDigits(6);
    /// Eight digits.
    pub const EIGHT: OtpDigits = OtpDigits(8);

    /// 6, 7 or 8; anything else is refused.
    pub fn new(digits: u8) -> Result<Self, TokenError> {
        if (6..=8).contains(&digits) {
            Ok(OtpDigits(digits))
        } else {
            Err(TokenError::malformed("the number of digits", "it must be 6, 7 or 8"))
        }
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    fn modulus(self) -> u32 {
        10u32.pow(u32::from(self.0))
    }
}

impl TryFrom<u8> for OtpDigits {
    type Error = TokenError;
    fn try_from(d: u8) -> Result<Self, TokenError> {
        OtpDigits::new(d)
    }
}

impl From<OtpDigits> for u8 {
    fn from(d: OtpDigits) -> u8 {
        d.0
    }
}

/// TOTP parameters: hash, digits and time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TotpParams {
    /// The HMAC hash.
    pub algorithm: OtpAlgorithm,
    /// Code length.
    pub digits: OtpDigits,
    /// The time step in seconds (RFC 6238's X). 1 to 300.
    pub step_secs: u32,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30 seconds: what every authenticator app supports.
    fn default() -> Self {
        TotpParams { algorithm: OtpAlgorithm::Sha1, digits: OtpDigits::SIX, step_secs: 30 }
    }
}

impl TotpParams {
    /// Checks the step is within 1..=300 seconds.
    pub fn check(&self) -> Result<(), TokenError> {
        if (1..=300).contains(&self.step_secs) {
            Ok(())
        } else {
            Err(TokenError::malformed("the TOTP period", "it must be 1 to 300 seconds"))
        }
    }

    /// The time step counter at `at` (RFC 6238: T = floor((unix time - T0) / X), T0 = 0).
    pub fn step_at(&self, at: Timestamp) -> u64 {
        at.unix_secs() / u64::from(self.step_secs.max(1))
    }
}

/// A one-time password as its decimal digits (zero-padded). Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([REDACTED])")
    }
}

impl fmt::Display for OtpCode {
    /// The digits themselves (a code is shown to the user it belongs to).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// `HMAC-<algorithm>(key, msg)`.
pub(crate) fn hmac(algorithm: OtpAlgorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    match algorithm {
        OtpAlgorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, msg),
        OtpAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, msg),
        OtpAlgorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, msg),
    }
}

/// RFC 4226 dynamic truncation: 31 bits from the offset named by the last nibble.
pub(crate) fn dynamic_truncate(hs: &[u8]) -> u32 {
    let offset = usize::from(hs.last().copied().unwrap_or(0) & 0x0f);
    let b = |i: usize| u32::from(hs.get(offset + i).copied().unwrap_or(0));
    ((b(0) & 0x7f) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)
}

/// The HOTP value of `secret` at `counter` (RFC 4226 §5.3), as `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, algorithm: OtpAlgorithm, digits: OtpDigits) -> OtpCode {
    let hs = hmac(algorithm, secret, &counter.to_be_bytes());
    let value = dynamic_truncate(&hs) % digits.modulus();
    OtpCode(format!("{value:0width$}", width = usize::from(digits.get())))
}

/// The TOTP value of `secret` at time `at` (RFC 6238).
pub fn totp(secret: &[u8], params: &TotpParams, at: Timestamp) -> OtpCode {
    hotp(secret, params.step_at(at), params.algorithm, params.digits)
}

/// Checks `candidate` against the HOTP value at `counter` in constant time (for equal lengths).
pub fn hotp_matches(secret: &[u8], counter: u64, algorithm: OtpAlgorithm, digits: OtpDigits, candidate: &str) -> bool {
    let expected = hotp(secret, counter, algorithm, digits);
    expected.0.as_bytes().ct_eq(candidate.as_bytes()).into()
}

/// The time step within `window` steps of `at` (before or after) whose code is `candidate`, if any.
/// Every step of the window is computed and compared, so the time taken does not reveal which matched.
pub fn totp_match(secret: &[u8], params: &TotpParams, at: Timestamp, window: u8, candidate: &str) -> Option<u64> {
    let now = params.step_at(at);
    let mut found = None;
    for delta in -i64::from(window)..=i64::from(window) {
        let Some(step) = now.checked_add_signed(delta) else { continue };
        if hotp_matches(secret, step, params.algorithm, params.digits, candidate) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A parsed `otpauth://totp/LABEL?secret=…` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpAuthUri {
    /// The issuer (from the `issuer` parameter, else the label's prefix).
    pub issuer: Option<String>,
    /// The account name (the label after `issuer:`).
    pub account: String,
    /// The shared secret.
    pub secret: SecretBytes,
    /// Hash, digits and period.
    pub params: TotpParams,
}

const URI_MAX: usize = 2048;

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String, TokenError> {
    let bad = || TokenError::malformed("an otpauth URI", "a percent escape is not two hexadecimal digits");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| TokenError::malformed("an otpauth URI", "it is not UTF-8 after decoding"))
}

impl OtpAuthUri {
    /// The URI: `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=…&digits=…&period=…`.
    pub fn to_uri(&self) -> String {
        let secret = data_encoding::BASE32_NOPAD.encode(self.secret.expose());
        let label = match &self.issuer {
            Some(i) => format!("{}:{}", percent_encode(i), percent_encode(&self.account)),
            None => percent_encode(&self.account),
        };
        let mut uri = format!("otpauth://totp/{label}?secret={secret}");
        if let Some(i) = &self.issuer {
            uri.push_str(&format!("&issuer={}", percent_encode(i)));
        }
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.params.algorithm.uri_name(),
            self.params.digits.get(),
            self.params.step_secs
        ));
        uri
    }

    /// Parses an `otpauth://totp/` URI (HOTP URIs, unknown algorithms, bad digits or periods and
    /// secrets shorter than 10 bytes are refused).
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let m = |why| TokenError::malformed("an otpauth URI", why);
        if input.len() > URI_MAX {
            return Err(m("it is longer than 2048 characters"));
        }
        let rest = input.strip_prefix("otpauth://totp/").ok_or_else(|| m("it must start with otpauth://totp/"))?;
        let (label, query) = rest.split_once('?').ok_or_else(|| m("it has no parameters"))?;
        let label = percent_decode(label)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((i, a)) => (Some(i.trim().to_string()), a.trim().to_string()),
            None => (None, label.trim().to_string()),
        };
        if account.is_empty() {
            return Err(m("the account name is empty"));
        }
        let mut params = TotpParams::default();
        let (mut secret, mut issuer) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| m("a parameter has no '='"))?;
            let v = percent_decode(v)?;
            match k {
                "secret" => secret = Some(decode_base32_secret(&v)?),
                "issuer" => issuer = Some(v),
                "algorithm" => {
                    params.algorithm = OtpAlgorithm::from_uri_name(&v).ok_or_else(|| m("unknown algorithm"))?
                }
                "digits" => params.digits = OtpDigits::new(v.parse().map_err(|_| m("digits is not a number"))?)?,
                "period" => params.step_secs = v.parse().map_err(|_| m("period is not a number"))?,
                _ => {}
            }
        }
        params.check()?;
        let secret = secret.ok_or_else(|| m("it has no secret"))?;
        if let (Some(a), Some(b)) = (&issuer, &label_issuer)
            && a != b
        {
            return Err(m("the issuer parameter differs from the label's issuer"));
        }
        Ok(OtpAuthUri { issuer: issuer.or(label_issuer), account, secret, params })
    }
}

/// Decodes a base32 secret (RFC 4648, case-insensitive, padding and spaces ignored), 10 to 128 bytes.
pub fn decode_base32_secret(s: &str) -> Result<SecretBytes, TokenError> {
    let cleaned: String = s.chars().filter(|c| *c != ' ' && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
    let bytes = data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| TokenError::malformed("a base32 secret", "it must use the letters A-Z and digits 2-7"))?;
    if !(10..=128).contains(&bytes.len()) {
        return Err(TokenError::malformed("a base32 secret", "it must decode to 10 to 128 bytes"));
    }
    Ok(SecretBytes::new(bytes))
}

#[cfg(test)]
mod tests;
