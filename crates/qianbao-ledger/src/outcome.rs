//! What a decision produced: per-request results and the [`Changes`] a store must write.

use qianbao_core::{AccountId, Timestamp, TransferId};
use serde::{Deserialize, Serialize};

use crate::{
    Account, AccountBalance, AccountLimit, AccountUpdate, CreateAccountResult, CreateTransferResult, LimitUsage,
    PendingState, Transfer,
};

/// A transfer id whose first attempt failed for a state-dependent reason: every later attempt with this
/// id gets `id_already_failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FailedTransfer {
    /// The id.
    pub id: TransferId,
    /// Why its first attempt failed (a transient result).
    pub result: CreateTransferResult,
    /// When.
    pub timestamp: Timestamp,
}

/// The new usage of one limit slot of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LimitUsageChange {
    /// The account.
    pub account_id: AccountId,
    /// The slot.
    pub slot: u8,
    /// Its usage now.
    pub usage: LimitUsage,
}

/// The full set of limits of one account, replacing whatever it had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountLimitSet {
    /// The account.
    pub account_id: AccountId,
    /// Its limits with their usage, by slot.
    pub limits: Vec<AccountLimit>,
}

/// Everything a store must write, in one database transaction, to persist a decision. After a store
/// wrote it, a view loaded again decides exactly as the view that produced it would.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// New accounts (insert).
    pub accounts_created: Vec<Account>,
    /// Accounts whose counters or flags changed, in their final state (update by id). May list an
    /// account whose values a rolled-back chain left as they were.
    pub accounts_updated: Vec<AccountUpdate>,
    /// New transfers in timestamp order (append).
    pub transfers: Vec<Transfer>,
    /// New pending transfers and status changes of pending transfers, in order (upsert by transfer id;
    /// the last row of an id wins).
    pub pending: Vec<PendingState>,
    /// Transfer ids to remember as failed (insert).
    pub failed: Vec<FailedTransfer>,
    /// New usage of limit slots (update by account and slot).
    pub limit_usages: Vec<LimitUsageChange>,
    /// Accounts whose limit rules were replaced (delete the account's limits, insert these).
    pub limit_sets: Vec<AccountLimitSet>,
    /// Balance snapshots of accounts with the `HISTORY` flag (append).
    pub balances: Vec<AccountBalance>,
    /// The ledger's last assigned timestamp after this decision (the next one is later).
    pub last_timestamp: Timestamp,
}

impl Changes {
    /// True when there is nothing to write beyond the last timestamp.
    pub fn is_empty(&self) -> bool {
        self.accounts_created.is_empty()
            && self.accounts_updated.is_empty()
            && self.transfers.is_empty()
            && self.pending.is_empty()
            && self.failed.is_empty()
            && self.limit_usages.is_empty()
            && self.limit_sets.is_empty()
            && self.balances.is_empty()
    }

    /// Empties every list, keeping the allocations.
    pub fn clear(&mut self) {
        self.accounts_created.clear();
        self.accounts_updated.clear();
        self.transfers.clear();
        self.pending.clear();
        self.failed.clear();
        self.limit_usages.clear();
        self.limit_sets.clear();
        self.balances.clear();
    }
}

/// The outcome of `create_transfers`: one result per request, in order, and the changes to write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransfersOutcome {
    /// `results[i]` is the result of the `i`-th request.
    pub results: Vec<CreateTransferResult>,
    /// What to write.
    pub changes: Changes,
}

impl TransfersOutcome {
    /// How many requests created a transfer in this batch (`ok`, not counting `exists`).
    pub fn created(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }
}

/// The outcome of `create_accounts`: one result per request, in order, and the changes to write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsOutcome {
    /// `results[i]` is the result of the `i`-th request.
    pub results: Vec<CreateAccountResult>,
    /// What to write.
    pub changes: Changes,
}

/// The outcome of `expire_pending`: the pending transfers voided by their timeout, and the changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryOutcome {
    /// The expired pending transfers, in order of expiry.
    pub expired: Vec<TransferId>,
    /// What to write.
    pub changes: Changes,
}
