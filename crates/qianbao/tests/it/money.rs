//! Money journeys through the facade on every backend: top-up, payments (password, QR, payment code),
//! transfers, refunds, withdrawals with the bank answering later, red packets, history and spending,
//! abnormal reports, closing at zero balance.

use qianbao::core::Currency;
use qianbao::qianbao_identity::UserStatus;
use qianbao::qianbao_ledger::bank::{BankScript, Settlement};
use qianbao::qianbao_ledger::payments::{
    CaseAction, CaseState, PacketStatus, PaymentKind, PaymentState, ReversalSource,
};
use qianbao::qianbao_ledger::qr::{CountryCode, Mcc, MerchantProfile, OrderRef};
use qianbao::qianbao_ledger::redpacket::SplitMode;
use qianbao::qianbao_ledger::{PaymentError, QrError};
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use crate::support::*;

fn profile(account: qianbao::core::AccountId) -> MerchantProfile {
    MerchantProfile {
        account,
        name: "LUCKY NOODLES".into(),
        city: "BEIJING".into(),
        mcc: Mcc::parse("5814").unwrap(),
        country: CountryCode::CN,
        currency: Currency::CNY,
        local_name: None,
        store_label: None,
        terminal_label: None,
    }
}

#[tokio::test]
async fn top_up_pay_transfer_refund_history_and_spending() {
    each_backend("money_top_up_pay_transfer_refund", |db| async move {
        let env = Env::new(db).await;
        let (user, s, _) = env.funded("500.00").await;
        let me = s.caller();
        assert_eq!(env.wallet.account_class(&me).await.unwrap(), Some(qianbao::qianbao_identity::AccountClass::II));
        let (shop, shop_account) = env.merchant(7).await;
        // The history is newest first by creation time; payments made at the same instant come in id
        // order, which is random: keep the top-up and the payment apart.
        env.advance(1);
        let req = PayMerchant {
            merchant_account: shop_account,
            amount: cny("120.00"),
            order_ref: Some("A-1".into()),
            key: key("p1"),
        };
        let paid = env.wallet.pay_merchant(&me, req.clone(), &by_password()).await.unwrap();
        assert_eq!(paid.state, PaymentState::Completed);
        // A retry with the same key: the same payment, nothing moves twice (and no password needed).
        let again = env.wallet.pay_merchant(&me, req, &Authorization::default()).await.unwrap();
        assert_eq!(again.id, paid.id);
        assert_eq!(env.balance(&me).await, cny("380.00"));
        // A friend (class I) receives a transfer.
        let (friend, fs, _) = env.class_one(None).await;
        env.advance(1);
        let t = TransferTo { to: friend, amount: cny("30.00"), key: key("t1") };
        env.wallet.transfer(&me, t, &by_password()).await.unwrap();
        assert_eq!(env.balance(&fs.caller()).await, cny("30.00"));
        // The merchant refunds part; more than paid is refused.
        env.advance(1);
        let desk = env.wallet.merchant(shop);
        desk.refund(paid.id, cny("20.00"), key("r1")).await.unwrap();
        let over = desk.refund(paid.id, cny("100.01"), key("r2")).await.unwrap_err();
        assert!(matches!(over, WalletError::Payment(PaymentError::RefundExceedsPayment { .. })), "{over}");
        assert_eq!(desk.balance().await.unwrap(), cny("100.00"));
        assert_eq!(env.balance(&me).await, cny("370.00"));
        // History newest first; spending by kind and payee.
        let history = env.wallet.payment_history(&me, 50).await.unwrap();
        let kinds: Vec<_> = history.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [PaymentKind::Refund, PaymentKind::Transfer, PaymentKind::MerchantPayment, PaymentKind::TopUp]
        );
        let spending = env.wallet.spending(&me).await.unwrap();
        assert_eq!((spending.total, spending.refunded), (cny("150.00"), cny("20.00")));
        assert_eq!(spending.by_payee[0].amount, cny("120.00"));
        assert_eq!(spending.by_month.len(), 1);
        assert_eq!(
            env.wallet.payments().payment(paid.id).await.unwrap().payer,
            qianbao::qianbao_ledger::payments::Owner::User(user)
        );
    })
    .await;
}

#[tokio::test]
async fn withdrawal_waits_for_the_bank_and_reconciliation_finishes_it() {
    each_backend("money_withdrawal_reconcile", |db| async move {
        let env = Env::new(db).await;
        let (_, s, card) = env.funded("200.00").await;
        let me = s.caller();
        env.bank.push(BankScript::StayPending);
        let req = CardMovement { card, amount: cny("150.00"), key: key("w1") };
        let held = env.wallet.withdraw(&me, req, &by_password()).await.unwrap();
        assert!(matches!(held.state, PaymentState::Held { .. }), "{:?}", held.state);
        let b = env.wallet.balance(&me).await.unwrap();
        assert_eq!((b.balance, b.available), (cny("200.00"), cny("50.00")));
        let ops = env.wallet.operator("finance");
        assert!(ops.reconcile_bank(10).await.unwrap().is_empty(), "the bank has not answered yet");
        env.bank.settle(held.legs[0].transfer_id, Settlement::Confirm).unwrap();
        let done = ops.reconcile_bank(10).await.unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].state, PaymentState::Completed);
        assert_eq!(env.balance(&me).await, cny("50.00"));
        // An unknown card is refused before anything moves.
        let bad = CardMovement {
            card: qianbao::qianbao_identity::ApplicationId::from_u128(9),
            amount: cny("1.00"),
            key: key("w2"),
        };
        assert!(matches!(env.wallet.withdraw(&me, bad, &by_password()).await, Err(WalletError::BankCardNotFound(_))));
    })
    .await;
}

#[tokio::test]
async fn qr_codes_static_dynamic_and_forged() {
    each_backend("money_qr_codes", |db| async move {
        let env = Env::new(db).await;
        let (_, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let (_, account) = env.merchant(8).await;
        let ops = env.wallet.operator("merchants");
        let code = ops.merchant_static_code(&profile(account)).await.unwrap();
        let pay = |code: &str, amount: Option<&str>, k: &str| PayByQr {
            code: code.to_string(),
            amount: amount.map(cny),
            key: key(k),
        };
        env.wallet.pay_qr(&me, pay(&code, Some("12.50"), "q1"), &by_password()).await.unwrap();
        let dynamic =
            ops.merchant_dynamic_code(&profile(account), cny("7.20"), &OrderRef::new("T-9").unwrap()).await.unwrap();
        let p = env.wallet.pay_qr(&me, pay(&dynamic, None, "q2"), &by_password()).await.unwrap();
        assert_eq!((p.amount, p.order_ref.as_deref()), (cny("7.20"), Some("T-9")));
        // A swapped amount with its CRC fixed up: the signature catches it; nothing moves.
        let forged = dynamic.replace("7.20", "0.20");
        let body = &forged[..forged.len() - 4];
        let forged = format!("{body}{}", qianbao::qianbao_ledger::qr::crc16(body));
        let e = env.wallet.pay_qr(&me, pay(&forged, None, "q3"), &by_password()).await.unwrap_err();
        assert!(matches!(e, WalletError::Payment(PaymentError::Qr(QrError::BadSignature))), "{e}");
        assert_eq!(env.balance(&me).await, cny("80.30"));
        // A code for an account that is not a merchant of this wallet cannot even be made.
        assert!(ops.merchant_static_code(&profile(qianbao::core::AccountId::from_u128(5))).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn consumer_payment_code_is_charged_once() {
    each_backend("money_payment_code", |db| async move {
        let env = Env::new(db).await;
        let (_, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let (shop, _) = env.merchant(9).await;
        let enrollment = env.wallet.enroll_payment_code(&me, &pay(PAY)).await.unwrap();
        let code = enrollment.generator().code_at(env.now()).to_string();
        env.advance(1);
        let desk = env.wallet.merchant(shop);
        let p = desk.charge_payment_code(&code, cny("18.00"), None, key("pc1")).await.unwrap();
        assert_eq!(p.state, PaymentState::Completed);
        let replay = desk.charge_payment_code(&code, cny("18.00"), None, key("pc2")).await.unwrap_err();
        assert!(matches!(replay, WalletError::Token(TokenError::PaycodeReplayed)), "{replay}");
        assert_eq!(env.balance(&me).await, cny("82.00"));
        assert_eq!(desk.payments(10).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn red_packets_are_claimed_once_and_the_rest_returns() {
    each_backend("money_red_packets", |db| async move {
        let env = Env::new(db).await;
        let (_, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let (_, fs, _) = env.class_one(None).await;
        let req = NewRedPacket { total: cny("30.00"), count: 3, mode: SplitMode::Equal, key: key("rp1") };
        let packet = env.wallet.send_red_packet(&me, req, &by_password()).await.unwrap();
        assert_eq!(env.balance(&me).await, cny("70.00"));
        let claim = env.wallet.claim_red_packet(&fs.caller(), packet.id).await.unwrap();
        assert_eq!(claim.amount, cny("10.00"));
        // A second claim is refused.
        let again = env.wallet.claim_red_packet(&fs.caller(), packet.id).await.unwrap_err();
        assert!(matches!(again, WalletError::Payment(PaymentError::RedPacket(_))), "{again}");
        env.advance(2 * 86_400);
        let expired = env.wallet.operator("sweeper").expire_red_packets(100).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert!(matches!(expired[0].status, PacketStatus::Expired { .. }));
        let me = env.session(&phone(PHONE), 1).await.caller();
        let friend = env.session(&phone(PHONE_M), 21).await.caller();
        assert_eq!(env.balance(&me).await, cny("90.00"));
        assert_eq!(env.balance(&friend).await, cny("10.00"));
        let _ = fs;
    })
    .await;
}

#[tokio::test]
async fn an_abnormal_report_freezes_debits_until_an_operator_resolves_it() {
    each_backend("money_abnormal_report", |db| async move {
        let env = Env::new(db).await;
        let (user, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let (_, account) = env.merchant(10).await;
        let req = PayMerchant { merchant_account: account, amount: cny("40.00"), order_ref: None, key: key("p1") };
        let paid = env.wallet.pay_merchant(&me, req, &by_password()).await.unwrap();
        let case =
            env.wallet.report_abnormal_transaction(&me, paid.legs[0].transfer_id, "not me", key("c1")).await.unwrap();
        assert_eq!(case.state, CaseState::Open);
        assert!(env.notices_to(user).iter().any(|b| b.contains("frozen")));
        let req = PayMerchant { merchant_account: account, amount: cny("1.00"), order_ref: None, key: key("p2") };
        let e = env.wallet.pay_merchant(&me, req.clone(), &by_password()).await.unwrap_err();
        assert!(matches!(e, WalletError::Payment(PaymentError::AccountFrozen { .. })), "{e}");
        assert_eq!(env.balance(&me).await, cny("60.00"));
        let ops = env.wallet.operator("risk-1");
        let resolved =
            ops.resolve_case(case.id, CaseAction::Reverse { source: ReversalSource::Counterparty }).await.unwrap();
        assert!(matches!(resolved.state, CaseState::Resolved { .. }));
        assert_eq!(env.balance(&me).await, cny("100.00"));
        let req = PayMerchant { key: key("p3"), ..req };
        env.wallet.pay_merchant(&me, req, &by_password()).await.unwrap();
        assert_eq!(env.wallet.cases(&me).await.unwrap().len(), 1);
        assert!(env.audit_kinds(user).await.iter().any(|k| k == "wallet.case_resolved"));
    })
    .await;
}

#[tokio::test]
async fn closing_needs_a_zero_balance_and_revokes_everything() {
    each_backend("money_closing_needs_zero_balance", |db| async move {
        let env = Env::new(db).await;
        let (user, s, card) = env.funded("25.00").await;
        let me = s.caller();
        let e = env.wallet.close_account(&me, &pw(PASSWORD), "moving").await.unwrap_err();
        assert!(matches!(e, WalletError::BalanceNotZero { pending: false, .. }), "{e}");
        assert!(e.is_rejection());
        assert_eq!(env.wallet.profile(&me).await.unwrap().status, UserStatus::Active);
        let out = CardMovement { card, amount: cny("25.00"), key: key("w-all") };
        env.wallet.withdraw(&me, out, &by_password()).await.unwrap();
        env.advance(61);
        let closed = env.wallet.close_account(&me, &pw(PASSWORD), "moving").await.unwrap();
        assert_eq!(closed.status, UserStatus::Closed);
        assert!(
            env.wallet
                .tokens()
                .list_transaction_tokens(user)
                .await
                .unwrap()
                .iter()
                .all(|t| t.status != qianbao::qianbao_token::TxTokenStatus::Active)
        );
    })
    .await;
}
