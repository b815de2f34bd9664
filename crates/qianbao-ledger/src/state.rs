//! The ledger state a decision runs on: accounts, known transfer ids, pending transfers, limits.
//!
//! Two kinds of state share one type. A *complete* state ([`LedgerState::new`]) holds the whole ledger:
//! what it does not hold does not exist (the in-memory backend, tests, benches). A *view*
//! ([`LedgerState::view`]) holds only what a store loaded for one request; it refuses to decide until
//! everything the request touches is loaded or known to be absent (see [`Needs`]).

use std::collections::BTreeSet;

use qianbao_core::{AccountId, Timestamp, TransferId};
use rustc_hash::FxHashSet;

use crate::index::{AccountIndex, IdIndex};

use crate::{Account, AccountLimit, FailedTransfer, LedgerConfig, LimitStatus, PendingState, PendingStatus, Transfer};

/// The most events one batch may hold (TigerBeetle's batch size).
pub const BATCH_EVENTS_MAX: usize = 8_189;

pub(crate) const NO_LIMITS: u32 = u32::MAX;

/// What a transfer id refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdEntry {
    /// Index into `transfers`.
    Transfer(u32),
    /// Index into `failed`.
    Failed(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingInfo {
    pub(crate) status: PendingStatus,
    pub(crate) limit_slots: u8,
}

/// An account with its bookkeeping, kept together so a decision touches one place per account. Laid
/// out on cache lines: what a decision reads (bookkeeping, id, counters, ledger, flags) fills the first
/// two lines, an aligned pair; user data spills into the third, read only when the account is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Slot {
    /// The last batch that listed the account among those it changed (see `LedgerState::epoch`).
    pub(crate) epoch: u32,
    /// Index into `limit_sets`, or `NO_LIMITS`.
    pub(crate) limits: u32,
    /// Position among the accounts the current batch touched (valid while `epoch` is current).
    pub(crate) pos: u32,
    /// The chunk of requests that last touched the account (see `LedgerState::chunk`).
    pub(crate) chunk: u32,
    pub(crate) account: Account,
}

impl Slot {
    /// A value to fill committed capacity with (never read as an account).
    const PLACEHOLDER: Slot =
        Slot { epoch: 0, limits: NO_LIMITS, pos: 0, chunk: 0, account: crate::account::PLACEHOLDER };
}

/// Reserves room for `additional` more elements in `v` and writes that room once (then empties it again),
/// so that the memory is committed now rather than on first use. `fill` goes through `black_box` so that
/// the writes cannot be turned into a lazily zeroed allocation.
fn commit<T: Copy>(v: &mut Vec<T>, additional: usize, fill: T) {
    let len = v.len();
    v.resize(len + additional, std::hint::black_box(fill));
    v.truncate(len);
}

/// Keys of the expiry queue: expiry time, then creation time (TigerBeetle's order), then the transfer.
pub(crate) type ExpiryKey = (Timestamp, Timestamp, u32);

/// The keys a store must load into a view before it can decide a request: accounts by id, and transfers
/// (with their pending state, or a failed-id record) by id. Ids the store does not find are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Accounts to load (with their limits).
    pub accounts: Vec<AccountId>,
    /// Transfers or failed ids to load.
    pub transfers: Vec<TransferId>,
}

impl Needs {
    /// True when nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.transfers.is_empty()
    }
}

/// The ledger state decisions run on. See the module documentation of the crate for the protocol.
///
/// `clone_from` copies into the target's existing memory, so that resetting a ledger to a saved one
/// keeps the capacity it committed (see [`LedgerState::with_capacity`]).
#[derive(Debug)]
pub struct LedgerState {
    pub(crate) config: LedgerConfig,
    pub(crate) complete: bool,
    pub(crate) accounts: Vec<Slot>,
    pub(crate) account_index: AccountIndex,
    pub(crate) transfers: Vec<Transfer>,
    pub(crate) ids: IdIndex,
    pub(crate) failed: Vec<FailedTransfer>,
    /// The pending state of each transfer (`None` for transfers that are not pending), by position.
    pub(crate) pending: Vec<Option<PendingInfo>>,
    pub(crate) expiry: BTreeSet<ExpiryKey>,
    pub(crate) limit_sets: Vec<Vec<AccountLimit>>,
    pub(crate) absent_accounts: FxHashSet<AccountId>,
    pub(crate) absent_transfers: FxHashSet<TransferId>,
    pub(crate) last_timestamp: Timestamp,
    pub(crate) epoch: u32,
    pub(crate) chunk: u32,
    pub(crate) scratch: crate::decide::Scratch,
}

impl Clone for LedgerState {
    fn clone(&self) -> Self {
        LedgerState {
            config: self.config,
            complete: self.complete,
            accounts: self.accounts.clone(),
            account_index: self.account_index.clone(),
            transfers: self.transfers.clone(),
            ids: self.ids.clone(),
            failed: self.failed.clone(),
            pending: self.pending.clone(),
            expiry: self.expiry.clone(),
            limit_sets: self.limit_sets.clone(),
            absent_accounts: self.absent_accounts.clone(),
            absent_transfers: self.absent_transfers.clone(),
            last_timestamp: self.last_timestamp,
            epoch: self.epoch,
            chunk: self.chunk,
            scratch: self.scratch.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        // Destructured so that a new field cannot be forgotten.
        let LedgerState {
            config,
            complete,
            accounts,
            account_index,
            transfers,
            ids,
            failed,
            pending,
            expiry,
            limit_sets,
            absent_accounts,
            absent_transfers,
            last_timestamp,
            epoch,
            chunk,
            scratch,
        } = source;
        self.config = *config;
        self.complete = *complete;
        self.accounts.clone_from(accounts);
        self.account_index.clone_from(account_index);
        self.transfers.clone_from(transfers);
        self.ids.clone_from(ids);
        self.failed.clone_from(failed);
        self.pending.clone_from(pending);
        self.expiry.clone_from(expiry);
        self.limit_sets.clone_from(limit_sets);
        self.absent_accounts.clone_from(absent_accounts);
        self.absent_transfers.clone_from(absent_transfers);
        self.last_timestamp = *last_timestamp;
        self.epoch = *epoch;
        self.chunk = *chunk;
        self.scratch.clone_from(scratch);
    }
}

impl LedgerState {
    /// An empty, complete ledger (the whole ledger lives in this value).
    pub fn new(config: LedgerConfig) -> Self {
        LedgerState::empty(config, true, Timestamp::ZERO)
    }

    /// An empty complete ledger with room for `accounts` accounts and `transfers` transfers.
    ///
    /// The room is committed up front, as TigerBeetle allocates its memory at start-up: the vectors'
    /// memory is written once here, so that deciding within the capacity neither grows a vector nor
    /// takes the operating system's first-touch page faults (about a tenth of a batch's time otherwise).
    pub fn with_capacity(config: LedgerConfig, accounts: usize, transfers: usize) -> Self {
        let mut state = LedgerState::new(config);
        commit(&mut state.accounts, accounts, Slot::PLACEHOLDER);
        state.account_index.reserve(accounts, &[]);
        commit(&mut state.transfers, transfers, crate::transfer::PLACEHOLDER);
        commit(&mut state.pending, transfers, None);
        state.ids.reserve(transfers, &[], &[]);
        state
    }

    /// An empty view for one request of a store, which then loads what [`Needs`] lists. `last_timestamp`
    /// is the ledger's last assigned timestamp as stored.
    pub fn view(config: LedgerConfig, last_timestamp: Timestamp) -> Self {
        LedgerState::empty(config, false, last_timestamp)
    }

    fn empty(config: LedgerConfig, complete: bool, last_timestamp: Timestamp) -> Self {
        LedgerState {
            config,
            complete,
            accounts: Vec::new(),
            account_index: AccountIndex::default(),
            transfers: Vec::new(),
            ids: IdIndex::default(),
            failed: Vec::new(),
            pending: Vec::new(),
            expiry: BTreeSet::new(),
            limit_sets: Vec::new(),
            absent_accounts: FxHashSet::default(),
            absent_transfers: FxHashSet::default(),
            last_timestamp,
            epoch: 0,
            chunk: 0,
            scratch: crate::decide::Scratch::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// True for a complete ledger, false for a view.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The last timestamp assigned to an account, transfer or expiry.
    pub fn last_timestamp(&self) -> Timestamp {
        self.last_timestamp
    }

    // ---- reads ----

    /// An account by id.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.slot(id).map(|s| &self.accounts[s as usize].account)
    }

    /// Every account held, in creation (or load) order.
    pub fn accounts(&self) -> impl ExactSizeIterator<Item = &Account> + '_ {
        self.accounts.iter().map(|s| &s.account)
    }

    /// A transfer by id.
    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        match self.id_entry(id) {
            Some(IdEntry::Transfer(i)) => Some(&self.transfers[i as usize]),
            _ => None,
        }
    }

    /// Every transfer held, in timestamp (or load) order.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// The state of a pending transfer.
    pub fn pending_state(&self, id: TransferId) -> Option<PendingState> {
        let Some(IdEntry::Transfer(i)) = self.id_entry(id) else { return None };
        let info = self.pending[i as usize]?;
        let t = &self.transfers[i as usize];
        Some(PendingState {
            transfer_id: id,
            status: info.status,
            expires_at: t.expires_at(),
            limit_slots: info.limit_slots,
        })
    }

    /// The failure remembered for a transfer id.
    pub fn failed_transfer(&self, id: TransferId) -> Option<&FailedTransfer> {
        match self.id_entry(id) {
            Some(IdEntry::Failed(i)) => Some(&self.failed[i as usize]),
            _ => None,
        }
    }

    /// The limits of an account with their recorded usage (empty if none or unknown).
    pub fn limits(&self, id: AccountId) -> &[AccountLimit] {
        match self.slot(id).map(|s| self.accounts[s as usize].limits) {
            Some(l) if l != NO_LIMITS => &self.limit_sets[l as usize],
            _ => &[],
        }
    }

    /// The limits of an account as they stand at `at`: used and remaining in the window containing `at`.
    pub fn limit_status(&self, id: AccountId, at: Timestamp) -> Vec<LimitStatus> {
        self.limits(id)
            .iter()
            .map(|l| LimitStatus {
                limit: l.limit.clone(),
                used_amount: l.used_at(&self.config, at),
                remaining_amount: l.remaining_at(&self.config, at),
                window_start: self.config.window_start(l.limit.window, at),
            })
            .collect()
    }

    /// The pending transfers whose timeout has passed at `now` and that are still pending.
    pub fn due_pending(&self, now: Timestamp) -> impl Iterator<Item = &Transfer> + '_ {
        self.expiry
            .range(..=(now, Timestamp::from_unix_nanos(u64::MAX), u32::MAX))
            .map(|k| &self.transfers[k.2 as usize])
    }

    pub(crate) fn slot(&self, id: AccountId) -> Option<u32> {
        self.account_index.get(id, &self.accounts)
    }

    pub(crate) fn id_entry(&self, id: TransferId) -> Option<IdEntry> {
        self.ids.get(id, &self.transfers, &self.failed)
    }

    pub(crate) fn limits_of_slot(&self, slot: u32) -> Option<u32> {
        let l = self.accounts[slot as usize].limits;
        (l != NO_LIMITS).then_some(l)
    }
}

#[cfg(test)]
mod tests;
