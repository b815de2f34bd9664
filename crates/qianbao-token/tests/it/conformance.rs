//! The store conformance suite: migrations, TOTP state, purging and cross-instance behaviour, on every
//! backend (`each_backend`). The other modules' flows run on every backend too.

use qianbao_store::testing::each_backend;

use super::*;

#[tokio::test]
async fn migrations_are_idempotent_and_purge_removes_only_the_dead() {
    each_backend("token store: migrate, purge", |db| async move {
        TokenDb::open(db.clone()).await.unwrap();
        let env = env(db.clone()).await;
        let s = env.login(user(1), device(1), None).await;
        let to = phone(1);
        env.tokens
            .send_code(CodeRequest {
                purpose: Purpose::Login,
                subject: CodeSubject::User(user(1)),
                destination: to.clone(),
            })
            .await
            .unwrap();
        let grant = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap();
        let mut req = super::txtokens::request(&env, &to, 100, 1, None);
        req.expires_at = env.now().saturating_add(MINUTE);
        env.tokens.request_transaction_token(&grant, req).await.unwrap();
        env.tokens
            .create_qr_challenge(QrRequest {
                purpose: QrPurpose::StepUp,
                device: DeviceInfo { id: device(5), name: String::new(), address: None },
                user: Some(user(1)),
            })
            .await
            .unwrap();
        assert_eq!(env.tokens.purge_expired().await.unwrap(), PurgeReport::default(), "nothing is dead yet");

        env.advance(Duration::from_secs(2 * 86_400));
        let r = env.tokens.purge_expired().await.unwrap();
        assert_eq!((r.codes, r.code_sends, r.bearer_tokens, r.tx_tokens, r.qr_challenges), (1, 1, 1, 1, 1));
        // The refresh token (30 days) and the session survive; it still refreshes.
        env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap();
        env.advance(Duration::from_secs(40 * 86_400));
        let r = env.tokens.purge_expired().await.unwrap();
        assert_eq!((r.bearer_tokens, r.sessions), (3, 1));
        assert!(matches!(env.tokens.refresh(s.refresh_token.expose(), None).await, Err(TokenError::TokenUnknown)));
    })
    .await;
}

#[tokio::test]
async fn totp_enrollment_lockout_and_recovery_codes() {
    each_backend("token store: totp", |db| async move {
        let env = env(db).await;
        let u = user(1);
        assert!(matches!(env.tokens.verify_totp(u, "123456").await, Err(TokenError::TotpNotEnrolled)));
        let e = env.tokens.enroll_totp(u, "li@example.com").await.unwrap();
        assert_eq!(e.recovery_codes.len(), 10);
        let uri = OtpAuthUri::parse(e.uri.expose()).unwrap();
        assert_eq!(uri.issuer.as_deref(), Some("qianbao"));
        assert_eq!(uri.secret.expose().len(), 20);
        let code = |env: &Env| otp::totp(uri.secret.expose(), &uri.params, env.now()).to_string();
        // Pending: verify refuses until confirmed; re-enrolling a pending one is allowed.
        assert!(matches!(env.tokens.verify_totp(u, &code(&env)).await, Err(TokenError::TotpNotEnrolled)));
        env.tokens.confirm_totp(u, &code(&env)).await.unwrap();
        assert!(matches!(env.tokens.enroll_totp(u, "x").await, Err(TokenError::TotpAlreadyEnrolled)));
        let st = env.tokens.totp_status(u).await.unwrap();
        assert!(st.enabled && !st.pending && st.recovery_codes_left == 10);

        // The used step is refused; one step later (±1 window) works.
        assert!(matches!(env.tokens.verify_totp(u, &code(&env)).await, Err(TokenError::TotpReplayed)));
        env.advance(Duration::from_secs(30));
        let next = code(&env);
        env.advance(Duration::from_secs(30));
        env.tokens.verify_totp(u, &next).await.unwrap();
        env.advance(Duration::from_secs(30));
        let stale = otp::totp(uri.secret.expose(), &uri.params, env.now().saturating_sub(Duration::from_secs(60)));
        assert!(matches!(env.tokens.verify_totp(u, stale.as_str()).await, Err(TokenError::TotpWrong)), "2 steps old");

        // Five wrong codes lock it (the stale one counted), even for the right code.
        for _ in 0..3 {
            assert!(matches!(env.tokens.verify_totp(u, "000000").await, Err(TokenError::TotpWrong)));
        }
        assert!(matches!(env.tokens.verify_totp(u, "000000").await, Err(TokenError::TotpLocked { .. })));
        assert!(matches!(env.tokens.verify_totp(u, &code(&env)).await, Err(TokenError::TotpLocked { .. })));
        env.advance(15 * MINUTE);

        // Recovery codes: single use, any case or grouping.
        let rc = e.recovery_codes[0].expose().to_uppercase().replace('-', " ");
        assert_eq!(env.tokens.use_recovery_code(u, &rc).await.unwrap(), 9);
        assert!(matches!(env.tokens.use_recovery_code(u, &rc).await, Err(TokenError::RecoveryCodeInvalid)));
        env.tokens.verify_totp(u, &code(&env)).await.unwrap();
        assert!(env.tokens.disable_totp(u).await.unwrap());
        assert!(!env.tokens.totp_status(u).await.unwrap().enabled);
    })
    .await;
}

#[tokio::test]
async fn revocation_through_another_instance_applies_within_the_cache_ttl() {
    each_backend("token store: cross-instance staleness bound", |db| async move {
        let a = env(db.clone()).await;
        let b = env(db).await;
        let s = a.login(user(1), device(1), None).await;
        a.tokens.authenticate(s.access_token.expose(), None).await.unwrap();
        b.tokens.revoke(s.access_token.expose()).await.unwrap();
        assert!(matches!(b.tokens.authenticate(s.access_token.expose(), None).await, Err(TokenError::TokenRevoked)));
        // Instance A still serves its cached grant, for at most `introspection_cache_ttl` (5 s).
        a.tokens.authenticate(s.access_token.expose(), None).await.unwrap();
        a.advance(Duration::from_secs(5));
        let e = a.tokens.authenticate(s.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
        assert_eq!(a.tokens.cache_stats().entries, 1);
    })
    .await;
}
