//! Time-ordered 128-bit ids: 48 bits of Unix milliseconds, then 80 random bits (the UUIDv7 / ULID
//! layout), so ids sort by creation time and index well, yet cannot be guessed.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Clock, Entropy};

/// Why a string is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 32 hexadecimal digits.
    #[error("an id is 32 hexadecimal digits, got {len} characters")]
    Malformed {
        /// How many characters were given.
        len: usize,
    },
}

/// The raw 128-bit value under every id newtype.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id128(u128);

impl Id128 {
    /// Wraps a raw value.
    pub const fn from_u128(v: u128) -> Self {
        Id128(v)
    }

    /// The raw value.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// Big-endian bytes (sort like the ids).
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// From big-endian bytes.
    pub const fn from_bytes(b: [u8; 16]) -> Self {
        Id128(u128::from_be_bytes(b))
    }

    /// The millisecond timestamp embedded in a generated id.
    pub const fn unix_millis(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// Parses 32 hexadecimal digits (either case).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdError::Malformed { len: s.len() });
        }
        u128::from_str_radix(s, 16).map(Id128).map_err(|_| IdError::Malformed { len: s.len() })
    }
}

impl fmt::Display for Id128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for Id128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Makes time-ordered ids from an injected clock and random source.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
}

impl IdGenerator {
    /// A generator over the given clock and entropy.
    pub fn new(clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Self {
        IdGenerator { clock, entropy }
    }

    /// A fresh raw id.
    pub fn next_raw(&self) -> Id128 {
        let millis = u128::from(self.clock.now().unix_millis() & ((1 << 48) - 1));
        let mut rand = [0u8; 16];
        self.entropy.fill(&mut rand[6..]);
        let random = u128::from_be_bytes(rand);
        Id128((millis << 80) | random)
    }

    /// A fresh id of any id type.
    pub fn next<T: From<Id128>>(&self) -> T {
        T::from(self.next_raw())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Id128);

        impl $name {
            /// Wraps a raw id.
            pub const fn from_raw(raw: Id128) -> Self {
                $name(raw)
            }
            /// The raw id.
            pub const fn raw(self) -> Id128 {
                self.0
            }
            /// From a raw 128-bit value.
            pub const fn from_u128(v: u128) -> Self {
                $name(Id128::from_u128(v))
            }
            /// The raw 128-bit value.
            pub const fn as_u128(self) -> u128 {
                self.0.as_u128()
            }
            /// Big-endian bytes.
            pub const fn to_bytes(self) -> [u8; 16] {
                self.0.to_bytes()
            }
            /// From big-endian bytes.
            pub const fn from_bytes(b: [u8; 16]) -> Self {
                $name(Id128::from_bytes(b))
            }
            /// Parses 32 hexadecimal digits.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Id128::parse(s).map($name)
            }
        }

        impl From<Id128> for $name {
            fn from(raw: Id128) -> Self {
                $name(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A wallet user.
    UserId
);
id_type!(
    /// A ledger account.
    AccountId
);
id_type!(
    /// A ledger transfer; chosen by the client, it is the idempotency key.
    TransferId
);
id_type!(
    /// A device of a user (a phone, a browser).
    DeviceId
);
id_type!(
    /// A login session.
    SessionId
);
id_type!(
    /// A transaction token or another issued token.
    TokenId
);
id_type!(
    /// A record of an issued certificate (the certificate's own serial is separate).
    CertSerialId
);
id_type!(
    /// A dispute or fraud case.
    CaseId
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, SeededEntropy, Timestamp};

    #[test]
    fn ids_sort_by_time_and_round_trip() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000)));
        let g = IdGenerator::new(clock.clone(), Arc::new(SeededEntropy::new(1)));
        let a: UserId = g.next();
        clock.advance(std::time::Duration::from_millis(1));
        let b: UserId = g.next();
        assert!(a < b);
        assert_eq!(a.raw().unix_millis(), 1_000);
        assert_eq!(UserId::parse(&a.to_string()), Ok(a));
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), b);
        assert!(UserId::parse("xyz").is_err());
        assert!(UserId::parse(&"g".repeat(32)).is_err());
    }
}
