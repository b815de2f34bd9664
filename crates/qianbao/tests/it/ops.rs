//! The back office: freeze, unfreeze, ban (every credential revoked), unlock, revoke a certificate.

use qianbao::qianbao_ca::{CertView, RevocationReason};
use qianbao::qianbao_identity::{IdentityError, UserStatus};
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn ban_revokes_every_credential_and_lift_ban_restores_login() {
    each_backend("ban_revokes_every_credential", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        env.certificate(&me, &p, &env.device_key()).await;
        let ops = env.wallet.operator("risk-9");
        assert_eq!(ops.name(), "risk-9");
        let u = ops.ban(user, "fraud ring").await.unwrap();
        assert_eq!(u.status, UserStatus::Banned);
        assert!(env.wallet.profile(&me).await.is_err());
        assert!(
            env.wallet.certificate_authority().list(user).await.unwrap().iter().all(|c| c.view == CertView::Revoked)
        );
        let e = env.login(&p, PASSWORD, 1).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::AccountNotActive { .. })), "{e}");
        ops.lift_ban(user, "appeal upheld").await.unwrap();
        assert!(env.login(&p, PASSWORD, 1).await.is_ok());
        assert!(env.notices_to(user).iter().any(|b| b.contains("suspended")));
    })
    .await;
}

#[tokio::test]
async fn operator_unlock_and_certificate_revocation() {
    each_backend("operator_unlock_and_certificate_revocation", |db| async move {
        let mut config = test_config();
        config.identity.login.account.lock_after = Some(3);
        config.identity.login.account.free_failures = 3;
        let env = Env::with(db, config).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let issued = env.certificate(&s.caller(), &p, &env.device_key()).await;
        for _ in 0..3 {
            assert!(env.login(&p, "wrong password guess", 1).await.is_err());
        }
        assert!(matches!(env.login(&p, PASSWORD, 1).await, Err(WalletError::Identity(IdentityError::LoginLocked))));
        let ops = env.wallet.operator("support-2");
        ops.unlock_login(user).await.unwrap();
        assert!(env.login(&p, PASSWORD, 1).await.is_ok());
        ops.revoke_certificate(issued.record.serial, RevocationReason::KeyCompromise).await.unwrap();
        assert!(env.wallet.verify_payment_certificate(&issued.certificate()).await.is_err());
        assert!(ops.sign_out_user(user).await.unwrap() >= 1);
        assert_eq!(ops.user(user).await.unwrap().status, UserStatus::Active);
    })
    .await;
}
