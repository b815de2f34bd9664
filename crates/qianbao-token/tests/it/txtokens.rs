//! Transaction tokens: delivery, listing, scope checks, atomic consumption, release, binding.

use qianbao_core::Channel;
use qianbao_store::testing::each_backend;

use super::*;

pub(crate) fn request(env: &Env, to: &Destination, max: i64, uses: u32, payee: Option<AccountId>) -> TxTokenRequest {
    TxTokenRequest {
        label: "groceries".into(),
        max_amount: cny(max),
        max_uses: uses,
        payee,
        expires_at: env.now().saturating_add(Duration::from_secs(7 * 86_400)),
        delivery: to.clone(),
        binding: None,
    }
}

fn use_of<'a>(token: &'a str, u: UserId, minor: i64, payee: AccountId, n: u128) -> TxTokenUse<'a> {
    TxTokenUse { token, user: u, amount: cny(minor), payee, payment: payment(n), presented: None }
}

#[tokio::test]
async fn delivered_listed_consumed_within_scope_and_released() {
    each_backend("tx tokens: lifecycle", |db| async move {
        let env = env(db).await;
        let grant = env.grant(user(1), device(1)).await;
        let to = phone(1);
        let info = env.tokens.request_transaction_token(&grant, request(&env, &to, 10_000, 3, None)).await.unwrap();
        assert_eq!((info.status, info.channel, info.remaining_uses), (TxTokenStatus::Active, Channel::Sms, 3));
        let token = env.last_tx_token(&to);
        assert!(BearerToken::parse_kind(&token, TokenKind::Transaction).is_ok());
        let listed = env.tokens.list_transaction_tokens(user(1)).await.unwrap();
        assert_eq!(listed, vec![info.clone()]);
        assert!(!serde_json::to_string(&listed).unwrap().contains(&token[4..]), "listing never shows the token");

        let c = env.tokens.consume_transaction_token(use_of(&token, user(1), 4_000, merchant(1), 1)).await.unwrap();
        assert_eq!((c.remaining, c.remaining_uses, c.replayed), (cny(6_000), 2, false));
        // The same payment again is a retry: first outcome, nothing consumed twice.
        let again = env.tokens.consume_transaction_token(use_of(&token, user(1), 4_000, merchant(1), 1)).await.unwrap();
        assert!(again.replayed);
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 5_000, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::ConsumptionConflict), "{e:?}");
        // More than is left: refused, nothing changed.
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 6_001, merchant(1), 2)).await.unwrap_err();
        assert!(matches!(e, TokenError::TxTokenAmountExceeded { remaining } if remaining == cny(6_000)), "{e:?}");
        // The payment then failed: give the consumption back (twice is fine).
        let back = env.tokens.release_transaction_token(payment(1)).await.unwrap();
        assert_eq!((back.remaining, back.remaining_uses), (cny(10_000), 3));
        let back = env.tokens.release_transaction_token(payment(1)).await.unwrap();
        assert_eq!(back.remaining, cny(10_000));
        let e = env.tokens.release_transaction_token(payment(77)).await.unwrap_err();
        assert!(matches!(e, TokenError::ConsumptionNotFound));
        for n in 10..13 {
            env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(1), n)).await.unwrap();
        }
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(1), 13)).await.unwrap_err();
        assert!(matches!(e, TokenError::TxTokenExhausted), "{e:?}");
        assert_eq!(env.tokens.list_transaction_tokens(user(1)).await.unwrap()[0].status, TxTokenStatus::Exhausted);
    })
    .await;
}

#[tokio::test]
async fn every_scope_rejection() {
    each_backend("tx tokens: rejections", |db| async move {
        let env = env(db).await;
        let grant = env.grant(user(1), device(1)).await;
        let to = Destination::User(user(1));
        env.tokens.request_transaction_token(&grant, request(&env, &to, 5_000, 5, Some(merchant(1)))).await.unwrap();
        let token = env.last_tx_token(&to);
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(2), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::TxTokenWrongPayee), "{e:?}");
        let e = env.tokens.consume_transaction_token(use_of(&token, user(2), 100, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::TxTokenWrongUser), "{e:?}");
        let mut usd = use_of(&token, user(1), 100, merchant(1), 1);
        usd.amount = Money::from_minor(100, Currency::USD);
        let e = env.tokens.consume_transaction_token(usd).await.unwrap_err();
        assert!(matches!(e, TokenError::TxTokenCurrency { .. }), "{e:?}");
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 0, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::Malformed { .. }));
        let e = env.tokens.consume_transaction_token(use_of("qbt_x", user(1), 1, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::Malformed { .. }));

        // Bad scopes are refused before anything is issued.
        let mut bad = request(&env, &to, 0, 1, None);
        assert!(matches!(
            env.tokens.request_transaction_token(&grant, bad.clone()).await,
            Err(TokenError::InvalidScope(_))
        ));
        bad.max_amount = cny(1);
        bad.expires_at = env.now();
        assert!(matches!(env.tokens.request_transaction_token(&grant, bad).await, Err(TokenError::InvalidScope(_))));

        // Expired.
        env.advance(Duration::from_secs(8 * 86_400));
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenExpired), "{e:?}");
        assert_eq!(env.tokens.list_transaction_tokens(user(1)).await.unwrap()[0].status, TxTokenStatus::Expired);

        // Revoked by the user.
        env.tokens.request_transaction_token(&grant, request(&env, &to, 5_000, 5, None)).await.unwrap();
        let token = env.last_tx_token(&to);
        let id = env.tokens.list_transaction_tokens(user(1)).await.unwrap()[0].id;
        let r = env.tokens.revoke_transaction_token(user(1), id).await.unwrap();
        assert_eq!(r.status, TxTokenStatus::Revoked);
        assert!(matches!(env.tokens.revoke_transaction_token(user(2), id).await, Err(TokenError::TokenUnknown)));
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(1), 2)).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn a_bound_transaction_token_needs_its_certificate() {
    each_backend("tx tokens: binding", |db| async move {
        let env = env(db).await;
        let grant = env.grant(user(1), device(1)).await;
        let to = phone(2);
        let cert = CertThumbprint::of_der(b"device cert");
        let mut req = request(&env, &to, 5_000, 5, None);
        req.binding = Some(cert);
        let info = env.tokens.request_transaction_token(&grant, req).await.unwrap();
        assert_eq!(info.binding, Some(cert));
        let token = env.last_tx_token(&to);
        let e = env.tokens.consume_transaction_token(use_of(&token, user(1), 100, merchant(1), 1)).await.unwrap_err();
        assert!(matches!(e, TokenError::CertificateRequired), "{e:?}");
        let other = CertThumbprint::of_der(b"other");
        let mut u = use_of(&token, user(1), 100, merchant(1), 1);
        u.presented = Some(&other);
        assert!(matches!(env.tokens.consume_transaction_token(u.clone()).await, Err(TokenError::CertificateMismatch)));
        u.presented = Some(&cert);
        env.tokens.consume_transaction_token(u).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consumers_cannot_overspend() {
    each_backend("tx tokens: concurrent consumption", |db| async move {
        let env = env(db).await;
        let grant = env.grant(user(1), device(1)).await;
        let to = phone(3);
        // 10 uses, 1,000.00 in total; 40 concurrent payments of 100.00 each.
        env.tokens.request_transaction_token(&grant, request(&env, &to, 100_000, 10, None)).await.unwrap();
        let token = env.last_tx_token(&to);
        let mut tasks = Vec::new();
        for n in 0..40u128 {
            let (tokens, token) = (env.tokens.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                tokens.consume_transaction_token(use_of(&token, user(1), 10_000, merchant(1), 100 + n)).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(TokenError::TxTokenExhausted) | Err(TokenError::TxTokenAmountExceeded { .. }) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 10);
        let after = &env.tokens.list_transaction_tokens(user(1)).await.unwrap()[0];
        assert_eq!((after.remaining, after.remaining_uses), (cny(0), 0));
    })
    .await;
}
