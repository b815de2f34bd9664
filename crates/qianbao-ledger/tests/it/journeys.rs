//! Wallet money movements end to end on the engine: top-up, payment, refund, red packets through escrow,
//! a two-phase withdrawal, PBOC account-class caps, and closing an account at zero.

use qianbao_core::{AccountId, Currency, Money, Timestamp, TransferId};
use qianbao_ledger::*;

const BANK: u128 = 1;
const FEES: u128 = 2;
const ESCROW: u128 = 3;
const ALICE: u128 = 10;
const BOB: u128 = 11;
const CAROL: u128 = 12;
const SHOP: u128 = 20;

/// 2026-05-28T13:46:40+08:00.
fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(1_779_947_200 + secs)
}

fn aid(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

fn tid(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

fn fen(yuan: u128) -> u128 {
    yuan * 100
}

fn transfer(id: u128, dr: u128, cr: u128, amount: u128, code: TransferCode) -> NewTransfer {
    NewTransfer::new(tid(id), aid(dr), aid(cr), amount, Ledger::CNY, code)
}

fn open() -> LedgerState {
    let wallet = |id| {
        NewAccount::new(aid(id), Ledger::CNY, AccountCode::WALLET)
            .with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::HISTORY)
    };
    let accounts = [
        NewAccount::new(aid(BANK), Ledger::CNY, AccountCode::BANK_SETTLEMENT),
        NewAccount::new(aid(FEES), Ledger::CNY, AccountCode::FEE_INCOME),
        NewAccount::new(aid(ESCROW), Ledger::CNY, AccountCode::RED_PACKET_ESCROW)
            .with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        wallet(ALICE),
        wallet(BOB),
        wallet(CAROL),
        NewAccount::new(aid(SHOP), Ledger::CNY, AccountCode::MERCHANT)
            .with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
    ];
    let mut ledger = LedgerState::new(LedgerConfig::default());
    let out = ledger.create_accounts(&accounts, t(0)).unwrap();
    assert!(out.results.iter().all(|r| r.is_ok()));
    assert_eq!(out.changes.accounts_created.len(), accounts.len());
    ledger
}

fn balance(ledger: &LedgerState, id: u128) -> Money {
    ledger.account(aid(id)).unwrap().balance().credit_balance_money(Currency::CNY).unwrap()
}

fn ok(ledger: &mut LedgerState, batch: &[NewTransfer], at: Timestamp) -> TransfersOutcome {
    let out = ledger.create_transfers(batch, at).unwrap();
    assert!(out.results.iter().all(|r| r.is_ok()), "{:?}", out.results);
    out
}

#[test]
fn top_up_pay_with_a_fee_and_refund() {
    let mut ledger = open();
    ok(&mut ledger, &[transfer(1, BANK, ALICE, fen(500), TransferCode::TOP_UP)], t(1));
    // A payment and its fee succeed or fail together.
    let pay = transfer(2, ALICE, SHOP, fen(120), TransferCode::PAYMENT).with_flags(TransferFlags::LINKED);
    let fee = transfer(3, SHOP, FEES, 72, TransferCode::FEE);
    let out = ok(&mut ledger, &[pay, fee], t(2));
    assert_eq!(balance(&ledger, ALICE).to_string(), "380.00 CNY");
    assert_eq!(balance(&ledger, SHOP).to_string(), "119.28 CNY");
    assert_eq!(out.changes.balances.iter().filter(|b| b.account_id == aid(ALICE)).count(), 1);
    // The same payment retried by the client is recognised, not posted twice.
    assert_eq!(ledger.create_transfers(&[pay, fee], t(3)).unwrap().results[0], CreateTransferResult::Exists);
    ok(&mut ledger, &[transfer(4, SHOP, ALICE, fen(20), TransferCode::REFUND).with_user_data_128(2)], t(4));
    assert_eq!(balance(&ledger, ALICE).to_string(), "400.00 CNY");
    // Paying more than the balance is refused and leaves the balances as they were.
    let too_much = ledger.create_transfers(&[transfer(5, ALICE, SHOP, fen(401), TransferCode::PAYMENT)], t(5)).unwrap();
    assert_eq!(too_much.results, vec![CreateTransferResult::ExceedsCredits]);
    assert_eq!(balance(&ledger, ALICE).to_string(), "400.00 CNY");
}

#[test]
fn a_red_packet_is_split_through_escrow_and_the_rest_returns_after_expiry() {
    let mut ledger = open();
    ok(&mut ledger, &[transfer(1, BANK, ALICE, fen(100), TransferCode::TOP_UP)], t(1));
    // Alice sends CNY 88 into escrow, held for a day in three shares.
    let shares = [3_000u128, 2_800, 3_000];
    let mut batch =
        vec![transfer(10, ALICE, ESCROW, fen(88), TransferCode::RED_PACKET).with_flags(TransferFlags::LINKED)];
    for (i, share) in shares.iter().enumerate() {
        let hold = transfer(11 + i as u128, ESCROW, ALICE, *share, TransferCode::RED_PACKET_CLAIM)
            .with_flags(TransferFlags::PENDING)
            .with_timeout_secs(86_400);
        let linked = if i + 1 < shares.len() { TransferFlags::LINKED } else { TransferFlags::NONE };
        batch.push(hold.with_flags(linked));
    }
    ok(&mut ledger, &batch, t(2));
    assert_eq!(ledger.account(aid(ESCROW)).unwrap().balance().available_credit(), Some(0));
    // Bob and Carol claim: each claim voids a held share and moves it to the claimer.
    let claim = |id, share: u128, who, amount| {
        [
            NewTransfer::void(tid(id), tid(share)).with_flags(TransferFlags::LINKED),
            transfer(id + 1, ESCROW, who, amount, TransferCode::RED_PACKET_CLAIM),
        ]
    };
    ok(&mut ledger, &claim(20, 11, BOB, 3_000), t(3));
    ok(&mut ledger, &claim(22, 12, CAROL, 2_800), t(4));
    // Nobody claims the last share: at its deadline it expires and Alice gets it back.
    let deadline = ledger.pending_state(tid(13)).unwrap().expires_at.unwrap();
    assert_eq!(ledger.expire_pending(deadline).unwrap().expired, vec![tid(13)]);
    ok(&mut ledger, &[transfer(30, ESCROW, ALICE, 3_000, TransferCode::RED_PACKET_RETURN)], deadline);
    assert_eq!(balance(&ledger, ALICE).to_string(), "42.00 CNY");
    assert_eq!(balance(&ledger, BOB).to_string(), "30.00 CNY");
    assert_eq!(balance(&ledger, CAROL).to_string(), "28.00 CNY");
    assert_eq!(balance(&ledger, ESCROW).to_string(), "0.00 CNY");
}

#[test]
fn a_withdrawal_holds_the_money_until_the_bank_confirms() {
    let mut ledger = open();
    ok(&mut ledger, &[transfer(1, BANK, ALICE, fen(300), TransferCode::TOP_UP)], t(1));
    let hold = transfer(2, ALICE, BANK, fen(200), TransferCode::WITHDRAWAL)
        .with_flags(TransferFlags::PENDING)
        .with_timeout_secs(600);
    ok(&mut ledger, &[hold], t(2));
    let alice = ledger.account(aid(ALICE)).unwrap().balance();
    assert_eq!(alice.available_credit_money(Currency::CNY).unwrap().to_string(), "100.00 CNY");
    assert_eq!(balance(&ledger, ALICE).to_string(), "300.00 CNY");
    // The bank pays out less than asked (a fee on its side): post part, the rest is released.
    ok(&mut ledger, &[NewTransfer::post(tid(3), tid(2), fen(150))], t(60));
    let alice = ledger.account(aid(ALICE)).unwrap().balance();
    assert_eq!((alice.debits_pending, alice.available_credit()), (0, Some(fen(150) as i128)));
    assert_eq!(ledger.pending_state(tid(2)).unwrap().status, PendingStatus::Posted);
}

#[test]
fn pboc_class_caps_and_a_daily_cap_apply_in_beijing_time() {
    let mut ledger = open();
    ok(&mut ledger, &[transfer(1, BANK, ALICE, fen(300_000), TransferCode::TOP_UP)], t(1));
    let spending =
        vec![TransferCode::PAYMENT, TransferCode::TRANSFER, TransferCode::RED_PACKET, TransferCode::WITHDRAWAL];
    // Class I: CNY 1,000 since opening.
    let class_one =
        DebitLimit { slot: 0, window: LimitWindow::Lifetime, codes: spending.clone(), amount_max: fen(1_000) };
    ledger.set_debit_limits(aid(ALICE), vec![class_one]).unwrap();
    ok(&mut ledger, &[transfer(2, ALICE, SHOP, fen(999), TransferCode::PAYMENT)], t(2));
    let over = ledger.create_transfers(&[transfer(3, ALICE, BOB, fen(2), TransferCode::TRANSFER)], t(3)).unwrap();
    assert_eq!(over.results, vec![CreateTransferResult::ExceedsDebitLimit]);
    // Upgraded to class III (CNY 200,000 a year) with a daily cap of CNY 50,000 for password payments.
    let class_three =
        DebitLimit { slot: 0, window: LimitWindow::Year, codes: spending.clone(), amount_max: fen(200_000) };
    let daily = DebitLimit { slot: 1, window: LimitWindow::Day, codes: spending, amount_max: fen(50_000) };
    ledger.set_debit_limits(aid(ALICE), vec![class_three, daily]).unwrap();
    ok(&mut ledger, &[transfer(4, ALICE, SHOP, fen(50_000), TransferCode::PAYMENT)], t(4));
    let capped = ledger.create_transfers(&[transfer(5, ALICE, SHOP, fen(1), TransferCode::PAYMENT)], t(5)).unwrap();
    assert_eq!(capped.results, vec![CreateTransferResult::ExceedsDebitLimit]);
    // Top-ups are not spending; and a new day starts at 00:00 in Beijing (16:00 UTC).
    ok(&mut ledger, &[transfer(6, BANK, ALICE, fen(1), TransferCode::TOP_UP)], t(6));
    let next_day = t(10 * 3600 + 14 * 60);
    ok(&mut ledger, &[transfer(7, ALICE, SHOP, fen(50_000), TransferCode::PAYMENT)], next_day);
    let status = ledger.limit_status(aid(ALICE), next_day);
    assert_eq!(status[0].used_amount, fen(100_000), "the yearly window counts both days");
    assert_eq!(status[1].remaining_amount, 0);
    assert_eq!(status[1].window_start.unix_secs() % 86_400, 16 * 3600, "days start at 16:00 UTC");
}

#[test]
fn an_account_closes_only_through_a_transfer_that_empties_it() {
    let mut ledger = open();
    ok(&mut ledger, &[transfer(1, BANK, BOB, 12_345, TransferCode::TOP_UP)], t(1));
    // Withdraw everything and close in one pending transfer; the bank confirms by posting it.
    let close = transfer(2, BOB, BANK, AMOUNT_MAX, TransferCode::CLOSING)
        .with_flags(TransferFlags::PENDING | TransferFlags::BALANCING_DEBIT | TransferFlags::CLOSING_DEBIT);
    ok(&mut ledger, &[close], t(2));
    assert_eq!(ledger.transfer(tid(2)).unwrap().amount, 12_345);
    assert!(ledger.account(aid(BOB)).unwrap().is_closed());
    ok(&mut ledger, &[NewTransfer::post(tid(3), tid(2), AMOUNT_MAX)], t(3));
    let bob = ledger.account(aid(BOB)).unwrap();
    assert!(bob.is_closed());
    assert_eq!(bob.balance().credit_balance(), Some(0));
    let late = ledger.create_transfers(&[transfer(4, ALICE, BOB, 1, TransferCode::TRANSFER)], t(4)).unwrap();
    assert_eq!(late.results, vec![CreateTransferResult::CreditAccountAlreadyClosed]);
}
