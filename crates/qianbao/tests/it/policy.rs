//! The money policy through the facade on every backend, each refusal typed with the state unchanged:
//! class limits on the ledger, daily caps by authentication strength, real name, frozen accounts,
//! certificate-signed orders without a password, transaction tokens given back when a payment fails,
//! and the new-device input of the risk rules.

use std::time::Duration;

use qianbao::core::{Currency, Destination, Money};
use qianbao::qianbao_ca::{OrderNonce, PaymentOrder};
use qianbao::qianbao_ledger::PaymentError;
use qianbao::qianbao_ledger::payments::{CurrencySetup, PaymentState};
use qianbao::qianbao_ledger::risk::{RiskAction, RiskCheck, RiskConfig, RiskRule};
use qianbao::qianbao_token::TxTokenRequest;
use qianbao::*;

use crate::support::*;

fn payment(account: qianbao::core::AccountId, amount: &str, k: &str) -> PayMerchant {
    PayMerchant { merchant_account: account, amount: cny(amount), order_ref: None, key: key(k) }
}

/// A transaction token for `payee`, read from the in-app inbox.
async fn token(env: &Env, caller: &Caller, user: qianbao::core::UserId, max: &str) -> String {
    let request = TxTokenRequest {
        label: "shopping".into(),
        max_amount: cny(max),
        max_uses: 10,
        payee: None,
        expires_at: env.now().saturating_add(Duration::from_secs(86_400)),
        delivery: Destination::User(user),
        binding: None,
    };
    env.wallet.request_transaction_token(caller, request).await.unwrap();
    let body = env.outbox.last_to(&Destination::User(user)).unwrap().body;
    let start = body.find("qbt_").unwrap();
    body[start..].split(|c: char| c == '.' || c.is_whitespace()).next().unwrap().to_string()
}

#[tokio::test]
async fn daily_caps_follow_the_authentication_strength() {
    each_backend("policy_daily_caps", |db| async move {
        let mut config = test_config();
        config.policy.daily_cap_single_factor_minor = 20_000;
        config.policy.daily_cap_two_factors_minor = 30_000;
        config.policy.daily_cap_certificate_minor = 40_000;
        let env = Env::with(db, config).await;
        let (user, s, _) = env.funded("1000.00").await;
        let me = s.caller();
        let (_, shop) = env.merchant(1).await;
        env.wallet.pay_merchant(&me, payment(shop, "150.00", "a"), &by_password()).await.unwrap();
        let e = env.wallet.pay_merchant(&me, payment(shop, "100.00", "b"), &by_password()).await.unwrap_err();
        assert!(matches!(e, WalletError::DailyCapReached { strength: AuthStrength::SingleFactor, .. }), "{e}");
        assert_eq!(e.code(), "daily_cap_reached");
        assert_eq!(env.balance(&me).await, cny("850.00"));
        // Two factors: password and token.
        let t = token(&env, &me, user, "500.00").await;
        let two = by_password().and_token(t.clone());
        env.wallet.pay_merchant(&me, payment(shop, "100.00", "c"), &two).await.unwrap();
        let e = env.wallet.pay_merchant(&me, payment(shop, "100.00", "d"), &two).await.unwrap_err();
        assert!(matches!(e, WalletError::DailyCapReached { strength: AuthStrength::TwoFactors, .. }), "{e}");
        // The refused payment did not use the token.
        let info = env.wallet.transaction_tokens(&me).await.unwrap().remove(0);
        assert_eq!(info.remaining, cny("400.00"));
        // A certificate as one factor: the configured cap.
        let key_pair = env.device_key();
        let cert = env.certificate(&me, &phone(PHONE), &key_pair).await;
        let order = |amount: &str, n: u128| PaymentOrder {
            payer: user,
            payee: shop,
            amount: cny(amount),
            order_id: qianbao::core::TransferId::from_u128(n),
            nonce: OrderNonce::random(env.entropy.as_ref()),
            signed_at: env.now(),
        };
        let signed = |amount: &str, n| {
            Authorization::signed_order(cert.certificate(), key_pair.sign_order(order(amount, n)).unwrap())
        };
        env.wallet.pay_merchant(&me, payment(shop, "100.00", "e"), &signed("100.00", 1)).await.unwrap();
        let e = env.wallet.pay_merchant(&me, payment(shop, "100.00", "f"), &signed("100.00", 2)).await.unwrap_err();
        assert!(matches!(e, WalletError::DailyCapReached { strength: AuthStrength::Certificate, .. }), "{e}");
        // The next day the caps start again.
        env.advance(86_400);
        let me = env.session(&phone(PHONE), 1).await.caller();
        env.wallet.pay_merchant(&me, payment(shop, "150.00", "g"), &by_password()).await.unwrap();
        assert_eq!(env.balance(&me).await, cny("500.00"));
    })
    .await;
}

#[tokio::test]
async fn certificate_signed_orders_need_no_password_and_must_match() {
    each_backend("policy_signed_orders", |db| async move {
        let env = Env::new(db).await;
        let (user, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let (_, shop) = env.merchant(2).await;
        let key_pair = env.device_key();
        let cert = env.certificate(&me, &phone(PHONE), &key_pair).await;
        let order = PaymentOrder {
            payer: user,
            payee: shop,
            amount: cny("9.99"),
            order_id: qianbao::core::TransferId::from_u128(77),
            nonce: OrderNonce::random(env.entropy.as_ref()),
            signed_at: env.now(),
        };
        let auth = Authorization::signed_order(cert.certificate(), key_pair.sign_order(order).unwrap());
        let e = env.wallet.pay_merchant(&me, payment(shop, "19.99", "x"), &auth).await.unwrap_err();
        assert!(matches!(e, WalletError::OrderMismatch("amount")), "{e}");
        env.wallet.pay_merchant(&me, payment(shop, "9.99", "y"), &auth).await.unwrap();
        // The same signed order again (another key): its nonce is spent.
        assert!(env.wallet.pay_merchant(&me, payment(shop, "9.99", "z"), &auth).await.is_err());
        assert_eq!(env.balance(&me).await, cny("90.01"));
        let e = env.wallet.pay_merchant(&me, payment(shop, "1.00", "w"), &Authorization::default()).await.unwrap_err();
        assert!(matches!(e, WalletError::AuthorizationRequired));
        let e = env
            .wallet
            .pay_merchant(&me, payment(shop, "1.00", "v"), &Authorization::password(pay("123789")))
            .await
            .unwrap_err();
        assert!(matches!(e, WalletError::Identity(_)), "{e}");
        assert_eq!(env.balance(&me).await, cny("90.01"));
    })
    .await;
}

#[tokio::test]
async fn a_token_is_given_back_when_the_payment_fails() {
    each_backend("policy_token_released", |db| async move {
        let env = Env::new(db).await;
        let (user, s, _) = env.funded("50.00").await;
        let me = s.caller();
        let (_, shop) = env.merchant(3).await;
        let t = token(&env, &me, user, "500.00").await;
        let e = env
            .wallet
            .pay_merchant(&me, payment(shop, "80.00", "a"), &Authorization::token(t.clone()))
            .await
            .unwrap_err();
        assert!(matches!(e, WalletError::Payment(PaymentError::InsufficientFunds { .. })), "{e}");
        let info = env.wallet.transaction_tokens(&me).await.unwrap().remove(0);
        assert_eq!((info.remaining, info.remaining_uses), (cny("500.00"), 10));
        env.wallet.pay_merchant(&me, payment(shop, "20.00", "b"), &Authorization::token(t)).await.unwrap();
        let info = env.wallet.transaction_tokens(&me).await.unwrap().remove(0);
        assert_eq!((info.remaining, info.remaining_uses), (cny("480.00"), 9));
    })
    .await;
}

#[tokio::test]
async fn class_one_limits_hold_on_the_ledger() {
    each_backend("policy_class_limits", |db| async move {
        let mut config = test_config();
        config.policy.daily_cap_single_factor_minor = 500_000;
        let env = Env::with(db, config).await;
        let (_, s, _) = env.class_one(Some("1500.00")).await;
        let me = s.caller();
        assert_eq!(env.wallet.account_class(&me).await.unwrap(), Some(qianbao::qianbao_identity::AccountClass::I));
        let (_, shop) = env.merchant(4).await;
        env.wallet.pay_merchant(&me, payment(shop, "900.00", "a"), &by_password()).await.unwrap();
        let e = env.wallet.pay_merchant(&me, payment(shop, "200.00", "b"), &by_password()).await.unwrap_err();
        assert!(matches!(e, WalletError::Payment(PaymentError::LimitReached { .. })), "{e}");
        assert_eq!(env.balance(&me).await, cny("600.00"));
        // In-person verification adds a channel: class I still (two), so the cap holds.
        env.wallet.operator("branch").record_in_person_verification(s.tokens.user).await.unwrap();
        assert!(env.wallet.pay_merchant(&me, payment(shop, "200.00", "c"), &by_password()).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn real_name_and_an_active_account_are_required() {
    each_backend("policy_real_name_frozen", |db| async move {
        let env = Env::new(db).await;
        let (user, s, _) = env.funded("100.00").await;
        let me = s.caller();
        let stranger = phone("13700001111");
        let other = env.register(&stranger).await;
        let them = env.session(&stranger, 5).await.caller();
        env.wallet.set_payment_password(&them, &pay(PAY)).await.unwrap();
        // An unverified user cannot transfer or send red packets, nor receive a transfer.
        let t = TransferTo { to: user, amount: cny("1.00"), key: key("t") };
        assert!(matches!(env.wallet.transfer(&them, t, &by_password()).await, Err(WalletError::RealNameRequired)));
        let t = TransferTo { to: other, amount: cny("1.00"), key: key("t2") };
        assert!(matches!(env.wallet.transfer(&me, t, &by_password()).await, Err(WalletError::RecipientUnavailable)));
        let rp = NewRedPacket {
            total: cny("5.00"),
            count: 1,
            mode: qianbao::qianbao_ledger::redpacket::SplitMode::Equal,
            key: key("r"),
        };
        assert!(matches!(
            env.wallet.send_red_packet(&them, rp, &by_password()).await,
            Err(WalletError::RealNameRequired)
        ));
        // A frozen account cannot pay; unfrozen it can.
        let (_, shop) = env.merchant(5).await;
        let ops = env.wallet.operator("risk");
        ops.freeze(user, "review").await.unwrap();
        let e = env.wallet.pay_merchant(&me, payment(shop, "1.00", "p"), &by_password()).await.unwrap_err();
        assert!(matches!(e, WalletError::Frozen), "{e}");
        assert_eq!(env.balance(&me).await, cny("100.00"));
        ops.unfreeze(user, "ok").await.unwrap();
        env.wallet.pay_merchant(&me, payment(shop, "1.00", "p"), &by_password()).await.unwrap();
        let e = env
            .wallet
            .pay_merchant(
                &me,
                PayMerchant { amount: Money::from_minor(100, Currency::USD), ..payment(shop, "1.00", "u") },
                &by_password(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, WalletError::WrongCurrency { .. }));
    })
    .await;
}

#[tokio::test]
async fn payments_from_a_new_device_meet_the_new_device_rule() {
    each_backend("policy_new_device_risk", |db| async move {
        let mut config = test_config();
        config.policy.new_device_step_up = NewDeviceStepUp::None;
        let mut risk = RiskConfig::default_for(Currency::CNY).fields().clone();
        risk.rules =
            vec![RiskRule::new("new-device", RiskAction::Review, RiskCheck::NewDevice { min_amount_minor: 1 })];
        let setup = CurrencySetup { risk: RiskConfig::new(risk).unwrap(), ..CurrencySetup::default_for(Currency::CNY) };
        config.payments = config.payments.with_currency(setup);
        let env = Env::with(db, config).await;
        let (_, s, _) = env.funded("100.00").await;
        let (_, shop) = env.merchant(6).await;
        // Device 1 (the account's first) is known: the payment posts.
        let p = env.wallet.pay_merchant(&s.caller(), payment(shop, "5.00", "a"), &by_password()).await.unwrap();
        assert_eq!(p.state, PaymentState::Completed);
        // Device 2 logs in for the first time: its first payment is held for review.
        let s2 = env.session(&phone(PHONE), 2).await;
        assert!(s2.new_device);
        let p = env.wallet.pay_merchant(&s2.caller(), payment(shop, "5.00", "b"), &by_password()).await.unwrap();
        assert!(matches!(p.state, PaymentState::Held { .. }), "{:?}", p.state);
        env.wallet.operator("risk").release_review(p.id).await.unwrap();
        let p = env.wallet.pay_merchant(&s2.caller(), payment(shop, "5.00", "c"), &by_password()).await.unwrap();
        assert_eq!(p.state, PaymentState::Completed);
    })
    .await;
}
