//! The certificate authority: device certificates, renewal, reissue, revocation, CRLs and signed payment orders.
//!
//! Part of qianbao. Decisions are plain functions over values; storage sits behind [`CaStore`], with
//! SQLite (feature `sqlite`, default) and PostgreSQL (feature `postgres`) implementations in `store/`.
//!
//! ```
//! use qianbao_ca::CaError;
//! let e = CaError::Store(qianbao_store::StoreError::not_found("nothing yet"));
//! assert!(e.to_string().contains("nothing yet"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod store;

pub use error::CaError;
pub use store::CaStore;
