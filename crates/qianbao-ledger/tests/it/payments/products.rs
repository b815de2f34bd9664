//! Each product's happy path and its retries, on every backend.

use qianbao_core::{Clock, Currency, DeviceId, Timestamp};
use qianbao_ledger::bank::{BankDirection, BankFailure, BankScript, Settlement};
use qianbao_ledger::payments::*;
use qianbao_ledger::qr::OrderRef;
use qianbao_ledger::redpacket::{RedPacketError, SplitMode};
use qianbao_ledger::risk::{RiskAction, RiskCheck, RiskConfig, RiskConfigFields, RiskRule};

use super::*;

#[tokio::test]
async fn top_ups_and_withdrawals_follow_the_bank() {
    each("payments: bank flows", |db| async move {
        let h = harness(db, fee_config()).await;
        h.wallet(1).await;
        // Confirmed at once: 100.00 in, 0.5 % top-up fee deducted by default.
        let p = h.payments.top_up(top_up(1, 100_00, "t1")).await.unwrap();
        assert_eq!((p.state.clone(), p.fee, p.legs.len()), (PaymentState::Completed, cny(50), 2));
        assert!(p.bank_reference.is_some());
        assert_eq!(h.balance(1).await, 99_50);
        assert_eq!(h.bank.confirmed_total(BankDirection::TopUp, Currency::CNY), cny(100_00));
        // The same request again: the same payment, no second bank movement, no second credit.
        assert_eq!(h.payments.top_up(top_up(1, 100_00, "t1")).await.unwrap().id, p.id);
        assert_eq!((h.bank.movement_count(), h.balance(1).await), (1, 99_50));
        // The same key with another amount is a conflict.
        let conflict = h.payments.top_up(top_up(1, 5_00, "t1")).await;
        assert!(matches!(conflict, Err(PaymentError::IdempotencyConflict(_))), "{conflict:?}");

        // The bank answers later: held, then settled by reconciliation.
        h.bank.push(BankScript::StayPending);
        let held = h.payments.top_up(top_up(1, 20_00, "t2")).await.unwrap();
        assert_eq!(held.state, PaymentState::Held { hold: Hold::Bank });
        assert_eq!(h.balance(1).await, 99_50, "a pending top-up is not spendable");
        assert!(h.payments.reconcile_bank(10).await.unwrap().is_empty(), "still pending at the bank");
        h.bank.settle(held.legs[0].transfer_id, Settlement::Confirm).unwrap();
        let done = h.payments.reconcile_bank(10).await.unwrap();
        assert_eq!((done.len(), done[0].state.clone()), (1, PaymentState::Completed));
        assert_eq!(h.balance(1).await, 99_50 + 19_90);

        // The bank refuses: voided, nothing moved.
        h.bank.push(BankScript::Fail(BankFailure::InsufficientFunds));
        let failed = h.payments.top_up(top_up(1, 30_00, "t3")).await.unwrap();
        assert!(matches!(failed.state, PaymentState::Cancelled { cancel: CancelReason::BankFailed { .. } }));
        assert_eq!(h.balance(1).await, 119_40);

        // The bank is unreachable: held; reconciliation starts the movement again and settles it.
        h.bank.push(BankScript::Unavailable);
        let lost = h.payments.top_up(top_up(1, 10_00, "t4")).await.unwrap();
        assert_eq!(lost.state, PaymentState::Held { hold: Hold::Bank });
        let done = h.payments.reconcile_bank(10).await.unwrap();
        assert_eq!(done[0].state, PaymentState::Completed);
        assert_eq!(h.balance(1).await, 119_40 + 9_95);

        // A withdrawal of 200.00: the first 100.00 of the year are free, 0.1 % of the rest (min 0.10).
        let w = h.payments.withdraw(top_up(1, 50_00, "w1")).await.unwrap();
        assert_eq!((w.state.clone(), w.fee), (PaymentState::Completed, cny(0)));
        let w = h.payments.withdraw(top_up(1, 150_00, "w2")).await;
        assert!(matches!(w, Err(PaymentError::InsufficientFunds { .. })), "{w:?}");
        let w = h.payments.withdraw(top_up(1, 60_00, "w3")).await.unwrap();
        assert_eq!(w.fee, cny(10), "10.00 above the free 100.00: 0.1 % is 0.01, the minimum 0.10 applies");
        assert_eq!(h.balance(1).await, 129_35 - 50_00 - 60_10);
        assert_eq!(h.bank.confirmed_total(BankDirection::Withdrawal, Currency::CNY), cny(110_00));
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn merchant_payments_carry_fees_and_refund_in_parts() {
    each("payments: merchant payment and refunds", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        let shop = h.merchant(7).await;
        let before = h.balance(1).await;
        let fees_before = h.account(h.system(AccountKind::FeeIncome)).await.balance().credit_balance();
        let mut request = pay(1, shop, 100_00, "p1");
        request.order_ref = Some("ORDER-1".into());
        let p = h.payments.pay_merchant(request.clone()).await.unwrap();
        // The merchant bears 0.6 %: it receives 99.40, fee income 0.60, the payer pays 100.00.
        assert_eq!((p.fee, p.legs[0].amount, p.legs[1].amount), (cny(60), cny(99_40), cny(60)));
        assert_eq!(h.balance(1).await, before - 100_00);
        assert_eq!(h.account(shop).await.balance().credit_balance(), Some(99_40));
        assert_eq!(h.payments.pay_merchant(request).await.unwrap(), p, "a retry returns the same payment");

        let r1 = h.payments.refund(refund(7, p.id, 40_00, "r1")).await.unwrap();
        assert_eq!((r1.kind, r1.fee, r1.state.clone()), (PaymentKind::Refund, cny(24), PaymentState::Completed));
        let r2 = h.payments.refund(refund(7, p.id, 60_00, "r2")).await.unwrap();
        assert_eq!(r2.fee, cny(36), "the last refund returns the rest of the fee");
        assert_eq!(h.payments.refund(refund(7, p.id, 40_00, "r1")).await.unwrap().id, r1.id, "retry");
        let over = h.payments.refund(refund(7, p.id, 1, "r3")).await;
        assert!(matches!(over, Err(PaymentError::RefundExceedsPayment { .. })), "{over:?}");
        let again = h.payments.refund(refund(7, r1.id, 1, "r4")).await;
        assert!(matches!(again, Err(PaymentError::RefundOfRefund(_))), "{again:?}");
        let stored = h.payments.payment(p.id).await.unwrap();
        assert_eq!((stored.refunded, stored.fee_refunded), (cny(100_00), cny(60)));
        assert_eq!(h.payments.refunds(p.id).await.unwrap().len(), 2);
        assert_eq!(h.balance(1).await, before);
        assert_eq!(h.account(shop).await.balance().credit_balance(), Some(0));
        assert_eq!(h.account(h.system(AccountKind::FeeIncome)).await.balance().credit_balance(), fees_before);
        // Another merchant cannot refund it.
        h.merchant(8).await;
        let foreign = h.payments.refund(refund(8, p.id, 1, "x")).await;
        assert!(matches!(foreign, Err(PaymentError::NotPayee(_))));
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn a_refund_of_a_refund_is_refused() {
    each("payments: refund of a refund", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 50_00, "p")).await.unwrap();
        let r = h.payments.refund(refund(7, p.id, 10_00, "r")).await.unwrap();
        let snapshot = h.snapshot().await;
        let direct = h.payments.refund(refund(7, r.id, 1_00, "rr")).await;
        assert!(matches!(direct, Err(PaymentError::RefundOfRefund(id)) if id == r.id), "{direct:?}");
        assert_eq!(h.snapshot().await, snapshot);
    })
    .await;
}

#[tokio::test]
async fn transfers_between_users_charge_the_sender() {
    each("payments: transfer", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        h.wallet(2).await;
        let before = h.balance(1).await;
        let t = h.payments.transfer(send(1, 2, 100_00, "s1")).await.unwrap();
        assert_eq!((t.fee, t.state.clone()), (cny(1_00), PaymentState::Completed));
        assert_eq!((h.balance(1).await, h.balance(2).await), (before - 101_00, 100_00));
        let big = h.payments.transfer(send(1, 2, 800_00, "s2")).await.unwrap();
        assert_eq!(big.fee, cny(5_00), "capped at the maximum");
        let to_self = h.payments.transfer(send(1, 1, 1_00, "s3")).await;
        assert!(matches!(to_self, Err(PaymentError::InvalidRequest(_))));
        let nobody = h.payments.transfer(send(1, 99, 1_00, "s4")).await;
        assert!(matches!(nobody, Err(PaymentError::NoWallet { .. })));
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn scanned_qr_codes_become_payments() {
    each("payments: qr", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 500_00).await;
        let shop = h.merchant(7).await;
        let codec = qr_codec();
        let now = Timestamp::from_unix_secs(START);
        let dynamic =
            codec.dynamic_code(&shop_profile(shop), cny(23_72), &OrderRef::new("A-1001").unwrap(), now).unwrap();
        let scan = |code: &str, amount: Option<i64>, k: &str| QrPayment {
            payer: user(1),
            code: code.to_owned(),
            amount: amount.map(cny),
            device: None,
            key: key(k),
        };
        let p = h.payments.pay_qr(scan(&dynamic, None, "q1")).await.unwrap();
        assert_eq!((p.amount, p.order_ref.as_deref()), (cny(23_72), Some("A-1001")));
        let changed = h.payments.pay_qr(scan(&dynamic, Some(1), "q2")).await;
        assert!(matches!(changed, Err(PaymentError::InvalidRequest(_))));
        // A static code takes the amount the payer entered; without one it is refused.
        let fixed = codec.static_code(&shop_profile(shop)).unwrap();
        assert_eq!(h.payments.pay_qr(scan(&fixed, Some(5_00), "q3")).await.unwrap().amount, cny(5_00));
        assert!(matches!(h.payments.pay_qr(scan(&fixed, None, "q4")).await, Err(PaymentError::InvalidRequest(_))));
        // A forged code (another merchant's account, CRC fixed up) fails its signature.
        let forged = dynamic.replace(&shop.to_string(), &h.merchant(8).await.to_string());
        let forged =
            format!("{}{}", &forged[..forged.len() - 4], qianbao_ledger::qr::crc16(&forged[..forged.len() - 4]));
        let e = h.payments.pay_qr(scan(&forged, None, "q5")).await;
        assert!(matches!(e, Err(PaymentError::Qr(qianbao_ledger::QrError::BadSignature))), "{e:?}");
        // An expired dynamic code is refused.
        h.advance(301);
        let late = h.payments.pay_qr(scan(&dynamic, None, "q6")).await;
        assert!(matches!(late, Err(PaymentError::Qr(qianbao_ledger::QrError::Expired { .. }))), "{late:?}");
        assert_eq!(h.balance(1).await, 500_00 - 23_72 - 5_00);
    })
    .await;
}

#[tokio::test]
async fn red_packets_are_claimed_once_and_the_rest_returns() {
    each("payments: red packets", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        for n in 2..=5 {
            h.wallet(n).await;
        }
        let before = h.balance(1).await;
        let request =
            SendRedPacket { sender: user(1), total: cny(10_00), count: 3, mode: SplitMode::Random, key: key("rp1") };
        let packet = h.payments.send_red_packet(request.clone()).await.unwrap();
        assert_eq!((packet.status, packet.fee), (PacketStatus::Open, cny(10)));
        assert_eq!(h.balance(1).await, before - 10_10);
        assert_eq!(h.payments.send_red_packet(request).await.unwrap().id, packet.id, "retry");
        let mut claimed = 0;
        for n in 2..=4 {
            claimed += h.payments.claim_red_packet(packet.id, user(n)).await.unwrap().amount.minor();
        }
        assert_eq!(claimed, 10_00, "shares sum to the amount");
        let twice = h.payments.claim_red_packet(packet.id, user(2)).await;
        assert!(matches!(twice, Err(PaymentError::RedPacket(RedPacketError::AlreadyClaimed { .. }))));
        let sold = h.payments.claim_red_packet(packet.id, user(5)).await;
        assert!(matches!(sold, Err(PaymentError::RedPacket(RedPacketError::SoldOut))), "{sold:?}");
        assert_eq!(h.payments.red_packet(packet.id).await.unwrap().status, PacketStatus::Exhausted);

        // Half claimed, then it expires: the rest goes back.
        let request =
            SendRedPacket { sender: user(1), total: cny(6_00), count: 2, mode: SplitMode::Equal, key: key("rp2") };
        let half = h.payments.send_red_packet(request).await.unwrap();
        h.payments.claim_red_packet(half.id, user(3)).await.unwrap();
        let early = h.payments.expire_red_packets(Timestamp::from_unix_secs(START + 60), 10).await.unwrap();
        assert!(early.is_empty(), "nothing is due before 24 h");
        h.advance(86_400);
        let late = h.payments.claim_red_packet(half.id, user(4)).await;
        assert!(matches!(late, Err(PaymentError::RedPacket(RedPacketError::Expired { .. }))), "{late:?}");
        let expired = h.payments.expire_red_packets(h.clock.now(), 10).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].status, PacketStatus::Expired { returned: cny(3_00) });
        assert!(h.payments.expire_red_packets(h.clock.now(), 10).await.unwrap().is_empty(), "once");
        assert_eq!(h.balance(1).await, before - 10_10 - 6_06 + 3_00);
        assert_eq!(h.account(h.system(AccountKind::RedPacketEscrow)).await.balance().credit_balance(), Some(0));
        h.assert_conserved().await;
    })
    .await;
}

fn review_config() -> PaymentsConfig {
    let rules = vec![
        RiskRule::new("blocked-payee", RiskAction::Block, RiskCheck::BlockedPayee),
        RiskRule::new("big", RiskAction::Review, RiskCheck::AmountAbove { max_minor: 500_00 }),
        RiskRule::new("new-device", RiskAction::Review, RiskCheck::NewDevice { min_amount_minor: 0 }),
    ];
    let risk = RiskConfig::new(RiskConfigFields {
        currency: Currency::CNY,
        utc_offset_secs: 8 * 3_600,
        history: Default::default(),
        rules,
    })
    .unwrap();
    plain_config()
        .with_currency(CurrencySetup { fees: qianbao_ledger::FeeSchedule::free(Currency::CNY), risk })
        .with_review_hold_secs(3_600)
}

#[tokio::test]
async fn risk_reviews_hold_payments_until_an_operator_decides() {
    each("payments: risk review", |db| async move {
        let h = harness(db, review_config()).await;
        h.funded(1, 2_000_00).await;
        let shop = h.merchant(7).await;
        let held = h.payments.pay_merchant(pay(1, shop, 600_00, "big1")).await.unwrap();
        assert_eq!(held.state, PaymentState::Held { hold: Hold::Review });
        let available = h.payments.wallet_balance(user(1), Currency::CNY).await.unwrap().available_credit();
        assert_eq!(available, Some(1_400_00), "the held amount is reserved");
        let decisions = h.payments.decisions(held.id).await.unwrap();
        assert_eq!(decisions[0].fired[0].rule, "big");
        let released = h.payments.release_review(held.id).await.unwrap();
        assert_eq!(released.state, PaymentState::Completed);
        assert_eq!(h.payments.release_review(held.id).await.unwrap(), released, "a retry is recognised");
        assert_eq!(h.account(shop).await.balance().credit_balance(), Some(600_00));

        // A release refused while the payer's wallet is frozen (the ledger remembers that refusal for
        // the ids it was given) goes through once the wallet is unfrozen, exactly once.
        let frozen = h.payments.pay_merchant(pay(1, shop, 510_00, "big0")).await.unwrap();
        let wallet = h.wallet(1).await;
        h.payments.ledger().set_frozen(wallet, true).await.unwrap();
        for _ in 0..2 {
            let refused = h.payments.release_review(frozen.id).await;
            assert!(matches!(refused, Err(PaymentError::AccountFrozen { .. })), "{refused:?}");
        }
        assert_eq!(h.payments.payment(frozen.id).await.unwrap().state, PaymentState::Held { hold: Hold::Review });
        h.payments.ledger().set_frozen(wallet, false).await.unwrap();
        let released_late = h.payments.release_review(frozen.id).await.unwrap();
        assert_eq!(released_late.state, PaymentState::Completed);
        assert_eq!(h.payments.release_review(frozen.id).await.unwrap(), released_late, "a retry is recognised");
        assert_eq!(h.account(shop).await.balance().credit_balance(), Some(1_110_00));
        h.assert_conserved().await;

        let rejected = h.payments.pay_merchant(pay(1, shop, 700_00, "big2")).await.unwrap();
        let rejected = h.payments.reject_review(rejected.id, "customer did not confirm").await.unwrap();
        assert!(matches!(rejected.state, PaymentState::Cancelled { cancel: CancelReason::ReviewRejected { .. } }));
        assert_eq!(h.balance(1).await, 890_00);

        // Nobody looks within the hold: the ledger voids it and the payment is cancelled.
        let forgotten = h.payments.pay_merchant(pay(1, shop, 800_00, "big3")).await.unwrap();
        h.advance(3_601);
        let swept = h.payments.expire_holds().await.unwrap();
        assert_eq!(swept.iter().map(|p| p.id).collect::<Vec<_>>(), [forgotten.id]);
        let late = h.payments.release_review(forgotten.id).await;
        assert!(matches!(late, Err(PaymentError::HoldExpired { .. })), "{late:?}");
        let done = h.payments.release_review(released.id).await.unwrap();
        assert_eq!(done.state, PaymentState::Completed);
        let wrong = h.payments.reject_review(released.id, "too late").await;
        assert!(matches!(wrong, Err(PaymentError::WrongState { .. })), "{wrong:?}");
        assert_eq!(h.balance(1).await, 890_00);

        // A new device is reviewed once; after it paid, it is known.
        let device = Some(DeviceId::from_u128(77));
        let mut first = pay(1, shop, 1_00, "dev1");
        first.device = device;
        let first = h.payments.pay_merchant(first).await.unwrap();
        assert_eq!(first.state, PaymentState::Held { hold: Hold::Review });
        let mut second = pay(1, shop, 1_00, "dev2");
        second.device = device;
        assert_eq!(h.payments.pay_merchant(second).await.unwrap().state, PaymentState::Completed);

        // A blocked payee: refused, the decision recorded with its reason, nothing moved.
        h.payments.block_payee(shop, "fraud reports").await.unwrap();
        let before = h.snapshot().await;
        let blocked = h.payments.pay_merchant(pay(1, shop, 1_00, "blk")).await;
        let Err(PaymentError::Blocked { payment, fired }) = blocked else { panic!("{blocked:?}") };
        assert_eq!(fired[0].rule, "blocked-payee");
        assert_eq!(h.snapshot().await, before);
        let recorded = h.payments.decisions(payment).await.unwrap();
        assert_eq!(recorded[0].outcome, qianbao_ledger::risk::RiskOutcome::Block);
        h.payments.unblock_payee(shop).await.unwrap();
        assert!(h.payments.pay_merchant(pay(1, shop, 1_00, "blk2")).await.is_ok());
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn opening_accounts_is_idempotent_and_the_chart_is_complete() {
    each("payments: chart", |db| async move {
        let h = harness(db, plain_config()).await;
        let a = h.wallet(1).await;
        assert_eq!(h.wallet(1).await, a);
        assert_eq!(h.payments.wallet(user(1), Currency::CNY).await.unwrap(), Some(a));
        let m = h.merchant(1).await;
        assert_ne!(a, m, "a user's wallet and a merchant account never share an id");
        let chart = h.payments.chart(Currency::CNY).await.unwrap();
        assert_eq!(chart.len(), 4 + 2);
        let wallet = h.account(a).await;
        assert!(wallet.flags.contains(qianbao_ledger::AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS));
        assert!(wallet.flags.contains(qianbao_ledger::AccountFlags::HISTORY));
        let usd = h.payments.open_wallet(user(1), Currency::USD).await;
        assert!(matches!(usd, Err(PaymentError::UnsupportedCurrency(_))));
    })
    .await;
}
