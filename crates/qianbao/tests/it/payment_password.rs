//! The payment password: set, change, locked after wrong tries (and the user told), reset by code.

use qianbao::qianbao_identity::IdentityError;
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn set_change_lock_and_reset() {
    each_backend("payment_password_set_change_lock_and_reset", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        // Trivial ones are refused.
        assert!(env.wallet.set_payment_password(&me, &pay("123456")).await.is_err());
        env.wallet.set_payment_password(&me, &pay(PAY)).await.unwrap();
        let e = env.wallet.set_payment_password(&me, &pay("907263")).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::PaymentPasswordAlreadySet)));
        env.wallet.change_payment_password(&me, &pay(PAY), &pay("907263")).await.unwrap();
        // Five wrong tries lock it; the fifth tells the user, once.
        for i in 0..5 {
            let e = env.wallet.change_payment_password(&me, &pay("135792"), &pay("246813")).await.unwrap_err();
            if i < 4 {
                assert!(matches!(e, WalletError::Identity(IdentityError::PaymentPasswordWrong { .. })), "{e}");
            } else {
                assert!(matches!(e, WalletError::Identity(IdentityError::PaymentPasswordLocked { .. })), "{e}");
            }
        }
        let e = env.wallet.change_payment_password(&me, &pay("907263"), &pay("246813")).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::PaymentPasswordLocked { .. })));
        let locked = env.notices_to(user).iter().filter(|b| b.contains("payment password was locked")).count();
        assert_eq!(locked, 1);
        // A code to the verified phone resets it and lifts the lock.
        let challenge = env.wallet.request_payment_password_reset(&me).await.unwrap();
        env.wallet.reset_payment_password(&me, &env.answer(&challenge, &p), &pay("246813")).await.unwrap();
        env.wallet.change_payment_password(&me, &pay("246813"), &pay("907263")).await.unwrap();
        let kinds = env.audit_kinds(user).await;
        assert!(kinds.iter().any(|k| k == "identity.payment_password_locked"));
        assert!(env.notices_to(user).iter().any(|b| b.contains("payment password was changed")));
    })
    .await;
}
