//! Storage of the ledger: [`DurableLedger`], the engine on SQLite or PostgreSQL.
//!
//! A group of requests gathered from concurrent callers is decided by the engine on a view loaded
//! from the database and written in one transaction; callers are answered after the commit. Every
//! committed group is a link of the SHA-256 journal chain ([`DurableLedger::verify_journal`]).
//! See ARCHITECTURE.md (the ledger section) for the tables and the write path of each backend.

#[cfg(feature = "sqlite")]
mod account_log;
mod backend;
mod codec;
mod filter;
mod group;
mod journal;
mod owner;
mod port;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_read;
mod query;
mod reads;
#[cfg(feature = "sqlite")]
mod runs;
mod schema;
mod service;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_read;

pub use journal::{JournalCheck, JournalHead};
pub use query::{BalancePage, Cursor, Direction, PAGE_ROWS_MAX, SpendingReport, Total, TransferFilter, TransferPage};
pub use schema::MIGRATIONS;
pub use service::{DurableLedger, LedgerOptions};

use crate::LedgerError;

/// Something that keeps the ledger's tables: accounts with their counters, transfers, results of failed
/// requests (so retries are answered the same) and the journal chain.
pub trait LedgerStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

impl LedgerStore for DurableLedger {
    async fn migrate(&self) -> Result<(), LedgerError> {
        Ok(self.database().migrate(MIGRATIONS).await?)
    }
}
