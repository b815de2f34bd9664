//! Logging in (issue 10 through the facade): login protection, new-device step-ups and their notices,
//! TOTP, refresh, logout, devices.

use qianbao::core::{DeviceId, SecretString};
use qianbao::qianbao_identity::{GuardPolicy, IdentityError};
use qianbao::qianbao_token::{TokenError, otp};
use qianbao::*;

use crate::support::*;

fn session(outcome: LoginOutcome) -> Session {
    match outcome {
        LoginOutcome::Session(s) => *s,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn step_up(outcome: LoginOutcome) -> StepUp {
    match outcome {
        LoginOutcome::StepUp(s) => *s,
        other => panic!("expected a step-up, got {other:?}"),
    }
}

fn config_with(policy: NewDeviceStepUp) -> WalletConfig {
    let mut c = test_config();
    c.policy.new_device_step_up = policy;
    c
}

#[tokio::test]
async fn unknown_account_and_wrong_password_give_the_same_error() {
    each_backend("unknown_account_and_wrong_password_give_the_same_error", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        env.register(&p).await;
        let hasher = env.wallet.identity().password_hasher();
        let before = hasher.verifications();
        let wrong = env.login(&p, "a wrong password guess", 1).await.unwrap_err();
        let unknown = env.login(&phone("13900001111"), "a wrong password guess", 2).await.unwrap_err();
        assert_eq!(hasher.verifications(), before + 2, "the same Argon2 work either way");
        assert_eq!(wrong.code(), unknown.code());
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert!(matches!(wrong, WalletError::Identity(IdentityError::LoginFailed)));
    })
    .await;
}

fn lock_after(n: u32) -> WalletConfig {
    let mut c = test_config();
    let mut account = GuardPolicy::LOGIN_ACCOUNT;
    account.free_failures = 2;
    account.lock_after = Some(n);
    c.identity.login.account = account;
    c
}

/// Guesses until refused without a password check (back-off waits are skipped by moving the clock).
async fn guess_until_locked(env: &Env, p: &qianbao::qianbao_identity::ContactValue, devices: u128) -> u32 {
    let mut failures = 0;
    for i in 0..200u128 {
        match env.login(p, "wrong password guess", 100 + i % devices).await {
            Err(WalletError::Identity(IdentityError::LoginFailed)) => failures += 1,
            Err(WalletError::Identity(IdentityError::LoginThrottled { retry_after_secs })) => {
                env.advance(retry_after_secs)
            }
            Err(WalletError::Identity(IdentityError::LoginLocked)) => return failures,
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("never locked")
}

#[tokio::test]
async fn lockout_after_the_configured_failures_and_unlock_by_recovery() {
    each_backend("lockout_after_the_configured_failures_and_unlock_by_recovery", |db| async move {
        let env = Env::with(db, lock_after(6)).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let hasher = env.wallet.identity().password_hasher();
        let before = hasher.verifications();
        // Guesses from many devices: locked after the limit, Argon2 bounded by it.
        assert_eq!(guess_until_locked(&env, &p, 50).await, 6);
        assert_eq!(hasher.verifications() - before, 6);
        // Locked even for the right password.
        assert!(matches!(env.login(&p, PASSWORD, 1).await, Err(WalletError::Identity(IdentityError::LoginLocked))));
        // Recovery: a code to the verified phone, a new password; the lock is lifted.
        let r = env.wallet.start_password_recovery(&p, None).await.unwrap();
        let answer = CodeAnswer::new(r.ticket, env.code(&p));
        env.wallet.reset_password(&answer, &pw(NEW_PASSWORD), None).await.unwrap();
        assert!(env.login(&p, NEW_PASSWORD, 1).await.is_ok());
        let kinds = env.audit_kinds(user).await;
        assert!(kinds.iter().any(|k| k == "identity.login_locked"), "{kinds:?}");
        assert!(kinds.iter().any(|k| k == "identity.password_reset"));
    })
    .await;
}

#[tokio::test]
async fn backoff_grows_and_is_capped() {
    each_backend("backoff_grows_and_is_capped", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        env.register(&p).await;
        let mut waits = Vec::new();
        while waits.len() < 12 {
            match env.login(&p, "wrong password guess", 7).await {
                Err(WalletError::Identity(IdentityError::LoginThrottled { retry_after_secs })) => {
                    waits.push(retry_after_secs);
                    env.advance(retry_after_secs);
                }
                Err(WalletError::Identity(IdentityError::LoginFailed)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(waits.last(), Some(&900), "capped at 15 minutes: {waits:?}");
    })
    .await;
}

#[tokio::test]
async fn a_new_device_needs_a_code_and_is_notified() {
    each_backend("a_new_device_needs_a_code_and_is_notified", |db| async move {
        let env = Env::new(db).await; // default policy: a second factor
        let p = phone(PHONE);
        let user = env.register(&p).await;
        env.session(&p, 1).await; // the first device: no step-up, no notice
        assert!(env.notices_to(user).is_empty());
        let up = step_up(env.login(&p, PASSWORD, 2).await.unwrap());
        assert_eq!((up.kind(), up.reason), (StepUpKind::Code, StepUpReason::NewDevice));
        // An answer of another kind, or from another device, is refused.
        let totp = StepUpAnswer::Totp(SecretString::new("123456".into()));
        let e = env.wallet.complete_login(&up.ticket, totp, device(2)).await.unwrap_err();
        assert!(matches!(e, WalletError::StepUpRequired { required: StepUpKind::Code }));
        let code = StepUpAnswer::Code(SecretString::new(env.code(&p)));
        let e = env.wallet.complete_login(&up.ticket, code.clone(), device(3)).await.unwrap_err();
        assert!(matches!(e, WalletError::TicketInvalid));
        let s = env.wallet.complete_login(&up.ticket, code, device(2)).await.unwrap();
        assert!(s.new_device);
        let notices = env.notices_to(user);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("new device \"phone 2\""), "{}", notices[0]);
        assert!(env.outbox.all().iter().any(|n| n.destination == dest(&p) && n.body.contains("new device")));
        let kinds = env.audit_kinds(user).await;
        assert!(kinds.iter().any(|k| k == "token.new_device"));
        assert!(kinds.iter().any(|k| k == "wallet.step_up_passed"));
        // The device is known now: no step-up the next time.
        session(env.login(&p, PASSWORD, 2).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn a_new_device_with_no_step_up_policy_is_still_notified() {
    each_backend("a_new_device_with_no_step_up_policy_is_still_notified", |db| async move {
        let env = Env::with(db, config_with(NewDeviceStepUp::None)).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        env.session(&p, 1).await;
        let s = session(env.login(&p, PASSWORD, 2).await.unwrap());
        assert!(s.new_device);
        assert_eq!(env.notices_to(user).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn qr_confirmation_from_a_known_device() {
    each_backend("qr_confirmation_from_a_known_device", |db| async move {
        let env = Env::with(db, config_with(NewDeviceStepUp::QrConfirmation)).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let old = env.session(&p, 1).await.caller();
        let up = step_up(env.login(&p, PASSWORD, 2).await.unwrap());
        let StepUpChallenge::Qr(qr) = &up.challenge else { panic!("expected QR, got {up:?}") };
        let poll = || StepUpAnswer::Qr { poll_secret: SecretString::new(qr.poll_secret.expose().into()) };
        // Before approval the new device waits.
        let e = env.wallet.complete_login(&up.ticket, poll(), device(2)).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::QrPending)));
        let decision = env.wallet.approve_device(&old, &qr.payload).await.unwrap();
        assert!(decision.approved);
        let s = env.wallet.complete_login(&up.ticket, poll(), device(2)).await.unwrap();
        assert_eq!(s.tokens.user, user);
        assert!(env.notices_to(user).iter().any(|b| b.contains("new device")));
        // A denied challenge fails the login.
        let up = step_up(env.login(&p, PASSWORD, 3).await.unwrap());
        let StepUpChallenge::Qr(qr) = &up.challenge else { panic!("expected QR") };
        env.wallet.deny_device(&old, &qr.payload).await.unwrap();
        let answer = StepUpAnswer::Qr { poll_secret: SecretString::new(qr.poll_secret.expose().into()) };
        let e = env.wallet.complete_login(&up.ticket, answer, device(3)).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::QrDenied)));
    })
    .await;
}

#[tokio::test]
async fn qr_policy_falls_back_to_a_code_without_a_live_device() {
    each_backend("qr_policy_falls_back_to_a_code_without_a_live_device", |db| async move {
        let env = Env::with(db, config_with(NewDeviceStepUp::QrConfirmation)).await;
        let p = phone(PHONE);
        env.register(&p).await;
        let old = env.session(&p, 1).await.caller();
        env.wallet.logout(&old).await.unwrap();
        let up = step_up(env.login(&p, PASSWORD, 2).await.unwrap());
        assert_eq!(up.kind(), StepUpKind::Code);
    })
    .await;
}

fn totp_now(env: &Env, enrollment: &qianbao::qianbao_token::TotpEnrollment) -> String {
    let secret = otp::decode_base32_secret(enrollment.secret_base32.expose()).unwrap();
    otp::totp(secret.expose(), &enrollment.params, env.now()).as_str().to_string()
}

#[tokio::test]
async fn totp_second_factor_at_login() {
    each_backend("totp_second_factor_at_login", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let enrollment = env.wallet.enroll_totp(&me).await.unwrap();
        let status = env.wallet.confirm_totp(&me, &totp_now(&env, &enrollment)).await.unwrap();
        assert!(status.enabled);
        assert!(env.wallet.profile(&me).await.unwrap().second_factor);
        // Even the known device now needs the app.
        env.advance(30);
        let up = step_up(env.login(&p, PASSWORD, 1).await.unwrap());
        assert_eq!((up.kind(), up.reason), (StepUpKind::Totp, StepUpReason::SecondFactor));
        let wrong = StepUpAnswer::Totp(SecretString::new("000000".into()));
        assert!(env.wallet.complete_login(&up.ticket, wrong, device(1)).await.is_err());
        let right = StepUpAnswer::Totp(SecretString::new(totp_now(&env, &enrollment)));
        env.wallet.complete_login(&up.ticket, right, device(1)).await.unwrap();
        // A recovery code works once.
        let up = step_up(env.login(&p, PASSWORD, 1).await.unwrap());
        let rc = enrollment.recovery_codes[0].expose().to_string();
        let rc_answer = || StepUpAnswer::RecoveryCode(SecretString::new(rc.clone()));
        env.wallet.complete_login(&up.ticket, rc_answer(), device(1)).await.unwrap();
        let up = step_up(env.login(&p, PASSWORD, 1).await.unwrap());
        assert!(env.wallet.complete_login(&up.ticket, rc_answer(), device(1)).await.is_err());
        // Turning it off needs a current code.
        env.advance(30);
        env.wallet.disable_totp(&me, &totp_now(&env, &enrollment)).await.unwrap();
        session(env.login(&p, PASSWORD, 1).await.unwrap());
        assert!(env.notices_to(user).iter().any(|b| b.contains("authenticator app was turned off")));
    })
    .await;
}

#[tokio::test]
async fn signing_a_device_out_revokes_its_sessions_at_once() {
    each_backend("signing_a_device_out_revokes_its_sessions_at_once", |db| async move {
        let env = Env::with(db, config_with(NewDeviceStepUp::None)).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let one = env.session(&p, 1).await.caller();
        let two = env.session(&p, 2).await;
        let three = env.session(&p, 3).await.caller();
        let devices = env.wallet.devices(&one).await.unwrap();
        assert_eq!(devices.len(), 3);
        let n = env.wallet.sign_out_device(&one, DeviceId::from_u128(2)).await.unwrap();
        assert_eq!(n, 1);
        let e = env.wallet.profile(&two.caller()).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::TokenRevoked)), "{e}");
        assert!(env.wallet.refresh(two.tokens.refresh_token.expose(), None).await.is_err());
        assert!(matches!(
            env.wallet.sign_out_device(&one, DeviceId::from_u128(99)).await,
            Err(WalletError::DeviceNotFound(_))
        ));
        // All others: three goes, one stays.
        env.wallet.sign_out_other_devices(&one).await.unwrap();
        assert!(env.wallet.profile(&three).await.is_err());
        assert!(env.wallet.profile(&one).await.is_ok());
        assert!(env.notices_to(user).iter().any(|b| b.contains("was signed out")));
        assert!(env.audit_kinds(user).await.iter().any(|k| k == "token.device_signed_out"));
    })
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_logout_ends_the_device_session() {
    each_backend("refresh_rotates_and_logout_ends_the_device_session", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        env.register(&p).await;
        let s = env.session(&p, 1).await;
        let shown = format!("{s:?} {:?}", s.caller());
        assert!(!shown.contains(s.tokens.access_token.expose()) && !shown.contains(s.tokens.refresh_token.expose()));
        let fresh = env.wallet.refresh(s.tokens.refresh_token.expose(), None).await.unwrap();
        let me = Caller::of(&fresh);
        assert!(env.wallet.profile(&me).await.is_ok());
        env.wallet.logout(&me).await.unwrap();
        assert!(env.wallet.profile(&me).await.is_err());
        assert!(env.wallet.refresh(fresh.refresh_token.expose(), None).await.is_err());
    })
    .await;
}
