//! Sessions: rotation, reuse detection, revocation, introspection, certificate binding.

use qianbao_store::testing::each_backend;

use super::*;

#[tokio::test]
async fn login_refresh_rotation_and_reuse_revokes_the_family() {
    each_backend("sessions: rotation and reuse", |db| async move {
        let env = env(db).await;
        let s = env.login(user(1), device(1), None).await;
        assert!(s.access_token.expose().starts_with("qba_") && s.refresh_token.expose().starts_with("qbr_"));
        assert!(s.new_device);
        assert_eq!(s.access_expires_at, env.now().saturating_add(15 * MINUTE));
        let g = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap();
        assert_eq!((g.user, g.device, g.session), (user(1), device(1), s.session));
        assert!(g.has_scope("pay") && !g.has_scope("admin"));

        // A refresh token is not an access token, and vice versa.
        let e = env.tokens.authenticate(s.refresh_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::Malformed { .. }), "{e:?}");

        env.advance(MINUTE);
        let s2 = env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap();
        assert_eq!(s2.session, s.session);
        assert_ne!(s2.refresh_token, s.refresh_token);
        env.tokens.authenticate(s2.access_token.expose(), None).await.unwrap();

        // Presenting the spent refresh token again: reuse. The whole family is revoked at once, the
        // current tokens included (also through the introspection cache).
        let e = env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::RefreshTokenReused), "{e:?}");
        let e = env.tokens.authenticate(s2.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
        let e = env.tokens.refresh(s2.refresh_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
        assert!(!env.tokens.introspect(s2.access_token.expose()).await.unwrap().active);
    })
    .await;
}

#[tokio::test]
async fn expiry_and_unknown_tokens() {
    each_backend("sessions: expiry", |db| async move {
        let env = env(db).await;
        let s = env.login(user(1), device(1), None).await;
        env.advance(16 * MINUTE);
        let e = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenExpired), "{e:?}");
        // The refresh token still works; after 30 days it does not.
        let s2 = env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap();
        env.advance(Duration::from_secs(31 * 86_400));
        let e = env.tokens.refresh(s2.refresh_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenExpired), "{e:?}");
        let other = BearerToken::generate(TokenKind::Access, &SeededEntropy::new(99));
        let e = env.tokens.authenticate(other.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenUnknown), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn rfc7009_revocation_and_rfc7662_introspection() {
    each_backend("sessions: revoke and introspect", |db| async move {
        let env = env(db).await;
        let s = env.login(user(1), device(1), None).await;
        let i = env.tokens.introspect(s.access_token.expose()).await.unwrap();
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["active"], true);
        assert_eq!(json["token_type"], "access_token");
        assert_eq!(json["scope"], "wallet pay");
        assert_eq!(json["client_id"], "app");
        assert_eq!(json["sub"], user(1).to_string());
        assert_eq!(json["exp"], START + 900);
        assert_eq!(json["iat"], START);
        assert!(json.get("cnf").is_none());
        let r = env.tokens.introspect(s.refresh_token.expose()).await.unwrap();
        assert_eq!(r.token_type.as_deref(), Some("refresh_token"));

        // Revoking an access token works at once even though it is cached; the refresh token lives on.
        env.tokens.revoke(s.access_token.expose()).await.unwrap();
        let e = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
        assert_eq!(
            serde_json::to_string(&env.tokens.introspect(s.access_token.expose()).await.unwrap()).unwrap(),
            r#"{"active":false}"#
        );
        let s2 = env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap();
        // Revoking the refresh token revokes the session: its access token too.
        env.tokens.revoke(s2.refresh_token.expose()).await.unwrap();
        assert!(matches!(env.tokens.authenticate(s2.access_token.expose(), None).await, Err(TokenError::TokenRevoked)));
        // Unknown, malformed and already revoked tokens: not an error (RFC 7009 §2.2).
        env.tokens.revoke("garbage").await.unwrap();
        env.tokens.revoke(s2.refresh_token.expose()).await.unwrap();
        env.tokens.revoke(BearerToken::generate(TokenKind::Refresh, &SeededEntropy::new(5)).expose()).await.unwrap();
        assert!(!env.tokens.introspect("qba_nope").await.unwrap().active);
    })
    .await;
}

#[tokio::test]
async fn a_bound_token_is_useless_without_its_certificate() {
    each_backend("sessions: certificate binding", |db| async move {
        let env = env(db).await;
        let cert = CertThumbprint::of_der(b"device certificate DER");
        let other = CertThumbprint::of_der(b"another certificate");
        let s = env.login(user(1), device(1), Some(cert)).await;
        let e = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::CertificateRequired), "{e:?}");
        let e = env.tokens.authenticate(s.access_token.expose(), Some(&other)).await.unwrap_err();
        assert!(matches!(e, TokenError::CertificateMismatch), "{e:?}");
        let g = env.tokens.authenticate(s.access_token.expose(), Some(&cert)).await.unwrap();
        assert_eq!(g.binding, Some(cert));
        // Cached now: the binding is still enforced.
        let e = env.tokens.authenticate(s.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::CertificateRequired), "{e:?}");
        // Refresh needs the certificate too, and refusing does not spend the refresh token.
        let e = env.tokens.refresh(s.refresh_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::CertificateRequired), "{e:?}");
        env.tokens.refresh(s.refresh_token.expose(), Some(&cert)).await.unwrap();
        let i = serde_json::to_value(env.tokens.introspect(s.access_token.expose()).await.unwrap()).unwrap();
        assert_eq!(i["cnf"]["x5t#S256"], cert.to_x5t_s256());
    })
    .await;
}
