//! Posting and voiding pending transfers, and releasing them (shared with expiry).

use qianbao_core::{AccountId, Timestamp};

use super::single::{Check, check_id, check_open, or_inherit};
use super::{Undo, add, sub};
use crate::state::{IdEntry, PendingInfo};
use crate::{
    AMOUNT_MAX, AccountFlags, Changes, CreateTransferResult as R, LedgerState, NewTransfer, PendingState,
    PendingStatus, Transfer, TransferFlags as F,
};

/// What a post or void will do, once every check passed.
pub(super) struct ResolvePlan {
    /// Index of the pending transfer.
    p: u32,
    dr: u32,
    cr: u32,
    /// The amount posted (zero for a void).
    posted: u128,
}

impl LedgerState {
    /// Checks a post or void, in precedence order.
    pub(super) fn plan_resolve(&self, t: &NewTransfer, ts: Timestamp) -> Check<ResolvePlan> {
        check_id(t.pending_id.as_u128(), R::PendingIdMustNotBeZero, R::PendingIdMustNotBeIntMax)?;
        if t.pending_id == t.id {
            return Err(R::PendingIdMustBeDifferent);
        }
        if t.debit_account_id.as_u128() == u128::MAX {
            return Err(R::DebitAccountIdMustNotBeIntMax);
        }
        if t.credit_account_id.as_u128() == u128::MAX {
            return Err(R::CreditAccountIdMustNotBeIntMax);
        }
        if t.timeout_secs != 0 {
            return Err(R::TimeoutReservedForPendingTransfer);
        }
        let post = t.flags.contains(F::POST_PENDING_TRANSFER);
        if post && t.amount == 0 {
            return Err(R::AmountMustNotBeZero);
        }
        let Some(IdEntry::Transfer(index)) = self.id_entry(t.pending_id) else {
            return Err(R::PendingTransferNotFound);
        };
        let p = &self.transfers[index as usize];
        if !p.is_pending() {
            return Err(R::PendingTransferNotPending);
        }
        check_matches(t, p)?;
        let posted = if !post {
            if t.amount != 0 && t.amount != p.amount {
                return Err(R::PendingTransferHasDifferentAmount);
            }
            0
        } else if t.amount == AMOUNT_MAX {
            p.amount
        } else if t.amount > p.amount {
            return Err(R::ExceedsPendingTransferAmount);
        } else {
            t.amount
        };
        self.check_still_pending(index, p, ts)?;
        let (dr, cr) = self.accounts_of(p.debit_account_id, p.credit_account_id)?;
        if post {
            let (d, c) = (&self.accounts[dr as usize].account, &self.accounts[cr as usize].account);
            check_open(d, c, p.flags.contains(F::CLOSING_DEBIT), p.flags.contains(F::CLOSING_CREDIT))?;
        }
        Ok(ResolvePlan { p: index, dr, cr, posted })
    }

    fn check_still_pending(&self, index: u32, p: &Transfer, ts: Timestamp) -> Check<()> {
        let status = self.pending[index as usize].map(|i| i.status);
        match status {
            Some(PendingStatus::Posted) => Err(R::PendingTransferAlreadyPosted),
            Some(PendingStatus::Voided) => Err(R::PendingTransferAlreadyVoided),
            Some(PendingStatus::Expired) => Err(R::PendingTransferExpired),
            Some(PendingStatus::Pending) if p.expires_at().is_some_and(|at| at <= ts) => Err(R::PendingTransferExpired),
            Some(PendingStatus::Pending) => Ok(()),
            None => panic!("ledger invariant: pending transfer {} has no pending state", p.id),
        }
    }

    pub(super) fn apply_resolve(
        &mut self,
        t: &NewTransfer,
        ts: Timestamp,
        plan: &ResolvePlan,
        undo: bool,
        out: &mut Changes,
    ) {
        let p = self.transfers[plan.p as usize];
        let status =
            if t.flags.contains(F::POST_PENDING_TRANSFER) { PendingStatus::Posted } else { PendingStatus::Voided };
        self.release(plan.p, plan.dr, plan.cr, plan.posted, status, undo, out);
        let transfer = Transfer {
            id: t.id,
            debit_account_id: p.debit_account_id,
            credit_account_id: p.credit_account_id,
            amount: if status == PendingStatus::Posted { plan.posted } else { p.amount },
            pending_id: p.id,
            user_data_128: or_inherit(t.user_data_128, p.user_data_128),
            user_data_64: or_inherit(t.user_data_64, p.user_data_64),
            user_data_32: or_inherit(t.user_data_32, p.user_data_32),
            timeout_secs: 0,
            ledger: p.ledger,
            code: p.code,
            flags: t.flags,
            timestamp: ts,
        };
        self.record(transfer, undo, out);
        self.snapshot(plan.dr, ts, out);
        self.snapshot(plan.cr, ts, out);
    }

    /// Resolves the pending transfer `self.transfers[p]`: releases its reservation, posts `posted` of it,
    /// reopens accounts it closed unless it is posted, gives the unposted rest back to the debit limits,
    /// and records the new status.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn release(
        &mut self,
        p: u32,
        dr: u32,
        cr: u32,
        posted: u128,
        status: PendingStatus,
        undo: bool,
        out: &mut Changes,
    ) {
        let pending = self.transfers[p as usize];
        assert!(posted <= pending.amount, "ledger invariant: posting more than the pending amount");
        let info =
            self.pending[p as usize].unwrap_or_else(|| panic!("ledger invariant: {} has no pending state", pending.id));
        assert!(info.status == PendingStatus::Pending, "ledger invariant: {} resolved twice", pending.id);
        self.before_change(dr, undo);
        self.before_change(cr, undo);
        let reopen = status != PendingStatus::Posted;
        let d = &mut self.accounts[dr as usize].account;
        d.debits_pending = sub(d.debits_pending, pending.amount);
        d.debits_posted = add(d.debits_posted, posted);
        if reopen && pending.flags.contains(F::CLOSING_DEBIT) {
            d.flags = d.flags.without(AccountFlags::CLOSED);
        }
        let c = &mut self.accounts[cr as usize].account;
        c.credits_pending = sub(c.credits_pending, pending.amount);
        c.credits_posted = add(c.credits_posted, posted);
        if reopen && pending.flags.contains(F::CLOSING_CREDIT) {
            c.flags = c.flags.without(AccountFlags::CLOSED);
        }
        if info.limit_slots != 0 {
            self.give_back(dr, info.limit_slots, pending.timestamp, pending.amount - posted, undo);
        }
        let key = pending.expires_at().map(|at| (at, pending.timestamp, p));
        if let Some(key) = key {
            self.expiry.remove(&key);
        }
        self.pending[p as usize] = Some(PendingInfo { status, limit_slots: info.limit_slots });
        if undo {
            self.scratch.undo.push(Undo::PendingChanged { index: p, before: info, expiry: key });
        }
        out.pending.push(PendingState {
            transfer_id: pending.id,
            status,
            expires_at: pending.expires_at(),
            limit_slots: info.limit_slots,
        });
    }

    /// Gives `amount` back to the limit slots that counted a pending debit made at `counted_at`, if their
    /// window is still the one it was counted in.
    fn give_back(&mut self, slot: u32, slots: u8, counted_at: Timestamp, amount: u128, undo: bool) {
        let Some(set) = self.limits_of_slot(slot) else { return };
        self.scratch.limits_touched.push(slot);
        for (position, l) in self.limit_sets[set as usize].iter_mut().enumerate() {
            let counted_here = l.usage.window_start == self.config.window_start(l.limit.window, counted_at);
            if slots & (1 << l.limit.slot) == 0 || !counted_here || amount == 0 {
                continue;
            }
            if undo {
                self.scratch.undo.push(Undo::Limit { set, position: position as u8, before: l.usage });
            }
            l.usage.used_amount -= l.usage.used_amount.min(amount);
        }
    }
}

/// A post or void may leave accounts, ledger and code zero (inherit); if it names them, they must match.
fn check_matches(t: &NewTransfer, p: &Transfer) -> Check<()> {
    let differs = |requested: AccountId, recorded: AccountId| requested.as_u128() != 0 && requested != recorded;
    if differs(t.debit_account_id, p.debit_account_id) {
        return Err(R::PendingTransferHasDifferentDebitAccountId);
    }
    if differs(t.credit_account_id, p.credit_account_id) {
        return Err(R::PendingTransferHasDifferentCreditAccountId);
    }
    if !t.ledger.is_none() && t.ledger != p.ledger {
        return Err(R::PendingTransferHasDifferentLedger);
    }
    if t.code.as_u16() != 0 && t.code != p.code {
        return Err(R::PendingTransferHasDifferentCode);
    }
    Ok(())
}
