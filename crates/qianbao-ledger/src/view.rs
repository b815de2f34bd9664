//! Loading a view: what a request needs, and inserting the rows a store loaded.

use qianbao_core::{AccountId, Timestamp, TransferId};
use rustc_hash::FxHashSet;

use crate::state::{IdEntry, NO_LIMITS, Needs, PendingInfo, Slot};
use crate::{
    Account, AccountLimit, FailedTransfer, LIMIT_SLOTS_MAX, LedgerError, LedgerState, NewAccount, NewTransfer,
    PendingState, PendingStatus, Transfer,
};

const INT_MAX: u128 = u128::MAX;

impl LedgerState {
    /// What a store must still load before this view can decide `create_transfers(batch)`: the batch's
    /// transfer ids (to answer `exists` or `id_already_failed`), the pending transfers it posts or voids,
    /// its accounts and the accounts of those pending transfers. Ask again after loading: the accounts of
    /// loaded pending transfers show up in a second round. Empty for a complete state.
    pub fn needs_for_transfers(&self, batch: &[NewTransfer]) -> Needs {
        self.needs_for_transfers_where(batch, |_| true)
    }

    /// [`LedgerState::needs_for_transfers`] for a store that knows which transfer ids may exist at all
    /// (a filter of every stored id): an id for which `may_exist` is false is neither looked up in the
    /// view nor listed, since the store would find nothing. Such an id is not recorded as absent
    /// either: decide the batch with [`LedgerState::decide_loaded`], which does not ask again.
    pub(crate) fn needs_for_transfers_where(
        &self,
        batch: &[NewTransfer],
        may_exist: impl Fn(TransferId) -> bool,
    ) -> Needs {
        let mut needs = Wanted::default();
        if self.complete {
            return needs.into_needs();
        }
        for t in batch {
            self.want_transfer(&mut needs, t.id, &may_exist);
            self.want_account(&mut needs, t.debit_account_id);
            self.want_account(&mut needs, t.credit_account_id);
            if self.want_transfer(&mut needs, t.pending_id, &may_exist)
                && let Some(IdEntry::Transfer(i)) = self.id_entry(t.pending_id)
            {
                let p = self.transfers[i as usize];
                self.want_account(&mut needs, p.debit_account_id);
                self.want_account(&mut needs, p.credit_account_id);
            }
        }
        needs.into_needs()
    }

    /// What a store must still load before this view can decide `create_accounts(batch)`: the ids.
    pub fn needs_for_accounts(&self, batch: &[NewAccount]) -> Needs {
        let mut needs = Wanted::default();
        if !self.complete {
            for a in batch {
                self.want_account(&mut needs, a.id);
            }
        }
        needs.into_needs()
    }

    /// What a store must still load before this view can decide `expire_pending(now)`: the accounts of
    /// the due pending transfers it holds. The store loads those transfers first: still pending, with an
    /// `expires_at` at or before `now`, earliest first (by `expires_at`, then timestamp), at most
    /// [`BATCH_EVENTS_MAX`](crate::BATCH_EVENTS_MAX) of them.
    pub fn needs_for_expiry(&self, now: Timestamp) -> Needs {
        let mut needs = Wanted::default();
        if !self.complete {
            for p in self.due_pending(now).take(crate::BATCH_EVENTS_MAX) {
                self.want_account(&mut needs, p.debit_account_id);
                self.want_account(&mut needs, p.credit_account_id);
            }
        }
        needs.into_needs()
    }

    /// Runs `decide` on this view as on a complete ledger: for a store that loaded everything the
    /// requests need (its last round of needs was met), so that the engine does not compute the
    /// needs a second time; a key the view lacks then does not exist.
    pub(crate) fn decide_loaded<R>(&mut self, decide: impl FnOnce(&mut Self) -> R) -> R {
        let complete = std::mem::replace(&mut self.complete, true);
        let out = decide(self);
        self.complete = complete;
        out
    }

    /// Records that every key of `needs` the store did not insert does not exist.
    pub fn resolve(&mut self, needs: &Needs) {
        for id in &needs.accounts {
            if self.slot(*id).is_none() {
                self.absent_accounts.insert(*id);
            }
        }
        for id in &needs.transfers {
            if self.id_entry(*id).is_none() {
                self.absent_transfers.insert(*id);
            }
        }
    }

    /// Loads an account with its limits into this state.
    pub fn insert_account(&mut self, account: Account, limits: Vec<AccountLimit>) -> Result<(), LedgerError> {
        if self.slot(account.id).is_some() {
            return Err(LedgerError::Conflict(format!("account {} loaded twice", account.id)));
        }
        check_limit_set(&limits)?;
        self.absent_accounts.remove(&account.id);
        let limits_index = self.push_limit_set(limits);
        self.push_account(account, limits_index);
        Ok(())
    }

    /// Loads a transfer into this state, with its pending state if it is a pending transfer.
    pub fn insert_transfer(&mut self, transfer: Transfer, pending: Option<PendingState>) -> Result<(), LedgerError> {
        if self.id_entry(transfer.id).is_some() {
            return Err(LedgerError::Conflict(format!("transfer {} loaded twice", transfer.id)));
        }
        if transfer.is_pending() != pending.is_some() || pending.is_some_and(|p| p.transfer_id != transfer.id) {
            return Err(LedgerError::Conflict(format!(
                "transfer {}: pending flag and pending state disagree",
                transfer.id
            )));
        }
        let index = self.push_transfer(transfer)?;
        if let Some(p) = pending {
            self.pending[index as usize] = Some(PendingInfo { status: p.status, limit_slots: p.limit_slots });
            if let (PendingStatus::Pending, Some(at)) = (p.status, transfer.expires_at()) {
                self.expiry.insert((at, transfer.timestamp, index));
            }
        }
        self.absent_transfers.remove(&transfer.id);
        self.last_timestamp = self.last_timestamp.max(transfer.timestamp);
        Ok(())
    }

    /// Loads a remembered failure of a transfer id.
    pub fn insert_failed(&mut self, failed: FailedTransfer) -> Result<(), LedgerError> {
        if self.id_entry(failed.id).is_some() {
            return Err(LedgerError::Conflict(format!("transfer id {} loaded twice", failed.id)));
        }
        if !failed.result.is_transient() {
            return Err(LedgerError::Conflict(format!(
                "failed id {} has non-transient result {}",
                failed.id, failed.result
            )));
        }
        self.push_failed(failed);
        self.absent_transfers.remove(&failed.id);
        Ok(())
    }

    pub(crate) fn push_account(&mut self, account: Account, limits: u32) -> u32 {
        let slot = u32::try_from(self.accounts.len()).unwrap_or(u32::MAX);
        assert!(slot < u32::MAX, "more accounts than a ledger state can index");
        self.accounts.push(Slot { epoch: 0, limits, pos: 0, chunk: 0, account });
        self.account_index.insert(slot, &self.accounts);
        self.last_timestamp = self.last_timestamp.max(account.timestamp);
        slot
    }

    pub(crate) fn push_limit_set(&mut self, limits: Vec<AccountLimit>) -> u32 {
        if limits.is_empty() {
            return NO_LIMITS;
        }
        let index = u32::try_from(self.limit_sets.len()).unwrap_or(NO_LIMITS);
        assert!(index < NO_LIMITS, "more limit sets than a ledger state can index");
        self.limit_sets.push(limits);
        index
    }

    pub(crate) fn push_transfer(&mut self, transfer: Transfer) -> Result<u32, LedgerError> {
        let index =
            u32::try_from(self.transfers.len()).map_err(|_| LedgerError::Conflict("too many transfers".into()))?;
        self.transfers.push(transfer);
        self.pending.push(None);
        self.ids.insert(IdEntry::Transfer(index), &self.transfers, &self.failed);
        Ok(index)
    }

    pub(crate) fn push_failed(&mut self, failed: FailedTransfer) {
        let index = u32::try_from(self.failed.len()).unwrap_or(u32::MAX);
        assert!(index < u32::MAX, "more failed ids than a ledger state can index");
        self.failed.push(failed);
        self.ids.insert(IdEntry::Failed(index), &self.transfers, &self.failed);
    }

    /// True when the id is reserved, cannot exist (`may_exist`) or is known (present or absent); adds it
    /// to `needs` otherwise.
    fn want_transfer(&self, needs: &mut Wanted, id: TransferId, may_exist: &impl Fn(TransferId) -> bool) -> bool {
        let raw = id.as_u128();
        if raw == 0
            || raw == INT_MAX
            || !may_exist(id)
            || self.id_entry(id).is_some()
            || self.absent_transfers.contains(&id)
        {
            return true;
        }
        if needs.transfer_set.insert(id) {
            needs.transfers.push(id);
        }
        false
    }

    fn want_account(&self, needs: &mut Wanted, id: AccountId) {
        let raw = id.as_u128();
        if raw == 0 || raw == INT_MAX || self.slot(id).is_some() || self.absent_accounts.contains(&id) {
            return;
        }
        if needs.account_set.insert(id) {
            needs.accounts.push(id);
        }
    }
}

/// A set of limits must use distinct slots, each valid.
pub(crate) fn check_limit_set(limits: &[AccountLimit]) -> Result<(), LedgerError> {
    let mut seen = 0u16;
    for l in limits {
        l.limit.validate()?;
        let bit = 1u16 << l.limit.slot;
        if seen & bit != 0 {
            return Err(LedgerError::InvalidLimit { slot: l.limit.slot, reason: "the slot is used twice".into() });
        }
        seen |= bit;
    }
    debug_assert!(limits.len() <= usize::from(LIMIT_SLOTS_MAX));
    Ok(())
}

#[derive(Default)]
struct Wanted {
    accounts: Vec<AccountId>,
    transfers: Vec<TransferId>,
    account_set: FxHashSet<AccountId>,
    transfer_set: FxHashSet<TransferId>,
}

impl Wanted {
    fn into_needs(self) -> Needs {
        Needs { accounts: self.accounts, transfers: self.transfers }
    }
}
