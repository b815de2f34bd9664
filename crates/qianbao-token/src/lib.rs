//! One-time codes, TOTP, sessions, transaction tokens, payment codes and QR confirmation.
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
