//! Accounts: the request to create one, the account with its four counters, and balances read from them.

use qianbao_core::{AccountId, Money, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{AccountCode, AccountFlags, Ledger};

/// A request to create an account. Its counters start at zero and its timestamp is assigned by the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewAccount {
    /// Chosen by the client; the idempotency key. Not zero, not `u128::MAX`.
    pub id: AccountId,
    /// The currency; transfers only move money between accounts of one ledger.
    pub ledger: Ledger,
    /// What the account is for; not zero.
    pub code: AccountCode,
    /// Behaviour; `CLOSED` cannot be requested (only a closing transfer sets it).
    pub flags: AccountFlags,
    /// Free for the embedding service (e.g. the owning user's id).
    pub user_data_128: u128,
    /// Free for the embedding service.
    pub user_data_64: u64,
    /// Free for the embedding service.
    pub user_data_32: u32,
}

impl NewAccount {
    /// An account with no flags and no user data.
    pub const fn new(id: AccountId, ledger: Ledger, code: AccountCode) -> Self {
        NewAccount { id, ledger, code, flags: AccountFlags::NONE, user_data_128: 0, user_data_64: 0, user_data_32: 0 }
    }

    /// The same request with `flags` set.
    pub const fn with_flags(mut self, flags: AccountFlags) -> Self {
        self.flags = flags;
        self
    }
}

/// An account: its identity and the four counters every balance derives from (TigerBeetle's model).
///
/// Debits and credits only ever grow, except `*_pending`, which shrink when a pending transfer is posted,
/// voided or expires. A credit-normal account such as a user's wallet has the balance
/// `credits_posted - debits_posted`, of which `debits_pending` is reserved.
///
/// The layout is fixed (`repr(C)`) with what a decision reads first: id, counters, ledger, flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(C)]
pub struct Account {
    /// The client-chosen id.
    pub id: AccountId,
    /// Sum of the amounts of pending transfers debiting this account.
    pub debits_pending: u128,
    /// Sum of the amounts of posted transfers debiting this account.
    pub debits_posted: u128,
    /// Sum of the amounts of pending transfers crediting this account.
    pub credits_pending: u128,
    /// Sum of the amounts of posted transfers crediting this account.
    pub credits_posted: u128,
    /// The currency.
    pub ledger: Ledger,
    /// Behaviour and state (`CLOSED`, `FROZEN`).
    pub flags: AccountFlags,
    /// What the account is for.
    pub code: AccountCode,
    /// Free for the embedding service.
    pub user_data_32: u32,
    /// When it was created (unique, strictly increasing across the ledger).
    pub timestamp: Timestamp,
    /// Free for the embedding service.
    pub user_data_64: u64,
    /// Free for the embedding service (e.g. the owning user's id).
    pub user_data_128: u128,
}

/// A value to fill committed capacity with (never read as an account).
pub(crate) const PLACEHOLDER: Account = Account {
    id: AccountId::from_u128(0),
    debits_pending: 0,
    debits_posted: 0,
    credits_pending: 0,
    credits_posted: 0,
    user_data_128: 0,
    user_data_64: 0,
    user_data_32: 0,
    ledger: Ledger::NONE,
    code: AccountCode::from_u16(0),
    flags: AccountFlags::NONE,
    timestamp: Timestamp::ZERO,
};

impl Account {
    /// A new account from a request, with zero counters.
    pub(crate) fn open(request: &NewAccount, timestamp: Timestamp) -> Account {
        Account {
            id: request.id,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 0,
            user_data_128: request.user_data_128,
            user_data_64: request.user_data_64,
            user_data_32: request.user_data_32,
            ledger: request.ledger,
            code: request.code,
            flags: request.flags,
            timestamp,
        }
    }

    /// The counters, with the derived balances.
    pub const fn balance(&self) -> Balance {
        Balance {
            debits_pending: self.debits_pending,
            debits_posted: self.debits_posted,
            credits_pending: self.credits_pending,
            credits_posted: self.credits_posted,
        }
    }

    /// True once a closing transfer closed it.
    pub const fn is_closed(&self) -> bool {
        self.flags.contains(AccountFlags::CLOSED)
    }

    /// True while frozen for debits.
    pub const fn is_frozen(&self) -> bool {
        self.flags.contains(AccountFlags::FROZEN)
    }
}

/// What a decision changes on an existing account: its counters and flags (id, ledger, code, user data
/// and timestamp never change). A store updates these columns by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// The account.
    pub id: AccountId,
    /// The new `debits_pending`.
    pub debits_pending: u128,
    /// The new `debits_posted`.
    pub debits_posted: u128,
    /// The new `credits_pending`.
    pub credits_pending: u128,
    /// The new `credits_posted`.
    pub credits_posted: u128,
    /// The new flags (`CLOSED` and `FROZEN` change).
    pub flags: AccountFlags,
}

impl AccountUpdate {
    /// Applies the update to a copy of the account (e.g. in a cache).
    pub fn apply_to(&self, account: &mut Account) {
        debug_assert_eq!(account.id, self.id);
        account.debits_pending = self.debits_pending;
        account.debits_posted = self.debits_posted;
        account.credits_pending = self.credits_pending;
        account.credits_posted = self.credits_posted;
        account.flags = self.flags;
    }

    /// True when this is the state of `account`.
    pub fn matches(&self, account: &Account) -> bool {
        *self == AccountUpdate::from(account)
    }
}

impl From<&Account> for AccountUpdate {
    fn from(a: &Account) -> Self {
        AccountUpdate {
            id: a.id,
            debits_pending: a.debits_pending,
            debits_posted: a.debits_posted,
            credits_pending: a.credits_pending,
            credits_posted: a.credits_posted,
            flags: a.flags,
        }
    }
}

/// The four counters of an account and the balances derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Balance {
    /// Reserved by pending debits.
    pub debits_pending: u128,
    /// Posted debits.
    pub debits_posted: u128,
    /// Reserved by pending credits.
    pub credits_pending: u128,
    /// Posted credits.
    pub credits_posted: u128,
}

impl Balance {
    /// `credits_posted - debits_posted`: the balance of a credit-normal account such as a wallet (what
    /// the service owes the user). `None` if it does not fit an `i128`.
    pub fn credit_balance(&self) -> Option<i128> {
        signed_difference(self.credits_posted, self.debits_posted)
    }

    /// `debits_posted - credits_posted`: the balance of a debit-normal account such as bank settlement.
    pub fn debit_balance(&self) -> Option<i128> {
        signed_difference(self.debits_posted, self.credits_posted)
    }

    /// What a credit-normal account can still spend: `credits_posted - debits_posted - debits_pending`.
    pub fn available_credit(&self) -> Option<i128> {
        let debits = self.debits_posted.checked_add(self.debits_pending)?;
        signed_difference(self.credits_posted, debits)
    }

    /// [`Balance::available_credit`] as money in `currency`, when it fits `Money`'s 64-bit minor units.
    pub fn available_credit_money(&self, currency: qianbao_core::Currency) -> Option<Money> {
        let minor = i64::try_from(self.available_credit()?).ok()?;
        Some(Money::from_minor(minor, currency))
    }

    /// [`Balance::credit_balance`] as money in `currency`, when it fits `Money`'s 64-bit minor units.
    pub fn credit_balance_money(&self, currency: qianbao_core::Currency) -> Option<Money> {
        let minor = i64::try_from(self.credit_balance()?).ok()?;
        Some(Money::from_minor(minor, currency))
    }
}

fn signed_difference(a: u128, b: u128) -> Option<i128> {
    if a >= b { i128::try_from(a - b).ok() } else { i128::try_from(b - a).ok().map(|d| -d) }
}

/// An account's counters right after one of its transfers (kept for accounts with `HISTORY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountBalance {
    /// The account.
    pub account_id: AccountId,
    /// The timestamp of the transfer (or expiry) that changed it.
    pub timestamp: Timestamp,
    /// The counters after the change.
    pub balance: Balance,
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::Currency;

    #[test]
    fn balances_derive_from_counters() {
        let b = Balance { debits_pending: 5, debits_posted: 30, credits_pending: 0, credits_posted: 100 };
        assert_eq!(b.credit_balance(), Some(70));
        assert_eq!(b.debit_balance(), Some(-70));
        assert_eq!(b.available_credit(), Some(65));
        assert_eq!(b.available_credit_money(Currency::CNY).map(|m| m.to_string()), Some("0.65 CNY".into()));
        let huge = Balance { credits_posted: u128::MAX, ..Balance::default() };
        assert_eq!(huge.credit_balance(), None);
        assert_eq!(huge.credit_balance_money(Currency::CNY), None);
        let big = Balance { credits_posted: u128::from(u64::MAX), ..Balance::default() };
        assert_eq!(big.credit_balance_money(Currency::CNY), None, "does not fit i64 minor units");
    }
}
