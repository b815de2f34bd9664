//! Real-name verification: automatic rejections, review, bans for false information, the per-ID limit,
//! unavailable providers.

use super::*;

async fn submit(env: &Env, user: UserId, req: &KycRequest) -> Application {
    let app = env.id.start_application(user, req, ctx(1)).await.unwrap();
    env.id.submit_application(app.id, ctx(1)).await.unwrap()
}

fn rejected(a: &Application) -> RejectionCode {
    match &a.state {
        ApplicationState::Rejected(r) => r.code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn checks_reject_false_information_and_repeated_false_submissions_ban() {
    let env = env().await;
    let user = env.active_user(&phone("13812345678")).await;
    // Liveness failure: rejected, but not counted as false information.
    let a = submit(&env, user, &id_card_request(&env, ID_F, "王小明", "spoof")).await;
    assert_eq!(rejected(&a), RejectionCode::LivenessFailed);
    assert_eq!(a.checks.len(), 2);
    // Wrong name for the number, another person's face, an unknown number: false information.
    let a = submit(&env, user, &id_card_request(&env, ID_F, "王大明", "live")).await;
    assert_eq!(rejected(&a), RejectionCode::IdAuthorityMismatch);
    assert_eq!(a.checks.len(), 1, "the face check is not run after the authority refused");
    let a = submit(&env, user, &id_card_request(&env, ID_F, "王小明", "other-person")).await;
    assert_eq!(rejected(&a), RejectionCode::FaceMismatch);
    assert_eq!(env.id.user(user).await.unwrap().status, UserStatus::Active);
    // A valid number the authority does not know.
    let a = submit(&env, user, &id_card_request(&env, "110105199003071239", "王小明", "live")).await;
    assert_eq!(a.checks[0].detail, "NotFound");
    assert_eq!(rejected(&a), RejectionCode::IdAuthorityMismatch);
    // The third false submission banned the account.
    let u = env.id.user(user).await.unwrap();
    assert_eq!(u.status, UserStatus::Banned);
    let ban = env.id.status_history(user).await.unwrap().pop().unwrap();
    assert_eq!((ban.to, ban.actor), (UserStatus::Banned, Actor::System));
    assert!(ban.reason.contains("3 false real-name submissions"), "{}", ban.reason);
    assert!(matches!(
        env.id.login(&phone("13812345678"), &pw(PASSWORD), ctx(1)).await,
        Err(IdentityError::AccountNotActive { status: UserStatus::Banned })
    ));
}

#[tokio::test]
async fn reviewers_reject_with_reasons() {
    let env = env().await;
    let user = env.active_user(&phone("13812345678")).await;
    let a = submit(&env, user, &id_card_request(&env, ID_F, "王小明", "live")).await;
    let unreadable = Rejection { code: RejectionCode::DocumentsUnreadable, note: "the emblem side is blurred".into() };
    let r = env.id.review_application(a.id, ReviewDecision::Reject(unreadable.clone()), "rev-2", ctx(1)).await.unwrap();
    assert_eq!(r.state, ApplicationState::Rejected(unreadable));
    assert_eq!(env.id.account_class(user).await.unwrap(), None);
    let b = submit(&env, user, &id_card_request(&env, ID_F, "王小明", "live")).await;
    let fraud = Rejection { code: RejectionCode::FalseInformation, note: "photo of a photo".into() };
    env.id.review_application(b.id, ReviewDecision::Reject(fraud), "rev-2", ctx(1)).await.unwrap();
    assert_eq!(env.id.user(user).await.unwrap().status, UserStatus::Active);
    assert!(env.audit_kinds(user).await.iter().filter(|k| *k == "identity.kyc_rejected").count() == 2);
}

#[tokio::test]
async fn bank_card_checks_and_identity_mismatch() {
    let env = env().await;
    let user = env.verified_user(&phone("13812345678")).await;
    // The bank does not know this card for that holder.
    let a = submit(&env, user, &card_request("5555555555554444", "王小明", "13812345678", None, env.now())).await;
    assert_eq!(rejected(&a), RejectionCode::BankMismatch);
    // Another person's card on a verified account: identity mismatch, before any bank check.
    let a = submit(&env, user, &card_request("5555555555554444", "李四", "13900001111", None, env.now())).await;
    assert_eq!(rejected(&a), RejectionCode::IdentityMismatch);
    assert!(a.checks.is_empty());
    // A right card is approved and adds a channel.
    let a = submit(&env, user, &card_request(CARD_1, "王小明", "13812345678", Some(ID_F), env.now())).await;
    assert_eq!(a.checks[0].detail, "four-element check, issuer ICBC");
    env.id.review_application(a.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
    assert_eq!(env.id.channels(user).await.unwrap().len(), 3);
}

#[tokio::test]
async fn one_id_number_verifies_a_bounded_number_of_accounts() {
    let mut config = fast();
    config.kyc.accounts_per_id_max = 1;
    let env = env_with(Database::open_in_memory().unwrap(), config).await;
    let (a, b, c) = (
        env.active_user(&phone("13812345678")).await,
        env.active_user(&phone("13900001111")).await,
        env.active_user(&phone("13700002222")).await,
    );
    let req = id_card_request(&env, ID_F, "王小明", "live");
    // b and c both pass the checks before anyone is approved; approval enforces the limit.
    let app_b = submit(&env, b, &req).await;
    let app_c = submit(&env, c, &req).await;
    assert_eq!(app_c.state, ApplicationState::Submitted);
    env.id.review_application(app_b.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
    let late = env.id.review_application(app_c.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
    assert_eq!(rejected(&late), RejectionCode::IdNumberLimitReached);
    assert_eq!(env.id.account_class(c).await.unwrap(), None);
    assert!(env.id.verified_identity(c).await.unwrap().is_none());
    // Later applications are refused at submission.
    let app_a = submit(&env, a, &req).await;
    assert_eq!(rejected(&app_a), RejectionCode::IdNumberLimitReached);
    // The holder itself can apply again with the same number (a bank card) without hitting the limit.
    let card = submit(&env, b, &card_request(CARD_1, "王小明", "13812345678", Some(ID_F), env.now())).await;
    assert_eq!(card.state, ApplicationState::Submitted);
    env.id.review_application(card.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
    assert_eq!(env.id.user(a).await.unwrap().status, UserStatus::Active, "the limit is not false information");
}

#[tokio::test]
async fn an_unreachable_provider_leaves_the_draft_unchanged() {
    let db = Database::open_in_memory().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let checks =
        ExternalChecks::new(Arc::new(FakeIdAuthority::unavailable()), Arc::new(FakeFaceService), Arc::new(bank()));
    let store = IdentityDb::open(db).await.unwrap();
    let id =
        Identity::open(store, keys(), checks, fast(), clock.clone(), Arc::new(SeededEntropy::new(3))).await.unwrap();
    let p = phone("13812345678");
    let user = id.register(&p, &pw(PASSWORD), ctx(1)).await.unwrap().id;
    id.mark_contact_verified(user, &p, clock.now(), ctx(1)).await.unwrap();
    let req = KycRequest::IdCard(IdCardRequest {
        name: RealName::parse("王小明").unwrap(),
        id_number: ResidentId::parse(ID_F, clock.now()).unwrap(),
        front_photo: PhotoDigest([1; 32]),
        back_photo: PhotoDigest([2; 32]),
        face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: "live".into() },
    });
    let app = id.start_application(user, &req, ctx(1)).await.unwrap();
    let r = id.submit_application(app.id, ctx(1)).await;
    assert!(matches!(&r, Err(IdentityError::CheckUnavailable(e)) if e.provider == "id authority"), "{r:?}");
    assert!(!r.unwrap_err().is_rejection());
    assert_eq!(id.application(app.id).await.unwrap(), app);
}

#[tokio::test]
async fn auto_approval_when_configured() {
    let mut config = fast();
    config.kyc.auto_approve = true;
    let env = env_with(Database::open_in_memory().unwrap(), config).await;
    let user = env.active_user(&phone("13812345678")).await;
    let a = submit(&env, user, &id_card_request(&env, ID_M, "李四", "live")).await;
    assert_eq!(a.state, ApplicationState::Approved);
    assert_eq!(a.reviewer.as_deref(), Some("auto"));
    assert_eq!(env.id.account_class(user).await.unwrap(), Some(AccountClass::I));
    let _ = &env.authority;
}
