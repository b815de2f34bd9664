//! Requests that race: one request sent twice at once near the day cap is one payment, both answered;
//! two service instances on one PostgreSQL database paying for one user at once never exceed the day
//! cap together; a held payment whose release was refused while its payer's wallet was frozen can be
//! released once the wallet is unfrozen. (The first and last were found by the simulation.)

use qianbao::qianbao_ledger::payments::{CaseAction, PaymentState};
use qianbao::qianbao_ledger::risk::{RiskAction, RiskCheck, RiskConfig, RiskRule};
use qianbao::*;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_sent_twice_at_once_near_the_cap_is_one_payment() {
    each_backend("one request sent twice at once near the cap", |db| async move {
        let mut config = test_config();
        config.policy.daily_cap_single_factor_minor = 30_000;
        config.tokens.access_ttl_secs = 30 * 86_400;
        let env = Env::with(db, config).await;
        let (_, s, _) = env.funded("3000.00").await;
        let (_, shop) = env.merchant(9).await;
        let me = s.caller();
        for round in 0..8 {
            // 200.00 of a 300.00 cap: the second copy, counted with the first, would be over it.
            let req = PayMerchant {
                merchant_account: shop,
                amount: cny("200.00"),
                order_ref: None,
                key: key(&format!("twice-{round}")),
            };
            let before = env.balance(&me).await;
            let (w1, w2) = (env.wallet.clone(), env.wallet.clone());
            let (c1, c2, r1, r2) = (me.clone(), me.clone(), req.clone(), req);
            let a = tokio::spawn(async move { w1.pay_merchant(&c1, r1, &by_password()).await });
            let b = tokio::spawn(async move { w2.pay_merchant(&c2, r2, &by_password()).await });
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            let (a, b) = match (a, b) {
                (Ok(a), Ok(b)) => (a, b),
                other => panic!("round {round}: both copies are answered: {other:?}"),
            };
            assert_eq!(a.id, b.id, "one payment");
            assert_eq!(env.balance(&me).await, before.checked_sub(cny("200.00")).unwrap(), "paid once");
            env.advance(86_400);
        }
    })
    .await;
}

/// Two `Wallet`s on one PostgreSQL schema, each with its own connection pool, stand for two service
/// instances: the day cap holds across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_paying_at_once_stay_within_the_day_cap() {
    let Some(t) = qianbao_store::testing::postgres("two instances and the day cap").await else { return };
    let schema = t.db.as_postgres().and_then(|pg| pg.schema()).expect("a test schema").to_string();
    let url = qianbao_store::testing::postgres_url().expect("the URL the schema came from");
    let mut config = test_config();
    config.policy.daily_cap_single_factor_minor = 30_000;
    config.tokens.access_ttl_secs = 30 * 86_400;
    let one = Env::with(t.db.clone(), config.clone()).await;
    let (_, s, _) = one.funded("5000.00").await;
    let (_, shop) = one.merchant(9).await;
    let options = qianbao_store::PgOptions::with_schema(schema);
    let other_db = Database::Postgres(qianbao_store::PgDb::connect(&url, options).await.unwrap());
    let two = Env::with(other_db, config).await;
    let me = s.caller();
    for round in 0..8 {
        two.clock.set(one.now());
        // 200.00 each of a 300.00 cap, one through each instance: only one may be paid.
        let req = |n: u32| PayMerchant {
            merchant_account: shop,
            amount: cny("200.00"),
            order_ref: None,
            key: key(&format!("round-{round}-{n}")),
        };
        let before = one.balance(&me).await;
        let (w1, w2, c1, c2, r1, r2) = (one.wallet.clone(), two.wallet.clone(), me.clone(), me.clone(), req(1), req(2));
        let a = tokio::spawn(async move { w1.pay_merchant(&c1, r1, &by_password()).await });
        let b = tokio::spawn(async move { w2.pay_merchant(&c2, r2, &by_password()).await });
        let results = [a.await.unwrap(), b.await.unwrap()];
        let paid = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(paid, 1, "round {round}: exactly one of the two is within the cap: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(r, WalletError::DailyCapReached { .. }), "round {round}: {r}");
        }
        assert_eq!(one.balance(&me).await, before.checked_sub(cny("200.00")).unwrap(), "round {round}");
        one.advance(86_400);
    }
    drop((one, two));
    t.cleanup().await;
}

#[tokio::test]
async fn a_held_payment_is_released_after_its_payers_wallet_is_unfrozen() {
    each_backend("a held payment is released after unfreezing", |db| async move {
        let mut config = test_config();
        let setup = &mut config.payments.currencies[0];
        let mut risk = setup.risk.fields().clone();
        risk.rules.push(RiskRule::new(
            "review-large",
            RiskAction::Review,
            RiskCheck::AmountAbove { max_minor: 18_000 },
        ));
        setup.risk = RiskConfig::new(risk).unwrap();
        config.payments = config.payments.with_review_hold_secs(0);
        let env = Env::with(db, config).await;
        let (_, s, _) = env.funded("2000.00").await;
        let (_, shop) = env.merchant(9).await;
        let me = s.caller();
        let pay = |amount: &str, k: &str| PayMerchant {
            merchant_account: shop,
            amount: cny(amount),
            order_ref: None,
            key: key(k),
        };
        let held = env.wallet.pay_merchant(&me, pay("200.00", "held"), &by_password()).await.unwrap();
        assert!(matches!(held.state, PaymentState::Held { .. }), "{held:?}");
        let small = env.wallet.pay_merchant(&me, pay("50.00", "small"), &by_password()).await.unwrap();
        assert_eq!(small.state, PaymentState::Completed);
        let case = env
            .wallet
            .report_abnormal_transaction(&me, small.legs[0].transfer_id, "not me", key("report"))
            .await
            .unwrap();
        let reviewer = env.wallet.operator("reviewer");
        assert!(reviewer.release_review(held.id).await.is_err(), "a frozen wallet's held debit is not posted");
        env.wallet.operator("cases").resolve_case(case.id, CaseAction::Unfreeze).await.unwrap();
        let released = reviewer.release_review(held.id).await.expect("released once the wallet is unfrozen");
        assert_eq!(released.state, PaymentState::Completed);
        assert_eq!(env.balance(&me).await, cny("1750.00"));
    })
    .await;
}
