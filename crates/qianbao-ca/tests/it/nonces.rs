//! Order nonces under concurrency and across instances, status races, and CRL retention after expiry.

use qianbao_store::testing::each_backend;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_is_accepted_once_among_concurrent_verifications_on_every_backend() {
    each_backend("ca concurrent nonces", |db| async move {
        let env = env_with(db.clone(), CaConfig::default(), Timestamp::from_unix_secs(START), 31).await;
        // A second instance on the same database: its seen-set knows nothing of the first's.
        let other = env_with(db, CaConfig::default(), env.now(), 32).await;
        let (key, issued) = env.issue(user(1), device(1)).await;
        let replayed = key.sign_order(env.order(user(1), 10)).unwrap();
        let distinct: Vec<SignedOrder> =
            (0..40).map(|i| key.sign_order(env.order(user(1), 100 + i)).unwrap()).collect();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let ca = if i % 2 == 0 { env.ca.clone() } else { other.ca.clone() };
            let (cert, signed) = (issued.certificate(), replayed.clone());
            tasks.push(tokio::spawn(async move { ca.verify_order(&cert, &signed).await }));
        }
        for (i, signed) in distinct.iter().enumerate() {
            let ca = if i % 2 == 0 { env.ca.clone() } else { other.ca.clone() };
            let (cert, signed) = (issued.certificate(), signed.clone());
            tasks.push(tokio::spawn(async move { ca.verify_order(&cert, &signed).await }));
        }
        let mut accepted_replayed = 0;
        let mut replays = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(v) if i < 16 => {
                    assert_eq!(v.order, replayed.order);
                    accepted_replayed += 1;
                }
                Ok(_) => {}
                Err(CaError::NonceReplayed) if i < 16 => replays += 1,
                Err(e) => panic!("order {i}: {e:?}"),
            }
        }
        assert_eq!((accepted_replayed, replays), (1, 15), "exactly one use of the nonce is accepted");
        // Every accepted order left exactly one success in the usage record.
        other.ca.flush_usage().await;
        let usage_all = env.ca.usage_for_certificate(issued.record.serial, 1_000).await.unwrap();
        let ok_orders =
            usage_all.iter().filter(|u| u.event.kind == UsageKind::OrderSigned && u.event.failure.is_none()).count();
        assert_eq!(ok_orders, 41);
    })
    .await;
}

#[tokio::test]
async fn a_revocation_through_another_instance_stops_orders_even_while_the_status_is_cached() {
    each_backend("ca revocation across instances", |db| async move {
        let mut config = CaConfig::default();
        config.status_cache_ttl = Duration::from_secs(3_600);
        let env = env_with(db.clone(), config.clone(), Timestamp::from_unix_secs(START), 41).await;
        let other = env_with(db, config, env.now(), 42).await;
        let (key, issued) = env.issue(user(1), device(1)).await;
        let cert = issued.certificate();
        env.ca.verify_order(&cert, &key.sign_order(env.order(user(1), 1)).unwrap()).await.unwrap();
        other.ca.revoke(issued.record.serial, RevocationReason::KeyCompromise).await.unwrap();
        // `env` still has "active" cached for an hour: certificate checks pass from the cache, but the
        // nonce batch re-reads the status in its transaction, so no order is accepted.
        env.ca.verify_certificate(&cert).await.unwrap();
        let refused = env.ca.verify_order(&cert, &key.sign_order(env.order(user(1), 2)).unwrap()).await;
        assert!(matches!(refused, Err(CaError::CertificateRevoked { .. })), "{refused:?}");
        // ...and from then on this instance knows: the certificate itself is refused too.
        assert!(matches!(env.ca.verify_certificate(&cert).await, Err(CaError::CertificateRevoked { .. })));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_racing_a_revocation_never_pass_after_it() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    let cert = issued.certificate();
    env.ca.verify_certificate(&cert).await.unwrap();
    let orders: Vec<SignedOrder> = (0..60).map(|i| key.sign_order(env.order(user(1), 1 + i)).unwrap()).collect();
    let mut tasks = Vec::new();
    for signed in orders {
        let (ca, cert) = (env.ca.clone(), cert.clone());
        tasks.push(tokio::spawn(async move { ca.verify_order(&cert, &signed).await.map(|v| v.order.nonce) }));
    }
    let revoked = env.ca.revoke(issued.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    let mut accepted = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => accepted.push(n),
            Err(CaError::CertificateRevoked { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    // Whatever was accepted was accepted before the revocation committed: its usage event precedes it.
    let usage = env.ca.usage_for_certificate(revoked.serial, 1_000).await.unwrap();
    let revoked_at = usage.iter().find(|u| u.event.kind == UsageKind::Revoked).unwrap().seq;
    let ok: Vec<_> =
        usage.iter().filter(|u| u.event.kind == UsageKind::OrderSigned && u.event.failure.is_none()).collect();
    assert_eq!(ok.len(), accepted.len());
    assert!(ok.iter().all(|u| u.seq < revoked_at), "an order was accepted after the revocation");
    let late = key.sign_order(env.order(user(1), 999)).unwrap();
    assert!(matches!(env.ca.verify_order(&cert, &late).await, Err(CaError::CertificateRevoked { .. })));
}

#[tokio::test]
async fn crl_entries_outlive_the_certificate_by_the_retention_period() {
    let mut config = CaConfig::default();
    config.crl_retention_after_expiry = 30 * DAY;
    let env = env_with(Database::open_in_memory().unwrap(), config, Timestamp::from_unix_secs(START), 51).await;
    let (_, issued) = env.issue(user(1), device(1)).await;
    env.ca.revoke(issued.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    assert_eq!(env.ca.crl().await.unwrap().entries, 1);
    env.clock.advance(366 * DAY); // expired
    assert!(matches!(env.ca.verify_certificate(&issued.certificate()).await, Err(CaError::CertificateExpired)));
    assert_eq!(env.ca.crl().await.unwrap().entries, 1, "still listed right after expiry");
    env.clock.advance(30 * DAY);
    assert_eq!(env.ca.crl().await.unwrap().entries, 0, "dropped once the retention has passed");
}

#[tokio::test]
async fn stored_nonces_of_stale_orders_are_pruned_once_per_window() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    let cert = issued.certificate();
    let first = key.sign_order(env.order(user(1), 1)).unwrap();
    env.ca.verify_order(&cert, &first).await.unwrap();
    env.ca.verify_order(&cert, &key.sign_order(env.order(user(1), 2)).unwrap()).await.unwrap();
    env.clock.advance(Duration::from_secs(400)); // past the window (300 s + 30 s skew)
    env.ca.verify_order(&cert, &key.sign_order(env.order(user(1), 3)).unwrap()).await.unwrap();
    // The batcher pruned the two old nonces before writing the third: nothing is left to prune.
    assert_eq!(env.ca.prune_order_nonces().await.unwrap(), 0);
    // The old order is refused as stale, not accepted again.
    assert!(matches!(env.ca.verify_order(&cert, &first).await, Err(CaError::OrderStale { .. })));
}
