//! One-time verification codes: 6 random digits bound to a purpose, a subject and a destination.
//! The pure parts: the code value, its parsing, its keyed digest and the notification text.

use std::fmt;

use qianbao_core::{Destination, DigestKey, Entropy, Id128, SecretString, UserId};
use serde::{Deserialize, Serialize};

use crate::TokenError;

/// The number of digits of a one-time code.
pub const CODE_DIGITS: usize = 6;

/// What a one-time code may be used for. A code issued for one purpose never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Verifying a contact while registering.
    Register,
    /// Logging in (or a login step-up).
    Login,
    /// Account recovery (forgot password).
    Recovery,
    /// Changing a bound phone or email (old or new contact).
    ContactChange,
    /// The fresh identity check before a certificate is issued or reissued.
    CertificateIssuance,
    /// Confirming a payment.
    Payment,
    /// Confirming the delivery of a transaction token.
    TokenDelivery,
    /// Real-name verification (the SMS step).
    RealName,
}

impl Purpose {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::Recovery => "recovery",
            Purpose::ContactChange => "contact_change",
            Purpose::CertificateIssuance => "certificate_issuance",
            Purpose::Payment => "payment",
            Purpose::TokenDelivery => "token_delivery",
            Purpose::RealName => "real_name",
        }
    }

    /// From the stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Purpose::Register,
            Purpose::Login,
            Purpose::Recovery,
            Purpose::ContactChange,
            Purpose::CertificateIssuance,
            Purpose::Payment,
            Purpose::TokenDelivery,
            Purpose::RealName,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    fn describe(self) -> &'static str {
        match self {
            Purpose::Register => "registration",
            Purpose::Login => "login",
            Purpose::Recovery => "account recovery",
            Purpose::ContactChange => "changing your contact details",
            Purpose::CertificateIssuance => "your digital certificate",
            Purpose::Payment => "a payment",
            Purpose::TokenDelivery => "a transaction token",
            Purpose::RealName => "real-name verification",
        }
    }
}

/// Who a code is for: a known user, or — before an account exists (registration) — whoever controls
/// the destination it was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSubject {
    /// A user.
    User(UserId),
    /// No account yet: the holder of the destination.
    Destination,
}

impl CodeSubject {
    /// The stored form.
    pub(crate) fn key(self) -> String {
        match self {
            CodeSubject::User(u) => format!("user:{u}"),
            CodeSubject::Destination => "destination".into(),
        }
    }
}

/// A one-time code's digits. Secret: redacted in Debug, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(SecretString);

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode([REDACTED])")
    }
}

impl OneTimeCode {
    /// A fresh code: uniform over 000000..=999999 (rejection sampling, no modulo bias).
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let n = entropy.below(10u64.pow(CODE_DIGITS as u32));
        OneTimeCode(SecretString::new(format!("{n:0CODE_DIGITS$}")))
    }

    /// Parses what a user typed: exactly 6 digits, surrounding spaces ignored.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let s = input.trim();
        if s.len() != CODE_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::malformed("a verification code", "it must be exactly 6 digits"));
        }
        Ok(OneTimeCode(SecretString::new(s.to_string())))
    }

    /// The digits.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// The keyed digest of a code, bound to the code record's id (equal codes of two records differ).
pub(crate) fn code_digest(key: &DigestKey, id: Id128, code: &OneTimeCode) -> [u8; 32] {
    let mut value = id.to_bytes().to_vec();
    value.extend_from_slice(code.expose().as_bytes());
    key.digest("qianbao-token/code/v1", &value)
}

/// Checks a code against its stored digest in constant time.
pub(crate) fn code_matches(key: &DigestKey, id: Id128, code: &OneTimeCode, stored: &[u8]) -> bool {
    let mut value = id.to_bytes().to_vec();
    value.extend_from_slice(code.expose().as_bytes());
    key.verify("qianbao-token/code/v1", &value, stored)
}

/// The canonical text of a destination (what its digest is computed over).
pub(crate) fn destination_key(d: &Destination) -> String {
    match d {
        Destination::Phone(p) => format!("sms:{}", p.as_str()),
        Destination::Email(e) => format!("email:{}", e.as_str()),
        Destination::User(u) => format!("inapp:{u}"),
        #[allow(unreachable_patterns)]
        other => format!("other:{other:?}"),
    }
}

/// The keyed digest of a destination: codes are throttled per destination without storing it in clear.
pub(crate) fn destination_digest(key: &DigestKey, d: &Destination) -> [u8; 32] {
    key.digest("qianbao-token/destination/v1", destination_key(d).as_bytes())
}

/// The subject line and text of a code notification.
pub(crate) fn code_message(purpose: Purpose, code: &OneTimeCode, ttl_minutes: u64) -> (String, String) {
    let subject = "Your qianbao verification code".to_string();
    let body = format!(
        "[qianbao] Your verification code for {} is {}. It expires in {} minutes. Never share it with anyone, \
         including qianbao staff.",
        purpose.describe(),
        code.expose(),
        ttl_minutes
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn codes_are_six_digits_and_digests_bind_the_record() {
        let e = SeededEntropy::new(3);
        let key = DigestKey::new(&[1; 32]).unwrap();
        for _ in 0..200 {
            let c = OneTimeCode::generate(&e);
            assert_eq!(c.expose().len(), 6);
            assert_eq!(OneTimeCode::parse(c.expose()).unwrap(), c);
        }
        let c = OneTimeCode::parse(" 012345 ").unwrap();
        let (a, b) = (Id128::from_u128(1), Id128::from_u128(2));
        let d = code_digest(&key, a, &c);
        assert!(code_matches(&key, a, &c, &d));
        assert!(!code_matches(&key, b, &c, &d));
        assert!(!code_matches(&key, a, &OneTimeCode::parse("012346").unwrap(), &d));
        for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
            assert!(OneTimeCode::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{c:?}").contains("012345"));
        for p in [Purpose::Register, Purpose::TokenDelivery, Purpose::RealName] {
            assert_eq!(Purpose::from_name(p.as_str()), Some(p));
        }
    }
}
