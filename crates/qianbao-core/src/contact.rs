//! Contact addresses: phone numbers and email addresses, validated and normalized.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mask::mask_middle;

/// Why a phone number or email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    /// Characters other than digits, spaces, dashes, dots, brackets and one leading `+`.
    #[error("a phone number has only digits, spaces, dashes and one leading '+'")]
    PhoneCharacters,
    /// Not an E.164 number (country code then up to 15 digits in all).
    #[error("a phone number has 8 to 15 digits after '+' and a country code that does not start with 0")]
    PhoneLength,
    /// A +86 number that is not a mainland mobile number (11 digits starting 13–19).
    #[error("a mainland China mobile number has 11 digits starting with 13 to 19")]
    NotMainlandMobile,
    /// Not `local@domain` with a dotted domain.
    #[error("an email address looks like name@example.com")]
    EmailShape,
    /// Longer than RFC 5321 allows (64 for the local part, 254 in all).
    #[error("an email address is at most 254 characters, its local part at most 64")]
    EmailLength,
    /// Characters an address may not contain here.
    #[error("an email address may not contain {0:?}")]
    EmailCharacter(char),
}

/// A phone number in E.164 form (`+8613812345678`).
///
/// Mainland mobile numbers may be given without the country code (`138 1234 5678`); every `+86`
/// number must be a mainland mobile number (11 digits starting 13–19), since codes go by SMS.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalizes to E.164.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ContactError::PhoneCharacters),
            }
        }
        if !plus {
            // Without '+', only mainland mobiles (optionally with the 0086 prefix) are understood.
            let national = digits.strip_prefix("0086").unwrap_or(&digits);
            return Self::mainland(national);
        }
        if let Some(national) = digits.strip_prefix("86") {
            return Self::mainland(national);
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(ContactError::PhoneLength);
        }
        Ok(PhoneNumber(format!("+{digits}")))
    }

    fn mainland(national: &str) -> Result<Self, ContactError> {
        let b = national.as_bytes();
        let ok = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if ok { Ok(PhoneNumber(format!("+86{national}"))) } else { Err(ContactError::NotMainlandMobile) }
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a mainland China mobile number.
    pub fn is_mainland(&self) -> bool {
        self.0.starts_with("+86")
    }

    /// For display: `+86 138****5678`, or the middle digits masked for other countries.
    pub fn masked(&self) -> String {
        if let Some(national) = self.0.strip_prefix("+86") {
            return format!("+86 {}", mask_middle(national, 3, 4));
        }
        mask_middle(&self.0, 4, 2)
    }
}

/// An email address, trimmed and lower-cased (the whole address: mail systems that matter here treat the
/// local part case-insensitively, and one user must not register twice by changing case).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Parses and normalizes.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let s = input.trim().to_lowercase();
        if s.len() > 254 {
            return Err(ContactError::EmailLength);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(ContactError::EmailShape)?;
        if local.is_empty() || domain.is_empty() {
            return Err(ContactError::EmailShape);
        }
        if local.len() > 64 {
            return Err(ContactError::EmailLength);
        }
        let local_ok = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c);
        if let Some(c) = local.chars().find(|&c| !local_ok(c)) {
            return Err(ContactError::EmailCharacter(c));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(ContactError::EmailShape);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(ContactError::EmailShape);
        }
        for label in &labels {
            if let Some(c) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-')) {
                return Err(ContactError::EmailCharacter(c));
            }
            if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
                return Err(ContactError::EmailShape);
            }
        }
        Ok(Email(s))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For display: `z***@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

macro_rules! contact_impls {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            /// Debug output is masked: contacts are personal data and end up in logs.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "({})"), self.masked())
            }
        }
        impl std::str::FromStr for $t {
            type Err = ContactError;
            fn from_str(s: &str) -> Result<Self, ContactError> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
contact_impls!(PhoneNumber);
contact_impls!(Email);

#[cfg(test)]
mod tests;
