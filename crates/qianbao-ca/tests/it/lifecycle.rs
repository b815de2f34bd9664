//! Issue, list, renew, reissue, revoke, expire, rollover, reopen and the usage record.

use super::*;

#[tokio::test]
async fn issue_then_list_verify_and_pay() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    let r = &issued.record;
    assert_eq!((r.user, r.device, r.status), (user(1), device(1), CertStatus::Active));
    assert_eq!(r.not_before, Timestamp::from_unix_secs(START - 300));
    assert_eq!(r.not_after, Timestamp::from_unix_secs(START + 365 * 86_400));
    assert_eq!(r.fingerprint, Fingerprint::of(&r.der));
    assert!(issued.chain_pem().matches("BEGIN CERTIFICATE").count() == 2);

    let list = env.ca.list(user(1)).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].view, CertView::Valid);
    assert_eq!(list[0].days_left, 365);
    assert!(env.ca.list(user(2)).await.unwrap().is_empty());

    let v = env.ca.verify_certificate(&issued.certificate()).await.unwrap();
    assert_eq!((v.serial, v.user, v.device), (r.serial, user(1), device(1)));
    let signed = key.sign_order(env.order(user(1), 500)).unwrap();
    let ok = env.ca.verify_order(&issued.certificate(), &signed).await.unwrap();
    assert_eq!(ok.order.amount.minor(), 500);
    // A second device of the same user gets its own certificate.
    let (_, second) = env.issue(user(1), device(2)).await;
    assert_ne!(second.record.serial, r.serial);
    assert_eq!(env.ca.list(user(1)).await.unwrap().len(), 2);
}

#[tokio::test]
async fn views_move_with_the_clock_and_an_expired_device_can_be_issued_again() {
    let env = env().await;
    let (_, issued) = env.issue(user(1), device(1)).await;
    env.clock.advance(340 * DAY);
    assert_eq!(env.ca.list(user(1)).await.unwrap()[0].view, CertView::Expiring);
    env.clock.advance(30 * DAY);
    assert_eq!(env.ca.list(user(1)).await.unwrap()[0].view, CertView::Expired);
    assert!(matches!(env.ca.verify_certificate(&issued.certificate()).await, Err(CaError::CertificateExpired)));
    // The expired certificate no longer blocks the device.
    let (_, again) = env.issue(user(1), device(1)).await;
    let old = env.ca.certificate(issued.record.serial).await.unwrap();
    assert!(matches!(old.status, CertStatus::Superseded { by, .. } if by == again.record.serial));
    env.ca.verify_certificate(&again.certificate()).await.unwrap();
}

#[tokio::test]
async fn renewal_supersedes_the_old_certificate_after_a_grace_period() {
    let env = env().await;
    let (key, old) = env.issue(user(1), device(1)).await;
    env.ca.verify_certificate(&old.certificate()).await.unwrap();
    env.clock.advance(350 * DAY);
    let new = env.renew(&key, &old).await.unwrap();
    assert_eq!(new.record.replaces, Some(old.record.serial));
    assert_eq!((new.record.user, new.record.device), (user(1), device(1)));
    assert_eq!(new.record.not_after, env.now().saturating_add(365 * DAY).pipe_secs());
    let old_rec = env.ca.certificate(old.record.serial).await.unwrap();
    assert!(matches!(old_rec.status, CertStatus::Superseded { by, .. } if by == new.record.serial));
    // Within the grace period the old one still verifies (a payment in flight), the new one too.
    env.ca.verify_certificate(&old.certificate()).await.unwrap();
    env.ca.verify_certificate(&new.certificate()).await.unwrap();
    env.clock.advance(Duration::from_secs(601));
    assert!(matches!(
        env.ca.verify_certificate(&old.certificate()).await,
        Err(CaError::CertificateSuperseded { serial }) if serial == old.record.serial
    ));
    let signed = key.sign_order(env.order(user(1), 1)).unwrap();
    env.ca.verify_order(&new.certificate(), &signed).await.unwrap();
    let views: Vec<_> = env.ca.list(user(1)).await.unwrap().into_iter().map(|s| s.view).collect();
    assert_eq!(views, vec![CertView::Superseded, CertView::Valid]);
    // The superseded certificate appears on the CRL once its grace has ended.
    let crl = env.ca.crl().await.unwrap();
    assert_eq!(crl.entries, 1);
}

#[tokio::test]
async fn renewal_with_a_new_key_and_by_mtls_proof() {
    let env = env().await;
    let (_, old) = env.issue(user(1), device(1)).await;
    env.clock.advance(340 * DAY);
    let new_key = env.key();
    let csr = new_key.csr().unwrap();
    let proof = RenewalProof::MutualTls { certificate: old.certificate() };
    let new = env.ca.renew(old.record.serial, &proof, &csr).await.unwrap();
    let signed = new_key.sign_order(env.order(user(1), 9)).unwrap();
    env.ca.verify_order(&new.certificate(), &signed).await.unwrap();
}

#[tokio::test]
async fn reissue_after_loss_revokes_every_certificate_of_the_device() {
    let env = env().await;
    let (key, first) = env.issue(user(1), device(1)).await;
    env.clock.advance(340 * DAY);
    let renewed = env.renew(&key, &first).await.unwrap();
    let (_, other_device) = env.issue(user(1), device(2)).await;
    // Lost phone: fresh identity proof, new key.
    let new_key = env.key();
    let again = env.ca.reissue(&env.proof(user(1)), device(1), &new_key.csr().unwrap()).await.unwrap();
    for old in [&first, &renewed] {
        let rec = env.ca.certificate(old.record.serial).await.unwrap();
        assert!(matches!(rec.status, CertStatus::Revoked { reason: RevocationReason::KeyCompromise, .. }));
        assert!(matches!(
            env.ca.verify_certificate(&old.certificate()).await,
            Err(CaError::CertificateRevoked { reason: RevocationReason::KeyCompromise, .. })
        ));
    }
    env.ca.verify_certificate(&again.certificate()).await.unwrap();
    env.ca.verify_certificate(&other_device.certificate()).await.unwrap();
    let crl = env.ca.crl().await.unwrap();
    assert_eq!(crl.entries, 2);
}

#[tokio::test]
async fn revocation_is_immediate_and_published_with_increasing_crl_numbers() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    env.ca.verify_certificate(&issued.certificate()).await.unwrap(); // now cached
    let before = env.ca.crl().await.unwrap();
    assert_eq!(before.entries, 0);
    let rec = env.ca.revoke(issued.record.serial, RevocationReason::CessationOfOperation).await.unwrap();
    assert!(matches!(rec.status, CertStatus::Revoked { reason: RevocationReason::CessationOfOperation, .. }));
    assert!(matches!(env.ca.verify_certificate(&issued.certificate()).await, Err(CaError::CertificateRevoked { .. })));
    let signed = key.sign_order(env.order(user(1), 5)).unwrap();
    assert!(matches!(
        env.ca.verify_order(&issued.certificate(), &signed).await,
        Err(CaError::CertificateRevoked { .. })
    ));
    let after = env.ca.crl().await.unwrap();
    assert_eq!(after.entries, 1);
    assert!(after.number > before.number);
    assert_eq!(after.next_update, env.now().saturating_add(DAY).pipe_secs());
    assert!(after.pem().starts_with("-----BEGIN X509 CRL-----"));
    assert_eq!(env.ca.list(user(1)).await.unwrap()[0].view, CertView::Revoked);
}

#[tokio::test]
async fn revoke_all_for_user_closes_the_account() {
    let env = env().await;
    let (_, a) = env.issue(user(1), device(1)).await;
    let (_, b) = env.issue(user(1), device(2)).await;
    let (_, other) = env.issue(user(2), device(3)).await;
    let revoked = env.ca.revoke_all_for_user(user(1), RevocationReason::AffiliationChanged).await.unwrap();
    assert_eq!(revoked.len(), 2);
    for c in [&a, &b] {
        assert!(env.ca.verify_certificate(&c.certificate()).await.is_err());
    }
    env.ca.verify_certificate(&other.certificate()).await.unwrap();
}

#[tokio::test]
async fn rollover_keeps_old_certificates_valid_and_reopening_loads_the_same_authority() {
    let env = env().await;
    let (_, a) = env.issue(user(1), device(1)).await;
    assert_eq!(env.ca.current_generation().unwrap(), 1);
    let g2 = env.ca.rollover_issuing_ca().await.unwrap();
    assert_eq!(env.ca.current_generation().unwrap(), 2);
    let (_, b) = env.issue(user(2), device(2)).await;
    assert_eq!(b.record.issuer_generation, 2);
    assert_eq!(b.issuer_der, g2.to_vec());
    env.ca.verify_certificate(&a.certificate()).await.unwrap();
    env.ca.verify_certificate(&b.certificate()).await.unwrap();
    env.ca.revoke(a.record.serial, RevocationReason::Unspecified).await.unwrap();
    let crls = env.ca.crls().await.unwrap();
    assert_eq!(crls.iter().map(|c| (c.issuer_generation, c.entries)).collect::<Vec<_>>(), vec![(1, 1), (2, 0)]);
    assert_eq!(env.ca.chain_pem().matches("BEGIN CERTIFICATE").count(), 3);

    // Another instance on the same database with the same key-encryption key.
    let store = CaDb::open(env.db.clone()).await.unwrap();
    let reopened = CertificateAuthority::open(
        store,
        env.custody.clone(),
        CaConfig::default(),
        env.clock.clone(),
        env.entropy.clone(),
    )
    .await
    .unwrap();
    assert_eq!(reopened.root_certificate(), env.ca.root_certificate());
    assert_eq!(reopened.current_generation().unwrap(), 2);
    reopened.verify_certificate(&b.certificate()).await.unwrap();
    assert!(matches!(reopened.verify_certificate(&a.certificate()).await, Err(CaError::CertificateRevoked { .. })));
    let (_, c) = {
        let key = env.key();
        let c = reopened.issue(&env.proof(user(3)), device(3), &key.csr().unwrap()).await.unwrap();
        (key, c)
    };
    env.ca.verify_certificate(&c.certificate()).await.unwrap();
}

#[tokio::test]
async fn ca_keys_are_sealed_at_rest_and_a_wrong_kek_cannot_open_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_sqlite(dir.path().join("ca.sqlite")).unwrap();
    let env = env_with(db.clone(), CaConfig::default(), Timestamp::from_unix_secs(START), 3).await;
    let handles: Vec<Vec<u8>> = db
        .as_sqlite()
        .unwrap()
        .read(|c| {
            let mut s = c.prepare("SELECT key_handle FROM ca_authorities")?;
            let rows = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(handles.len(), 2);
    for h in &handles {
        // A PKCS#8 P-256 key starts with SEQUENCE, INTEGER 0; the sealed form starts with version 1.
        assert_eq!(h[0], 1);
        assert!(!h.windows(3).any(|w| w == [0x02, 0x01, 0x00]) || h.len() > 100);
    }
    let wrong = Arc::new(LocalKeyCustody::new(KeyEncryptionKey::new(&[0x11; 32]).unwrap()));
    let store = CaDb::open(db.clone()).await.unwrap();
    let err = CertificateAuthority::open(store, wrong, CaConfig::default(), env.clock.clone(), env.entropy.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, CaError::KeyDecryption));
}

#[tokio::test]
async fn usage_record_lists_every_operation_per_certificate_and_per_user() {
    let env = env().await;
    let (key, issued) = env.issue(user(1), device(1)).await;
    let serial = issued.record.serial;
    env.ca.verify_certificate(&issued.certificate()).await.unwrap();
    // Verification events go through the asynchronous appender: flush so the order below is exact.
    env.ca.flush_usage().await;
    let signed = key.sign_order(env.order(user(1), 1)).unwrap();
    env.ca.verify_order(&issued.certificate(), &signed).await.unwrap();
    let _ = env.ca.verify_order(&issued.certificate(), &signed).await.unwrap_err();
    env.ca.flush_usage().await;
    env.ca.revoke(serial, RevocationReason::KeyCompromise).await.unwrap();
    let _ = env.ca.verify_certificate(&issued.certificate()).await.unwrap_err();
    let usage = env.ca.usage_for_certificate(serial, 100).await.unwrap();
    let seen: Vec<(UsageKind, Option<&str>)> =
        usage.iter().map(|u| (u.event.kind, u.event.failure.as_deref())).collect();
    assert_eq!(
        seen,
        vec![
            (UsageKind::Issued, None),
            (UsageKind::Verified, None),
            (UsageKind::OrderSigned, None),
            (UsageKind::OrderSigned, Some("nonce_replayed")),
            (UsageKind::Revoked, None),
            (UsageKind::Verified, Some("certificate_revoked")),
        ]
    );
    assert!(usage.windows(2).all(|w| w[0].seq < w[1].seq));
    let by_user = env.ca.usage_for_user(user(1), 100).await.unwrap();
    assert!(by_user.len() >= 4);
    assert_eq!(env.ca.usage_for_certificate(serial, 2).await.unwrap().len(), 2);
    assert_eq!(env.ca.prune_order_nonces().await.unwrap(), 0);
    env.clock.advance(DAY);
    assert_eq!(env.ca.prune_order_nonces().await.unwrap(), 1);
}

/// Whole seconds, as certificates carry times.
trait PipeSecs {
    fn pipe_secs(self) -> Timestamp;
}

impl PipeSecs for Timestamp {
    fn pipe_secs(self) -> Timestamp {
        Timestamp::from_unix_secs(self.unix_secs())
    }
}
