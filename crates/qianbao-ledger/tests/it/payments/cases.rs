//! Abnormal-transaction reports: freeze, case, resolution by reversal, refund or unfreezing.

use qianbao_ledger::payments::*;
use qianbao_ledger::redpacket::SplitMode;

use super::*;

fn report(n: u128, transfer: qianbao_core::TransferId, k: &str) -> AbnormalReport {
    AbnormalReport { user: user(n), transfer, reason: "I did not make this payment".into(), key: key(k) }
}

#[tokio::test]
async fn a_report_freezes_the_wallet_and_a_reversal_resolves_it() {
    each("payments: case reversed", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 100_00, "p1")).await.unwrap();
        h.payments.refund(refund(7, p.id, 30_00, "r1")).await.unwrap();
        let case = h.payments.report_abnormal(report(1, p.legs[0].transfer_id, "c1")).await.unwrap();
        assert_eq!((case.state.clone(), case.payment), (CaseState::Open, Some(p.id)));
        assert_eq!(h.payments.report_abnormal(report(1, p.legs[0].transfer_id, "c1")).await.unwrap().id, case.id);
        // Frozen for debits: paying is refused, receiving still works.
        let frozen = h.payments.pay_merchant(pay(1, shop, 1_00, "p2")).await;
        assert!(matches!(frozen, Err(PaymentError::AccountFrozen { .. })), "{frozen:?}");
        h.wallet(2).await;
        h.funded(2, 10_00).await;
        h.payments.transfer(send(2, 1, 5_00, "gift")).await.unwrap();

        let before = h.balance(1).await;
        let resolved = h
            .payments
            .resolve_case(case.id, CaseAction::Reverse { source: ReversalSource::Counterparty }, "ops-1")
            .await
            .unwrap();
        let CaseState::Resolved { resolution: Resolution::Reversed { amount, reversal, .. } } = resolved.state.clone()
        else {
            panic!("{resolved:?}")
        };
        assert_eq!(amount, cny(70_00), "what was not refunded yet");
        assert_eq!(h.balance(1).await, before + 70_00);
        let stored = h.payments.payment(p.id).await.unwrap();
        assert_eq!(stored.refunded, cny(100_00), "the reversal counts against the refundable amount");
        assert_eq!(h.payments.payment(reversal).await.unwrap().kind, PaymentKind::Reversal);
        let over = h.payments.refund(refund(7, p.id, 1, "r2")).await;
        assert!(matches!(over, Err(PaymentError::RefundExceedsPayment { .. })));
        // Unfrozen, and every change recorded.
        assert!(h.payments.pay_merchant(pay(1, shop, 1_00, "p3")).await.is_ok());
        let kinds: Vec<String> = h.payments.case_events(case.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["opened", "resolving", "resolved", "unfrozen"]);
        let again = h.payments.resolve_case(case.id, CaseAction::Unfreeze, "ops-1").await;
        assert!(matches!(again, Err(PaymentError::CaseNotOpen { .. })), "{again:?}");
        assert_eq!(h.payments.cases_of(user(1)).await.unwrap().len(), 1);
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn cases_resolve_by_refund_by_suspense_or_by_unfreezing() {
    each("payments: case outcomes", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        h.wallet(2).await;
        let shop = h.merchant(7).await;
        // A refund resolution: the merchant refunds the rest, the fee by rule.
        let p = h.payments.pay_merchant(pay(1, shop, 50_00, "p1")).await.unwrap();
        let case = h.payments.report_abnormal(report(1, p.legs[0].transfer_id, "c1")).await.unwrap();
        let done = h.payments.resolve_case(case.id, CaseAction::Refund, "ops").await.unwrap();
        let CaseState::Resolved { resolution: Resolution::Refunded { refund, amount } } = done.state else { panic!() };
        assert_eq!(amount, cny(50_00));
        assert_eq!(h.payments.payment(refund).await.unwrap().fee, cny(30));

        // A transfer to a friend who spent it: the operator advances the money from suspense.
        let t = h.payments.transfer(send(1, 2, 20_00, "t1")).await.unwrap();
        h.payments.withdraw(top_up(2, 20_00, "w")).await.unwrap();
        let case = h.payments.report_abnormal(report(1, t.legs[0].transfer_id, "c2")).await.unwrap();
        let from_friend =
            h.payments.resolve_case(case.id, CaseAction::Reverse { source: ReversalSource::Counterparty }, "ops").await;
        assert!(matches!(from_friend, Err(PaymentError::InsufficientFunds { .. })), "{from_friend:?}");
        assert_eq!(h.payments.case(case.id).await.unwrap().state, CaseState::Open, "a refused reversal reopens");
        let before = h.balance(1).await;
        h.payments
            .resolve_case(case.id, CaseAction::Reverse { source: ReversalSource::Suspense }, "ops")
            .await
            .unwrap();
        assert_eq!(h.balance(1).await, before + 20_00);
        let suspense = h.account(h.system(AccountKind::Suspense)).await.balance();
        assert_eq!(suspense.debit_balance(), Some(20_00), "the operator is owed what it advanced");

        // A red packet (no payment record) reported and dismissed: no money moves.
        let packet =
            SendRedPacket { sender: user(1), total: cny(1_00), count: 1, mode: SplitMode::Equal, key: key("rp") };
        let packet = h.payments.send_red_packet(packet).await.unwrap();
        let escrow = h.system(AccountKind::RedPacketEscrow);
        let packet_transfer = packet.funding[0];
        let funding = h.payments.ledger().lookup_transfers(&[packet_transfer]).await.unwrap();
        assert_eq!(funding[0].credit_account_id, escrow);
        let case = h.payments.report_abnormal(report(1, packet_transfer, "c3")).await.unwrap();
        assert_eq!(case.payment, None);
        let snapshot = h.balance(1).await;
        h.payments.resolve_case(case.id, CaseAction::Unfreeze, "ops").await.unwrap();
        assert_eq!(h.balance(1).await, snapshot);
        assert!(h.payments.transfer(send(1, 2, 1_00, "after")).await.is_ok(), "unfrozen");
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn only_the_payer_can_report_and_reports_need_a_reason() {
    each("payments: case refusals", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        h.wallet(2).await;
        let t = h.payments.transfer(send(1, 2, 10_00, "t")).await.unwrap();
        let before = h.snapshot().await;
        let theirs = h.payments.report_abnormal(report(2, t.legs[0].transfer_id, "c")).await;
        assert!(matches!(theirs, Err(PaymentError::NotReportable(_))), "{theirs:?}");
        let unknown = h.payments.report_abnormal(report(1, qianbao_core::TransferId::from_u128(5), "c")).await;
        assert!(matches!(unknown, Err(PaymentError::NotReportable(_))));
        let mut empty = report(1, t.legs[0].transfer_id, "c");
        empty.reason = "  ".into();
        assert!(matches!(h.payments.report_abnormal(empty).await, Err(PaymentError::InvalidRequest(_))));
        assert_eq!(h.snapshot().await, before);
        assert!(h.payments.cases_of(user(1)).await.unwrap().is_empty());
    })
    .await;
}
