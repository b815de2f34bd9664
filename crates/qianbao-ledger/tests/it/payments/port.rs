//! The conformance suite of [`LedgerPort`]: what the payment products rely on from any ledger. Run
//! here on [`MemoryLedger`]; a durable ledger runs the same [`conformance`] body.

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{AccountId, ManualClock, Timestamp, TransferId};
use qianbao_ledger::payments::{LedgerPort, MemoryLedger};
use qianbao_ledger::{
    AccountCode, AccountFlags, CreateAccountResult as A, CreateTransferResult as R, DebitLimit, Ledger, LedgerConfig,
    LedgerError, LimitWindow, NewAccount, NewTransfer, TransferCode, TransferFlags,
};

fn aid(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

fn tid(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

fn t(id: u128, dr: u128, cr: u128, amount: u128) -> NewTransfer {
    NewTransfer::new(tid(id), aid(dr), aid(cr), amount, Ledger::CNY, TransferCode::PAYMENT)
}

/// Everything a `LedgerPort` must do. `advance` moves the ledger's clock forward.
pub async fn conformance<L: LedgerPort>(ledger: &L, advance: impl Fn(Duration)) {
    // Accounts: created, a retry exists, a different one with the same id is refused.
    let wallet = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    let accounts = [
        NewAccount::new(aid(1), Ledger::CNY, AccountCode::BANK_SETTLEMENT),
        NewAccount::new(aid(2), Ledger::CNY, AccountCode::WALLET).with_flags(wallet),
        NewAccount::new(aid(3), Ledger::CNY, AccountCode::MERCHANT).with_flags(wallet),
    ];
    assert_eq!(ledger.create_accounts(&accounts).await.unwrap(), [A::Ok, A::Ok, A::Ok]);
    assert_eq!(ledger.create_accounts(&accounts[1..2]).await.unwrap(), [A::Exists]);
    let other = NewAccount::new(aid(2), Ledger::CNY, AccountCode::WALLET);
    assert_eq!(ledger.create_accounts(&[other]).await.unwrap(), [A::ExistsWithDifferentFlags]);

    // Transfers: a retry exists; an overdraft is refused and its id stays failed.
    assert_eq!(ledger.create_transfers(&[t(10, 1, 2, 100)]).await.unwrap(), [R::Ok]);
    assert_eq!(ledger.create_transfers(&[t(10, 1, 2, 100)]).await.unwrap(), [R::Exists]);
    assert_eq!(ledger.create_transfers(&[t(10, 1, 2, 99)]).await.unwrap(), [R::ExistsWithDifferentAmount]);
    assert_eq!(ledger.create_transfers(&[t(11, 2, 3, 101)]).await.unwrap(), [R::ExceedsCredits]);
    assert_eq!(ledger.create_transfers(&[t(11, 2, 3, 1)]).await.unwrap(), [R::IdAlreadyFailed]);

    // A chain applied before answers `exists` first; an `exists` fails the rest of a chain.
    let paid = [t(14, 1, 2, 5).with_flags(TransferFlags::LINKED), t(15, 1, 2, 5)];
    assert_eq!(ledger.create_transfers(&paid).await.unwrap(), [R::Ok, R::Ok]);
    assert_eq!(ledger.create_transfers(&paid).await.unwrap(), [R::Exists, R::LinkedEventFailed]);
    assert_eq!(ledger.lookup_transfers(&[tid(14), tid(15)]).await.unwrap().len(), 2);
    let back = [t(16, 2, 1, 5).with_flags(TransferFlags::LINKED), t(17, 2, 1, 5)];
    assert_eq!(ledger.create_transfers(&back).await.unwrap(), [R::Ok, R::Ok]);

    // A linked chain is all-or-nothing, and the failing event keeps its own result.
    let chain = [t(12, 2, 3, 60).with_flags(TransferFlags::LINKED), t(13, 2, 3, 60)];
    assert_eq!(ledger.create_transfers(&chain).await.unwrap(), [R::LinkedEventFailed, R::ExceedsCredits]);
    let found = ledger.lookup_transfers(&[tid(12), tid(10), tid(404)]).await.unwrap();
    assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), [tid(10)], "missing ids are left out");
    let found = ledger.lookup_accounts(&[aid(3), aid(404), aid(2)]).await.unwrap();
    assert_eq!(found.iter().map(|a| a.id).collect::<Vec<_>>(), [aid(3), aid(2)], "order kept");
    assert_eq!(found[1].balance().credit_balance(), Some(100));

    // Pending with a timeout: posted by id, or expired by the sweep exactly once.
    let hold = t(20, 2, 3, 30).with_flags(TransferFlags::PENDING).with_timeout_secs(60);
    assert_eq!(ledger.create_transfers(&[hold]).await.unwrap(), [R::Ok]);
    let hold2 = t(21, 2, 3, 30).with_flags(TransferFlags::PENDING).with_timeout_secs(60);
    assert_eq!(ledger.create_transfers(&[hold2]).await.unwrap(), [R::Ok]);
    let post = NewTransfer::post(tid(22), tid(20), qianbao_ledger::AMOUNT_MAX);
    assert_eq!(ledger.create_transfers(&[post]).await.unwrap(), [R::Ok]);
    assert_eq!(ledger.create_transfers(&[post]).await.unwrap(), [R::Exists]);
    assert!(ledger.expire_pending().await.unwrap().is_empty(), "nothing is due yet");
    advance(Duration::from_secs(61));
    assert_eq!(ledger.expire_pending().await.unwrap(), [tid(21)]);
    assert!(ledger.expire_pending().await.unwrap().is_empty());
    let late = NewTransfer::post(tid(23), tid(21), qianbao_ledger::AMOUNT_MAX);
    assert_eq!(ledger.create_transfers(&[late]).await.unwrap(), [R::PendingTransferExpired]);
    let wallet_now = ledger.lookup_accounts(&[aid(2)]).await.unwrap()[0];
    assert_eq!((wallet_now.balance().credit_balance(), wallet_now.debits_pending), (Some(70), 0));

    // Frozen accounts refuse debits but take credits.
    ledger.set_frozen(aid(2), true).await.unwrap();
    assert_eq!(ledger.create_transfers(&[t(30, 2, 3, 1)]).await.unwrap(), [R::DebitAccountFrozen]);
    assert_eq!(ledger.create_transfers(&[t(31, 1, 2, 1)]).await.unwrap(), [R::Ok]);
    ledger.set_frozen(aid(2), false).await.unwrap();
    assert_eq!(ledger.create_transfers(&[t(32, 2, 3, 1)]).await.unwrap(), [R::Ok]);
    assert!(matches!(ledger.set_frozen(aid(404), true).await, Err(LedgerError::AccountNotFound(_))));

    // Debit limits.
    let cap = DebitLimit { slot: 0, window: LimitWindow::Lifetime, codes: vec![TransferCode::PAYMENT], amount_max: 5 };
    ledger.set_debit_limits(aid(2), vec![cap]).await.unwrap();
    assert_eq!(ledger.create_transfers(&[t(40, 2, 3, 6)]).await.unwrap(), [R::ExceedsDebitLimit]);
    assert_eq!(ledger.create_transfers(&[t(41, 2, 3, 5)]).await.unwrap(), [R::Ok]);
    assert!(matches!(ledger.set_debit_limits(aid(404), vec![]).await, Err(LedgerError::AccountNotFound(_))));
}

#[tokio::test]
async fn memory_ledger_conforms() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(super::START)));
    let ledger = MemoryLedger::new(LedgerConfig::default(), clock.clone());
    conformance(&ledger, |d| clock.advance(d)).await;
    // Clones share the ledger.
    let clone = ledger.clone();
    assert_eq!(clone.with_state(|s| s.accounts().len()), 3);
}

#[tokio::test]
async fn durable_ledger_conforms() {
    super::each("durable_ledger_conforms", |db| async move {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(super::START)));
        let ledger = qianbao_ledger::DurableLedger::open(db, LedgerConfig::default(), clock.clone()).await.unwrap();
        conformance(&ledger, |d| clock.advance(d)).await;
    })
    .await;
}
