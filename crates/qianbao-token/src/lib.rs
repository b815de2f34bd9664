//! The token service of qianbao: one-time verification codes, TOTP second factor, sessions (access and
//! refresh tokens) with introspection and revocation, certificate-bound tokens, transaction tokens,
//! dynamic payment codes, QR confirmation, and the devices sessions belong to.
//!
//! - [`Tokens`] is the service: construct it with [`Tokens::new`] over a [`TokenDb`] (SQLite by default,
//!   PostgreSQL with the `postgres` feature), a [`TokenConfig`], a [`DigestKey`](qianbao_core::DigestKey),
//!   a `Clock`, an `Entropy` and a `Notifier` (SMS, email, in-app; `Outbox` in tests).
//! - Pure pieces usable alone: [`otp`] (HOTP/TOTP, RFC 4226/6238, `otpauth://` URIs), [`code`]
//!   (one-time codes), [`bearer`] (token strings and their digests), [`binding`] (RFC 8705 thumbprints),
//!   [`paycode`] (the 18-digit payment code, with the device-side [`PaycodeGenerator`]), [`qr`] (QR
//!   payloads).
//! - [`store`]: [`TokenDb`], the tables, and [`TokenStore::purge_expired`].
//!
//! This crate does not know users' passwords or contacts: the facade checks a password, then asks for a
//! session; asks this crate to send and verify a code, then tells identity what was verified.
//!
//! # Guarantees
//!
//! - **One-time codes**: 6 digits, uniform from the injected CSPRNG (rejection sampling); bound to a
//!   [`Purpose`], a [`CodeSubject`] and the destination; valid 5 minutes; used once; the 5th wrong try
//!   locks the code (and new codes for the same purpose, subject and destination for 30 minutes). Every
//!   try is counted *before* the comparison in one conditional `UPDATE`, so concurrent guesses cannot
//!   exceed the limit. Sends to one destination are at least 60 s apart and at most 10 a day; a resend
//!   gives the live code a new value but keeps its failed tries. Stored only as an HMAC-SHA-256 digest
//!   (bound to the code's id), compared in constant time.
//! - **TOTP**: SHA-1/256/512, 6–8 digits, ±1 step; a step is used once; 5 wrong codes lock for 15 minutes;
//!   the secret is sealed (AES-256-GCM under a key derived from the digest key); 10 recovery codes stored
//!   as digests, each usable once.
//! - **Sessions**: `qba_…` access tokens (15 minutes) and `qbr_…` refresh tokens (30 days): 256 random
//!   bits, a prefix and a CRC-32 checksum ([`BearerToken`]), stored as digests. A refresh rotates both
//!   tokens; presenting a spent refresh token revokes the whole session family
//!   ([`TokenError::RefreshTokenReused`]). [`Tokens::revoke`] follows RFC 7009 (unknown tokens are not an
//!   error; a refresh token takes its session along); [`Tokens::introspect`] answers RFC 7662
//!   [`Introspection`] with `cnf.x5t#S256` for bound tokens.
//! - **Introspection cache**: [`Tokens::authenticate`] computes one HMAC and looks the digest up in a
//!   bounded in-process map. Revocations made through this instance (revoke, reuse detection, sign-outs)
//!   remove the entries at once. **Staleness bound:** a revocation made through *another* instance that
//!   shares the database is seen here at most [`TokenConfig::introspection_cache_ttl`] (default 5 s)
//!   later; set it to zero to read the store every time.
//! - **Binding** (RFC 8705): a session or transaction token may carry a certificate thumbprint; presented
//!   without that certificate it is refused ([`TokenError::CertificateRequired`]).
//! - **Transaction tokens** (`qbt_…`): delivered only through the notifier; scoped by a total amount, a
//!   number of uses, an optional payee and an expiry; consumed in one conditional `UPDATE` that checks and
//!   decrements the remaining count and amount together (concurrent payments cannot overspend);
//!   idempotent by payment id; [`Tokens::release_transaction_token`] gives a consumption back.
//! - **Payment codes**: see [`paycode`] for the layout and the brute-force odds; a code pays at most once
//!   and is valid for at most 60 s.
//! - **QR confirmation**: a challenge lives 2 minutes, is decided once (approve or deny) by another
//!   device of the same user, and is completed once by the new device with a poll secret that is never
//!   in the QR code.
//! - **Devices**: every session belongs to a device; [`Tokens::list_devices`],
//!   [`Tokens::sign_out_device`] (its sessions and payment codes revoked at once),
//!   [`Tokens::sign_out_other_devices`], and [`Tokens::is_known_device`] for the risk rules.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_core::*;
//! use qianbao_token::*;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let outbox = Outbox::new();
//! let store = TokenDb::open(qianbao_store::Database::open_in_memory()?).await?;
//! let key = DigestKey::new(&[7; 32]).unwrap();
//! let tokens = Tokens::new(store, TokenConfig::default(), key, clock.clone(),
//!     Arc::new(SeededEntropy::new(1)), Arc::new(outbox.clone()))?;
//!
//! // A one-time code by SMS, verified once.
//! let phone = Destination::Phone(PhoneNumber::parse("13812345678")?);
//! let user = UserId::from_u128(1);
//! let ticket = tokens.send_code(CodeRequest {
//!     purpose: Purpose::Login, subject: CodeSubject::User(user), destination: phone.clone(),
//! }).await?;
//! let sms = outbox.last_body_to(&phone).unwrap();
//! let code = &sms[sms.find(" is ").unwrap() + 4..][..6];
//! let check = CodeCheck { id: ticket.id, purpose: Purpose::Login, subject: CodeSubject::User(user), code };
//! tokens.verify_code(check.clone()).await?;
//! assert!(matches!(tokens.verify_code(check).await, Err(TokenError::CodeUsed)));
//!
//! // A session on a device; the access token authenticates; a spent refresh token revokes the family.
//! let device = DeviceInfo { id: DeviceId::from_u128(2), name: "phone".into(), address: None };
//! let s = tokens.create_session(SessionRequest {
//!     user, device, scope: "wallet".into(), client_id: None, binding: None,
//! }).await?;
//! assert!(s.new_device);
//! let grant = tokens.authenticate(s.access_token.expose(), None).await?;
//! assert_eq!(grant.user, user);
//! let s2 = tokens.refresh(s.refresh_token.expose(), None).await?;
//! assert!(matches!(tokens.refresh(s.refresh_token.expose(), None).await, Err(TokenError::RefreshTokenReused)));
//! assert!(!tokens.introspect(s2.access_token.expose()).await?.active);
//!
//! // A payment code made offline on the device pays once.
//! let enrollment = tokens.enroll_paycode(user, DeviceId::from_u128(2)).await?;
//! let code = enrollment.generator().code_at(clock.now()).to_string();
//! assert_eq!(tokens.verify_paycode(&code).await?.user, user);
//! assert!(matches!(tokens.verify_paycode(&code).await, Err(TokenError::PaycodeReplayed)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bearer;
pub mod binding;
pub mod code;
mod config;
mod error;
pub mod otp;
pub mod paycode;
pub mod qr;
mod seal;
mod service;
pub mod store;

pub use bearer::{BearerToken, TokenKind};
pub use binding::CertThumbprint;
pub use code::{CodeSubject, OneTimeCode, Purpose};
pub use config::TokenConfig;
pub use error::TokenError;
pub use otp::{OtpAlgorithm, OtpAuthUri, OtpDigits, TotpParams};
pub use paycode::{PaycodeGenerator, PaycodeIndex, PaycodeParams, PaymentCode};
pub use qr::{QrPurpose, QrSecret};
pub use service::codes::{CodeCheck, CodeRequest, CodeTicket, VerifiedCode};
pub use service::paycodes::{PaycodeEnrollment, PaycodeVerified};
pub use service::qr::{QrApproval, QrChallenge, QrDecision, QrRequest};
pub use service::sessions::{
    AccessGrant, Confirmation, Device, DeviceInfo, Introspection, SessionRequest, SessionTokens,
};
pub use service::totp::{TotpEnrollment, TotpStatus, TotpVerified};
pub use service::txtokens::{TxTokenConsumption, TxTokenInfo, TxTokenRequest, TxTokenStatus, TxTokenUse};
pub use service::{CacheStats, Tokens};
pub use store::{PurgeReport, TokenDb, TokenStore};
