//! `create_accounts`, freezing, and setting debit limits.

use qianbao_core::{AccountId, Timestamp};

use crate::decide::{offset, open_chain_start};
use crate::state::NO_LIMITS;
use crate::view::check_limit_set;
use crate::{
    Account, AccountFlags, AccountLimit, AccountLimitSet, AccountUpdate, AccountsOutcome, Changes,
    CreateAccountResult as R, DebitLimit, LedgerError, LedgerState, LimitUsage, NewAccount,
};

impl LedgerState {
    /// Decides a batch of account creations: one result per request (see [`CreateAccountResult`](R))
    /// and the [`Changes`] to persist. Linked chains are all-or-nothing, as for transfers.
    pub fn create_accounts(&mut self, batch: &[NewAccount], now: Timestamp) -> Result<AccountsOutcome, LedgerError> {
        self.check_batch(batch.len())?;
        if !self.complete {
            let needs = self.needs_for_accounts(batch);
            if !needs.is_empty() {
                return Err(LedgerError::NotLoaded { accounts: needs.accounts.len(), transfers: 0 });
            }
        }
        let base = self.next_timestamps(now, batch.len())?;
        let mut out = AccountsOutcome::default();
        let open_from = open_chain_start(batch.iter().map(|a| a.flags.contains(AccountFlags::LINKED)));
        // The chain's first index and how many accounts (and created rows) there were before it.
        let mut chain: Option<(usize, usize, usize)> = None;
        let mut chain_failed = false;
        for (i, a) in batch.iter().enumerate() {
            let linked = a.flags.contains(AccountFlags::LINKED);
            let result = if i >= open_from {
                if i + 1 == batch.len() { R::LinkedEventChainOpen } else { R::LinkedEventFailed }
            } else {
                if linked && chain.is_none() {
                    chain = Some((i, self.accounts.len(), out.changes.accounts_created.len()));
                }
                if chain_failed {
                    R::LinkedEventFailed
                } else {
                    let r = self.create_account(a, offset(base, i), &mut out.changes);
                    if let (false, Some((start, accounts, created))) = (r.is_ok(), chain) {
                        self.drop_accounts_from(accounts);
                        out.changes.accounts_created.truncate(created);
                        out.results[start..i].fill(R::LinkedEventFailed);
                        chain_failed = true;
                    }
                    r
                }
            };
            out.results.push(result);
            if !linked {
                chain = None;
                chain_failed = false;
            }
        }
        if !batch.is_empty() {
            self.last_timestamp = self.last_timestamp.max(offset(base, batch.len() - 1));
        }
        out.changes.last_timestamp = self.last_timestamp;
        Ok(out)
    }

    fn create_account(&mut self, a: &NewAccount, ts: Timestamp, out: &mut Changes) -> R {
        if a.flags.has_reserved() {
            return R::ReservedFlag;
        }
        match a.id.as_u128() {
            0 => return R::IdMustNotBeZero,
            u128::MAX => return R::IdMustNotBeIntMax,
            _ => {}
        }
        if let Some(e) = self.account(a.id) {
            return account_exists(a, e);
        }
        let exclusive = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS.with(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS);
        if a.flags.contains(exclusive) {
            return R::FlagsAreMutuallyExclusive;
        }
        if a.flags.contains(AccountFlags::CLOSED) {
            return R::ClosedFlagMustNotBeSet;
        }
        if a.ledger.is_none() {
            return R::LedgerMustNotBeZero;
        }
        if a.code.as_u16() == 0 {
            return R::CodeMustNotBeZero;
        }
        let account = Account::open(a, ts);
        self.push_account(account, NO_LIMITS);
        out.accounts_created.push(account);
        R::Ok
    }

    /// Removes the accounts created since there were `len` (a rolled-back chain; they are the last ones).
    fn drop_accounts_from(&mut self, len: usize) {
        for slot in (len..self.accounts.len()).rev() {
            self.account_index.remove(slot as u32, &self.accounts);
        }
        self.accounts.truncate(len);
    }

    /// Freezes (no debits) or unfreezes an account.
    pub fn set_frozen(&mut self, id: AccountId, frozen: bool) -> Result<Changes, LedgerError> {
        let slot = self.slot(id).ok_or(LedgerError::AccountNotFound(id))?;
        let account = &mut self.accounts[slot as usize].account;
        account.flags = account.flags.set(AccountFlags::FROZEN, frozen);
        let update = AccountUpdate::from(&*account);
        Ok(Changes { accounts_updated: vec![update], last_timestamp: self.last_timestamp, ..Changes::default() })
    }

    /// Replaces the debit limits of an account. A slot that keeps its window keeps its usage (so moving a
    /// user to another account class with a higher cap keeps what they already spent this year); other
    /// slots start unused.
    pub fn set_debit_limits(&mut self, id: AccountId, limits: Vec<DebitLimit>) -> Result<Changes, LedgerError> {
        let slot = self.slot(id).ok_or(LedgerError::AccountNotFound(id))?;
        let old = self.limits(id);
        let set: Vec<AccountLimit> = limits
            .into_iter()
            .map(|limit| {
                let usage = old
                    .iter()
                    .find(|o| o.limit.slot == limit.slot && o.limit.window == limit.window)
                    .map_or(LimitUsage::default(), |o| o.usage);
                AccountLimit { limit, usage }
            })
            .collect();
        check_limit_set(&set)?;
        let changes = Changes {
            limit_sets: vec![AccountLimitSet { account_id: id, limits: set.clone() }],
            last_timestamp: self.last_timestamp,
            ..Changes::default()
        };
        match self.limits_of_slot(slot) {
            Some(index) if !set.is_empty() => self.limit_sets[index as usize] = set,
            Some(index) => {
                // Keep indices stable: leave the emptied set in place.
                self.limit_sets[index as usize].clear();
                self.accounts[slot as usize].limits = NO_LIMITS;
            }
            None => self.accounts[slot as usize].limits = self.push_limit_set(set),
        }
        Ok(changes)
    }
}

fn account_exists(a: &NewAccount, e: &Account) -> R {
    if a.flags.without(AccountFlags::STATE) != e.flags.without(AccountFlags::STATE) {
        return R::ExistsWithDifferentFlags;
    }
    if a.user_data_128 != e.user_data_128 {
        return R::ExistsWithDifferentUserData128;
    }
    if a.user_data_64 != e.user_data_64 {
        return R::ExistsWithDifferentUserData64;
    }
    if a.user_data_32 != e.user_data_32 {
        return R::ExistsWithDifferentUserData32;
    }
    if a.ledger != e.ledger {
        return R::ExistsWithDifferentLedger;
    }
    if a.code != e.code {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}

#[cfg(test)]
mod tests;
