//! Ids of the payments layer and their deterministic derivation from the client's idempotency key.
//!
//! Every product request carries an [`IdempotencyKey`] chosen by the client. The id of what it creates
//! (a [`PaymentId`], a red packet, a case) is a keyed hash of the requester and the key, and the ids of
//! its ledger transfers are keyed hashes of that id, a role and an index ([`IdDeriver`]). So a retry of
//! the same request maps to the same payment and the same transfers, and the ledger answers `exists`
//! instead of moving money twice.

use std::fmt;

use qianbao_core::{AccountId, DigestKey, Id128, TransferId};
use serde::{Deserialize, Serialize};

use super::PaymentError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u128);

        impl $name {
            /// From a raw 128-bit value.
            pub const fn from_u128(v: u128) -> Self {
                $name(v)
            }

            /// The raw value.
            pub const fn as_u128(self) -> u128 {
                self.0
            }

            /// Big-endian bytes (how it is stored).
            pub const fn to_bytes(self) -> [u8; 16] {
                self.0.to_be_bytes()
            }

            /// Parses 32 hexadecimal digits.
            pub fn parse(s: &str) -> Result<Self, qianbao_core::IdError> {
                Id128::parse(s).map(|raw| $name(raw.as_u128()))
            }
        }

        impl From<Id128> for $name {
            fn from(raw: Id128) -> Self {
                $name(raw.as_u128())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:032x}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:032x})"), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A payment (top-up, withdrawal, merchant payment, transfer or refund), derived from the requester
    /// and the idempotency key.
    PaymentId
);
id_type!(
    /// A merchant: the owner of merchant accounts.
    MerchantId
);

/// The most characters an idempotency key may have.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 64;

/// The client's idempotency key of one request: 1 to 64 ASCII letters, digits or `-_.:`. A retry
/// carries the same key; a new request a new one. Keys are scoped per requester.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, PaymentError> {
        let key = key.into();
        let ok = (1..=IDEMPOTENCY_KEY_LEN_MAX).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if ok {
            Ok(IdempotencyKey(key))
        } else {
            Err(PaymentError::InvalidRequest(format!(
                "an idempotency key is 1 to {IDEMPOTENCY_KEY_LEN_MAX} ASCII letters, digits or '-_.:', got {} characters",
                key.len()
            )))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = PaymentError;
    fn try_from(s: String) -> Result<Self, PaymentError> {
        IdempotencyKey::new(s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

/// What a derived transfer does for its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// The subject's own transfers (legs, in order).
    Leg = 0,
    /// The posts of pending legs.
    Post = 1,
    /// The voids of pending legs.
    Void = 2,
    /// A red packet's claims (index: the share).
    Claim = 3,
    /// A red packet's return to its sender.
    Return = 4,
}

const PURPOSE: &str = "qianbao/payments/ids/v1";

/// Derives ids with a keyed hash (HMAC-SHA-256 under a [`DigestKey`] kept by the operator). The key
/// must never change for a deployment: a retry after a change would map to other ids.
#[derive(Debug, Clone)]
pub struct IdDeriver {
    key: DigestKey,
}

impl IdDeriver {
    /// A deriver under `key`.
    pub fn new(key: DigestKey) -> Self {
        IdDeriver { key }
    }

    /// The first 128 bits of the keyed hash of the length-framed parts; never 0 nor `u128::MAX`
    /// (which the ledger refuses as ids).
    pub fn derive(&self, kind: &str, parts: &[&[u8]]) -> u128 {
        let mut message = Vec::with_capacity(64);
        for part in std::iter::once(kind.as_bytes()).chain(parts.iter().copied()) {
            message.extend_from_slice(&(part.len() as u32).to_be_bytes());
            message.extend_from_slice(part);
        }
        let digest = self.key.digest(PURPOSE, &message);
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&digest[..16]);
        match u128::from_be_bytes(raw) {
            0 => 1,
            u128::MAX => u128::MAX - 1,
            v => v,
        }
    }

    /// The id of what a requester's request creates.
    pub(crate) fn subject(&self, kind: &str, requester: &[u8], key: &IdempotencyKey) -> u128 {
        self.derive(kind, &[requester, key.as_str().as_bytes()])
    }

    /// The id of transfer `index` with `role` of subject `subject`.
    pub(crate) fn transfer(&self, subject: u128, role: Role, index: u32) -> TransferId {
        let subject = subject.to_be_bytes();
        TransferId::from_u128(self.derive("transfer", &[&subject, &[role as u8], &index.to_be_bytes()]))
    }

    /// The ledger account of an owner's account of a kind in a currency.
    pub(crate) fn account(&self, owner: &[u8], kind: &str, currency: &str) -> AccountId {
        AccountId::from_u128(self.derive("account", &[owner, kind.as_bytes(), currency.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_separated() {
        let d = IdDeriver::new(DigestKey::new(&[9; 32]).unwrap());
        let k = IdempotencyKey::new("order-1").unwrap();
        let a = d.subject("payment", b"u1", &k);
        assert_eq!(a, d.subject("payment", b"u1", &k));
        assert_ne!(a, d.subject("payment", b"u2", &k));
        assert_ne!(a, d.subject("refund", b"u1", &k));
        // Framing: moving a byte between parts changes the id.
        assert_ne!(d.derive("x", &[b"ab", b"c"]), d.derive("x", &[b"a", b"bc"]));
        assert_ne!(d.transfer(a, Role::Leg, 0), d.transfer(a, Role::Leg, 1));
        assert_ne!(d.transfer(a, Role::Leg, 0), d.transfer(a, Role::Post, 0));
        let other = IdDeriver::new(DigestKey::new(&[8; 32]).unwrap());
        assert_ne!(a, other.subject("payment", b"u1", &k));
    }

    #[test]
    fn keys_are_checked_and_ids_round_trip() {
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("x".repeat(65)).is_err());
        assert_eq!(IdempotencyKey::new("A-1_2.3:4").unwrap().as_str(), "A-1_2.3:4");
        let id = PaymentId::from_u128(0xabc);
        assert_eq!(PaymentId::parse(&id.to_string()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<PaymentId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<IdempotencyKey>("\"no spaces\"").is_err());
    }
}
