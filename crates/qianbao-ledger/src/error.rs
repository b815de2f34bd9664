//! The one error type of this crate.
//!
//! A transfer or account the ledger refuses is not an error: it gets a result code
//! ([`CreateTransferResult`](crate::CreateTransferResult), [`CreateAccountResult`](crate::CreateAccountResult))
//! and the rest of its batch goes on. Errors are for refused calls as a whole: bad configuration, a batch
//! over the limit, a state view a store did not load completely (a bug in the store), and storage failures.

use qianbao_core::AccountId;

/// Everything that can go wrong in this crate. On every error the state is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database failed; the request may or may not have been applied only if the kind says so.
    #[error("storage failed: {0}")]
    Store(#[from] qianbao_store::StoreError),
    /// The configuration is invalid.
    #[error("invalid ledger configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A debit limit is invalid.
    #[error("invalid debit limit in slot {slot}: {reason}")]
    InvalidLimit {
        /// The slot given.
        slot: u8,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A batch has more events than a batch may have.
    #[error("a batch holds at most {max} events, this one has {len}")]
    BatchTooLarge {
        /// Its length.
        len: usize,
        /// The limit, [`BATCH_EVENTS_MAX`](crate::BATCH_EVENTS_MAX).
        max: usize,
    },
    /// The account does not exist (for calls on one account, such as freezing it).
    #[error("account {0} not found")]
    AccountNotFound(AccountId),
    /// A state view was asked to decide before everything the request touches was loaded into it; the
    /// store must load what [`LedgerState::needs_for_transfers`](crate::LedgerState::needs_for_transfers)
    /// and its siblings list.
    #[error("the ledger view lacks {accounts} account(s) and {transfers} transfer id(s) this request touches")]
    NotLoaded {
        /// How many account ids are missing.
        accounts: usize,
        /// How many transfer ids are missing.
        transfers: usize,
    },
    /// A row given to a state view contradicts what it already holds (a store bug).
    #[error("conflicting row loaded into the ledger view: {0}")]
    Conflict(String),
    /// Timestamps would pass the end of `Timestamp` (the year 2554).
    #[error("timestamps would pass the end of time")]
    TimestampOverflow,
}
