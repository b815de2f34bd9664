//! Users, passwords, contacts, real-name verification (KYC), account classes and payment passwords.
//!
//! Part of qianbao. Decisions are plain functions over values; storage sits behind [`IdentityStore`], with
//! SQLite (feature `sqlite`, default) and PostgreSQL (feature `postgres`) implementations in `store/`.
//!
//! ```
//! use qianbao_identity::IdentityError;
//! let e = IdentityError::Store(qianbao_store::StoreError::not_found("nothing yet"));
//! assert!(e.to_string().contains("nothing yet"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod store;

pub use error::IdentityError;
pub use store::IdentityStore;
