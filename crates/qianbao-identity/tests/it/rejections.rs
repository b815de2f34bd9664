//! Every rejection: a typed error, and the account unchanged.

use super::*;

/// Runs `f`, expects an error matching `check`, and asserts the user's view did not change.
macro_rules! refused {
    ($env:expr, $user:expr, $call:expr, $pat:pat) => {{
        let before = $env.id.user($user).await.unwrap();
        let r = $call.await;
        assert!(matches!(r, Err($pat)), "expected {}, got {:?}", stringify!($pat), r);
        assert_eq!($env.id.user($user).await.unwrap(), before, "state changed by a rejected request");
    }};
}

#[tokio::test]
async fn registration_rejections() {
    let env = env().await;
    let p = phone("13812345678");
    for (bad, want) in
        [("short pass", "too_short"), ("passwordpassword123", "too_common"), ("1234567890123456", "too_common")]
    {
        let e = env.id.register(&p, &pw(bad), ctx(1)).await.unwrap_err();
        assert_eq!(e.code(), "password_refused", "{bad}");
        assert!(e.to_string().contains(if want == "too_short" { "at least 15" } else { "too common" }), "{e}");
    }
    // The password may not be built from the phone number.
    assert!(matches!(env.id.register(&p, &pw("13812345678138123"), ctx(1)).await, Err(IdentityError::Password(_))));
    assert_eq!(env.id.find_user(&p).await.unwrap(), None);
    assert!(env.id.audit_recent(None, 10).await.unwrap().records.is_empty());
    let user = env.active_user(&p).await;
    assert!(matches!(env.id.register(&p, &pw(PASSWORD), ctx(1)).await, Err(IdentityError::ContactTaken)));
    assert!(matches!(env.id.user(UserId::from_u128(42)).await, Err(IdentityError::UserNotFound(_))));
    let _ = user;
}

#[tokio::test]
async fn contact_rejections() {
    let env = env().await;
    let p = phone("13812345678");
    // Two pending registrations of the same phone: the first to verify wins.
    let a = env.id.register(&p, &pw(PASSWORD), ctx(1)).await.unwrap().id;
    let b = env.id.register(&email("b@example.com"), &pw(PASSWORD), ctx(1)).await.unwrap().id;
    env.id.add_contact(b, &p, ctx(1)).await.unwrap_err(); // pending accounts cannot add contacts
    env.id.mark_contact_verified(a, &p, env.now(), ctx(1)).await.unwrap();
    let c = env.id.register(&phone("13900001111"), &pw(PASSWORD), ctx(1)).await.unwrap().id;
    env.id.mark_contact_verified(c, &phone("13900001111"), env.now(), ctx(1)).await.unwrap();
    env.id.add_contact(c, &p, ctx(1)).await.unwrap();
    let mut before = env.id.user(c).await.unwrap();
    assert!(matches!(env.id.mark_contact_verified(c, &p, env.now(), ctx(1)).await, Err(IdentityError::ContactTaken)));
    assert_eq!(env.id.user(c).await.unwrap(), before);
    refused!(
        env,
        a,
        env.id.mark_contact_verified(a, &phone("13700000000"), env.now(), ctx(1)),
        IdentityError::ContactNotFound
    );
    let old = Timestamp::from_unix_secs(START - 3600);
    refused!(env, a, env.id.mark_contact_verified(a, &p, old, ctx(1)), IdentityError::FactStale { max_age_secs: 300 });
    let future = env.now().saturating_add(Duration::from_secs(3600));
    refused!(env, a, env.id.mark_contact_verified(a, &p, future, ctx(1)), IdentityError::FactStale { .. });
    refused!(env, a, env.id.add_contact(a, &p, ctx(1)), IdentityError::ContactExists);
    for n in 0..3 {
        env.id.add_contact(a, &email(&format!("x{n}@example.com")), ctx(1)).await.unwrap();
    }
    refused!(
        env,
        a,
        env.id.add_contact(a, &email("x9@example.com"), ctx(1)),
        IdentityError::TooManyContacts { max: 4 }
    );
    let now = env.now();
    let proof = || OldContactProof::Verified { at: now };
    refused!(
        env,
        a,
        env.id.change_contact(a, &phone("13700000000"), &phone("13600000000"), now, proof(), ctx(1)),
        IdentityError::ContactNotFound
    );
    refused!(
        env,
        a,
        env.id.change_contact(a, &p, &email("x0@example.com"), now, proof(), ctx(1)),
        IdentityError::ContactExists
    );
    refused!(
        env,
        a,
        env.id.change_contact(a, &p, &phone("13600000000"), old, proof(), ctx(1)),
        IdentityError::FactStale { .. }
    );
    refused!(
        env,
        a,
        env.id.change_contact(a, &p, &phone("13600000000"), now, OldContactProof::Verified { at: old }, ctx(1)),
        IdentityError::FactStale { .. }
    );
    // The new contact is verified on another account.
    refused!(
        env,
        a,
        env.id.change_contact(a, &p, &phone("13900001111"), now, proof(), ctx(1)),
        IdentityError::ContactTaken
    );
    refused!(env, a, env.id.remove_contact(a, &phone("13700000000"), ctx(1)), IdentityError::ContactNotFound);
    before = env.id.user(b).await.unwrap();
    assert_eq!(before.status, UserStatus::PendingVerification);
}

#[tokio::test]
async fn password_rejections() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let new = pw("violet harbor seven lanterns");
    refused!(
        env,
        user,
        env.id.change_password(user, &pw("not the password!"), &new, ctx(1)),
        IdentityError::WrongPassword
    );
    refused!(
        env,
        user,
        env.id.change_password(user, &pw(PASSWORD), &pw(PASSWORD), ctx(1)),
        IdentityError::Password(PasswordRejection::Unchanged)
    );
    refused!(
        env,
        user,
        env.id.change_password(user, &pw(PASSWORD), &pw("qwertyuiop123456"), ctx(1)),
        IdentityError::Password(PasswordRejection::TooCommon { .. })
    );
    let unverified = ResetAuthorization { contact: phone("13900001111"), verified_at: env.now() };
    refused!(env, user, env.id.reset_password(user, &new, &unverified, ctx(1)), IdentityError::FactInvalid(_));
    let stale = ResetAuthorization { contact: p.clone(), verified_at: Timestamp::from_unix_secs(START - 1000) };
    refused!(env, user, env.id.reset_password(user, &new, &stale, ctx(1)), IdentityError::FactStale { .. });
    env.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
}

#[tokio::test]
async fn payment_password_rejections_and_lock() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.verified_user(&p).await;
    let pay = PaymentPassword::parse("815926").unwrap();
    refused!(env, user, env.id.verify_payment_password(user, &pay, ctx(1)), IdentityError::PaymentPasswordNotSet);
    for (bad, code) in [
        ("111111", PaymentPasswordError::Repeated),
        ("123456", PaymentPasswordError::Sequential),
        ("345678", PaymentPasswordError::Sequential),
        ("231002", PaymentPasswordError::PersonalNumber),
        ("491231", PaymentPasswordError::BirthDate),
    ] {
        let pp = PaymentPassword::parse(bad).unwrap();
        let r = env.id.set_payment_password(user, &pp, ctx(1)).await;
        assert!(matches!(&r, Err(IdentityError::PaymentPasswordRefused(c)) if *c == code), "{bad}: {r:?}");
    }
    assert!(matches!(PaymentPassword::parse("12345"), Err(PaymentPasswordError::Format)));
    env.id.set_payment_password(user, &pay, ctx(1)).await.unwrap();
    refused!(env, user, env.id.set_payment_password(user, &pay, ctx(1)), IdentityError::PaymentPasswordAlreadySet);
    let wrong = PaymentPassword::parse("815927").unwrap();
    for left in (1..5).rev() {
        let r = env.id.verify_payment_password(user, &wrong, ctx(1)).await;
        assert!(matches!(r, Err(IdentityError::PaymentPasswordWrong { tries_left }) if tries_left == left), "{r:?}");
    }
    let lock_until = env.now().saturating_add(Duration::from_secs(3 * 3600));
    let r = env.id.verify_payment_password(user, &wrong, ctx(1)).await;
    assert!(matches!(r, Err(IdentityError::PaymentPasswordLocked { until: Some(t) }) if t == lock_until), "{r:?}");
    // Locked: even the right password is refused, without an Argon2 run.
    let runs = env.id.payment_password_hasher().verifications();
    assert!(matches!(
        env.id.verify_payment_password(user, &pay, ctx(1)).await,
        Err(IdentityError::PaymentPasswordLocked { .. })
    ));
    assert_eq!(env.id.payment_password_hasher().verifications(), runs);
    refused!(
        env,
        user,
        env.id.change_payment_password(user, &pay, &PaymentPassword::parse("270419").unwrap(), ctx(1)),
        IdentityError::PaymentPasswordLocked { .. }
    );
    // The lock ends by itself after three hours.
    env.advance(Duration::from_secs(3 * 3600));
    env.id.verify_payment_password(user, &pay, ctx(1)).await.unwrap();
    // A reset lifts a lock at once.
    for _ in 0..5 {
        let _ = env.id.verify_payment_password(user, &wrong, ctx(1)).await;
    }
    assert!(matches!(env.id.payment_password_guard(user).await.unwrap(), GuardDecision::Locked { .. }));
    let auth = ResetAuthorization { contact: p.clone(), verified_at: env.now() };
    let fresh = PaymentPassword::parse("270419").unwrap();
    env.id.reset_payment_password(user, &fresh, &auth, ctx(1)).await.unwrap();
    env.id.verify_payment_password(user, &fresh, ctx(1)).await.unwrap();
    refused!(
        env,
        user,
        env.id.change_payment_password(user, &fresh, &fresh, ctx(1)),
        IdentityError::PaymentPasswordRefused(PaymentPasswordError::Unchanged)
    );
    env.id.change_payment_password(user, &fresh, &pay, ctx(1)).await.unwrap();
    let kinds = env.audit_kinds(user).await;
    assert!(kinds.iter().filter(|k| *k == "identity.payment_password_wrong").count() >= 10);
    assert!(kinds.contains(&"identity.payment_password_locked".to_string()));
}

#[tokio::test]
async fn status_and_application_rejections() {
    let env = env().await;
    let p = phone("13812345678");
    let pending = env.id.register(&p, &pw(PASSWORD), ctx(1)).await.unwrap().id;
    let req = id_card_request(&env, ID_F, "王小明", "live");
    refused!(
        env,
        pending,
        env.id.start_application(pending, &req, ctx(1)),
        IdentityError::AccountNotActive { status: UserStatus::PendingVerification }
    );
    let zero = ZeroBalanceConfirmed { checked_at: env.now() };
    refused!(
        env,
        pending,
        env.id.close_account(pending, zero, "x", ctx(1)),
        IdentityError::StatusChangeNotAllowed { .. }
    );
    refused!(
        env,
        pending,
        env.id.change_status(pending, StatusAction::Unfreeze, "x", Actor::System, ctx(1)),
        IdentityError::StatusChangeNotAllowed { .. }
    );
    refused!(
        env,
        pending,
        env.id.change_status(pending, StatusAction::Close, "x", Actor::System, ctx(1)),
        IdentityError::Misuse(_)
    );
    refused!(
        env,
        pending,
        env.id.set_payment_password(pending, &PaymentPassword::parse("815926").unwrap(), ctx(1)),
        IdentityError::AccountNotActive { .. }
    );

    let user = env.active_user(&phone("13900001111")).await;
    refused!(env, user, env.id.record_in_person_verification(user, "op", ctx(1)), IdentityError::FactInvalid(_));
    let app = env.id.start_application(user, &req, ctx(1)).await.unwrap();
    refused!(env, user, env.id.start_application(user, &req, ctx(1)), IdentityError::ApplicationOpen(_));
    let r = env.id.review_application(app.id, ReviewDecision::Approve, "rev", ctx(1)).await;
    assert!(matches!(r, Err(IdentityError::ApplicationState { state: "draft", action: "review" })), "{r:?}");
    env.id.submit_application(app.id, ctx(1)).await.unwrap();
    let r = env.id.submit_application(app.id, ctx(1)).await;
    assert!(matches!(r, Err(IdentityError::ApplicationState { state: "submitted", action: "submit" })), "{r:?}");
    assert!(matches!(
        env.id.application(ApplicationId::from_u128(1)).await,
        Err(IdentityError::ApplicationNotFound(_))
    ));
    assert_eq!(env.id.application(app.id).await.unwrap().state, ApplicationState::Submitted);
}
