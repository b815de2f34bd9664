//! The wallet on a SQLite file, closed and opened again: balances, payments and sessions are where they
//! were, the journal chain verifies, and new payments go on from there.

use qianbao::qianbao_ledger::JournalCheck;
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn balances_and_the_journal_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.sqlite");
    let (s, paid, shop_account, stopped_at) = {
        let env = Env::new(Database::open_sqlite(&path).unwrap()).await;
        let (_, s, _) = env.funded("500.00").await;
        let (_, shop_account) = env.merchant(7).await;
        let req =
            PayMerchant { merchant_account: shop_account, amount: cny("120.00"), order_ref: None, key: key("p1") };
        let paid = env.wallet.pay_merchant(&s.caller(), req, &by_password()).await.unwrap();
        assert_eq!(env.balance(&s.caller()).await, cny("380.00"));
        (s, paid, shop_account, env.now())
    };

    let env = Env::new(Database::open_sqlite(&path).unwrap()).await;
    env.clock.set(stopped_at);
    env.advance(60);
    let me = s.caller();
    assert_eq!(env.balance(&me).await, cny("380.00"), "the balance is restored");
    assert_eq!(env.wallet.payments().payment(paid.id).await.unwrap().amount, cny("120.00"));
    let journal = env.wallet.payments().ledger().verify_journal().await.unwrap();
    assert!(matches!(journal, JournalCheck::Intact { .. }), "{journal:?}");
    // A retry of the acknowledged payment after the restart is answered, not paid twice.
    let req = PayMerchant { merchant_account: shop_account, amount: cny("120.00"), order_ref: None, key: key("p1") };
    let again = env.wallet.pay_merchant(&me, req, &Authorization::default()).await.unwrap();
    assert_eq!(again.id, paid.id);
    let req = PayMerchant { merchant_account: shop_account, amount: cny("80.00"), order_ref: None, key: key("p2") };
    env.wallet.pay_merchant(&me, req, &by_password()).await.unwrap();
    assert_eq!(env.balance(&me).await, cny("300.00"));
    let journal = env.wallet.payments().ledger().verify_journal().await.unwrap();
    assert!(matches!(journal, JournalCheck::Intact { .. }), "{journal:?}");
}
