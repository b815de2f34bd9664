//! The double-entry ledger of qianbao: accounts, transfers decided in batches in memory, two-phase holds,
//! linked chains, idempotency and debit limits.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod accounts;
mod codes;
mod decide;
mod error;
mod expire;
mod flags;
mod index;
mod limit;
mod outcome;
mod result;
mod state;
pub mod store;
mod transfer;
mod view;

pub use account::{Account, AccountBalance, Balance, NewAccount};
pub use codes::{AccountCode, Ledger, TransferCode};
pub use error::LedgerError;
pub use flags::{AccountFlags, TransferFlags};
pub use limit::{
    AccountLimit, DebitLimit, LIMIT_CODES_MAX, LIMIT_SLOTS_MAX, LedgerConfig, LimitStatus, LimitUsage, LimitWindow,
};
pub use outcome::{
    AccountLimitSet, AccountsOutcome, Changes, ExpiryOutcome, FailedTransfer, LimitUsageChange, TransfersOutcome,
};
pub use result::{CreateAccountResult, CreateTransferResult};
pub use state::{BATCH_EVENTS_MAX, LedgerState, Needs};
pub use store::LedgerStore;
pub use transfer::{AMOUNT_MAX, NewTransfer, PendingState, PendingStatus, Transfer};

#[cfg(test)]
mod test_support;
