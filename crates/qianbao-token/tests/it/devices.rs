//! Devices (issue 10, item 2): every session belongs to a device; list, sign one out, sign out others.

use qianbao_store::testing::each_backend;

use super::*;

#[tokio::test]
async fn devices_are_recorded_listed_and_signed_out_at_once() {
    each_backend("devices: list, sign out, sign out others", |db| async move {
        let env = env(db).await;
        assert!(!env.tokens.is_known_device(user(1), device(1)).await.unwrap());
        let a = env.login(user(1), device(1), None).await;
        assert!(a.new_device);
        assert!(env.tokens.is_known_device(user(1), device(1)).await.unwrap());
        assert!(!env.tokens.is_known_device(user(2), device(1)).await.unwrap(), "known per user");
        env.advance(MINUTE);
        let a2 = env.login(user(1), device(1), None).await;
        assert!(!a2.new_device, "the second login from a device is not new");
        let b = env.login(user(1), device(2), None).await;
        let c = env.login(user(1), device(3), None).await;
        let list = env.tokens.list_devices(user(1)).await.unwrap();
        assert_eq!(
            list.iter().map(|d| (d.id, d.active_sessions)).collect::<Vec<_>>(),
            vec![(device(1), 2), (device(2), 1), (device(3), 1)]
        );
        assert_eq!(list[0].first_seen, Timestamp::from_unix_secs(START));
        assert_eq!(list[0].last_seen, Timestamp::from_unix_secs(START + 60));
        assert_eq!(list[0].address, Some("203.0.113.7".parse().unwrap()));

        // Sign device 2 out: its session is revoked at once, even though its token is in the cache.
        env.tokens.authenticate(b.access_token.expose(), None).await.unwrap();
        assert_eq!(env.tokens.sign_out_device(user(1), device(2)).await.unwrap(), 1);
        let e = env.tokens.authenticate(b.access_token.expose(), None).await.unwrap_err();
        assert!(matches!(e, TokenError::TokenRevoked), "{e:?}");
        assert!(matches!(env.tokens.refresh(b.refresh_token.expose(), None).await, Err(TokenError::TokenRevoked)));
        assert!(matches!(env.tokens.sign_out_device(user(1), device(7)).await, Err(TokenError::DeviceNotFound)));
        assert!(env.tokens.is_known_device(user(1), device(2)).await.unwrap(), "signed out, still known");

        // Sign out all others from device 1: device 3 goes, device 1 stays.
        env.tokens.authenticate(c.access_token.expose(), None).await.unwrap();
        assert_eq!(env.tokens.sign_out_other_devices(user(1), device(1)).await.unwrap(), 1);
        assert!(matches!(env.tokens.authenticate(c.access_token.expose(), None).await, Err(TokenError::TokenRevoked)));
        env.tokens.authenticate(a.access_token.expose(), None).await.unwrap();
        env.tokens.authenticate(a2.access_token.expose(), None).await.unwrap();
        let counts: Vec<u32> =
            env.tokens.list_devices(user(1)).await.unwrap().iter().map(|d| d.active_sessions).collect();
        assert_eq!(counts, vec![2, 0, 0]);

        // Everything (password recovery): every session goes.
        assert_eq!(env.tokens.revoke_all_sessions(user(1)).await.unwrap(), 2);
        assert!(matches!(env.tokens.authenticate(a.access_token.expose(), None).await, Err(TokenError::TokenRevoked)));
    })
    .await;
}

#[tokio::test]
async fn signing_a_device_out_also_stops_its_payment_codes() {
    each_backend("devices: sign out revokes payment codes", |db| async move {
        let env = env(db).await;
        env.login(user(1), device(1), None).await;
        let e = env.tokens.enroll_paycode(user(1), device(1)).await.unwrap();
        env.tokens.sign_out_device(user(1), device(1)).await.unwrap();
        let code = e.generator().code_at(env.now()).to_string();
        assert!(matches!(env.tokens.verify_paycode(&code).await, Err(TokenError::PaycodeUnknown)));
    })
    .await;
}
