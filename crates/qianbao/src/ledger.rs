//! The ledger the wallet's payments post to — chosen here and nowhere else.
//!
//! The payments run on [`DurableLedger`], on the wallet's own database: every acknowledged batch is
//! committed (on SQLite with `synchronous=FULL`), chained into the SHA-256 journal, and restored when
//! the wallet reopens. Nothing else in the facade depends on which ledger it is: every read and write
//! goes through [`LedgerPort`](qianbao_ledger::LedgerPort).

use std::sync::Arc;

use qianbao_core::Clock;
use qianbao_ledger::{DurableLedger, LedgerConfig, PaymentError};
use qianbao_store::Database;

use crate::WalletError;

/// The ledger implementation behind [`Wallet::payments`](crate::Wallet::payments).
pub type WalletLedger = DurableLedger;

/// Opens the wallet's ledger on `db` (days of daily limits start at midnight Beijing time).
pub(crate) async fn open_ledger(db: &Database, clock: Arc<dyn Clock>) -> Result<WalletLedger, WalletError> {
    DurableLedger::open(db.clone(), LedgerConfig::default(), clock)
        .await
        .map_err(|e| WalletError::Payment(PaymentError::from(e)))
}
