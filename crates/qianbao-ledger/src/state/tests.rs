//! A view loaded through the `Needs` protocol decides exactly as the complete ledger it was loaded from.

use crate::test_support::*;
use crate::{
    AccountFlags as AF, CreateTransferResult as R, DebitLimit, FailedTransfer, LedgerConfig, LedgerError, LedgerState,
    LimitWindow, NewTransfer, TransferCode,
};

/// Plays a store holding `store`: loads into a fresh view what `batch` needs, round after round.
fn load_view(store: &LedgerState, batch: &[NewTransfer]) -> (LedgerState, usize) {
    let mut view = LedgerState::view(LedgerConfig::default(), store.last_timestamp());
    let mut rounds = 0;
    loop {
        let needs = view.needs_for_transfers(batch);
        if needs.is_empty() {
            return (view, rounds);
        }
        rounds += 1;
        for id in &needs.accounts {
            if let Some(a) = store.account(*id) {
                view.insert_account(*a, store.limits(*id).to_vec()).unwrap();
            }
        }
        for id in &needs.transfers {
            if let Some(t) = store.transfer(*id) {
                view.insert_transfer(*t, store.pending_state(*id)).unwrap();
            } else if let Some(f) = store.failed_transfer(*id) {
                view.insert_failed(*f).unwrap();
            }
        }
        view.resolve(&needs);
    }
}

fn store() -> LedgerState {
    let dmnec = AF::DEBITS_MUST_NOT_EXCEED_CREDITS;
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, dmnec | AF::HISTORY), wallet(3, dmnec), wallet(4, AF::NONE)]);
    let limit = DebitLimit { slot: 2, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 700 };
    s.set_debit_limits(aid(2), vec![limit]).unwrap();
    let setup = [pay(1, 1, 2, 1_000), hold(2, 2, 3, 300, 60), hold(3, 2, 4, 100, 60), pay(4, 3, 1, 5)];
    assert_eq!(run(&mut s, &setup, NOW), vec![R::Ok, R::Ok, R::Ok, R::ExceedsCredits]);
    s
}

#[test]
fn a_loaded_view_decides_like_the_whole_ledger() {
    let batch = [
        NewTransfer::post(tid(10), tid(2), 200),
        NewTransfer::void(tid(11), tid(3)),
        pay(1, 1, 2, 1_000),
        pay(4, 3, 1, 5),
        pay(12, 2, 3, 250),
        pay(13, 2, 9, 1),
        hold(14, 2, 3, 10, 5),
        NewTransfer::post(tid(15), tid(14), 10),
        NewTransfer::post(tid(16), tid(99), 10),
    ];
    let mut whole = store();
    let (mut view, rounds) = load_view(&whole, &batch);
    assert_eq!(rounds, 2, "the accounts of the pending transfers come in a second round");
    assert_eq!(view.accounts().count(), 4);
    let expected = whole.create_transfers(&batch, secs(1)).unwrap();
    let got = view.create_transfers(&batch, secs(1)).unwrap();
    assert_eq!(got, expected);
    assert_eq!(got.results[..4], [R::Ok, R::Ok, R::Exists, R::IdAlreadyFailed]);
    assert_eq!(got.results[5], R::CreditAccountNotFound);
    assert_eq!(got.results[8], R::PendingTransferNotFound);
    assert!(!got.changes.limit_usages.is_empty() && !got.changes.balances.is_empty());
}

#[test]
fn a_view_refuses_to_decide_before_it_is_loaded() {
    let whole = store();
    let batch = [NewTransfer::post(tid(10), tid(2), 200)];
    let mut view = LedgerState::view(LedgerConfig::default(), whole.last_timestamp());
    let err = view.create_transfers(&batch, secs(1)).unwrap_err();
    assert!(matches!(err, LedgerError::NotLoaded { accounts: 0, transfers: 2 }), "{err}");
    assert!(view.transfers().is_empty());
    let expiring = view.needs_for_expiry(secs(100));
    assert!(expiring.is_empty(), "nothing due is loaded yet");
    assert!(
        LedgerState::new(LedgerConfig::default()).needs_for_transfers(&batch).is_empty(),
        "a complete state lacks nothing"
    );
    let accounts = [wallet(7, AF::NONE)];
    assert!(matches!(view.create_accounts(&accounts, secs(1)), Err(LedgerError::NotLoaded { accounts: 1, .. })));
    let needs = view.needs_for_accounts(&accounts);
    view.resolve(&needs);
    assert!(view.create_accounts(&accounts, secs(1)).unwrap().results[0].is_ok());
}

#[test]
fn expiry_in_a_view_needs_the_accounts_of_the_due_holds() {
    let mut whole = store();
    let mut view = LedgerState::view(LedgerConfig::default(), whole.last_timestamp());
    for id in [tid(2), tid(3)] {
        view.insert_transfer(*whole.transfer(id).unwrap(), whole.pending_state(id)).unwrap();
    }
    assert!(matches!(view.expire_pending(secs(61)), Err(LedgerError::NotLoaded { .. })));
    let needs = view.needs_for_expiry(secs(61));
    assert_eq!(needs.accounts, vec![aid(2), aid(3), aid(4)]);
    for id in &needs.accounts {
        view.insert_account(*whole.account(*id).unwrap(), whole.limits(*id).to_vec()).unwrap();
    }
    assert_eq!(view.expire_pending(secs(61)).unwrap(), whole.expire_pending(secs(61)).unwrap());
}

#[test]
fn loading_refuses_contradictions() {
    let whole = store();
    let mut view = LedgerState::view(LedgerConfig::default(), whole.last_timestamp());
    let a = *whole.account(aid(2)).unwrap();
    view.insert_account(a, vec![]).unwrap();
    assert!(matches!(view.insert_account(a, vec![]), Err(LedgerError::Conflict(_))));
    let hold = *whole.transfer(tid(2)).unwrap();
    assert!(view.insert_transfer(hold, None).is_err(), "a pending transfer needs its pending state");
    view.insert_transfer(hold, whole.pending_state(tid(2))).unwrap();
    assert!(view.insert_transfer(hold, whole.pending_state(tid(2))).is_err());
    let failed = FailedTransfer { id: tid(50), result: R::AmountMustNotBeZero, timestamp: NOW };
    assert!(view.insert_failed(failed).is_err(), "only transient failures are remembered");
    let bad = DebitLimit { slot: 200, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 1 };
    let limits = vec![crate::AccountLimit { limit: bad, usage: Default::default() }];
    assert!(matches!(
        view.insert_account(*whole.account(aid(3)).unwrap(), limits),
        Err(LedgerError::InvalidLimit { .. })
    ));
}

/// Committing capacity up front leaves nothing behind: the ledger starts empty and decides exactly as
/// one grown on demand, also past the capacity it was given.
#[test]
fn a_ledger_with_capacity_starts_empty_and_decides_the_same() {
    let mut sized = LedgerState::with_capacity(LedgerConfig::default(), 3, 2);
    assert_eq!(sized.accounts().count(), 0);
    assert!(sized.transfers().is_empty());
    assert_eq!(sized.transfer(tid(0)), None);
    let accounts = [wallet(1, AF::NONE), wallet(2, AF::DEBITS_MUST_NOT_EXCEED_CREDITS), wallet(3, AF::NONE)];
    let mut grown = ledger(&accounts);
    assert!(sized.create_accounts(&accounts, NOW).unwrap().results.iter().all(|r| r.is_ok()));
    let batch = [pay(1, 1, 2, 50), hold(2, 2, 3, 20, 60), pay(3, 2, 3, 100), NewTransfer::post(tid(4), tid(2), 5)];
    assert_eq!(sized.create_transfers(&batch, secs(1)).unwrap(), grown.create_transfers(&batch, secs(1)).unwrap());
    assert_eq!(books(&sized), books(&grown));
    assert_eq!(sized.transfers().len(), 3, "the refused payment is not recorded");
}

/// `clone_from` into a ledger with other contents gives the same ledger as `clone`: same books, same
/// decisions after.
#[test]
fn clone_from_copies_the_whole_ledger() {
    let source = store();
    let mut target = LedgerState::with_capacity(LedgerConfig::default(), 8, 16);
    target.create_accounts(&[wallet(7, AF::NONE), wallet(8, AF::NONE)], NOW).unwrap();
    run(&mut target, &[pay(50, 7, 8, 9)], secs(1));
    target.clone_from(&source);
    let mut cloned = source.clone();
    assert_eq!(books(&target), books(&source));
    assert_eq!(target.last_timestamp(), source.last_timestamp());
    assert_eq!(target.account(aid(7)), None);
    assert_eq!(target.failed_transfer(tid(3)), source.failed_transfer(tid(3)));
    let batch = [pay(50, 1, 2, 9), NewTransfer::post(tid(51), tid(2), 100), pay(4, 3, 1, 5), pay(52, 7, 8, 1)];
    assert_eq!(target.create_transfers(&batch, secs(2)).unwrap(), cloned.create_transfers(&batch, secs(2)).unwrap());
    assert_eq!(books(&target), books(&cloned));
}
