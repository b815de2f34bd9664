//! Dynamic payment codes: generated offline on the device, verified once by the server.

use qianbao_store::testing::each_backend;

use super::*;

#[tokio::test]
async fn a_payment_code_identifies_the_payer_and_pays_once() {
    each_backend("paycodes: verify, replay, expiry", |db| async move {
        let env = env(db).await;
        let enrollment = env.tokens.enroll_paycode(user(1), device(1)).await.unwrap();
        assert!(!format!("{enrollment:?}").contains(&format!("{:?}", enrollment.secret.expose())));
        let device_side = enrollment.generator();
        let code = device_side.code_at(env.now()).to_string();
        assert_eq!(code.len(), 18);
        assert!(code.starts_with("16"));
        let v = env.tokens.verify_paycode(&code).await.unwrap();
        assert_eq!((v.user, v.device, v.index), (user(1), device(1), enrollment.index));
        // The same code again: replay.
        let e = env.tokens.verify_paycode(&code).await.unwrap_err();
        assert!(matches!(e, TokenError::PaycodeReplayed), "{e:?}");
        // The next step's code pays; an older code after it does not.
        env.advance(Duration::from_secs(30));
        let next = device_side.code_at(env.now()).to_string();
        env.tokens.verify_paycode(&next).await.unwrap();
        let e = env.tokens.verify_paycode(&code).await.unwrap_err();
        assert!(matches!(e, TokenError::PaycodeReplayed | TokenError::PaycodeInvalid), "{e:?}");
        // A code shown a minute ago no longer verifies.
        let old = device_side.code_at(env.now()).to_string();
        env.advance(Duration::from_secs(61));
        let e = env.tokens.verify_paycode(&old).await.unwrap_err();
        assert!(matches!(e, TokenError::PaycodeInvalid), "{e:?}");
        // Unknown prefix or index; malformed.
        let e = env.tokens.verify_paycode(&format!("17{}", &old[2..])).await.unwrap_err();
        assert!(matches!(e, TokenError::PaycodeUnknown));
        let unknown_index = format!("16{:09}{}", (enrollment.index.get() + 1) % 1_000_000_000, &old[11..]);
        assert!(matches!(env.tokens.verify_paycode(&unknown_index).await, Err(TokenError::PaycodeUnknown)));
        assert!(matches!(env.tokens.verify_paycode("16abc").await, Err(TokenError::Malformed { .. })));
    })
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_and_reenrolling_revokes_the_old_secret() {
    each_backend("paycodes: throttle, re-enrollment, revocation", |db| async move {
        let env = env(db).await;
        let first = env.tokens.enroll_paycode(user(1), device(1)).await.unwrap();
        let good = first.generator().code_at(env.now()).to_string();
        let bad = format!("{}{:07}", &good[..11], (good[11..].parse::<u32>().unwrap() + 1) % 10_000_000);
        for _ in 0..10 {
            assert!(matches!(env.tokens.verify_paycode(&bad).await, Err(TokenError::PaycodeInvalid)));
        }
        // The window is full: even the right code is refused until it ends.
        let e = env.tokens.verify_paycode(&good).await.unwrap_err();
        assert!(matches!(e, TokenError::PaycodeThrottled { .. }), "{e:?}");
        env.advance(10 * MINUTE);
        let fresh = first.generator().code_at(env.now()).to_string();
        env.tokens.verify_paycode(&fresh).await.unwrap();

        // Re-enrolling the device revokes the old enrollment.
        env.advance(MINUTE);
        let second = env.tokens.enroll_paycode(user(1), device(1)).await.unwrap();
        assert_ne!(second.index, first.index);
        let old = first.generator().code_at(env.now()).to_string();
        assert!(matches!(env.tokens.verify_paycode(&old).await, Err(TokenError::PaycodeUnknown)));
        env.tokens.verify_paycode(&second.generator().code_at(env.now()).to_string()).await.unwrap();
        assert_eq!(env.tokens.revoke_paycodes(user(1), None).await.unwrap(), 1);
        env.advance(MINUTE);
        let e = env.tokens.verify_paycode(&second.generator().code_at(env.now()).to_string()).await;
        assert!(matches!(e, Err(TokenError::PaycodeUnknown)), "{e:?}");
    })
    .await;
}
