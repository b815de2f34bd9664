//! Login brute-force protection (issue 10, item 1): back-off, lock at the limit, unlock by recovery or an
//! operator, the same answer and work for unknown accounts, Argon2 work bounded under many devices.

use super::*;

/// One try; on back-off, moves the clock to when the next try is allowed and says so.
async fn guess(env: &Env, login: &ContactValue, password: &str, device: u128) -> Result<LoginOutcome, IdentityError> {
    env.id.login(login, &pw(password), ctx(device)).await
}

fn retry_after(r: &Result<LoginOutcome, IdentityError>) -> Option<u64> {
    match r {
        Err(IdentityError::LoginThrottled { retry_after_secs }) => Some(*retry_after_secs),
        _ => None,
    }
}

#[tokio::test]
async fn backoff_grows_is_capped_and_success_resets_it() {
    let env = env().await;
    let p = phone("13812345678");
    env.active_user(&p).await;
    let mut waits = Vec::new();
    let mut failures = 0;
    for device in 0..100u128 {
        let r = guess(&env, &p, "wrong password guess", 100 + device).await;
        match retry_after(&r) {
            Some(w) => {
                waits.push(w);
                env.advance(Duration::from_secs(w));
            }
            None => {
                assert!(matches!(r, Err(IdentityError::LoginFailed)), "{r:?}");
                failures += 1;
            }
        }
        if waits.len() == 13 {
            break;
        }
    }
    assert_eq!(failures, 3 + 12);
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
    // A success resets the per-account count: the next failure is free again.
    guess(&env, &p, PASSWORD, 1).await.unwrap();
    assert!(matches!(guess(&env, &p, "wrong", 2).await, Err(IdentityError::LoginFailed)));
    assert!(matches!(guess(&env, &p, "wrong", 3).await, Err(IdentityError::LoginFailed)));
}

#[tokio::test]
async fn unknown_accounts_get_the_same_answer_and_the_same_argon2_work() {
    let env = env().await;
    let p = phone("13812345678");
    env.active_user(&p).await;
    let nobody = phone("13999999999");
    let before = env.id.password_hasher().verifications();
    let known = guess(&env, &p, "wrong password guess", 1).await.unwrap_err();
    assert_eq!(env.id.password_hasher().verifications(), before + 1);
    let unknown = guess(&env, &nobody, "wrong password guess", 2).await.unwrap_err();
    assert_eq!(env.id.password_hasher().verifications(), before + 2);
    assert_eq!(known.to_string(), unknown.to_string());
    assert_eq!(known.code(), unknown.code());
    // Unknown names are throttled and locked exactly like accounts.
    let mut seq_known = Vec::new();
    let mut seq_unknown = Vec::new();
    for i in 0..6 {
        seq_known.push(guess(&env, &p, "x", 10 + i).await.map_err(|e| e.to_string()).err());
        seq_unknown.push(guess(&env, &nobody, "x", 20 + i).await.map_err(|e| e.to_string()).err());
    }
    assert_eq!(seq_known, seq_unknown);
    let failed: Vec<_> =
        env.id.audit_recent(None, 500).await.unwrap().records.into_iter().filter(|r| r.event.user.is_none()).collect();
    assert!(failed.iter().any(|r| r.event.kind == AuditKind::LOGIN_FAILED && r.event.detail.contains("139****9999")));
    assert!(failed.iter().any(|r| r.event.kind == AuditKind::LOGIN_THROTTLED));
}

#[tokio::test]
async fn guessing_from_many_devices_locks_at_the_limit_with_bounded_argon2_work() {
    let env = env().await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    let limit = env.id.config().login.account.lock_after.unwrap();
    assert_eq!(limit, 20);
    let before = env.id.password_hasher().verifications();
    let mut failures = 0;
    let mut refusals = 0;
    // 1,000 guesses, each from a new device and address.
    for device in 0..1_000u128 {
        match guess(&env, &p, &format!("guess number {device}"), 10_000 + device).await {
            Err(IdentityError::LoginFailed) => failures += 1,
            Err(IdentityError::LoginThrottled { retry_after_secs }) => {
                refusals += 1;
                env.advance(Duration::from_secs(retry_after_secs));
            }
            Err(IdentityError::LoginLocked) => refusals += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(failures, limit);
    assert_eq!(env.id.password_hasher().verifications() - before, u64::from(limit), "Argon2 ran once per counted try");
    assert!(refusals >= 1_000 - limit);
    // Locked: the right password is refused too, without Argon2, until recovery.
    assert!(matches!(guess(&env, &p, PASSWORD, 1).await, Err(IdentityError::LoginLocked)));
    env.advance(Duration::from_secs(30 * 86_400));
    assert!(env.id.prune_attempt_counters().await.unwrap() > 0, "address and device counters are forgotten");
    assert!(matches!(guess(&env, &p, PASSWORD, 1).await, Err(IdentityError::LoginLocked)));
    assert_eq!(env.id.password_hasher().verifications() - before, u64::from(limit));
    assert_eq!(env.id.login_guard(user).await.unwrap(), GuardDecision::Locked { until: None });
    let kinds = env.audit_kinds(user).await;
    assert_eq!(kinds.iter().filter(|k| *k == "identity.login_failed").count(), limit as usize);
    assert_eq!(kinds.iter().filter(|k| *k == "identity.login_locked").count(), 1);
    assert!(kinds.iter().filter(|k| *k == "identity.login_throttled").count() >= 980);
    // Recovery unlocks.
    let auth = ResetAuthorization { contact: p.clone(), verified_at: env.now() };
    let new = pw("silver kettle under the bridge");
    env.id.reset_password(user, &new, &auth, ctx(1)).await.unwrap();
    guess(&env, &p, "silver kettle under the bridge", 1).await.unwrap();
}

#[tokio::test]
async fn concurrent_guesses_cannot_run_more_checks_than_allowed() {
    let env = env().await;
    let p = phone("13812345678");
    env.active_user(&p).await;
    let before = env.id.password_hasher().verifications();
    let mut tasks = Vec::new();
    for device in 0..40u128 {
        let (id, p) = (env.id.clone(), p.clone());
        tasks.push(tokio::spawn(async move { id.login(&p, &pw("concurrent wrong guess"), ctx(500 + device)).await }));
    }
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(IdentityError::LoginFailed) => failed += 1,
            Err(IdentityError::LoginThrottled { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let free = env.id.config().login.account.free_failures;
    assert_eq!(failed, free, "only the free tries ran at the same instant");
    assert_eq!(env.id.password_hasher().verifications() - before, u64::from(free));
}

#[tokio::test]
async fn one_device_guessing_many_accounts_is_slowed() {
    let env = env().await;
    let mut throttled = None;
    for i in 0..30u32 {
        // Different unknown accounts each time; same device and address.
        let r = guess(&env, &phone(&format!("1390000{:04}", i)), "wrong", 7).await;
        if let Some(w) = retry_after(&r) {
            throttled = Some((i, w));
            break;
        }
    }
    assert_eq!(throttled, Some((10, 1)), "the source guard backs off after 10 failures");
    // Addresses of one IPv6 /64 count together.
    env.advance(Duration::from_secs(2 * 86_400));
    let mut throttled = None;
    for i in 0..30u32 {
        let client = format!("2001:db8:1:2::{i:x}").parse().unwrap();
        let r = env
            .id
            .login(&phone(&format!("1370000{i:04}")), &pw("wrong"), RequestContext::new(None, Some(client)))
            .await;
        if retry_after(&r).is_some() {
            throttled = Some(i);
            break;
        }
    }
    assert_eq!(throttled, Some(10));
}

#[tokio::test]
async fn an_operator_unlocks_and_passwords_are_rehashed_when_parameters_rise() {
    let db = Database::open_in_memory().unwrap();
    let mut config = fast();
    config.login.account.lock_after = Some(3);
    let env = env_with(db.clone(), config).await;
    let p = phone("13812345678");
    let user = env.active_user(&p).await;
    for i in 0..3 {
        assert!(matches!(guess(&env, &p, "wrong", i).await, Err(IdentityError::LoginFailed)));
    }
    assert!(matches!(guess(&env, &p, PASSWORD, 9).await, Err(IdentityError::LoginLocked)));
    env.id.unlock_login(user, "support-1", ctx(0)).await.unwrap();
    assert_eq!(env.id.login_guard(user).await.unwrap(), GuardDecision::Allow);
    // The same database opened with stronger Argon2 parameters upgrades the hash at the next login.
    let mut stronger = fast();
    stronger.password_hash = HashParams { memory_kib: 64, iterations: 2, parallelism: 1 };
    let env2 = env_with(db.clone(), stronger).await;
    env2.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
    assert!(env2.audit_kinds(user).await.contains(&"identity.password_rehashed".to_string()));
    let before = env2.id.password_hasher().hashes();
    env2.id.login(&p, &pw(PASSWORD), ctx(1)).await.unwrap();
    assert_eq!(env2.id.password_hasher().hashes(), before, "no second rehash");
    // Payment passwords too.
    let pay = PaymentPassword::parse("815926").unwrap();
    env.id.set_payment_password(user, &pay, ctx(1)).await.unwrap();
    let mut stronger_pay = fast();
    stronger_pay.payment_password_hash = HashParams { memory_kib: 64, iterations: 2, parallelism: 1 };
    let env3 = env_with(db, stronger_pay).await;
    let hashes = env3.id.payment_password_hasher().hashes();
    env3.id.verify_payment_password(user, &pay, ctx(1)).await.unwrap();
    assert_eq!(env3.id.payment_password_hasher().hashes(), hashes + 1, "rehashed once");
    env3.id.verify_payment_password(user, &pay, ctx(1)).await.unwrap();
    assert_eq!(env3.id.payment_password_hasher().hashes(), hashes + 1);
    // A limit above NIST's 100 is refused.
    let mut bad = fast();
    bad.login.account.lock_after = Some(101);
    let store = IdentityDb::open(Database::open_in_memory().unwrap()).await.unwrap();
    let checks =
        ExternalChecks::new(Arc::new(FakeIdAuthority::new()), Arc::new(FakeFaceService), Arc::new(FakeBank::new()));
    let r = Identity::open(store, keys(), checks, bad, env.clock.clone(), Arc::new(SeededEntropy::new(1))).await;
    assert!(matches!(r, Err(IdentityError::Misuse(_))));
}
