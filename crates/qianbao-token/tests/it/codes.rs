//! One-time codes: every rejection, on every backend.

use qianbao_store::testing::each_backend;

use super::*;

fn req(purpose: Purpose, subject: CodeSubject, to: &Destination) -> CodeRequest {
    CodeRequest { purpose, subject, destination: to.clone() }
}

fn check(id: qianbao_core::TokenId, purpose: Purpose, subject: CodeSubject, code: &str) -> CodeCheck<'_> {
    CodeCheck { id, purpose, subject, code }
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_verifies_once_and_every_rejection_is_typed() {
    each_backend("codes: verify once, wrong, used, expired, purpose, subject", |db| async move {
        let env = env(db).await;
        let (u, to) = (CodeSubject::User(user(1)), phone(1));
        let t = env.tokens.send_code(req(Purpose::Login, u, &to)).await.unwrap();
        assert_eq!(t.destination_masked, "+86 138****0001");
        assert_eq!(t.expires_at, env.now().saturating_add(5 * MINUTE));
        let code = env.last_code(&to);
        let msg = env.outbox.last_to(&to).unwrap();
        assert!(!format!("{msg:?}").contains(&code), "codes never appear in Debug output");

        // Wrong code, wrong purpose, wrong subject: each a counted try; then the right one works once.
        let e = env.tokens.verify_code(check(t.id, Purpose::Login, u, &wrong(&code))).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeWrong { attempts_left: 4 }), "{e:?}");
        let e = env.tokens.verify_code(check(t.id, Purpose::Payment, u, &code)).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeWrongPurpose), "{e:?}");
        let e = env.tokens.verify_code(check(t.id, Purpose::Login, CodeSubject::User(user(2)), &code)).await;
        assert!(matches!(e, Err(TokenError::CodeWrongSubject)), "{e:?}");
        let e = env.tokens.verify_code(check(t.id, Purpose::Login, u, "12a456")).await.unwrap_err();
        assert!(matches!(e, TokenError::Malformed { .. }));
        let ok = env.tokens.verify_code(check(t.id, Purpose::Login, u, &code)).await.unwrap();
        assert_eq!((ok.id, ok.purpose, ok.subject), (t.id, Purpose::Login, u));
        let e = env.tokens.verify_code(check(t.id, Purpose::Login, u, &code)).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeUsed), "reused: {e:?}");

        // Expired: a fresh code (after the resend interval) is refused after 5 minutes.
        env.advance(MINUTE);
        let t2 = env.tokens.send_code(req(Purpose::Register, CodeSubject::Destination, &to)).await.unwrap();
        let code2 = env.last_code(&to);
        env.advance(5 * MINUTE);
        let e = env.tokens.verify_code(check(t2.id, Purpose::Register, CodeSubject::Destination, &code2)).await;
        assert!(matches!(e, Err(TokenError::CodeExpired)), "{e:?}");
        let unknown = qianbao_core::TokenId::from_u128(42);
        let e = env.tokens.verify_code(check(unknown, Purpose::Register, CodeSubject::Destination, &code2)).await;
        assert!(matches!(e, Err(TokenError::CodeNotFound)));
    })
    .await;
}

#[tokio::test]
async fn five_wrong_tries_lock_and_resending_neither_resets_nor_bypasses() {
    each_backend("codes: lock after 5, resend keeps the count, lockout", |db| async move {
        let env = env(db).await;
        let (u, to) = (CodeSubject::User(user(1)), phone(2));
        let t = env.tokens.send_code(req(Purpose::Recovery, u, &to)).await.unwrap();
        let code = env.last_code(&to);
        for left in [4, 3] {
            let e = env.tokens.verify_code(check(t.id, Purpose::Recovery, u, &wrong(&code))).await.unwrap_err();
            assert!(matches!(e, TokenError::CodeWrong { attempts_left } if attempts_left == left), "{e:?}");
        }
        // A resend within 60 s is throttled; after it, the same record gets a new code, failures kept.
        let e = env.tokens.send_code(req(Purpose::Recovery, u, &to)).await.unwrap_err();
        assert!(matches!(e, TokenError::ResendTooSoon { retry_at } if retry_at == env.now().saturating_add(MINUTE)));
        env.advance(MINUTE);
        let t2 = env.tokens.send_code(req(Purpose::Recovery, u, &to)).await.unwrap();
        assert_eq!(t2.id, t.id, "a resend reuses the live record");
        let code = env.last_code(&to);
        for left in [2, 1] {
            let e = env.tokens.verify_code(check(t.id, Purpose::Recovery, u, &wrong(&code))).await.unwrap_err();
            assert!(matches!(e, TokenError::CodeWrong { attempts_left } if attempts_left == left), "{e:?}");
        }
        let e = env.tokens.verify_code(check(t.id, Purpose::Recovery, u, &wrong(&code))).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeLocked { .. }), "fifth wrong try locks: {e:?}");
        // Locked: even the right code is refused, and no new code is sent for the lockout's duration.
        let e = env.tokens.verify_code(check(t.id, Purpose::Recovery, u, &code)).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeLocked { .. }), "{e:?}");
        env.advance(MINUTE);
        let sent = env.outbox.len();
        let e = env.tokens.send_code(req(Purpose::Recovery, u, &to)).await.unwrap_err();
        assert!(matches!(e, TokenError::CodeLocked { .. }), "{e:?}");
        assert_eq!(env.outbox.len(), sent, "nothing sent while locked");
        env.advance(30 * MINUTE);
        let t3 = env.tokens.send_code(req(Purpose::Recovery, u, &to)).await.unwrap();
        assert_ne!(t3.id, t.id, "after the lockout a new code starts afresh");
    })
    .await;
}

#[tokio::test]
async fn the_daily_cap_per_destination_holds_across_purposes() {
    each_backend("codes: daily cap", |db| async move {
        let mut config = TokenConfig::default();
        config.code_daily_cap = 3;
        let env = env_with(db, config).await;
        let to = phone(3);
        for p in [Purpose::Login, Purpose::Payment, Purpose::ContactChange] {
            env.tokens.send_code(req(p, CodeSubject::User(user(1)), &to)).await.unwrap();
            env.advance(MINUTE);
        }
        let e = env.tokens.send_code(req(Purpose::Register, CodeSubject::Destination, &to)).await.unwrap_err();
        assert!(matches!(e, TokenError::DailyCapReached { cap: 3 }), "{e:?}");
        // Another destination is not affected; 24 hours later the first is served again.
        env.tokens.send_code(req(Purpose::Login, CodeSubject::User(user(1)), &phone(4))).await.unwrap();
        env.advance(Duration::from_secs(86_400));
        env.tokens.send_code(req(Purpose::Register, CodeSubject::Destination, &to)).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_exceed_the_try_limit() {
    each_backend("codes: concurrent guesses bounded", |db| async move {
        let env = env(db).await;
        let (u, to) = (CodeSubject::User(user(9)), phone(5));
        let t = env.tokens.send_code(req(Purpose::Login, u, &to)).await.unwrap();
        let code = env.last_code(&to);
        let mut tasks = Vec::new();
        for i in 0..20u32 {
            let tokens = env.tokens.clone();
            let guess = format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
            tasks.push(tokio::spawn(async move {
                tokens.verify_code(CodeCheck { id: t.id, purpose: Purpose::Login, subject: u, code: &guess }).await
            }));
        }
        let mut wrong = 0;
        for task in tasks {
            match task.await.unwrap() {
                Err(TokenError::CodeWrong { .. }) => wrong += 1,
                Err(TokenError::CodeLocked { .. }) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wrong, 4, "exactly 5 tries were compared (the fifth locked it)");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_to_one_destination_are_throttled() {
    each_backend("codes: concurrent sends serialized per destination", |db| async move {
        let env = env(db).await;
        let to = phone(6);
        let mut tasks = Vec::new();
        for n in 0..8u128 {
            let (tokens, to) = (env.tokens.clone(), to.clone());
            tasks.push(tokio::spawn(async move {
                tokens.send_code(req(Purpose::Login, CodeSubject::User(user(n)), &to)).await
            }));
        }
        let mut sent = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => sent += 1,
                Err(TokenError::ResendTooSoon { .. }) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(sent, 1, "one code per destination per resend interval, whatever the concurrency");
        assert_eq!(env.outbox.len(), 1);
    })
    .await;
}
