//! The store conformance suite: the same tests on SQLite and PostgreSQL (`each_backend`), on the store
//! trait directly and through the service.

use qianbao_identity::store::{ApplicationWrite, GuardKey, IdClaim, UserWrite};
use qianbao_identity::{ApplicationSummary, ChannelRecord};
use qianbao_store::testing::each_backend;

use super::*;

fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(START + secs)
}

fn contact(n: u8, verified: bool) -> qianbao_identity::store::ContactRecord {
    qianbao_identity::store::ContactRecord {
        kind: ContactKind::Phone,
        digest: qianbao_identity::store::LookupDigest([n; 32]),
        sealed: vec![n, 1, 2, 3],
        masked: format!("+86 138****{n:04}"),
        added_at: t(1),
        verified_at: verified.then(|| t(2)),
    }
}

fn user(n: u128, contacts: Vec<qianbao_identity::store::ContactRecord>) -> qianbao_identity::store::UserRecord {
    qianbao_identity::store::UserRecord {
        id: UserId::from_u128(n),
        version: 1,
        created_at: t(0),
        status: UserStatus::Active,
        status_at: t(0),
        status_reason: "test".into(),
        second_factor: false,
        password: qianbao_identity::store::PasswordHash("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into()),
        password_set_at: t(0),
        password_single_factor_ok: true,
        payment_password: None,
        payment_password_set_at: None,
        class: None,
        real_name: None,
        false_submissions: 0,
        contacts,
    }
}

fn insert(u: &qianbao_identity::store::UserRecord) -> UserWrite {
    let mut w = UserWrite::new(u.clone(), None);
    w.contacts_changed = true;
    w
}

fn bump(u: &qianbao_identity::store::UserRecord) -> (qianbao_identity::store::UserRecord, Option<u64>) {
    let mut n = u.clone();
    n.version += 1;
    (n, Some(u.version))
}

fn application(n: u128, user: UserId) -> qianbao_identity::store::ApplicationRecord {
    qianbao_identity::store::ApplicationRecord {
        id: ApplicationId::from_u128(n),
        user,
        version: 1,
        method: KycMethod::IdCard,
        state: ApplicationState::Draft,
        created_at: t(n as u64),
        submitted_at: None,
        decided_at: None,
        payload: vec![9; 40],
        id_digest: Some(qianbao_identity::store::LookupDigest([7; 32])),
        card_digest: None,
        summary: ApplicationSummary {
            name_masked: "王**".into(),
            id_masked: Some("110105********002X".into()),
            card_masked: None,
            card_scheme: None,
            phone_masked: None,
        },
        checks: vec![],
        reviewer: None,
    }
}

#[tokio::test]
async fn store_conformance_users_contacts_and_versions() {
    each_backend("identity store: users", |db| async move {
        let s = IdentityDb::open(db.clone()).await.unwrap();
        IdentityDb::open(db).await.unwrap(); // migrations are idempotent
        let mut a = user(1, vec![contact(1, true), contact(2, false)]);
        a.real_name = Some(qianbao_identity::store::RealNameRecord {
            sealed: vec![1; 30],
            id_digest: Some(qianbao_identity::store::LookupDigest([7; 32])),
            name_masked: "王**".into(),
            id_masked: Some("110105********002X".into()),
            verified_at: t(5),
        });
        a.class = Some(AccountClass::II);
        a.payment_password = Some(qianbao_identity::store::PasswordHash("$argon2id$x".into()));
        a.payment_password_set_at = Some(t(6));
        a.second_factor = true;
        s.write_user(insert(&a)).await.unwrap();
        assert_eq!(s.user(a.id).await.unwrap(), Some(a.clone()));
        assert!(matches!(s.write_user(insert(&a)).await, Err(IdentityError::Conflict(_))));
        // Only verified contacts are looked up; a verified contact is on one account only.
        assert_eq!(s.user_by_contact(contact(1, true).digest).await.unwrap(), Some(a.id));
        assert_eq!(s.user_by_contact(contact(2, false).digest).await.unwrap(), None);
        let b = user(2, vec![contact(2, false), contact(3, true)]);
        s.write_user(insert(&b)).await.unwrap(); // an unverified duplicate is fine
        let taken = user(3, vec![contact(1, true)]);
        assert!(matches!(s.write_user(insert(&taken)).await, Err(IdentityError::ContactTaken)));
        assert_eq!(s.user(taken.id).await.unwrap(), None, "a refused write leaves nothing behind");
        // Compare-and-set on the version.
        let (mut a2, v) = bump(&a);
        a2.status = UserStatus::Frozen;
        s.write_user(UserWrite::new(a2.clone(), v)).await.unwrap();
        let stale = UserWrite::new(a2.clone(), v);
        assert!(matches!(s.write_user(stale).await, Err(IdentityError::Conflict(_))));
        assert_eq!(s.user(a.id).await.unwrap().unwrap().status, UserStatus::Frozen);
        // Replacing contacts: verifying b's copy of contact 2 works once a's copy is unverified only.
        let (mut b2, v) = bump(&b);
        b2.contacts[0].verified_at = Some(t(9));
        let mut w = UserWrite::new(b2.clone(), v);
        w.contacts_changed = true;
        s.write_user(w).await.unwrap();
        assert_eq!(s.user_by_contact(contact(2, false).digest).await.unwrap(), Some(b.id));
        let (mut a3, v) = bump(&a2);
        a3.contacts[1].verified_at = Some(t(9));
        let mut w = UserWrite::new(a3, v);
        w.contacts_changed = true;
        assert!(matches!(s.write_user(w).await, Err(IdentityError::ContactTaken)));
        assert_eq!(s.user(a.id).await.unwrap().unwrap(), a2, "the whole write rolled back");
    })
    .await;
}

#[tokio::test]
async fn store_conformance_applications_channels_claims_and_history() {
    each_backend("identity store: applications", |db| async move {
        let s = IdentityDb::open(db).await.unwrap();
        let u = user(1, vec![contact(1, true)]);
        s.write_user(insert(&u)).await.unwrap();
        let (u2, v) = bump(&u);
        let mut w = UserWrite::new(u2.clone(), v);
        let app = application(10, u.id);
        w.application = Some(ApplicationWrite { record: app.clone(), expected_version: None });
        w.status_change = Some(StatusChange {
            user: u.id,
            at: t(3),
            from: UserStatus::Active,
            to: UserStatus::Frozen,
            reason: "r".into(),
            actor: Actor::Operator("op".into()),
        });
        s.write_user(w).await.unwrap();
        assert_eq!(s.application(app.id).await.unwrap(), Some(app.clone()));
        assert_eq!(s.applications_in_state("draft", 10).await.unwrap(), vec![app.clone()]);
        // Update with compare-and-set; a stale one conflicts and changes nothing.
        let mut next = app.clone();
        next.version = 2;
        next.state = ApplicationState::Rejected(Rejection { code: RejectionCode::FaceMismatch, note: "n".into() });
        next.checks = vec![CheckOutcome {
            kind: CheckKind::Face,
            passed: false,
            detail: "d".into(),
            at: t(4),
            channel: None,
            rejection: Some(RejectionCode::FaceMismatch),
        }];
        next.decided_at = Some(t(4));
        let (u3, v) = bump(&u2);
        let mut w = UserWrite::new(u3.clone(), v);
        w.application = Some(ApplicationWrite { record: next.clone(), expected_version: Some(1) });
        s.write_user(w).await.unwrap();
        assert_eq!(s.applications_for_user(u.id).await.unwrap(), vec![next.clone()]);
        let (u4, v) = bump(&u3);
        let mut w = UserWrite::new(u4.clone(), v);
        w.application = Some(ApplicationWrite { record: next.clone(), expected_version: Some(1) });
        assert!(matches!(s.write_user(w).await, Err(IdentityError::Conflict(_))));
        assert_eq!(s.user(u.id).await.unwrap().unwrap().version, u3.version);
        // Channels are granted once; ID claims stop at the limit (the holder may claim again).
        let ch = |c: VerificationChannel| ChannelRecord { channel: c, application: Some(app.id), at: t(5) };
        let mut w = UserWrite::new(u4.clone(), v);
        w.channels = vec![ch(VerificationChannel::IdAuthority), ch(VerificationChannel::Bank("ICBC".into()))];
        w.id_claim = Some(IdClaim { digest: qianbao_identity::store::LookupDigest([7; 32]), limit: 1 });
        s.write_user(w).await.unwrap();
        let (u5, v) = bump(&u4);
        let mut w = UserWrite::new(u5.clone(), v);
        w.channels = vec![ch(VerificationChannel::IdAuthority)];
        w.id_claim = Some(IdClaim { digest: qianbao_identity::store::LookupDigest([7; 32]), limit: 1 });
        s.write_user(w).await.unwrap();
        assert_eq!(s.channels(u.id).await.unwrap().len(), 2);
        assert_eq!(s.id_holders(qianbao_identity::store::LookupDigest([7; 32])).await.unwrap(), 1);
        let other = user(2, vec![]);
        let mut w = insert(&other);
        w.id_claim = Some(IdClaim { digest: qianbao_identity::store::LookupDigest([7; 32]), limit: 1 });
        assert!(matches!(s.write_user(w).await, Err(IdentityError::IdNumberLimitReached { limit: 1 })));
        assert_eq!(s.user(other.id).await.unwrap(), None);
        let history = s.status_history(u.id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].actor, Actor::Operator("op".into()));
    })
    .await;
}

#[tokio::test]
async fn store_conformance_guards_and_audit() {
    each_backend("identity store: guards and audit", |db| async move {
        let s = IdentityDb::open(db).await.unwrap();
        let (k1, k2) = (GuardKey([1; 32]), GuardKey([2; 32]));
        let acct = GuardPolicy::LOGIN_ACCOUNT;
        let src = GuardPolicy::LOGIN_SOURCE;
        for i in 0..3 {
            let r = s.guard_reserve(vec![(k1, acct), (k2, src)], t(0), None).await.unwrap();
            assert_eq!(r.decision, GuardDecision::Allow);
            assert_eq!(r.counted.iter().map(|c| c.failures).collect::<Vec<_>>(), vec![i + 1, i + 1]);
        }
        let refused = AuditEvent::new(t(0), None, AuditKind::LOGIN_THROTTLED, RequestContext::NONE, "refused");
        let r = s.guard_reserve(vec![(k2, src), (k1, acct)], t(0), Some(refused)).await.unwrap();
        assert_eq!(r.decision, GuardDecision::Throttled { until: t(1) });
        assert!(r.counted.is_empty());
        assert_eq!(s.guard_state(k1).await.unwrap().failures, 3);
        assert_eq!(s.audit_all(None, 10).await.unwrap().len(), 1);
        s.guard_settle(vec![k1], vec![]).await.unwrap();
        assert_eq!(s.guard_state(k1).await.unwrap(), GuardState::default());
        assert_eq!(s.guard_state(k2).await.unwrap().failures, 3);
        assert_eq!(s.prune_guards(t(1)).await.unwrap(), 0, "a source counter is kept for 24 hours");
        let k3 = GuardKey([3; 32]);
        s.guard_reserve(vec![(k3, acct)], t(0), None).await.unwrap();
        assert_eq!(s.prune_guards(t(86_400)).await.unwrap(), 1);
        assert_eq!(s.guard_state(k2).await.unwrap(), GuardState::default());
        assert_eq!(s.guard_state(k3).await.unwrap().failures, 1, "an account's counter is never pruned");
        // Audit: per user, newest first, with a cursor.
        let u = UserId::from_u128(5);
        let ctx = RequestContext::new(Some(DeviceId::from_u128(3)), Some("2001:db8::1".parse().unwrap()));
        let events: Vec<_> =
            (0..5).map(|i| AuditEvent::new(t(i), Some(u), AuditKind::LOGIN_FAILED, ctx, format!("e{i}"))).collect();
        s.append_audit(events.clone()).await.unwrap();
        let all = s.audit_for_user(u, None, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
            events.iter().rev().cloned().collect::<Vec<_>>()
        );
        let older = s.audit_for_user(u, Some(all[1].seq), 10).await.unwrap();
        assert_eq!(older.len(), 3);
        assert_eq!(older[0].event.detail, "e2");
        assert_eq!(s.audit_all(None, 2).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn service_on_every_backend() {
    each_backend("identity service", |db| async move {
        let env = env_with(db, fast()).await;
        let p = phone("13812345678");
        let user = env.verified_user(&p).await;
        assert_eq!(env.id.account_class(user).await.unwrap(), Some(AccountClass::I));
        for i in 0..3 {
            assert!(matches!(env.id.login(&p, &pw("wrong"), ctx(i)).await, Err(IdentityError::LoginFailed)));
        }
        assert!(matches!(
            env.id.login(&p, &pw(PASSWORD), ctx(9)).await,
            Err(IdentityError::LoginThrottled { retry_after_secs: 1 })
        ));
        env.advance(Duration::from_secs(1));
        env.id.login(&p, &pw(PASSWORD), ctx(9)).await.unwrap();
        // Concurrent guesses from many devices: the counters are updated atomically on every backend.
        env.advance(Duration::from_secs(3600));
        let mut tasks = Vec::new();
        for device in 0..24u128 {
            let (id, p) = (env.id.clone(), p.clone());
            tasks.push(tokio::spawn(async move { id.login(&p, &pw("concurrent guess"), ctx(300 + device)).await }));
        }
        let mut failed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Err(IdentityError::LoginFailed) => failed += 1,
                Err(IdentityError::LoginThrottled { .. }) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(failed, 3);
        let pay = PaymentPassword::parse("815926").unwrap();
        env.id.set_payment_password(user, &pay, ctx(1)).await.unwrap();
        env.id.verify_payment_password(user, &pay, ctx(1)).await.unwrap();
        assert!(env.audit_kinds(user).await.len() > 10);
    })
    .await;
}

#[tokio::test]
async fn store_conformance_concurrent_id_claims_stop_at_the_limit() {
    each_backend("identity store: concurrent id claims", |db| async move {
        let s = IdentityDb::open(db).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..8u128 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut w = insert(&user(100 + n, vec![]));
                w.id_claim = Some(IdClaim { digest: qianbao_identity::store::LookupDigest([5; 32]), limit: 3 });
                s.write_user(w).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(IdentityError::IdNumberLimitReached { limit: 3 }) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 3);
        assert_eq!(s.id_holders(qianbao_identity::store::LookupDigest([5; 32])).await.unwrap(), 3);
    })
    .await;
}
