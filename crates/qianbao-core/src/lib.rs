//! Shared vocabulary of qianbao: the types every other crate speaks.
//!
//! - [`Money`] and [`Currency`]: amounts in integer minor units (CNY fen by default), parsed from and
//!   printed to exact decimal strings, with checked arithmetic. Never a float.
//! - Ids: time-ordered 128-bit newtypes such as [`UserId`] and [`AccountId`], made by an [`IdGenerator`]
//!   from an injected [`Clock`] and [`Entropy`] source, so a test can replay a run from a seed.
//! - [`Clock`] with [`SystemClock`] and the test-controlled [`ManualClock`]; [`Timestamp`] in nanoseconds.
//! - Contacts: [`PhoneNumber`] (mainland China mobile or E.164) and [`Email`], validated and normalized,
//!   with masked forms for display ([`mask`]).
//! - [`Secret`]: zeroized on drop, redacted in `Debug`, compared in constant time.
//! - [`Notifier`]: how codes and security notices reach users over a [`Channel`]; [`Outbox`] records them
//!   in memory for tests and examples.
//! - [`digest`]: keyed digests (HMAC-SHA-256) for storing codes, tokens and look-up keys.
//!
//! ```
//! use qianbao_core::{Money, Currency, PhoneNumber, ManualClock, Clock, Timestamp};
//!
//! let price = Money::parse("12.34", Currency::CNY)?;
//! let total = price.checked_mul(3)?;
//! assert_eq!(total.to_string(), "37.02 CNY");
//! assert_eq!(total.minor(), 3702);
//!
//! let phone = PhoneNumber::parse("138 1234 5678")?;
//! assert_eq!(phone.as_str(), "+8613812345678");
//! assert_eq!(phone.masked(), "+86 138****5678");
//!
//! let clock = ManualClock::new(Timestamp::from_unix_secs(1_700_000_000));
//! clock.advance(std::time::Duration::from_secs(60));
//! assert_eq!(clock.now().unix_secs(), 1_700_000_060);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calendar;
mod clock;
mod contact;
pub mod digest;
mod entropy;
mod id;
pub mod mask;
mod money;
mod notify;
mod secret;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use contact::{ContactError, Email, PhoneNumber};
pub use digest::DigestKey;
pub use entropy::{Entropy, OsEntropy, SeededEntropy};
pub use id::{
    AccountId, CaseId, CertSerialId, DeviceId, Id128, IdError, IdGenerator, SessionId, TokenId, TransferId, UserId,
};
pub use money::{Currency, Money, MoneyError};
pub use notify::{Channel, Destination, Notification, NotificationKind, Notifier, NotifyError, NotifyFuture, Outbox};
pub use secret::{Secret, SecretBytes, SecretString};
