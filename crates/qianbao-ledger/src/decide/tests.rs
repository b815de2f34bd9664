//! Every `create_transfers` result code, each on a ledger that holds every situation, each showing the
//! books unchanged on rejection.

mod behaviour;

use crate::test_support::*;
use crate::{
    AccountFlags as AF, CreateTransferResult as R, DebitLimit, Ledger, LedgerState, LimitWindow, NewTransfer,
    TransferCode, TransferFlags as F,
};

const MAX: u128 = u128::MAX;
const HALF: u128 = 1 << 127;

/// The moment the cases run: pending transfer 205 (timeout 1 s) has timed out.
fn at() -> qianbao_core::Timestamp {
    secs(100)
}

/// A ledger holding every situation a result code needs (accounts numbered as in the comments).
fn fixture() -> LedgerState {
    let dmnec = AF::DEBITS_MUST_NOT_EXCEED_CREDITS;
    let mut accounts: Vec<_> = (1..=18).map(|n| wallet(n, AF::NONE)).collect();
    accounts[1] = wallet(2, dmnec); // 2: wallet A, funded
    accounts[2] = wallet(3, dmnec); // 3: wallet B
    accounts[3] = wallet(4, AF::CREDITS_MUST_NOT_EXCEED_DEBITS); // 4: credits must not exceed debits
    accounts[4].ledger = Ledger::of(qianbao_core::Currency::USD); // 5: another ledger
    accounts[6] = wallet(7, dmnec); // 7: frozen
    accounts[7] = wallet(8, dmnec); // 8: daily payment limit 500
    let mut s = ledger(&accounts);
    let setup = [
        pay(1, 1, 2, 10_000),
        pay(2, 1, 7, 1_000),
        pay(3, 1, 8, 10_000),
        t100(),
        hold(200, 2, 3, 100, 3600),
        hold(201, 2, 3, 50, 3600),
        NewTransfer::post(tid(202), tid(201), crate::AMOUNT_MAX),
        hold(203, 2, 3, 50, 3600),
        NewTransfer::void(tid(204), tid(203)),
        hold(205, 2, 3, 50, 1),
        hold(206, 2, 3, 50, 2),
        pay(300, 3, 2, 1_000_000), // fails: exceeds_credits, remembered
        hold(600, 6, 1, 1, 0).with_flags(F::CLOSING_DEBIT), // 6: closed
        pay(900, 9, 10, MAX - 10), // 9: debits_posted, 10: credits_posted near the top
        hold(1100, 11, 12, MAX - 10, 0), // 11: debits_pending, 12: credits_pending near the top
        hold(1500, 15, 16, HALF, 0), // 15: debits, 16: credits sum near the top
        pay(1501, 15, 17, HALF - 10),
        pay(1600, 18, 16, HALF - 10),
    ];
    let results = run(&mut s, &setup, NOW);
    let expected_fail = results.iter().zip(&setup).filter(|(r, _)| !r.is_ok()).map(|(r, t)| (t.id.as_u128(), *r));
    assert_eq!(expected_fail.collect::<Vec<_>>(), vec![(300, R::ExceedsCredits)]);
    s.set_frozen(aid(7), true).unwrap();
    let limit = DebitLimit { slot: 0, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 500 };
    s.set_debit_limits(aid(8), vec![limit]).unwrap();
    assert_eq!(s.expire_pending(secs(50)).unwrap().expired, vec![tid(205), tid(206)]);
    s
}

fn with(t: NewTransfer, f: impl FnOnce(&mut NewTransfer)) -> NewTransfer {
    let mut t = t;
    f(&mut t);
    t
}

/// The transfer 100 as first requested.
fn t100() -> NewTransfer {
    with(pay(100, 2, 3, 100).with_user_data_128(7), |t| {
        t.user_data_64 = 8;
        t.user_data_32 = 9;
    })
}

fn cases() -> Vec<(R, NewTransfer)> {
    let usd = Ledger::of(qianbao_core::Currency::USD);
    let n = 1001;
    vec![
        (R::ReservedFlag, pay(n, 2, 3, 1).with_flags(F::from_bits_retain(1 << 12))),
        (R::IdMustNotBeZero, pay(0, 2, 3, 1)),
        (R::IdMustNotBeIntMax, pay(MAX, 2, 3, 1)),
        (R::ExistsWithDifferentFlags, t100().with_flags(F::BALANCING_DEBIT)),
        (R::ExistsWithDifferentPendingId, with(t100(), |t| t.pending_id = tid(5))),
        (R::ExistsWithDifferentTimeout, t100().with_timeout_secs(5)),
        (R::ExistsWithDifferentDebitAccountId, with(t100(), |t| t.debit_account_id = aid(8))),
        (R::ExistsWithDifferentCreditAccountId, with(t100(), |t| t.credit_account_id = aid(4))),
        (R::ExistsWithDifferentAmount, with(t100(), |t| t.amount = 101)),
        (R::ExistsWithDifferentUserData128, with(t100(), |t| t.user_data_128 = 0)),
        (R::ExistsWithDifferentUserData64, with(t100(), |t| t.user_data_64 = 0)),
        (R::ExistsWithDifferentUserData32, with(t100(), |t| t.user_data_32 = 0)),
        (R::ExistsWithDifferentLedger, with(t100(), |t| t.ledger = usd)),
        (R::ExistsWithDifferentCode, with(t100(), |t| t.code = TransferCode::REFUND)),
        (R::Exists, t100()),
        (R::IdAlreadyFailed, pay(300, 2, 3, 1)),
        (R::FlagsAreMutuallyExclusive, pay(n, 2, 3, 1).with_flags(F::PENDING | F::POST_PENDING_TRANSFER)),
        (R::DebitAccountIdMustNotBeZero, pay(n, 0, 3, 1)),
        (R::DebitAccountIdMustNotBeIntMax, pay(n, MAX, 3, 1)),
        (R::CreditAccountIdMustNotBeZero, pay(n, 2, 0, 1)),
        (R::CreditAccountIdMustNotBeIntMax, pay(n, 2, MAX, 1)),
        (R::AccountsMustBeDifferent, pay(n, 2, 2, 1)),
        (R::PendingIdMustBeZero, with(pay(n, 2, 3, 1), |t| t.pending_id = tid(200))),
        (R::PendingIdMustNotBeZero, NewTransfer::post(tid(n), tid(0), 1)),
        (R::PendingIdMustNotBeIntMax, NewTransfer::post(tid(n), tid(MAX), 1)),
        (R::PendingIdMustBeDifferent, NewTransfer::post(tid(n), tid(n), 1)),
        (R::TimeoutReservedForPendingTransfer, pay(n, 2, 3, 1).with_timeout_secs(5)),
        (R::ClosingTransferMustBePending, pay(n, 2, 3, 1).with_flags(F::CLOSING_DEBIT)),
        (R::AmountMustNotBeZero, pay(n, 2, 3, 0)),
        (R::LedgerMustNotBeZero, with(pay(n, 2, 3, 1), |t| t.ledger = Ledger::NONE)),
        (R::CodeMustNotBeZero, with(pay(n, 2, 3, 1), |t| t.code = TransferCode::from_u16(0))),
        (R::DebitAccountNotFound, pay(n, 99, 3, 1)),
        (R::CreditAccountNotFound, pay(n, 2, 99, 1)),
        (R::AccountsMustHaveTheSameLedger, pay(n, 2, 5, 1)),
        (R::TransferMustHaveTheSameLedgerAsAccounts, with(pay(n, 2, 3, 1), |t| t.ledger = usd)),
        (R::PendingTransferNotFound, NewTransfer::post(tid(n), tid(999), 1)),
        (R::PendingTransferNotPending, NewTransfer::post(tid(n), tid(100), 1)),
        (
            R::PendingTransferHasDifferentDebitAccountId,
            with(NewTransfer::post(tid(n), tid(200), 1), |t| t.debit_account_id = aid(8)),
        ),
        (
            R::PendingTransferHasDifferentCreditAccountId,
            with(NewTransfer::post(tid(n), tid(200), 1), |t| t.credit_account_id = aid(4)),
        ),
        (R::PendingTransferHasDifferentLedger, with(NewTransfer::post(tid(n), tid(200), 1), |t| t.ledger = usd)),
        (
            R::PendingTransferHasDifferentCode,
            with(NewTransfer::post(tid(n), tid(200), 1), |t| t.code = TransferCode::REFUND),
        ),
        (R::ExceedsPendingTransferAmount, NewTransfer::post(tid(n), tid(200), 101)),
        (R::PendingTransferHasDifferentAmount, with(NewTransfer::void(tid(n), tid(200)), |t| t.amount = 99)),
        (R::PendingTransferAlreadyPosted, NewTransfer::post(tid(n), tid(201), 1)),
        (R::PendingTransferAlreadyVoided, NewTransfer::void(tid(n), tid(203))),
        (R::PendingTransferExpired, NewTransfer::void(tid(n), tid(205))),
        (R::DebitAccountAlreadyClosed, pay(n, 6, 13, 1)),
        (R::CreditAccountAlreadyClosed, pay(n, 13, 6, 1)),
        (R::DebitAccountFrozen, pay(n, 7, 3, 1)),
        (R::OverflowsDebitsPending, hold(n, 11, 13, 20, 0)),
        (R::OverflowsCreditsPending, hold(n, 14, 12, 20, 0)),
        (R::OverflowsDebitsPosted, pay(n, 9, 13, 20)),
        (R::OverflowsCreditsPosted, pay(n, 14, 10, 20)),
        (R::OverflowsDebits, pay(n, 15, 13, 20)),
        (R::OverflowsCredits, pay(n, 13, 16, 20)),
        (R::ExceedsCredits, pay(n, 3, 2, 1_000_000)),
        (R::ExceedsDebits, pay(n, 13, 4, 1)),
        (R::ExceedsDebitLimit, pay(n, 8, 3, 501)),
    ]
}

#[test]
fn every_result_code_leaves_the_books_unchanged() {
    let base = fixture();
    for (expected, request) in cases() {
        let mut s = base.clone();
        let before = books(&s);
        let out = s.create_transfers(&[request], at()).unwrap();
        assert_eq!(out.results, vec![expected], "request {request:?}");
        assert_eq!(books(&s), before, "{expected} changed the books");
        assert!(out.changes.transfers.is_empty() && out.changes.pending.is_empty());
        let remembered = s.failed_transfer(request.id).is_some_and(|f| f.result == expected);
        assert_eq!(remembered, expected.is_transient(), "{expected}: remembered failure");
        assert_eq!(out.changes.failed.len(), usize::from(expected.is_transient()));
    }
}

#[test]
fn the_cases_cover_every_code() {
    let mut covered: Vec<R> = cases().into_iter().map(|(r, _)| r).collect();
    covered.extend([R::Ok, R::LinkedEventFailed, R::LinkedEventChainOpen, R::OverflowsTimeout]);
    for r in R::ALL {
        assert!(covered.contains(r), "no case for {r}");
    }
}

#[test]
fn a_second_expired_variant_post_of_an_expired_by_status() {
    let mut s = fixture();
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(1001), tid(206), 1)], at()), vec![R::PendingTransferExpired]);
}

#[test]
fn overflows_timeout_near_the_end_of_time() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::NONE)]);
    let late = qianbao_core::Timestamp::from_unix_nanos(u64::MAX - 5_000_000_000);
    let before = books(&s);
    assert_eq!(run(&mut s, &[hold(10, 1, 2, 5, 10)], late), vec![R::OverflowsTimeout]);
    assert_eq!(books(&s), before);
    assert_eq!(run(&mut s, &[hold(11, 1, 2, 5, 1)], late), vec![R::Ok]);
}

#[test]
fn a_failing_link_fails_its_chain_and_an_open_chain_fails() {
    let mut s = fixture();
    let before = books(&s);
    let chain = [pay(1001, 2, 3, 10).with_flags(F::LINKED), pay(1002, 3, 2, 1_000_000), pay(1003, 2, 3, 1)];
    assert_eq!(run(&mut s, &chain, at()), vec![R::LinkedEventFailed, R::ExceedsCredits, R::Ok]);
    assert!(s.transfer(tid(1001)).is_none() && s.transfer(tid(1003)).is_some());
    assert_eq!(books(&s).transfers.len(), before.transfers.len() + 1);
    assert_eq!(s.account(aid(3)).unwrap().credits_posted, before.accounts[2].credits_posted + 1);
    let open = [pay(1004, 2, 3, 1), pay(1005, 2, 3, 1).with_flags(F::LINKED), pay(1006, 2, 3, 1).with_flags(F::LINKED)];
    let before = books(&s);
    assert_eq!(run(&mut s, &open, at()), vec![R::Ok, R::LinkedEventFailed, R::LinkedEventChainOpen]);
    assert_eq!(books(&s).transfers.len(), before.transfers.len() + 1);
    assert!(s.failed_transfer(tid(1005)).is_none() && s.failed_transfer(tid(1006)).is_none());
}

#[test]
fn a_fingerprint_match_is_confirmed_by_the_id() {
    let s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::NONE), wallet(3, AF::NONE)]);
    let right = s.slot(aid(3)).unwrap();
    let wrong = s.slot(aid(1)).unwrap();
    assert_eq!(s.confirm(right, aid(3)), right);
    assert_eq!(s.confirm(wrong, aid(3)), right, "a false candidate falls back to a full look-up");
    assert_eq!(s.confirm(wrong, aid(9)), super::NOT_FOUND);
    assert_eq!(s.confirm(super::NOT_FOUND, aid(9)), super::NOT_FOUND);
}
