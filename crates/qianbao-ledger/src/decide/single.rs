//! One transfer: id checks, idempotency, and a new single-phase or pending transfer.

use qianbao_core::{AccountId, Timestamp};

use super::{NOT_FOUND, Undo, add};
use crate::state::{IdEntry, PendingInfo};
use crate::transfer::expiry;
use crate::{
    AMOUNT_MAX, Account, AccountFlags, Changes, CreateTransferResult as R, LedgerState, NewTransfer, PendingState,
    PendingStatus, Transfer, TransferFlags as F,
};

/// A failed check carries its result code.
pub(super) type Check<T> = Result<T, R>;

/// What a new transfer will do, once every check passed.
struct NewPlan {
    dr: u32,
    cr: u32,
    amount: u128,
    limit_slots: u8,
    expires_at: Option<Timestamp>,
}

impl LedgerState {
    /// Decides one transfer at timestamp `ts`; `undo` logs every change for a chain rollback.
    /// `slots` are the debit and credit account slots of the request (or `NOT_FOUND`), `id_hash` the
    /// hash of its id.
    pub(super) fn create_transfer(
        &mut self,
        t: &NewTransfer,
        slots: (u32, u32),
        id_hash: u64,
        ts: Timestamp,
        undo: bool,
        out: &mut Changes,
    ) -> R {
        match self.try_create_transfer(t, slots, id_hash, ts, undo, out) {
            Ok(()) => R::Ok,
            Err(r) => r,
        }
    }

    fn try_create_transfer(
        &mut self,
        t: &NewTransfer,
        slots: (u32, u32),
        id_hash: u64,
        ts: Timestamp,
        undo: bool,
        out: &mut Changes,
    ) -> Check<()> {
        if t.flags.has_reserved() {
            return Err(R::ReservedFlag);
        }
        check_id(t.id.as_u128(), R::IdMustNotBeZero, R::IdMustNotBeIntMax)?;
        match self.ids.get_hashed(t.id, id_hash, &self.transfers, &self.failed) {
            Some(IdEntry::Transfer(i)) => return Err(self.exists(t, i)),
            Some(IdEntry::Failed(_)) => return Err(R::IdAlreadyFailed),
            None => {}
        }
        check_flags(t.flags)?;
        if t.flags.intersects(F::POST_OR_VOID) {
            let plan = self.plan_resolve(t, ts)?;
            self.apply_resolve(t, ts, &plan, undo, out);
        } else {
            let plan = self.plan_new(t, slots, ts)?;
            self.apply_new(t, ts, &plan, undo, out);
        }
        Ok(())
    }

    /// The result for a request whose id names the existing transfer `self.transfers[index]`.
    fn exists(&self, t: &NewTransfer, index: u32) -> R {
        let e = &self.transfers[index as usize];
        if t.flags != e.flags {
            return R::ExistsWithDifferentFlags;
        }
        if t.pending_id != e.pending_id {
            return R::ExistsWithDifferentPendingId;
        }
        if t.timeout_secs != e.timeout_secs {
            return R::ExistsWithDifferentTimeout;
        }
        // On a post or void, zero means "inherited from the pending transfer", which `e` recorded.
        let inherits = t.flags.intersects(F::POST_OR_VOID);
        let same = |requested: u128, recorded: u128| requested == recorded || (inherits && requested == 0);
        if !same(t.debit_account_id.as_u128(), e.debit_account_id.as_u128()) {
            return R::ExistsWithDifferentDebitAccountId;
        }
        if !same(t.credit_account_id.as_u128(), e.credit_account_id.as_u128()) {
            return R::ExistsWithDifferentCreditAccountId;
        }
        if !self.same_amount(t, e) {
            return R::ExistsWithDifferentAmount;
        }
        if !same(t.user_data_128, e.user_data_128) {
            return R::ExistsWithDifferentUserData128;
        }
        if !same(u128::from(t.user_data_64), u128::from(e.user_data_64)) {
            return R::ExistsWithDifferentUserData64;
        }
        if !same(u128::from(t.user_data_32), u128::from(e.user_data_32)) {
            return R::ExistsWithDifferentUserData32;
        }
        if !same(u128::from(t.ledger.as_u32()), u128::from(e.ledger.as_u32())) {
            return R::ExistsWithDifferentLedger;
        }
        if !same(u128::from(t.code.as_u16()), u128::from(e.code.as_u16())) {
            return R::ExistsWithDifferentCode;
        }
        R::Exists
    }

    fn same_amount(&self, t: &NewTransfer, e: &Transfer) -> bool {
        if t.flags.contains(F::POST_PENDING_TRANSFER) && t.amount == AMOUNT_MAX {
            // "All of it": the same if the recorded post took the whole pending amount.
            return match self.id_entry(e.pending_id) {
                Some(IdEntry::Transfer(p)) => self.transfers[p as usize].amount == e.amount,
                _ => false,
            };
        }
        if t.flags.contains(F::VOID_PENDING_TRANSFER) {
            return t.amount == 0 || t.amount == e.amount;
        }
        if t.flags.intersects(F::BALANCING) {
            // The recorded amount was clamped to at most the requested maximum.
            return t.amount >= e.amount;
        }
        t.amount == e.amount
    }

    /// Checks a new single-phase or pending transfer, in precedence order.
    fn plan_new(&self, t: &NewTransfer, (dr, cr): (u32, u32), ts: Timestamp) -> Check<NewPlan> {
        check_id(t.debit_account_id.as_u128(), R::DebitAccountIdMustNotBeZero, R::DebitAccountIdMustNotBeIntMax)?;
        check_id(t.credit_account_id.as_u128(), R::CreditAccountIdMustNotBeZero, R::CreditAccountIdMustNotBeIntMax)?;
        if t.debit_account_id == t.credit_account_id {
            return Err(R::AccountsMustBeDifferent);
        }
        if t.pending_id.as_u128() != 0 {
            return Err(R::PendingIdMustBeZero);
        }
        let pending = t.flags.contains(F::PENDING);
        if !pending && t.timeout_secs != 0 {
            return Err(R::TimeoutReservedForPendingTransfer);
        }
        if !pending && t.flags.intersects(F::CLOSING) {
            return Err(R::ClosingTransferMustBePending);
        }
        if t.amount == 0 {
            return Err(R::AmountMustNotBeZero);
        }
        if t.ledger.is_none() {
            return Err(R::LedgerMustNotBeZero);
        }
        if t.code.as_u16() == 0 {
            return Err(R::CodeMustNotBeZero);
        }
        if dr == NOT_FOUND {
            return Err(R::DebitAccountNotFound);
        }
        if cr == NOT_FOUND {
            return Err(R::CreditAccountNotFound);
        }
        let (d, c) = (&self.accounts[dr as usize].account, &self.accounts[cr as usize].account);
        if d.ledger != c.ledger {
            return Err(R::AccountsMustHaveTheSameLedger);
        }
        if t.ledger != d.ledger {
            return Err(R::TransferMustHaveTheSameLedgerAsAccounts);
        }
        check_open(d, c, false, false)?;
        let amount = clamp_balancing(t.flags, t.amount, d, c);
        check_overflows(pending, amount, d, c)?;
        let expires_at = if pending && t.timeout_secs != 0 {
            Some(expiry(ts, t.timeout_secs).ok_or(R::OverflowsTimeout)?)
        } else {
            None
        };
        check_exceeds(t.flags, amount, d, c)?;
        let (amount, limit_slots) = self.check_limits(dr, t, amount, ts)?;
        Ok(NewPlan { dr, cr, amount, limit_slots, expires_at })
    }

    pub(super) fn accounts_of(&self, debit: AccountId, credit: AccountId) -> Check<(u32, u32)> {
        let dr = self.slot(debit).ok_or(R::DebitAccountNotFound)?;
        let cr = self.slot(credit).ok_or(R::CreditAccountNotFound)?;
        Ok((dr, cr))
    }

    /// Applies the debit limits of the debit account: a balancing debit is clamped to what they allow.
    /// Returns the amount and the slots that count it.
    fn check_limits(&self, dr: u32, t: &NewTransfer, amount: u128, ts: Timestamp) -> Check<(u128, u8)> {
        let Some(set) = self.limits_of_slot(dr) else { return Ok((amount, 0)) };
        let limits = self.limit_sets[set as usize].iter().filter(|l| l.limit.counts(t.code));
        let mut amount = amount;
        let mut slots = 0u8;
        for l in limits {
            let used = l.used_at(&self.config, ts);
            if t.flags.contains(F::BALANCING_DEBIT) {
                amount = amount.min(l.limit.amount_max.saturating_sub(used));
            }
            slots |= 1 << l.limit.slot;
        }
        if slots == 0 {
            return Ok((amount, 0));
        }
        for l in self.limit_sets[set as usize].iter().filter(|l| l.limit.counts(t.code)) {
            let used = l.used_at(&self.config, ts);
            if amount == 0 || used.checked_add(amount).is_none_or(|sum| sum > l.limit.amount_max) {
                return Err(R::ExceedsDebitLimit);
            }
        }
        Ok((amount, slots))
    }

    fn apply_new(&mut self, t: &NewTransfer, ts: Timestamp, plan: &NewPlan, undo: bool, out: &mut Changes) {
        let NewPlan { dr, cr, amount, limit_slots, expires_at } = *plan;
        self.before_change(dr, undo);
        self.before_change(cr, undo);
        let pending = t.flags.contains(F::PENDING);
        let d = &mut self.accounts[dr as usize].account;
        if pending {
            d.debits_pending = add(d.debits_pending, amount);
        } else {
            d.debits_posted = add(d.debits_posted, amount);
        }
        d.flags = d.flags.set(AccountFlags::CLOSED, d.is_closed() || t.flags.contains(F::CLOSING_DEBIT));
        let c = &mut self.accounts[cr as usize].account;
        if pending {
            c.credits_pending = add(c.credits_pending, amount);
        } else {
            c.credits_posted = add(c.credits_posted, amount);
        }
        c.flags = c.flags.set(AccountFlags::CLOSED, c.is_closed() || t.flags.contains(F::CLOSING_CREDIT));
        if limit_slots != 0 {
            self.count_limits(dr, limit_slots, amount, ts, undo);
        }
        let transfer = Transfer {
            id: t.id,
            debit_account_id: t.debit_account_id,
            credit_account_id: t.credit_account_id,
            amount,
            pending_id: t.pending_id,
            user_data_128: t.user_data_128,
            user_data_64: t.user_data_64,
            user_data_32: t.user_data_32,
            timeout_secs: t.timeout_secs,
            ledger: t.ledger,
            code: t.code,
            flags: t.flags,
            timestamp: ts,
        };
        let index = self.record(transfer, undo, out);
        if pending {
            let key = expires_at.map(|at| (at, ts, index));
            self.pending[index as usize] = Some(PendingInfo { status: PendingStatus::Pending, limit_slots });
            if let Some(key) = key {
                self.expiry.insert(key);
            }
            if undo {
                self.scratch.undo.push(Undo::PendingInserted { index, expiry: key });
            }
            out.pending.push(PendingState {
                transfer_id: t.id,
                status: PendingStatus::Pending,
                expires_at,
                limit_slots,
            });
        }
        self.snapshot(dr, ts, out);
        self.snapshot(cr, ts, out);
    }

    /// Logs an account for undo (inside a chain) and marks it touched.
    pub(super) fn before_change(&mut self, slot: u32, undo: bool) {
        if undo {
            self.scratch.undo.push(Undo::Account { slot, before: self.accounts[slot as usize].account });
        }
        self.touch(slot);
    }

    /// Appends a decided transfer to the state and the changes.
    pub(super) fn record(&mut self, transfer: Transfer, undo: bool, out: &mut Changes) -> u32 {
        let index = u32::try_from(self.transfers.len()).unwrap_or(u32::MAX);
        assert!(index < u32::MAX, "more transfers than a ledger state can index");
        self.transfers.push(transfer);
        self.pending.push(None);
        self.ids.insert(IdEntry::Transfer(index), &self.transfers, &self.failed);
        if undo {
            self.scratch.undo.push(Undo::TransferPushed);
        }
        out.transfers.push(transfer);
        index
    }

    /// Counts `amount` against the limit slots of the account at `ts`.
    fn count_limits(&mut self, slot: u32, slots: u8, amount: u128, ts: Timestamp, undo: bool) {
        let Some(set) = self.limits_of_slot(slot) else { return };
        self.scratch.limits_touched.push(slot);
        for (position, l) in self.limit_sets[set as usize].iter_mut().enumerate() {
            if slots & (1 << l.limit.slot) == 0 {
                continue;
            }
            if undo {
                self.scratch.undo.push(Undo::Limit { set, position: position as u8, before: l.usage });
            }
            let start = self.config.window_start(l.limit.window, ts);
            let used = if l.usage.window_start == start { l.usage.used_amount } else { 0 };
            l.usage.window_start = start;
            l.usage.used_amount = add(used, amount);
        }
    }
}

pub(super) fn check_id(raw: u128, zero: R, max: R) -> Check<()> {
    match raw {
        0 => Err(zero),
        u128::MAX => Err(max),
        _ => Ok(()),
    }
}

/// Pending, post and void exclude each other; post and void exclude balancing and closing.
fn check_flags(flags: F) -> Check<()> {
    let phases = [F::PENDING, F::POST_PENDING_TRANSFER, F::VOID_PENDING_TRANSFER];
    let phase_count = phases.iter().filter(|f| flags.contains(**f)).count();
    let resolving = flags.intersects(F::POST_OR_VOID);
    if phase_count > 1 || (resolving && flags.intersects(F::BALANCING.with(F::CLOSING))) {
        return Err(R::FlagsAreMutuallyExclusive);
    }
    Ok(())
}

/// Closed accounts take no new transfers, except posting the closing transfer itself; frozen accounts
/// take no debits.
pub(super) fn check_open(d: &Account, c: &Account, closing_debit: bool, closing_credit: bool) -> Check<()> {
    if d.is_closed() && !closing_debit {
        return Err(R::DebitAccountAlreadyClosed);
    }
    if c.is_closed() && !closing_credit {
        return Err(R::CreditAccountAlreadyClosed);
    }
    if d.is_frozen() {
        return Err(R::DebitAccountFrozen);
    }
    Ok(())
}

/// A balancing transfer moves at most what keeps `debits ≤ credits` on the debit account
/// (`BALANCING_DEBIT`) and `credits ≤ debits` on the credit account (`BALANCING_CREDIT`).
fn clamp_balancing(flags: F, amount: u128, d: &Account, c: &Account) -> u128 {
    let mut amount = amount;
    if flags.contains(F::BALANCING_DEBIT) {
        let debits = d.debits_pending.saturating_add(d.debits_posted);
        amount = amount.min(d.credits_posted.saturating_sub(debits));
    }
    if flags.contains(F::BALANCING_CREDIT) {
        let credits = c.credits_pending.saturating_add(c.credits_posted);
        amount = amount.min(c.debits_posted.saturating_sub(credits));
    }
    amount
}

fn check_overflows(pending: bool, amount: u128, d: &Account, c: &Account) -> Check<()> {
    let fits = |a: u128| a.checked_add(amount).is_some();
    if pending && !fits(d.debits_pending) {
        return Err(R::OverflowsDebitsPending);
    }
    if pending && !fits(c.credits_pending) {
        return Err(R::OverflowsCreditsPending);
    }
    if !fits(d.debits_posted) {
        return Err(R::OverflowsDebitsPosted);
    }
    if !fits(c.credits_posted) {
        return Err(R::OverflowsCreditsPosted);
    }
    if d.debits_pending.checked_add(d.debits_posted).is_none_or(|s| !fits(s)) {
        return Err(R::OverflowsDebits);
    }
    if c.credits_pending.checked_add(c.credits_posted).is_none_or(|s| !fits(s)) {
        return Err(R::OverflowsCredits);
    }
    Ok(())
}

fn check_exceeds(flags: F, amount: u128, d: &Account, c: &Account) -> Check<()> {
    if flags.contains(F::BALANCING_DEBIT) && amount == 0 {
        return Err(R::ExceedsCredits);
    }
    if flags.contains(F::BALANCING_CREDIT) && amount == 0 {
        return Err(R::ExceedsDebits);
    }
    // The overflow checks passed, so these sums fit.
    if d.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        && d.debits_pending + d.debits_posted + amount > d.credits_posted
    {
        return Err(R::ExceedsCredits);
    }
    if c.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
        && c.credits_pending + c.credits_posted + amount > c.debits_posted
    {
        return Err(R::ExceedsDebits);
    }
    Ok(())
}

/// `requested` unless it is zero, then `inherited`.
pub(super) fn or_inherit<T: PartialEq + Default>(requested: T, inherited: T) -> T {
    if requested == T::default() { inherited } else { requested }
}
