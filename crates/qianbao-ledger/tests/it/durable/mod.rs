//! The durable ledger ([`DurableLedger`]) on SQLite and PostgreSQL: the store conformance suite, a
//! crash test, a two-process concurrency test on PostgreSQL and a property test against the engine.

mod accounts;
#[cfg(feature = "postgres")]
mod concurrency;
mod conformance;
mod crash;
mod owner;
mod props;

use std::sync::Arc;

use qianbao_core::{AccountId, ManualClock, Timestamp, TransferId};
use qianbao_ledger::{
    Account, AccountCode, AccountFlags, DurableLedger, Ledger, LedgerConfig, LedgerOptions, NewAccount, NewTransfer,
    TransferCode,
};
use qianbao_store::Database;

/// 2026-05-28T13:46:40+08:00.
pub const START: u64 = 1_779_947_200;

pub fn aid(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

pub fn tid(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

pub fn pay(id: u128, dr: u128, cr: u128, amount: u128) -> NewTransfer {
    NewTransfer::new(tid(id), aid(dr), aid(cr), amount, Ledger::CNY, TransferCode::PAYMENT)
}

/// The bank (account 1) and `n` wallets (2..2 + n) that cannot go below zero.
pub fn chart(n: u128) -> Vec<NewAccount> {
    let wallet = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    std::iter::once(NewAccount::new(aid(1), Ledger::CNY, AccountCode::BANK_SETTLEMENT))
        .chain((2..2 + n).map(|i| NewAccount::new(aid(i), Ledger::CNY, AccountCode::WALLET).with_flags(wallet)))
        .collect()
}

/// Options that merge the look-up tables and empty the view after a few dozen transfers, and merge
/// the account log every third group, so that
/// tests exercise every path of the SQLite write path.
pub fn small_options() -> LedgerOptions {
    let mut o = LedgerOptions::default();
    o.merge_transfers_min = 40;
    o.merge_transfers_max = 40;
    o.view_transfers_max = 50;
    o.account_log_groups_max = 3;
    o
}

pub async fn open(db: &Database, clock: &Arc<ManualClock>, options: LedgerOptions) -> DurableLedger {
    DurableLedger::open_with(db.clone(), LedgerConfig::default(), clock.clone(), options).await.unwrap()
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)))
}

/// Σ debits = Σ credits, posted and pending.
pub fn assert_balanced(accounts: &[Account]) {
    let sum = |f: fn(&Account) -> u128| accounts.iter().map(f).sum::<u128>();
    assert_eq!(sum(|a| a.debits_posted), sum(|a| a.credits_posted), "posted money is conserved");
    assert_eq!(sum(|a| a.debits_pending), sum(|a| a.credits_pending), "pending money is conserved");
}
