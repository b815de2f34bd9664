//! One-time codes, TOTP, sessions, transaction tokens, payment codes and QR confirmation.
//!
//! Part of qianbao. Decisions are plain functions over values; storage sits behind [`TokenStore`], with
//! SQLite (feature `sqlite`, default) and PostgreSQL (feature `postgres`) implementations in `store/`.
//!
//! ```
//! use qianbao_token::TokenError;
//! let e = TokenError::Store(qianbao_store::StoreError::not_found("nothing yet"));
//! assert!(e.to_string().contains("nothing yet"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod store;

pub use error::TokenError;
pub use store::TokenStore;
