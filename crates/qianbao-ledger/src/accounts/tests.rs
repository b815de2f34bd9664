//! Every `create_accounts` result code, each leaving the accounts unchanged on rejection.

use crate::test_support::*;
use crate::{
    AccountCode, AccountFlags as AF, CreateAccountResult as R, DebitLimit, Ledger, LedgerError, LimitWindow,
    NewAccount, TransferCode,
};

fn existing() -> NewAccount {
    let mut a = wallet(1, AF::DEBITS_MUST_NOT_EXCEED_CREDITS | AF::HISTORY);
    a.user_data_128 = 7;
    a.user_data_64 = 8;
    a.user_data_32 = 9;
    a
}

fn with(a: NewAccount, f: impl FnOnce(&mut NewAccount)) -> NewAccount {
    let mut a = a;
    f(&mut a);
    a
}

#[test]
fn every_result_code_leaves_the_accounts_unchanged() {
    let base = ledger(&[existing()]);
    let cases = [
        (R::ReservedFlag, wallet(2, AF::from_bits_retain(1 << 4))),
        (R::IdMustNotBeZero, wallet(0, AF::NONE)),
        (R::IdMustNotBeIntMax, wallet(u128::MAX, AF::NONE)),
        (R::ExistsWithDifferentFlags, with(existing(), |a| a.flags = AF::NONE)),
        (R::ExistsWithDifferentUserData128, with(existing(), |a| a.user_data_128 = 0)),
        (R::ExistsWithDifferentUserData64, with(existing(), |a| a.user_data_64 = 0)),
        (R::ExistsWithDifferentUserData32, with(existing(), |a| a.user_data_32 = 0)),
        (R::ExistsWithDifferentLedger, with(existing(), |a| a.ledger = Ledger::of(qianbao_core::Currency::USD))),
        (R::ExistsWithDifferentCode, with(existing(), |a| a.code = AccountCode::MERCHANT)),
        (R::Exists, existing()),
        (
            R::FlagsAreMutuallyExclusive,
            wallet(2, AF::DEBITS_MUST_NOT_EXCEED_CREDITS | AF::CREDITS_MUST_NOT_EXCEED_DEBITS),
        ),
        (R::ClosedFlagMustNotBeSet, wallet(2, AF::CLOSED)),
        (R::LedgerMustNotBeZero, with(wallet(2, AF::NONE), |a| a.ledger = Ledger::NONE)),
        (R::CodeMustNotBeZero, with(wallet(2, AF::NONE), |a| a.code = AccountCode::from_u16(0))),
    ];
    for (expected, request) in cases {
        let mut s = base.clone();
        let before = books(&s);
        let out = s.create_accounts(&[request], secs(1)).unwrap();
        assert_eq!(out.results, vec![expected], "{request:?}");
        assert_eq!(books(&s), before, "{expected} changed the accounts");
        assert!(out.changes.accounts_created.is_empty());
    }
    let mut covered: Vec<R> = vec![R::Ok, R::LinkedEventFailed, R::LinkedEventChainOpen];
    covered.extend(cases.iter().map(|c| c.0));
    assert!(R::ALL.iter().all(|r| covered.contains(r)));
}

#[test]
fn linked_accounts_are_created_together_or_not_at_all() {
    let mut s = ledger(&[existing()]);
    let batch = [wallet(2, AF::LINKED), wallet(3, AF::LINKED), wallet(0, AF::NONE), wallet(4, AF::NONE)];
    let out = s.create_accounts(&batch, secs(1)).unwrap();
    assert_eq!(out.results, vec![R::LinkedEventFailed, R::LinkedEventFailed, R::IdMustNotBeZero, R::Ok]);
    assert!(s.account(aid(2)).is_none() && s.account(aid(3)).is_none());
    assert_eq!(out.changes.accounts_created.iter().map(|a| a.id).collect::<Vec<_>>(), vec![aid(4)]);
    let open = [wallet(5, AF::NONE), wallet(6, AF::LINKED)];
    assert_eq!(s.create_accounts(&open, secs(2)).unwrap().results, vec![R::Ok, R::LinkedEventChainOpen]);
    let ok = [wallet(2, AF::LINKED), wallet(3, AF::NONE)];
    assert_eq!(s.create_accounts(&ok, secs(3)).unwrap().results, vec![R::Ok, R::Ok]);
    assert_eq!(
        s.account(aid(2)).unwrap().timestamp.unix_nanos() + 1,
        s.account(aid(3)).unwrap().timestamp.unix_nanos()
    );
}

#[test]
fn a_retried_creation_ignores_state_flags() {
    let mut s = ledger(&[existing()]);
    s.set_frozen(aid(1), true).unwrap();
    assert_eq!(s.create_accounts(&[existing()], secs(1)).unwrap().results, vec![R::Exists]);
    let frozen_at_birth = wallet(2, AF::FROZEN);
    assert_eq!(s.create_accounts(&[frozen_at_birth], secs(1)).unwrap().results, vec![R::Ok]);
    assert!(s.account(aid(2)).unwrap().is_frozen());
    assert_eq!(s.create_accounts(&[wallet(2, AF::NONE)], secs(1)).unwrap().results, vec![R::Exists]);
}

#[test]
fn calls_on_one_account_refuse_unknown_accounts_and_bad_limits() {
    let mut s = ledger(&[existing()]);
    assert!(matches!(s.set_frozen(aid(9), true), Err(LedgerError::AccountNotFound(_))));
    let limit = DebitLimit { slot: 9, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 1 };
    assert!(matches!(s.set_debit_limits(aid(9), vec![]), Err(LedgerError::AccountNotFound(_))));
    let err = s.set_debit_limits(aid(1), vec![limit]).unwrap_err();
    assert!(err.to_string().contains("slot 9"), "{err}");
    assert!(s.limits(aid(1)).is_empty());
    let batch: Vec<_> = (0..=crate::BATCH_EVENTS_MAX as u128).map(|i| wallet(i + 10, AF::NONE)).collect();
    assert!(matches!(s.create_accounts(&batch, secs(1)), Err(LedgerError::BatchTooLarge { .. })));
    assert_eq!(s.accounts().count(), 1);
}
