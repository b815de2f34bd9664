//! Transaction tokens through the facade: request, delivery only to the account's own contacts, list,
//! revoke, certificate binding, and the policy.

use std::time::Duration;

use qianbao::core::{Currency, Destination, Money, NotificationKind};
use qianbao::qianbao_token::{CertThumbprint, TxTokenRequest, TxTokenStatus};
use qianbao::*;

use crate::support::*;

fn request(env: &Env, delivery: Destination) -> TxTokenRequest {
    TxTokenRequest {
        label: "groceries".into(),
        max_amount: Money::from_minor(50_000, Currency::CNY),
        max_uses: 5,
        payee: None,
        expires_at: env.now().saturating_add(Duration::from_secs(7 * 86_400)),
        delivery,
        binding: None,
    }
}

#[tokio::test]
async fn request_list_and_revoke() {
    each_backend("tx_tokens_request_list_and_revoke", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        let info = env.wallet.request_transaction_token(&me, request(&env, dest(&p))).await.unwrap();
        let sms = env.outbox.last_to(&dest(&p)).unwrap();
        assert_eq!(sms.kind, NotificationKind::TransactionToken);
        assert!(sms.body.contains("qbt_"));
        env.wallet.request_transaction_token(&me, request(&env, Destination::User(user))).await.unwrap();
        assert_eq!(env.wallet.transaction_tokens(&me).await.unwrap().len(), 2);
        let revoked = env.wallet.revoke_transaction_token(&me, info.id).await.unwrap();
        assert_eq!(revoked.status, TxTokenStatus::Revoked);
        let kinds = env.audit_kinds(user).await;
        assert!(kinds.iter().filter(|k| *k == "token.issued").count() >= 2);
        assert!(kinds.iter().any(|k| k == "token.revoked"));
    })
    .await;
}

#[tokio::test]
async fn delivery_and_policy_refusals() {
    each_backend("tx_tokens_delivery_and_policy_refusals", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let e = env.wallet.request_transaction_token(&me, request(&env, dest(&p))).await.unwrap_err();
        assert!(matches!(e, WalletError::RealNameRequired));
        env.real_name(&me, &p).await;
        // Someone else's phone, or someone else's inbox: refused, nothing sent.
        let before = env.outbox.len();
        let stranger = dest(&phone("13900001111"));
        let e = env.wallet.request_transaction_token(&me, request(&env, stranger)).await.unwrap_err();
        assert!(matches!(e, WalletError::DestinationNotAllowed));
        let inbox = Destination::User(qianbao::core::UserId::from_u128(5));
        assert!(env.wallet.request_transaction_token(&me, request(&env, inbox)).await.is_err());
        assert_eq!(env.outbox.len(), before);
        // Frozen: refused.
        env.wallet.operator("risk").freeze(user, "report").await.unwrap();
        let e = env.wallet.request_transaction_token(&me, request(&env, dest(&p))).await.unwrap_err();
        assert!(matches!(e, WalletError::Frozen));
        assert!(env.wallet.transaction_tokens(&me).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_bound_token_needs_the_callers_own_certificate() {
    each_backend("tx_tokens_bound_to_certificate", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (_, s) = env.verified(&p).await;
        let issued = env.certificate(&s.caller(), &p, &env.device_key()).await;
        let thumbprint = CertThumbprint::of_der(&issued.certificate());
        let mut req = request(&env, dest(&p));
        req.binding = Some(thumbprint);
        // Without presenting the certificate: refused.
        let e = env.wallet.request_transaction_token(&s.caller(), req.clone()).await.unwrap_err();
        assert!(matches!(e, WalletError::CertificateNotYours));
        let me = s.caller().with_certificate(issued.certificate());
        let info = env.wallet.request_transaction_token(&me, req).await.unwrap();
        assert_eq!(info.binding, Some(thumbprint));
    })
    .await;
}
