//! The double-entry ledger: accounts, transfers decided in batches in memory, limits, payments, QR codes, risk.
//!
//! Part of qianbao. Decisions are plain functions over values; storage sits behind [`LedgerStore`], with
//! SQLite (feature `sqlite`, default) and PostgreSQL (feature `postgres`) implementations in `store/`.
//!
//! ```
//! use qianbao_ledger::LedgerError;
//! let e = LedgerError::Store(qianbao_store::StoreError::not_found("nothing yet"));
//! assert!(e.to_string().contains("nothing yet"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod store;

pub use error::LedgerError;
pub use store::LedgerStore;

// payments building blocks
pub mod bank;
pub mod fee;
pub mod qr;
pub mod redpacket;
pub mod risk;

pub use bank::{BankAdapter, BankError, ScriptedBank};
pub use fee::{FeeError, FeeSchedule};
pub use qr::{QrCodec, QrError};
pub use redpacket::{RedPacket, RedPacketError};
pub use risk::{RiskConfig, RiskDecision, RiskError};
