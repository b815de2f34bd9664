//! How accepted transfers behave: balancing, two-phase, closing, idempotency, chains, timestamps, limits.

use super::*;
use crate::{AMOUNT_MAX, PendingStatus};

fn funded(accounts: &[crate::NewAccount], funding: &[(u128, u128)]) -> LedgerState {
    let mut s = ledger(accounts);
    let top_ups: Vec<_> = funding
        .iter()
        .filter(|f| f.1 > 0)
        .enumerate()
        .map(|(i, (a, amount))| pay(90_000 + i as u128, 1, *a, *amount))
        .collect();
    assert!(run(&mut s, &top_ups, NOW).iter().all(|r| r.is_ok()));
    s
}

/// 1: bank; 2, 3: wallets that cannot go negative.
fn two_wallets(balance: u128) -> LedgerState {
    let dmnec = AF::DEBITS_MUST_NOT_EXCEED_CREDITS;
    funded(&[wallet(1, AF::NONE), wallet(2, dmnec), wallet(3, dmnec)], &[(2, balance)])
}

#[test]
fn a_balancing_debit_moves_what_the_balance_allows() {
    let mut s = two_wallets(100);
    let sweep = pay(1, 2, 3, AMOUNT_MAX).with_flags(F::BALANCING_DEBIT);
    assert_eq!(run(&mut s, &[sweep], secs(1)), vec![R::Ok]);
    assert_eq!(s.transfer(tid(1)).unwrap().amount, 100);
    assert_eq!(s.account(aid(2)).unwrap().balance().credit_balance(), Some(0));
    // A retry with the same or a larger maximum exists; with a smaller one it differs.
    assert_eq!(run(&mut s, &[sweep], secs(2)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(sweep, |t| t.amount = 100)], secs(2)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(sweep, |t| t.amount = 99)], secs(2)), vec![R::ExistsWithDifferentAmount]);
    // Nothing left: exceeds_credits (and remembered as failed).
    assert_eq!(run(&mut s, &[with(sweep, |t| t.id = tid(2))], secs(3)), vec![R::ExceedsCredits]);
    assert_eq!(run(&mut s, &[pay(2, 1, 2, 5)], secs(3)), vec![R::IdAlreadyFailed]);
}

#[test]
fn a_balancing_credit_moves_what_the_credit_account_allows() {
    let mut s = funded(&[wallet(1, AF::NONE), wallet(4, AF::CREDITS_MUST_NOT_EXCEED_DEBITS)], &[]);
    assert_eq!(run(&mut s, &[pay(1, 4, 1, 30)], secs(1)), vec![R::Ok]);
    let fill = pay(2, 1, 4, 1_000).with_flags(F::BALANCING_CREDIT);
    assert_eq!(run(&mut s, &[fill], secs(2)), vec![R::Ok]);
    assert_eq!(s.transfer(tid(2)).unwrap().amount, 30);
    assert_eq!(run(&mut s, &[with(fill, |t| t.id = tid(3))], secs(3)), vec![R::ExceedsDebits]);
}

#[test]
fn a_partial_post_releases_the_rest_and_a_full_post_retries_as_exists() {
    let mut s = two_wallets(1_000);
    assert_eq!(run(&mut s, &[hold(1, 2, 3, 100, 60), hold(2, 2, 3, 100, 60)], secs(1)), vec![R::Ok, R::Ok]);
    let a = s.account(aid(2)).unwrap();
    assert_eq!((a.debits_pending, a.balance().available_credit()), (200, Some(800)));
    let partial = NewTransfer::post(tid(3), tid(1), 30);
    let full = NewTransfer::post(tid(4), tid(2), AMOUNT_MAX);
    assert_eq!(run(&mut s, &[partial, full], secs(2)), vec![R::Ok, R::Ok]);
    let (a, b) = (s.account(aid(2)).unwrap(), s.account(aid(3)).unwrap());
    assert_eq!((a.debits_pending, a.debits_posted, b.credits_pending, b.credits_posted), (0, 130, 0, 130));
    assert_eq!(s.pending_state(tid(1)).unwrap().status, PendingStatus::Posted);
    assert_eq!(s.transfer(tid(4)).unwrap().amount, 100);
    assert_eq!(run(&mut s, &[full], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(full, |t| t.amount = 100)], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(full, |t| t.amount = 99)], secs(3)), vec![R::ExistsWithDifferentAmount]);
    assert_eq!(run(&mut s, &[partial], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(partial, |t| t.amount = AMOUNT_MAX)], secs(3)), vec![R::ExistsWithDifferentAmount]);
}

#[test]
fn a_void_inherits_the_pending_fields_and_releases_everything() {
    let mut s = two_wallets(1_000);
    let h = hold(1, 2, 3, 100, 0).with_user_data_128(77);
    assert_eq!(run(&mut s, &[h], secs(1)), vec![R::Ok]);
    let void = NewTransfer::void(tid(2), tid(1));
    assert_eq!(run(&mut s, &[void], secs(2)), vec![R::Ok]);
    let v = *s.transfer(tid(2)).unwrap();
    assert_eq!((v.debit_account_id, v.credit_account_id, v.amount, v.user_data_128), (aid(2), aid(3), 100, 77));
    assert_eq!((v.ledger, v.code), (Ledger::CNY, TransferCode::PAYMENT));
    assert_eq!(s.account(aid(2)).unwrap().balance().available_credit(), Some(1_000));
    assert_eq!(run(&mut s, &[void], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(void, |t| t.amount = 100)], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(void, |t| t.user_data_128 = 77)], secs(3)), vec![R::Exists]);
    assert_eq!(run(&mut s, &[with(void, |t| t.user_data_128 = 78)], secs(3)), vec![R::ExistsWithDifferentUserData128]);
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(5), tid(1), 1)], secs(3)), vec![R::PendingTransferAlreadyVoided]);
}

#[test]
fn a_closing_transfer_closes_until_voided_and_its_post_keeps_it_closed() {
    let mut s = two_wallets(100);
    let close = pay(1, 2, 3, AMOUNT_MAX).with_flags(F::PENDING | F::BALANCING_DEBIT | F::CLOSING_DEBIT);
    assert_eq!(run(&mut s, &[close], secs(1)), vec![R::Ok]);
    assert!(s.account(aid(2)).unwrap().is_closed());
    assert_eq!(
        run(&mut s, &[pay(2, 1, 2, 5), pay(3, 2, 1, 5)], secs(2)),
        vec![R::CreditAccountAlreadyClosed, R::DebitAccountAlreadyClosed]
    );
    assert_eq!(run(&mut s, &[NewTransfer::void(tid(4), tid(1))], secs(3)), vec![R::Ok]);
    assert!(!s.account(aid(2)).unwrap().is_closed());
    assert_eq!(
        run(&mut s, &[with(close, |t| t.id = tid(5)), NewTransfer::post(tid(6), tid(5), AMOUNT_MAX)], secs(4)),
        vec![R::Ok, R::Ok]
    );
    let a = s.account(aid(2)).unwrap();
    assert!(a.is_closed());
    assert_eq!(a.balance().credit_balance(), Some(0));
}

#[test]
fn a_remembered_failure_keeps_failing_even_when_the_state_would_allow_it() {
    let mut s = two_wallets(0);
    assert_eq!(run(&mut s, &[pay(1, 2, 3, 50)], secs(1)), vec![R::ExceedsCredits]);
    assert_eq!(run(&mut s, &[pay(2, 1, 2, 100)], secs(2)), vec![R::Ok]);
    assert_eq!(run(&mut s, &[pay(1, 2, 3, 50)], secs(3)), vec![R::IdAlreadyFailed]);
    assert_eq!(run(&mut s, &[pay(3, 2, 3, 50)], secs(3)), vec![R::Ok]);
    // A validation failure is not remembered: the same id may be used once the request is right.
    assert_eq!(run(&mut s, &[pay(4, 2, 3, 0)], secs(4)), vec![R::AmountMustNotBeZero]);
    assert_eq!(run(&mut s, &[pay(4, 2, 3, 1)], secs(4)), vec![R::Ok]);
}

#[test]
fn timestamps_strictly_increase_even_when_the_clock_goes_back() {
    let mut s = two_wallets(1_000);
    let first = s.create_transfers(&[pay(1, 2, 3, 1), pay(2, 2, 3, 1)], secs(10)).unwrap();
    let second = s.create_transfers(&[pay(3, 2, 3, 1)], secs(5)).unwrap();
    let ts: Vec<u64> = s.transfers().iter().skip(1).map(|t| t.timestamp.unix_nanos()).collect();
    assert_eq!(ts, vec![secs(10).unix_nanos(), secs(10).unix_nanos() + 1, secs(10).unix_nanos() + 2]);
    assert_eq!(first.changes.last_timestamp.unix_nanos(), secs(10).unix_nanos() + 1);
    assert_eq!(second.changes.last_timestamp, s.last_timestamp());
}

#[test]
fn the_same_id_twice_in_a_batch_is_created_once() {
    let mut s = two_wallets(1_000);
    assert_eq!(
        run(&mut s, &[pay(1, 2, 3, 7), pay(1, 2, 3, 7), pay(1, 2, 3, 8)], secs(1)),
        vec![R::Ok, R::Exists, R::ExistsWithDifferentAmount]
    );
    assert_eq!(s.account(aid(3)).unwrap().credits_posted, 7);
}

#[test]
fn a_rolled_back_chain_undoes_holds_posts_and_closings() {
    let mut s = two_wallets(1_000);
    assert_eq!(run(&mut s, &[hold(1, 2, 3, 100, 60)], secs(1)), vec![R::Ok]);
    let before = books(&s);
    let chain = [
        NewTransfer::post(tid(2), tid(1), 40).with_flags(F::LINKED),
        hold(3, 2, 3, 10, 60).with_flags(F::LINKED | F::CLOSING_CREDIT),
        NewTransfer::void(tid(4), tid(3)).with_flags(F::LINKED),
        hold(5, 2, 3, 10, 60).with_flags(F::LINKED),
        pay(6, 3, 2, 1_000_000),
    ];
    let out = s.create_transfers(&chain, secs(2)).unwrap();
    assert_eq!(out.results, vec![R::LinkedEventFailed; 4].into_iter().chain([R::ExceedsCredits]).collect::<Vec<_>>());
    assert_eq!(books(&s), before);
    assert!(out.changes.transfers.is_empty() && out.changes.pending.is_empty() && out.changes.balances.is_empty());
    assert_eq!(s.due_pending(secs(1_000)).count(), 1, "the rolled-back hold left no expiry behind");
    // The failing link's id is spent (its failure was transient); the others can be retried.
    assert_eq!(s.failed_transfer(tid(6)).unwrap().result, R::ExceedsCredits);
    assert!(s.failed_transfer(tid(2)).is_none());
    let mut ok = chain;
    ok[4] = pay(7, 3, 2, 1);
    assert_eq!(run(&mut s, &ok, secs(3)), vec![R::Ok; 5]);
    assert_eq!(s.pending_state(tid(1)).unwrap().status, PendingStatus::Posted);
    assert_eq!(s.pending_state(tid(3)).unwrap().status, PendingStatus::Voided);
    assert!(!s.account(aid(3)).unwrap().is_closed(), "voiding the closing hold reopened it");
}

#[test]
fn accounts_with_history_get_a_balance_after_each_transfer() {
    let mut s = ledger(&[wallet(1, AF::NONE), wallet(2, AF::HISTORY)]);
    let out = s.create_transfers(&[pay(1, 1, 2, 5), hold(2, 2, 1, 3, 0)], secs(1)).unwrap();
    let balances: Vec<_> = out
        .changes
        .balances
        .iter()
        .map(|b| (b.account_id, b.balance.credits_posted, b.balance.debits_pending))
        .collect();
    assert_eq!(balances, vec![(aid(2), 5, 0), (aid(2), 5, 3)]);
    assert_eq!(out.changes.balances[1].timestamp, s.transfer(tid(2)).unwrap().timestamp);
}

#[test]
fn changes_list_each_touched_account_once_in_its_final_state() {
    let mut s = two_wallets(1_000);
    let out = s.create_transfers(&[pay(1, 2, 3, 1), pay(2, 3, 2, 1), pay(3, 2, 3, 1)], secs(1)).unwrap();
    let ids: Vec<_> = out.changes.accounts_updated.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![aid(2), aid(3)]);
    assert!(out.changes.accounts_updated[0].matches(s.account(aid(2)).unwrap()));
    assert_eq!(out.changes.transfers.len(), 3);
    assert_eq!(out.created(), 3);
}

#[test]
fn a_batch_over_the_limit_is_refused_whole() {
    let mut s = two_wallets(1_000_000);
    let batch: Vec<_> = (0..crate::BATCH_EVENTS_MAX as u128 + 1).map(|i| pay(i + 1, 2, 3, 1)).collect();
    let before = books(&s);
    let err = s.create_transfers(&batch, secs(1)).unwrap_err();
    assert!(err.to_string().contains("at most 8189"), "{err}");
    assert_eq!(books(&s), before);
    assert_eq!(run(&mut s, &batch[..crate::BATCH_EVENTS_MAX], secs(1)).len(), crate::BATCH_EVENTS_MAX);
}

#[test]
fn a_frozen_account_can_be_voided_but_not_debited_or_posted() {
    let mut s = two_wallets(1_000);
    assert_eq!(run(&mut s, &[hold(1, 2, 3, 10, 0), hold(2, 2, 3, 10, 0)], secs(1)), vec![R::Ok, R::Ok]);
    let changes = s.set_frozen(aid(2), true).unwrap();
    assert!(changes.accounts_updated[0].flags.contains(AF::FROZEN));
    let tries = [NewTransfer::post(tid(3), tid(1), AMOUNT_MAX), NewTransfer::void(tid(4), tid(2)), pay(5, 1, 2, 1)];
    assert_eq!(run(&mut s, &tries, secs(2)), vec![R::DebitAccountFrozen, R::Ok, R::Ok]);
    s.set_frozen(aid(2), false).unwrap();
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(6), tid(1), AMOUNT_MAX)], secs(3)), vec![R::Ok]);
    assert!(s.set_frozen(aid(99), true).is_err());
}

fn limited(amount_max: u128, window: LimitWindow) -> LedgerState {
    let mut s = two_wallets(1_000_000);
    let limit = DebitLimit { slot: 3, window, codes: vec![TransferCode::PAYMENT, TransferCode::TRANSFER], amount_max };
    let changes = s.set_debit_limits(aid(2), vec![limit]).unwrap();
    assert_eq!(changes.limit_sets.len(), 1);
    s
}

#[test]
fn a_debit_limit_counts_only_its_codes_and_holds_until_voided() {
    let mut s = limited(500, LimitWindow::Day);
    let top_up_style = with(pay(1, 2, 3, 600), |t| t.code = TransferCode::WITHDRAWAL);
    assert_eq!(
        run(&mut s, &[top_up_style, hold(2, 2, 3, 400, 0), pay(3, 2, 3, 200)], secs(1)),
        vec![R::Ok, R::Ok, R::ExceedsDebitLimit]
    );
    assert_eq!(s.limit_status(aid(2), secs(1))[0].used_amount, 400);
    assert_eq!(run(&mut s, &[NewTransfer::post(tid(4), tid(2), 150)], secs(2)), vec![R::Ok]);
    assert_eq!(s.limit_status(aid(2), secs(2))[0].used_amount, 150, "the unposted 250 came back");
    let sweep = pay(5, 2, 3, AMOUNT_MAX).with_flags(F::BALANCING_DEBIT);
    assert_eq!(run(&mut s, &[sweep], secs(3)), vec![R::Ok]);
    assert_eq!(s.transfer(tid(5)).unwrap().amount, 350, "clamped to the limit");
    assert_eq!(run(&mut s, &[with(sweep, |t| t.id = tid(6))], secs(4)), vec![R::ExceedsDebitLimit]);
}

#[test]
fn a_daily_limit_resets_at_midnight_beijing_time_and_an_old_hold_gives_nothing_back() {
    let mut s = limited(500, LimitWindow::Day);
    // NOW is 13:46:40 in Beijing; 10:14 hours later is 00:00:40 the next day there.
    let tomorrow = secs(10 * 3600 + 14 * 60);
    assert_eq!(run(&mut s, &[hold(1, 2, 3, 500, 0)], secs(1)), vec![R::Ok]);
    assert_eq!(run(&mut s, &[pay(2, 2, 3, 1)], secs(2)), vec![R::ExceedsDebitLimit]);
    assert_eq!(run(&mut s, &[pay(3, 2, 3, 500)], tomorrow), vec![R::Ok]);
    assert_eq!(run(&mut s, &[NewTransfer::void(tid(4), tid(1))], tomorrow), vec![R::Ok]);
    assert_eq!(s.limit_status(aid(2), tomorrow)[0].used_amount, 500, "yesterday's hold is not given to today");
}

#[test]
fn changing_a_limit_keeps_what_was_spent_in_the_window() {
    let mut s = limited(1_000, LimitWindow::Year);
    assert_eq!(run(&mut s, &[pay(1, 2, 3, 800)], secs(1)), vec![R::Ok]);
    let higher =
        DebitLimit { slot: 3, window: LimitWindow::Year, codes: vec![TransferCode::PAYMENT], amount_max: 2_000 };
    s.set_debit_limits(aid(2), vec![higher.clone()]).unwrap();
    assert_eq!(s.limit_status(aid(2), secs(2))[0].remaining_amount, 1_200);
    let daily = DebitLimit { window: LimitWindow::Day, ..higher };
    s.set_debit_limits(aid(2), vec![daily]).unwrap();
    assert_eq!(s.limit_status(aid(2), secs(2))[0].remaining_amount, 2_000, "another window starts unused");
    s.set_debit_limits(aid(2), vec![]).unwrap();
    assert!(s.limits(aid(2)).is_empty());
    assert_eq!(run(&mut s, &[pay(2, 2, 3, 5_000)], secs(3)), vec![R::Ok]);
    let dup = DebitLimit { slot: 1, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 1 };
    assert!(s.set_debit_limits(aid(2), vec![dup.clone(), dup]).is_err());
}

#[test]
fn a_chain_rolled_back_across_chunks_reports_the_accounts_as_they_end() {
    let mut s = two_wallets(1_000_000);
    let mut batch: Vec<_> = (0..120).map(|i| pay(i + 1, 2, 3, 1)).collect();
    batch.extend((0..15).map(|i| pay(200 + i, 3, 2, 2).with_flags(F::LINKED)));
    batch.push(pay(300, 3, 2, 1_000_000_000));
    batch.extend((0..100).map(|i| pay(400 + i, 2, 3, 1)));
    let out = s.create_transfers(&batch, secs(1)).unwrap();
    assert_eq!(out.results[135], R::ExceedsCredits);
    assert_eq!(out.results.iter().filter(|r| r.is_ok()).count(), 220);
    let reported = &out.changes.accounts_updated;
    assert_eq!(reported.len(), 2);
    assert!(reported[0].matches(s.account(aid(2)).unwrap()) && reported[1].matches(s.account(aid(3)).unwrap()));
    assert_eq!(s.account(aid(3)).unwrap().credits_posted, 220);
}
