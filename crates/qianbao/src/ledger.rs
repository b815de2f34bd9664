//! The ledger the wallet's payments post to — chosen here and nowhere else.
//!
//! Until the durable ledger (on the wallet's own database, journal hash-chained) is wired in, the
//! payments run on [`MemoryLedger`]: **balances do not survive a restart**, even on a SQLite file or
//! PostgreSQL (the payments records do). Swapping it is this one file: the alias and
//! [`open_ledger`]. Nothing else in the facade depends on which ledger it is: every read and write
//! goes through [`LedgerPort`](qianbao_ledger::LedgerPort).

use std::sync::Arc;

use qianbao_core::Clock;
use qianbao_ledger::{LedgerConfig, MemoryLedger};
use qianbao_store::Database;

use crate::WalletError;

/// The ledger implementation behind [`Wallet::payments`](crate::Wallet::payments).
pub type WalletLedger = MemoryLedger;

/// Opens the wallet's ledger on `db` (days of daily limits start at midnight Beijing time).
pub(crate) async fn open_ledger(_db: &Database, clock: Arc<dyn Clock>) -> Result<WalletLedger, WalletError> {
    Ok(MemoryLedger::new(LedgerConfig::default(), clock))
}
