//! QR confirmation: approve once, in time, from another device of the right user.

use qianbao_store::testing::each_backend;

use super::*;

fn new_device(user_hint: Option<UserId>) -> QrRequest {
    QrRequest {
        purpose: QrPurpose::Login,
        device: DeviceInfo { id: device(9), name: "new laptop".into(), address: None },
        user: user_hint,
    }
}

#[tokio::test]
async fn approval_completes_once_and_every_rejection() {
    each_backend("qr: approve, complete, twice, late, denied", |db| async move {
        let env = env(db).await;
        let phone_grant = env.grant(user(1), device(1)).await;
        let c = env.tokens.create_qr_challenge(new_device(Some(user(1)))).await.unwrap();
        assert!(c.payload.starts_with("qianbao://qr-confirm/v1?c="));
        assert!(!c.payload.contains(c.poll_secret.expose()), "the poll secret is never in the QR code");
        let poll = c.poll_secret.expose().to_string();

        // Waiting: the new device cannot finish before approval.
        assert!(matches!(env.tokens.complete_qr(c.id, &poll).await, Err(TokenError::QrPending)));
        let d = env.tokens.approve_qr(&phone_grant, &c.payload).await.unwrap();
        assert_eq!((d.device, d.approved, d.device_name.as_str()), (device(9), true, "new laptop"));
        // Approved twice (or denied after approval): refused.
        let e = env.tokens.approve_qr(&phone_grant, &c.payload).await.unwrap_err();
        assert!(matches!(e, TokenError::QrAlreadyDecided), "{e:?}");
        assert!(matches!(env.tokens.deny_qr(&phone_grant, &c.payload).await, Err(TokenError::QrAlreadyDecided)));
        // A wrong poll secret learns nothing.
        let wrong = QrSecret::parse(&"A".repeat(43)).unwrap();
        assert!(matches!(env.tokens.complete_qr(c.id, wrong.expose()).await, Err(TokenError::QrNotFound)));
        let ok = env.tokens.complete_qr(c.id, &poll).await.unwrap();
        assert_eq!((ok.user, ok.approved_by, ok.device), (user(1), device(1), device(9)));
        assert!(matches!(env.tokens.complete_qr(c.id, &poll).await, Err(TokenError::QrCompleted)));

        // Late: after 2 minutes it can no longer be approved.
        let late = env.tokens.create_qr_challenge(new_device(None)).await.unwrap();
        env.advance(2 * MINUTE);
        let e = env.tokens.approve_qr(&phone_grant, &late.payload).await.unwrap_err();
        assert!(matches!(e, TokenError::QrExpired), "{e:?}");
        assert!(matches!(env.tokens.complete_qr(late.id, late.poll_secret.expose()).await, Err(TokenError::QrExpired)));

        // Denied.
        let denied = env.tokens.create_qr_challenge(new_device(None)).await.unwrap();
        env.tokens.deny_qr(&phone_grant, &denied.payload).await.unwrap();
        let e = env.tokens.complete_qr(denied.id, denied.poll_secret.expose()).await.unwrap_err();
        assert!(matches!(e, TokenError::QrDenied), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn only_another_device_of_the_same_user_can_approve() {
    each_backend("qr: wrong user, same device, bad payload", |db| async move {
        let env = env(db).await;
        let c = env.tokens.create_qr_challenge(new_device(Some(user(1)))).await.unwrap();
        let stranger = env.grant(user(2), device(2)).await;
        let e = env.tokens.approve_qr(&stranger, &c.payload).await.unwrap_err();
        assert!(matches!(e, TokenError::QrWrongUser), "{e:?}");
        let itself = env.grant(user(1), device(9)).await;
        let e = env.tokens.approve_qr(&itself, &c.payload).await.unwrap_err();
        assert!(matches!(e, TokenError::QrSameDevice), "{e:?}");
        let e = env.tokens.approve_qr(&itself, "https://evil.example/qr").await.unwrap_err();
        assert!(matches!(e, TokenError::Malformed { .. }));
        let unknown = format!("qianbao://qr-confirm/v1?c={}", "A".repeat(43));
        assert!(matches!(env.tokens.approve_qr(&itself, &unknown).await, Err(TokenError::QrNotFound)));
        // Still pending for the right approver.
        let owner = env.grant(user(1), device(1)).await;
        env.tokens.approve_qr(&owner, &c.payload).await.unwrap();
    })
    .await;
}
