//! Storage of this crate: the [`LedgerStore`] trait and its backends.

use crate::LedgerError;

/// Accounts with their counters, transfers, results of failed requests (so retries are answered the same) and the journal chain.
pub trait LedgerStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), LedgerError>> + Send;
}
