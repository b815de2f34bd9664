//! Helpers for the unit tests.

use qianbao_core::{AccountId, Timestamp, TransferId};

use crate::Ledger;
use crate::{
    AccountCode, AccountFlags, LedgerConfig, LedgerState, NewAccount, NewTransfer, PendingState, TransferCode,
    TransferFlags,
};

/// 2026-05-28T13:46:40+08:00, a Thursday away from window boundaries.
pub(crate) const NOW: Timestamp = Timestamp::from_unix_secs(1_779_947_200);

pub(crate) fn aid(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

pub(crate) fn tid(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

pub(crate) fn secs(n: u64) -> Timestamp {
    Timestamp::from_unix_nanos(NOW.unix_nanos() + n * 1_000_000_000)
}

/// A CNY wallet account request.
pub(crate) fn wallet(id: u128, flags: AccountFlags) -> NewAccount {
    NewAccount::new(aid(id), Ledger::CNY, AccountCode::WALLET).with_flags(flags)
}

/// A single-phase CNY payment.
pub(crate) fn pay(id: u128, dr: u128, cr: u128, amount: u128) -> NewTransfer {
    NewTransfer::new(tid(id), aid(dr), aid(cr), amount, Ledger::CNY, TransferCode::PAYMENT)
}

/// A pending CNY payment.
pub(crate) fn hold(id: u128, dr: u128, cr: u128, amount: u128, timeout_secs: u32) -> NewTransfer {
    pay(id, dr, cr, amount).with_flags(TransferFlags::PENDING).with_timeout_secs(timeout_secs)
}

/// A complete ledger with the given accounts created at `NOW`.
pub(crate) fn ledger(accounts: &[NewAccount]) -> LedgerState {
    let mut s = LedgerState::new(LedgerConfig::default());
    let out = s.create_accounts(accounts, NOW).unwrap();
    assert!(out.results.iter().all(|r| r.is_ok()), "{:?}", out.results);
    s
}

/// Runs one batch and returns its results.
pub(crate) fn run(s: &mut LedgerState, batch: &[NewTransfer], at: Timestamp) -> Vec<crate::CreateTransferResult> {
    s.create_transfers(batch, at).unwrap().results
}

/// Everything a decision may change except remembered failures and the last timestamp: accounts,
/// transfers, pending states and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Books {
    pub(crate) accounts: Vec<crate::Account>,
    pub(crate) transfers: Vec<crate::Transfer>,
    pub(crate) pending: Vec<PendingState>,
    pub(crate) limits: Vec<Vec<crate::AccountLimit>>,
}

pub(crate) fn books(s: &LedgerState) -> Books {
    Books {
        accounts: s.accounts().copied().collect(),
        transfers: s.transfers().to_vec(),
        pending: s.transfers().iter().filter_map(|t| s.pending_state(t.id)).collect(),
        limits: s.accounts().map(|a| s.limits(a.id).to_vec()).collect(),
    }
}
