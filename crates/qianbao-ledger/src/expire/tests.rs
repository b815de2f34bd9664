//! Expiry happens exactly at the deadline, in order, and undoes what the hold did.

use crate::test_support::*;
use crate::{
    AccountFlags as AF, CreateTransferResult as R, DebitLimit, LimitWindow, NewTransfer, PendingStatus, TransferCode,
    TransferFlags as F,
};
use qianbao_core::Timestamp;

fn nanos_before(t: Timestamp, n: u64) -> Timestamp {
    Timestamp::from_unix_nanos(t.unix_nanos() - n)
}

#[test]
fn a_hold_expires_exactly_at_its_deadline() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::NONE)]);
    assert_eq!(run(&mut s, &[hold(1, 1, 2, 10, 60)], NOW), vec![R::Ok]);
    let created = s.transfer(tid(1)).unwrap().timestamp;
    let deadline = s.pending_state(tid(1)).unwrap().expires_at.unwrap();
    assert_eq!(deadline.unix_nanos(), created.unix_nanos() + 60_000_000_000);
    // One nanosecond before: nothing expires, and a post still succeeds.
    let mut early = s.clone();
    assert!(early.expire_pending(nanos_before(deadline, 1)).unwrap().expired.is_empty());
    let just_before = nanos_before(deadline, 1);
    assert_eq!(run(&mut early, &[NewTransfer::post(tid(2), tid(1), 4)], just_before), vec![R::Ok]);
    // At the deadline a post is refused even before expiry ran; then expiry releases the hold.
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(2), tid(1), 4)], deadline), vec![R::PendingTransferExpired]);
    assert_eq!(s.account(aid(1)).unwrap().debits_pending, 10);
    let out = s.expire_pending(deadline).unwrap();
    assert_eq!(out.expired, vec![tid(1)]);
    assert_eq!(s.account(aid(1)).unwrap().debits_pending, 0);
    assert_eq!(s.account(aid(2)).unwrap().credits_pending, 0);
    assert_eq!(s.pending_state(tid(1)).unwrap().status, PendingStatus::Expired);
    assert_eq!(out.changes.pending.len(), 1);
    assert_eq!(out.changes.accounts_updated.len(), 2);
    assert!(out.changes.last_timestamp > created);
    // Expiry is done once.
    assert!(s.expire_pending(deadline).unwrap().expired.is_empty());
    assert_eq!(run(&mut s, &[NewTransfer::void(tid(3), tid(1))], deadline), vec![R::PendingTransferExpired]);
}

#[test]
fn holds_expire_by_deadline_then_by_creation_and_resolved_ones_never() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::NONE)]);
    let batch =
        [hold(1, 1, 2, 1, 30), hold(2, 1, 2, 1, 10), hold(3, 1, 2, 1, 10), hold(4, 1, 2, 1, 10), hold(5, 1, 2, 1, 0)];
    assert!(run(&mut s, &batch, NOW).iter().all(|r| r.is_ok()));
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(6), tid(3), 1)], secs(1)), vec![R::Ok]);
    assert_eq!(s.due_pending(secs(11)).count(), 2, "hold 3 was posted");
    assert_eq!(s.expire_pending(secs(100)).unwrap().expired, vec![tid(2), tid(4), tid(1)]);
    assert_eq!(s.pending_state(tid(5)).unwrap().status, PendingStatus::Pending, "no timeout, no expiry");
    assert_eq!(s.account(aid(1)).unwrap().debits_pending, 1);
}

#[test]
fn expiry_reopens_closed_accounts_and_gives_the_limit_back() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::HISTORY)]);
    let limit =
        DebitLimit { slot: 0, window: LimitWindow::Lifetime, codes: vec![TransferCode::PAYMENT], amount_max: 100 };
    s.set_debit_limits(aid(2), vec![limit]).unwrap();
    let closing = hold(1, 2, 1, 100, 5).with_flags(F::CLOSING_DEBIT);
    assert_eq!(run(&mut s, &[closing], NOW), vec![R::Ok]);
    assert!(s.account(aid(2)).unwrap().is_closed());
    assert_eq!(s.limit_status(aid(2), NOW)[0].remaining_amount, 0);
    let out = s.expire_pending(secs(6)).unwrap();
    assert_eq!(out.expired, vec![tid(1)]);
    assert!(!s.account(aid(2)).unwrap().is_closed());
    assert_eq!(s.limit_status(aid(2), secs(6))[0].remaining_amount, 100);
    assert_eq!(out.changes.limit_usages.len(), 1);
    assert_eq!(out.changes.balances.len(), 1, "account 2 keeps history");
    assert_eq!(run(&mut s, &[pay(2, 2, 1, 100)], secs(6)), vec![R::Ok]);
}

#[test]
fn expiry_works_in_bounded_batches() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::NONE)]);
    let holds: Vec<_> = (0..crate::BATCH_EVENTS_MAX as u128).map(|i| hold(i + 1, 1, 2, 1, 1)).collect();
    assert!(run(&mut s, &holds, NOW).iter().all(|r| r.is_ok()));
    assert_eq!(run(&mut s, &[hold(9_000, 1, 2, 1, 1)], secs(1)), vec![R::Ok]);
    assert_eq!(s.expire_pending(secs(5)).unwrap().expired.len(), crate::BATCH_EVENTS_MAX);
    assert_eq!(s.expire_pending(secs(5)).unwrap().expired, vec![tid(9_000)]);
    assert_eq!(s.account(aid(1)).unwrap().debits_pending, 0);
}
