//! The journeys of DESIGN.md on the identity side, step by step.

use super::*;

#[tokio::test]
async fn register_verify_login_kyc_payment_password_and_class_upgrades() {
    let env = env().await;
    let p = phone("13812345678");
    // Register: pending until the contact is verified; login is refused meanwhile.
    let u = env.id.register(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
    assert_eq!(u.status, UserStatus::PendingVerification);
    assert_eq!(u.contacts[0].masked, "+86 138****5678");
    assert!(matches!(env.id.login(&p, &pw(PASSWORD), ctx(1)).await, Err(IdentityError::LoginFailed)));
    let active = env.id.mark_contact_verified(u.id, &p, env.now(), ctx(1)).await.unwrap();
    assert_eq!(active.status, UserStatus::Active);
    assert!(active.contacts[0].verified_at.is_some());
    // Verifying again is a no-op.
    assert_eq!(env.id.mark_contact_verified(u.id, &p, env.now(), ctx(1)).await.unwrap(), active);
    let login = env.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
    assert_eq!(login, LoginOutcome { user: u.id, second_factor: false, must_change_password: false, frozen: false });
    assert_eq!(env.id.find_user(&p).await.unwrap(), Some(u.id));

    // Real-name by ID card: draft → submitted (checks pass) → approved; class I with two channels.
    let app = env.id.start_application(u.id, &id_card_request(&env, ID_F, "王小明", "live"), ctx(1)).await.unwrap();
    assert_eq!(app.state, ApplicationState::Draft);
    assert_eq!(app.summary.id_masked.as_deref(), Some("110105********002X"));
    let sub = env.id.submit_application(app.id, ctx(1)).await.unwrap();
    assert_eq!(sub.state, ApplicationState::Submitted);
    assert_eq!(sub.checks.len(), 2);
    assert!(sub.checks.iter().all(|c| c.passed));
    assert_eq!(env.id.review_queue(10).await.unwrap(), vec![sub.clone()]);
    let ok = env.id.review_application(app.id, ReviewDecision::Approve, "reviewer-7", ctx(1)).await.unwrap();
    assert_eq!(ok.state, ApplicationState::Approved);
    assert_eq!(ok.reviewer.as_deref(), Some("reviewer-7"));
    assert!(env.id.review_queue(10).await.unwrap().is_empty());
    assert_eq!(env.id.account_class(u.id).await.unwrap(), Some(AccountClass::I));
    let cap = env.id.class_cap(u.id).await.unwrap().unwrap();
    assert_eq!((cap.amount.minor(), cap.period), (100_000, CapPeriod::SinceOpening));
    let view = env.id.user(u.id).await.unwrap().real_name.unwrap();
    assert_eq!((view.name_masked.as_str(), view.id_masked.as_deref()), ("王**", Some("110105********002X")));
    let identity = env.id.verified_identity(u.id).await.unwrap().unwrap();
    assert_eq!(identity.id_number.unwrap().expose(), ID_F);

    // Payment password: trivial ones refused (birth date 1949-12-31 → 491231), a good one set and checked.
    let birth = PaymentPassword::parse("491231").unwrap();
    assert!(matches!(
        env.id.set_payment_password(u.id, &birth, ctx(1)).await,
        Err(IdentityError::PaymentPasswordRefused(PaymentPasswordError::BirthDate))
    ));
    let pay = PaymentPassword::parse("815926").unwrap();
    env.id.set_payment_password(u.id, &pay, ctx(1)).await.unwrap();
    env.id.verify_payment_password(u.id, &pay, ctx(1)).await.unwrap();
    assert!(env.id.user(u.id).await.unwrap().payment_password_set);

    // Bank cards of three more issuers: class II at three channels, class III at five.
    for (card, class) in
        [(CARD_1, AccountClass::II), ("6212345678901265", AccountClass::II), ("4111111111111111", AccountClass::III)]
    {
        let id = if card.starts_with('4') { None } else { Some(ID_F) };
        let req = card_request(card, "王小明", "13812345678", id, env.now());
        let a = env.id.start_application(u.id, &req, ctx(1)).await.unwrap();
        assert_eq!(env.id.submit_application(a.id, ctx(1)).await.unwrap().state, ApplicationState::Submitted);
        env.id.review_application(a.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
        assert_eq!(env.id.account_class(u.id).await.unwrap(), Some(class), "after {card}");
    }
    assert_eq!(env.id.channels(u.id).await.unwrap().len(), 5);
    assert_eq!(env.id.record_in_person_verification(u.id, "branch-12", ctx(1)).await.unwrap(), AccountClass::III);
    assert_eq!(env.id.channels(u.id).await.unwrap().len(), 6);
    let cards = env.id.bank_cards(u.id).await.unwrap();
    assert_eq!(cards.len(), 3);
    assert_eq!(cards[0].masked, "6222***********0128");
    assert_eq!(env.id.bank_card_number(u.id, cards[0].application).await.unwrap().expose(), CARD_1);
    assert_eq!(env.id.applications(u.id).await.unwrap().len(), 4);

    let kinds = env.audit_kinds(u.id).await;
    for k in [
        "identity.registered",
        "identity.contact_verified",
        "identity.login_succeeded",
        "identity.kyc_approved",
        "identity.payment_password_set",
        "identity.payment_password_ok",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn password_change_and_recovery() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let new = pw("violet harbor seven lanterns");
    env.id.change_password(user, &pw(PASSWORD), &new, ctx(1)).await.unwrap();
    assert!(matches!(env.id.login(&p, &pw(PASSWORD), ctx(1)).await, Err(IdentityError::LoginFailed)));
    env.id.login(&p, &new, ctx(1)).await.unwrap();
    // Recovery: the facade checked a code sent to the verified phone.
    let reset = pw("quiet meadow under amber skies");
    let auth = ResetAuthorization { contact: p.clone(), verified_at: env.now() };
    env.id.reset_password(user, &reset, &auth, ctx(2)).await.unwrap();
    env.id.login(&p, &reset, ctx(2)).await.unwrap();
    let kinds = env.audit_kinds(user).await;
    assert!(kinds.contains(&"identity.password_changed".to_string()));
    assert!(kinds.contains(&"identity.password_reset".to_string()));
}

#[tokio::test]
async fn second_factor_allows_eight_characters_and_expiry_is_optional() {
    let mut config = fast();
    config.password_policy.max_age = Some(Duration::from_secs(90 * 86_400));
    let env = env_with(Database::open_in_memory().unwrap(), config).await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let short = pw("k7#Vq9!m");
    assert!(matches!(
        env.id.change_password(user, &pw(PASSWORD), &short, ctx(1)).await,
        Err(IdentityError::Password(PasswordRejection::TooShort { min: 15, .. }))
    ));
    env.id.set_second_factor(user, true, ctx(1)).await.unwrap();
    env.id.change_password(user, &pw(PASSWORD), &short, ctx(1)).await.unwrap();
    assert!(env.id.login(&p, &short, ctx(1)).await.unwrap().second_factor);
    // With an 8-character password the second factor cannot be turned off.
    assert!(matches!(
        env.id.set_second_factor(user, false, ctx(1)).await,
        Err(IdentityError::SecondFactorRequired { min_chars: 15 })
    ));
    env.advance(Duration::from_secs(91 * 86_400));
    assert!(env.id.login(&p, &short, ctx(1)).await.unwrap().must_change_password);
}

#[tokio::test]
async fn contacts_add_change_and_remove() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let e = email("Wang@Example.com");
    env.id.add_contact(user, &e, ctx(1)).await.unwrap();
    // Unverified contacts are not login names yet.
    assert!(matches!(env.id.login(&e, &pw(PASSWORD), ctx(1)).await, Err(IdentityError::LoginFailed)));
    env.id.mark_contact_verified(user, &e, env.now(), ctx(1)).await.unwrap();
    env.id.login(&email("wang@example.com"), &pw(PASSWORD), ctx(1)).await.unwrap();
    // Change the phone: both old and new verified.
    let p2 = phone("+86 139 0000 1111");
    env.id.change_contact(user, &p, &p2, env.now(), OldContactProof::Verified { at: env.now() }, ctx(1)).await.unwrap();
    assert_eq!(env.id.find_user(&p).await.unwrap(), None);
    assert_eq!(env.id.find_user(&p2).await.unwrap(), Some(user));
    let contacts = env.id.contacts(user).await.unwrap();
    assert_eq!(contacts.iter().map(|c| c.value.clone()).collect::<Vec<_>>(), vec![p2.clone(), e.clone()]);
    // The old phone is free for another account now.
    env.active_user(&p).await;
    env.id.remove_contact(user, &e, ctx(1)).await.unwrap();
    assert!(matches!(env.id.remove_contact(user, &p2, ctx(1)).await, Err(IdentityError::LastVerifiedContact)));
    let kinds = env.audit_kinds(user).await;
    assert!(kinds.contains(&"identity.contact_changed".to_string()));
}

#[tokio::test]
async fn lost_contact_replaced_with_payment_password_or_operator() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.verified_user(&p).await;
    let pay = PaymentPassword::parse("815926").unwrap();
    env.id.set_payment_password(user, &pay, ctx(1)).await.unwrap();
    let p2 = phone("13900001111");
    env.id
        .change_contact(user, &p, &p2, env.now(), OldContactProof::UnreachableWithPaymentPassword(pay), ctx(1))
        .await
        .unwrap();
    let p3 = phone("13700002222");
    let op = OldContactProof::UnreachableOperatorApproved { operator: "support-3".into() };
    env.id.change_contact(user, &p2, &p3, env.now(), op, ctx(1)).await.unwrap();
    assert_eq!(env.id.find_user(&p3).await.unwrap(), Some(user));
    // Without real-name verification the payment password cannot stand in.
    let other = env.active_user(&phone("13600003333")).await;
    let r = env
        .id
        .change_contact(
            other,
            &phone("13600003333"),
            &phone("13600004444"),
            env.now(),
            OldContactProof::UnreachableWithPaymentPassword(PaymentPassword::parse("815926").unwrap()),
            ctx(1),
        )
        .await;
    assert!(matches!(r, Err(IdentityError::FactInvalid(_))), "{r:?}");
}

#[tokio::test]
async fn freeze_unfreeze_ban_and_close_are_recorded() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let op = Actor::Operator("li".into());
    let f = env
        .id
        .change_status(user, StatusAction::Freeze, "reported abnormal transaction", Actor::User, ctx(1))
        .await
        .unwrap();
    assert_eq!(f.status, UserStatus::Frozen);
    assert!(env.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap().frozen);
    // Closing a frozen account is refused; unfreeze first.
    let zero = ZeroBalanceConfirmed { checked_at: env.now() };
    assert!(matches!(
        env.id.close_account(user, zero, "leaving", ctx(1)).await,
        Err(IdentityError::StatusChangeNotAllowed { from: UserStatus::Frozen, action: StatusAction::Close })
    ));
    env.id.change_status(user, StatusAction::Unfreeze, "case closed", op.clone(), ctx(1)).await.unwrap();
    env.advance(Duration::from_secs(600));
    assert!(matches!(env.id.close_account(user, zero, "leaving", ctx(1)).await, Err(IdentityError::FactStale { .. })));
    let closed =
        env.id.close_account(user, ZeroBalanceConfirmed { checked_at: env.now() }, "leaving", ctx(1)).await.unwrap();
    assert_eq!(closed.status, UserStatus::Closed);
    // The closed account's phone is released: it no longer logs in, and can register again.
    let r = env.id.login(&p, &pw(PASSWORD), ctx(1)).await;
    assert!(matches!(r, Err(IdentityError::LoginFailed)), "{r:?}");
    assert_eq!(env.id.find_user(&p).await.unwrap(), None);
    let again = env.active_user(&p).await;
    assert_ne!(again, user);
    let history = env.id.status_history(user).await.unwrap();
    let steps: Vec<_> = history.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        steps,
        vec![
            (UserStatus::PendingVerification, UserStatus::Active),
            (UserStatus::Active, UserStatus::Frozen),
            (UserStatus::Frozen, UserStatus::Active),
            (UserStatus::Active, UserStatus::Closed),
        ]
    );
    assert_eq!(history[2].actor, op);
    assert_eq!(history[1].reason, "reported abnormal transaction");
    // Ban and lift.
    let other = env.active_user(&phone("13900001111")).await;
    env.id.change_status(other, StatusAction::Ban, "fraud", op.clone(), ctx(1)).await.unwrap();
    env.id.change_status(other, StatusAction::LiftBan, "mistake", op, ctx(1)).await.unwrap();
}

#[tokio::test]
async fn audit_trail_is_open_to_other_domains_and_pages_newest_first() {
    let env = env().await;
    let user = env.active_user(&phone("13812345678")).await;
    let kinds = [AuditKind::CERTIFICATE_ISSUED, AuditKind::TOKEN_ISSUED, AuditKind::new("ledger.refund_made").unwrap()];
    for (i, k) in kinds.iter().enumerate() {
        env.advance(Duration::from_secs(1));
        let e = AuditEvent::new(env.now(), Some(user), k.clone(), ctx(9), format!("event {i}"));
        env.id.record_audit(vec![e]).await.unwrap();
    }
    let all = env.id.audit_for_user(user, None, 500).await.unwrap();
    assert!(all.next.is_none());
    let total = all.records.len();
    assert_eq!(all.records[0].event.kind.as_str(), "ledger.refund_made");
    assert_eq!(all.records[0].event.context, ctx(9));
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = env.id.audit_for_user(user, cursor, 2).await.unwrap();
        assert!(page.records.len() <= 2);
        seen.extend(page.records.iter().map(|r| r.seq));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all.records.iter().map(|r| r.seq).collect::<Vec<_>>());
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(seen.len(), total);
    assert!(env.id.audit_recent(None, 1).await.unwrap().next.is_some());
}
