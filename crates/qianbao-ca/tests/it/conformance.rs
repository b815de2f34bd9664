//! The store conformance suite: the same tests on SQLite and PostgreSQL (`each_backend`).

use qianbao_ca::store::{AuthorityKind, AuthorityRow, DevicePlan, IssueEffects, NewCertificate, RevokeOutcome};
use qianbao_ca::{NonceClaim, NonceOutcome};
use qianbao_store::testing::each_backend;

use super::*;

fn serial(n: u8) -> CertSerial {
    CertSerial::from_bytes([n; 16]).unwrap()
}

fn record(n: u8, user: UserId, device: DeviceId, at: Timestamp) -> CertificateRecord {
    let der = vec![0x30, n, n, n];
    CertificateRecord {
        serial: serial(n),
        user,
        device,
        fingerprint: Fingerprint::of(&der),
        issuer_generation: 1,
        not_before: at,
        not_after: at.saturating_add(365 * DAY),
        issued_at: at,
        status: CertStatus::Active,
        replaces: None,
        der,
    }
}

fn event(kind: UsageKind, serial: Option<CertSerial>, user: Option<UserId>, at: Timestamp) -> UsageEvent {
    UsageEvent { at, kind, serial, user, failure: None, detail: "test".into() }
}

fn new_cert(record: CertificateRecord) -> NewCertificate {
    let ev = event(UsageKind::Issued, Some(record.serial), Some(record.user), record.issued_at);
    NewCertificate {
        record,
        id: None,
        plan: DevicePlan::Given,
        supersede: vec![],
        revoke: vec![],
        revoke_reason: RevocationReason::KeyCompromise,
        events: vec![ev],
    }
}

#[tokio::test]
async fn store_conformance() {
    each_backend("ca store conformance", |db| async move {
        let store = CaDb::open(db.clone()).await.unwrap();
        CaDb::open(db).await.unwrap(); // migrations are idempotent
        let t = Timestamp::from_unix_secs(START);

        // Authorities: insert, read back, duplicate refused, rollover retires atomically.
        assert!(store.authorities().await.unwrap().is_empty());
        let row = |kind, generation, retired| AuthorityRow {
            kind,
            generation,
            cert_der: vec![1, 2, generation as u8],
            key_handle: KeyHandle(vec![9; 40]),
            retired,
            created_at: t,
            not_after: t.saturating_add(DAY),
        };
        store
            .insert_authorities(vec![row(AuthorityKind::Root, 1, false), row(AuthorityKind::Issuing, 1, false)], None)
            .await
            .unwrap();
        let dup = store.insert_authorities(vec![row(AuthorityKind::Root, 1, false)], None).await;
        assert!(matches!(dup, Err(CaError::Conflict(_))), "{dup:?}");
        store.insert_authorities(vec![row(AuthorityKind::Issuing, 2, false)], Some(1)).await.unwrap();
        let again = store.insert_authorities(vec![row(AuthorityKind::Issuing, 3, false)], Some(1)).await;
        assert!(matches!(again, Err(CaError::Conflict(_))));
        let all = store.authorities().await.unwrap();
        assert_eq!(
            all.iter().map(|r| (r.kind, r.generation, r.retired)).collect::<Vec<_>>(),
            vec![
                (AuthorityKind::Root, 1, false),
                (AuthorityKind::Issuing, 1, true),
                (AuthorityKind::Issuing, 2, false)
            ]
        );
        assert_eq!(all[0], row(AuthorityKind::Root, 1, false));

        // Certificates: one active per device, supersede and revoke are compare-and-set.
        let a = record(1, user(1), device(1), t);
        store.insert_certificate(new_cert(a.clone())).await.unwrap();
        assert_eq!(store.certificate(a.serial).await.unwrap(), Some(a.clone()));
        assert_eq!(store.certificate(serial(99)).await.unwrap(), None);
        let clash = store.insert_certificate(new_cert(record(2, user(1), device(1), t))).await;
        assert!(matches!(clash, Err(CaError::Conflict(_))), "{clash:?}");
        let mut b = record(3, user(1), device(1), t.saturating_add(DAY));
        b.replaces = Some(a.serial);
        let mut renew = new_cert(b.clone());
        renew.supersede = vec![a.serial];
        store.insert_certificate(renew.clone()).await.unwrap();
        let a_now = store.certificate(a.serial).await.unwrap().unwrap();
        assert_eq!(a_now.status, CertStatus::Superseded { at: b.issued_at, by: b.serial });
        // Superseding it again (a concurrent renewal) conflicts and changes nothing.
        let mut twice = renew.clone();
        twice.record = record(4, user(1), device(1), t);
        assert!(matches!(store.insert_certificate(twice).await, Err(CaError::Conflict(_))));
        assert_eq!(store.certificate(serial(4)).await.unwrap(), None);
        // Reissue: revoke both, insert a new one.
        let c = record(5, user(1), device(1), t.saturating_add(2 * DAY));
        let mut reissue = new_cert(c.clone());
        reissue.revoke = vec![a.serial, b.serial];
        // b is still active: it must be superseded or revoked for c to be the one active certificate.
        store.insert_certificate(reissue).await.unwrap();
        for s in [a.serial, b.serial] {
            let r = store.certificate(s).await.unwrap().unwrap();
            assert_eq!(r.status, CertStatus::Revoked { at: c.issued_at, reason: RevocationReason::KeyCompromise });
        }
        let d = record(6, user(2), device(2), t);
        store.insert_certificate(new_cert(d.clone())).await.unwrap();
        let by_user: Vec<_> = store.certificates_for_user(user(1)).await.unwrap().iter().map(|r| r.serial).collect();
        assert_eq!(by_user, vec![a.serial, b.serial, c.serial]);
        let by_device: Vec<_> =
            store.certificates_for_device(device(2)).await.unwrap().iter().map(|r| r.serial).collect();
        assert_eq!(by_device, vec![d.serial]);

        // Revocation outcomes.
        let ev = event(UsageKind::Revoked, Some(d.serial), None, t);
        match store.revoke(d.serial, RevocationReason::CessationOfOperation, t, ev.clone()).await.unwrap() {
            RevokeOutcome::Revoked(r) => {
                assert!(matches!(r.status, CertStatus::Revoked { reason: RevocationReason::CessationOfOperation, .. }))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            store.revoke(d.serial, RevocationReason::Unspecified, t, ev.clone()).await.unwrap(),
            RevokeOutcome::AlreadyRevoked(_)
        ));
        assert_eq!(
            store.revoke(serial(98), RevocationReason::Unspecified, t, ev).await.unwrap(),
            RevokeOutcome::NotFound
        );
        let inactive: Vec<_> = store.inactive_certificates(t).await.unwrap().iter().map(|r| r.serial).collect();
        assert_eq!(inactive, vec![a.serial, b.serial, d.serial]);
        assert!(store.inactive_certificates(t.saturating_add(400 * DAY)).await.unwrap().is_empty());

        // CRL numbers increase per generation.
        assert_eq!(store.next_crl_number(1).await.unwrap(), 1);
        assert_eq!(store.next_crl_number(1).await.unwrap(), 2);
        assert_eq!(store.next_crl_number(2).await.unwrap(), 1);

        // Nonces: claimed in batches, once per user, only while the certificate is usable (re-read in the
        // same transaction); pruning forgets old ones.
        let n = OrderNonce([7; 16]);
        let claim = |user: UserId, nonce: OrderNonce, serial: CertSerial, at: Timestamp| NonceClaim {
            user,
            nonce,
            signed_at: t,
            serial,
            at,
            grace: Duration::from_secs(600),
            event: event(UsageKind::OrderSigned, Some(serial), Some(user), at),
        };
        let f = record(7, user(3), device(3), t);
        store.insert_certificate(new_cert(f.clone())).await.unwrap();
        let g = record(8, user(3), device(3), t);
        let mut renew_f = new_cert(g.clone());
        renew_f.supersede = vec![f.serial];
        store.insert_certificate(renew_f).await.unwrap(); // f superseded at t
        let in_grace = t.saturating_add(Duration::from_secs(599));
        let past_grace = t.saturating_add(Duration::from_secs(600));
        let outcomes = store
            .accept_nonces(vec![
                claim(user(1), n, c.serial, t),
                claim(user(1), n, c.serial, t), // the same nonce twice in one batch
                claim(user(2), n, d.serial, t), // d is revoked
                claim(user(1), OrderNonce([8; 16]), serial(99), t),
                claim(user(3), OrderNonce([9; 16]), f.serial, in_grace),
                claim(user(3), OrderNonce([10; 16]), f.serial, past_grace),
            ])
            .await
            .unwrap();
        assert_eq!(outcomes[0], NonceOutcome::Accepted);
        assert_eq!(outcomes[1], NonceOutcome::Replayed);
        assert!(matches!(outcomes[2], NonceOutcome::Unusable(CertStatus::Revoked { .. })), "{:?}", outcomes[2]);
        assert_eq!(outcomes[3], NonceOutcome::UnknownCertificate);
        assert_eq!(outcomes[4], NonceOutcome::Accepted);
        assert!(matches!(outcomes[5], NonceOutcome::Unusable(CertStatus::Superseded { .. })), "{:?}", outcomes[5]);
        assert_eq!(outcomes.len(), 6);
        assert!(store.accept_nonces(vec![]).await.unwrap().is_empty());
        // In a later batch, from any instance: still a replay. Another user may use the same bytes.
        assert_eq!(
            store.accept_nonces(vec![claim(user(1), n, c.serial, t)]).await.unwrap(),
            vec![NonceOutcome::Replayed]
        );
        assert_eq!(
            store.accept_nonces(vec![claim(user(3), n, g.serial, t)]).await.unwrap(),
            vec![NonceOutcome::Accepted]
        );
        assert_eq!(store.prune_nonces(t).await.unwrap(), 0);
        assert_eq!(store.prune_nonces(t.saturating_add(DAY)).await.unwrap(), 3);
        assert_eq!(
            store.accept_nonces(vec![claim(user(1), n, c.serial, t)]).await.unwrap(),
            vec![NonceOutcome::Accepted]
        );
        let for_f = store.usage_for_certificate(f.serial, 100).await.unwrap();
        let orders = for_f.iter().filter(|u| u.event.kind == UsageKind::OrderSigned).count();
        assert_eq!(orders, 1, "only the accepted claim is recorded");

        // Usage: append-only, per certificate and per user, oldest first, last `limit`.
        let batch: Vec<_> = (0..5)
            .map(|i| {
                let mut e =
                    event(UsageKind::Verified, Some(c.serial), Some(user(1)), t.saturating_add(Duration::from_secs(i)));
                e.failure = (i % 2 == 1).then(|| "certificate_revoked".to_string());
                e
            })
            .collect();
        store.append_usage(batch.clone()).await.unwrap();
        store.append_usage(vec![]).await.unwrap();
        let for_c = store.usage_for_certificate(c.serial, 100).await.unwrap();
        // issued (reissue), order accepted twice (the second after pruning), five verifications
        assert_eq!(for_c.len(), 8);
        assert!(for_c.windows(2).all(|w| w[0].seq < w[1].seq));
        let last3 = store.usage_for_certificate(c.serial, 3).await.unwrap();
        assert_eq!(last3.iter().map(|u| u.event.clone()).collect::<Vec<_>>(), batch[2..].to_vec());
        let for_user2 = store.usage_for_user(user(2), 100).await.unwrap();
        assert_eq!(for_user2.len(), 1); // d issued; its refused order wrote nothing
        assert_eq!(for_user2[0].event.kind, UsageKind::Issued);
    })
    .await;
}

#[tokio::test]
async fn a_batch_of_issuances_commits_each_alone() {
    each_backend("ca store insert_certificates", |db| async move {
        let store = CaDb::open(db).await.unwrap();
        let t = Timestamp::from_unix_secs(START);
        let (u, d1, d2, d3) = (user(1), device(1), device(2), device(3));
        store.insert_certificate(new_cert(record(1, u, d1, t))).await.unwrap();
        assert!(store.insert_certificates(vec![]).await.unwrap().is_empty());

        // Renewal of 1, a second active certificate for d2 (refused), a supersede of a certificate that
        // is not active (refused), and a plain issuance for d3: the two refusals are undone alone.
        let mut renewal = new_cert(record(2, u, d1, t));
        renewal.supersede = vec![serial(1)];
        let mut stale = new_cert(record(5, u, device(4), t));
        stale.supersede = vec![serial(1)];
        let out = store
            .insert_certificates(vec![
                renewal,
                new_cert(record(3, u, d2, t)),
                new_cert(record(4, u, d2, t)),
                stale,
                new_cert(record(6, u, d3, t)),
            ])
            .await
            .unwrap();
        assert_eq!(out.len(), 5);
        assert!(out[0].is_ok() && out[1].is_ok() && out[4].is_ok(), "{out:?}");
        assert!(matches!(out[2], Err(CaError::Conflict(_))), "{:?}", out[2]);
        assert!(matches!(out[3], Err(CaError::Conflict(_))), "{:?}", out[3]);

        let s1 = store.certificate(serial(1)).await.unwrap().unwrap();
        assert!(matches!(s1.status, CertStatus::Superseded { by, .. } if by == serial(2)));
        for n in [2, 3, 6] {
            assert_eq!(store.certificate(serial(n)).await.unwrap().unwrap().status, CertStatus::Active);
        }
        for n in [4, 5] {
            assert!(store.certificate(serial(n)).await.unwrap().is_none(), "serial {n} was refused");
            assert!(store.usage_for_certificate(serial(n), 10).await.unwrap().is_empty());
        }
        assert_eq!(store.certificates_for_device(device(4)).await.unwrap(), vec![]);
        let events = store.usage_for_user(u, 100).await.unwrap();
        let kinds: Vec<_> = events.iter().map(|e| (e.event.kind, e.event.serial)).collect();
        // One per committed issuance, and the supersede the renewal made (written by the store).
        assert_eq!(kinds.len(), 5, "{kinds:?}");
        assert!(kinds.contains(&(UsageKind::Superseded, Some(serial(1)))), "{kinds:?}");
    })
    .await;
}

/// Serial keys and certificate numbers: one key per store whoever asks first, numbers never handed out
/// twice (also to two instances at once), and a certificate whose serial is its number's found by that
/// serial, beside one whose serial was made some other way.
#[tokio::test]
async fn certificates_are_numbered_and_found_by_their_serial() {
    each_backend("ca certificate numbers", |db| async move {
        let store = CaDb::open(db.clone()).await.unwrap();
        let other = CaDb::open(db).await.unwrap(); // a second instance on the same database
        let key = store.serial_key([3; 16]).await.unwrap();
        assert_eq!(key, [3; 16]);
        assert_eq!(other.serial_key([4; 16]).await.unwrap(), key, "the first key stored is everyone's");

        let (a, b) = tokio::join!(store.reserve_certificate_ids(100), other.reserve_certificate_ids(100));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a + 100 <= b || b + 100 <= a, "blocks overlap: {a}, {b}");
        let c = store.reserve_certificate_ids(1).await.unwrap();
        assert!(c >= a.max(b) + 100, "{c} after {a} and {b}");

        let cipher = qianbao_ca::SerialCipher::new(&key);
        let t = Timestamp::from_unix_secs(START);
        let mut numbered = record(1, UserId::from_u128(1), DeviceId::from_u128(1), t);
        numbered.serial = cipher.serial(a + 7, [7; 10]).unwrap();
        let mut new = new_cert(numbered.clone());
        new.id = Some(a + 7);
        new.plan = DevicePlan::Issue;
        store.insert_certificate(new).await.unwrap();
        let made_elsewhere = record(2, UserId::from_u128(1), DeviceId::from_u128(2), t);
        let mut new = new_cert(made_elsewhere.clone());
        new.plan = DevicePlan::Issue;
        store.insert_certificate(new).await.unwrap();

        assert_eq!(other.certificate(numbered.serial).await.unwrap(), Some(numbered.clone()));
        assert_eq!(other.certificate(made_elsewhere.serial).await.unwrap(), Some(made_elsewhere.clone()));
        assert_eq!(store.certificate(cipher.serial(a + 8, [7; 10]).unwrap()).await.unwrap(), None);
        let usage = store.usage_for_certificate(numbered.serial, 10).await.unwrap();
        assert_eq!(usage.iter().map(|u| u.event.kind).collect::<Vec<_>>(), [UsageKind::Issued]);

        // The number's serial again is refused, with nothing written.
        let mut twice = record(3, UserId::from_u128(1), DeviceId::from_u128(3), t);
        twice.serial = numbered.serial;
        let mut new = new_cert(twice);
        new.id = Some(a + 7);
        new.plan = DevicePlan::Issue;
        assert!(matches!(store.insert_certificate(new).await, Err(CaError::Conflict(_))));
        assert!(store.certificates_for_device(DeviceId::from_u128(3)).await.unwrap().is_empty());

        let at = t.saturating_add(DAY);
        let ev = event(UsageKind::Revoked, Some(numbered.serial), Some(numbered.user), at);
        let out = other.revoke(numbered.serial, RevocationReason::KeyCompromise, at, ev).await.unwrap();
        assert!(matches!(out, RevokeOutcome::Revoked(ref r) if r.serial == numbered.serial), "{out:?}");
        let status = store.certificate(numbered.serial).await.unwrap().unwrap().status;
        assert_eq!(status, CertStatus::Revoked { at, reason: RevocationReason::KeyCompromise });
    })
    .await;
}

fn planned(n: u8, u: UserId, d: DeviceId, at: Timestamp, plan: DevicePlan) -> NewCertificate {
    let mut new = new_cert(record(n, u, d, at));
    new.plan = plan;
    new
}

#[tokio::test]
async fn plans_are_decided_from_the_device_rows_in_the_writing_transaction() {
    each_backend("ca store issuance plans", |db| async move {
        let store = CaDb::open(db).await.unwrap();
        let t = Timestamp::from_unix_secs(START);
        let later = t.saturating_add(400 * DAY); // every certificate issued at t has expired
        let (u, d) = (user(1), device(1));
        let issue = |n, at| planned(n, u, d, at, DevicePlan::Issue);

        // Two first issuances for one device in one batch: the second sees the first.
        let out = store.insert_certificates(vec![issue(1, t), issue(2, t)]).await.unwrap();
        assert_eq!(out[0].as_ref().unwrap(), &IssueEffects::default());
        assert!(matches!(out[1], Err(CaError::DeviceHasActiveCertificate(s)) if s == serial(1)), "{:?}", out[1]);
        assert!(store.certificate(serial(2)).await.unwrap().is_none());
        // Another user's device, by either plan.
        for plan in [DevicePlan::Issue, DevicePlan::Reissue] {
            let other = store.insert_certificate(planned(3, user(2), d, t, plan)).await;
            assert!(matches!(other, Err(CaError::DeviceBoundToAnotherUser)), "{other:?}");
        }
        // Once expired, the active certificate is superseded by a new issuance.
        let effects = store.insert_certificate(issue(4, later)).await.unwrap();
        let expiry = t.saturating_add(365 * DAY);
        assert_eq!(effects.superseded, vec![(serial(1), expiry)]);
        assert_eq!(effects.replaces, Some(serial(1)));
        let s4 = store.certificate(serial(4)).await.unwrap().unwrap();
        assert_eq!(s4.replaces, Some(serial(1)));
        assert!(matches!(store.certificate(serial(1)).await.unwrap().unwrap().status, CertStatus::Superseded { .. }));

        // Reissue: the unexpired certificate revoked, an expired active one superseded, nothing else touched.
        let d2 = device(2);
        store.insert_certificate(planned(5, u, d2, t, DevicePlan::Given)).await.unwrap();
        let effects = store.insert_certificate(planned(6, u, d, later, DevicePlan::Reissue)).await.unwrap();
        assert_eq!(effects.revoked, vec![(serial(4), later.saturating_add(365 * DAY))]);
        assert!(effects.superseded.is_empty(), "{effects:?}");
        let s4 = store.certificate(serial(4)).await.unwrap().unwrap();
        assert!(matches!(s4.status, CertStatus::Revoked { reason: RevocationReason::KeyCompromise, .. }));
        let effects = store.insert_certificate(planned(7, u, d2, later, DevicePlan::Reissue)).await.unwrap();
        assert_eq!(effects.superseded, vec![(serial(5), expiry)]);
        assert!(effects.revoked.is_empty());
        let events = store.usage_for_certificate(serial(4), 10).await.unwrap();
        assert!(events.iter().any(|e| e.event.kind == UsageKind::Revoked), "{events:?}");

        // A serial already taken: that issuance is refused (alone, or with its whole batch — the caller
        // then tries each alone), and nothing of it is written.
        let dup = planned(1, u, device(3), t, DevicePlan::Issue);
        let fine = planned(8, u, device(4), t, DevicePlan::Issue);
        match store.insert_certificates(vec![fine.clone(), dup.clone()]).await {
            Ok(out) => {
                assert!(out[0].is_ok(), "{:?}", out[0]);
                assert!(matches!(out[1], Err(CaError::Conflict(_))), "{:?}", out[1]);
            }
            Err(e) => {
                assert!(matches!(e, CaError::Conflict(_)), "{e:?}");
                assert!(store.certificate(serial(8)).await.unwrap().is_none());
                store.insert_certificate(fine).await.unwrap();
            }
        }
        assert!(matches!(store.insert_certificate(dup).await, Err(CaError::Conflict(_))));
        assert!(store.certificates_for_device(device(3)).await.unwrap().is_empty());
        assert_eq!(store.certificate(serial(8)).await.unwrap().unwrap().device, device(4));
    })
    .await;
}

#[tokio::test]
async fn the_authority_works_end_to_end_on_every_backend() {
    each_backend("ca service on backend", |db| async move {
        let env = env_with(db.clone(), CaConfig::default(), Timestamp::from_unix_secs(START), 21).await;
        let (key, issued) = env.issue(user(1), device(1)).await;
        let signed = key.sign_order(env.order(user(1), 42)).unwrap();
        env.ca.verify_order(&issued.certificate(), &signed).await.unwrap();
        assert!(matches!(env.ca.verify_order(&issued.certificate(), &signed).await, Err(CaError::NonceReplayed)));
        env.clock.advance(340 * DAY);
        let renewed = env.renew(&key, &issued).await.unwrap();
        let lost = env.ca.reissue(&env.proof(user(1)), device(1), &env.key().csr().unwrap()).await.unwrap();
        assert!(matches!(
            env.ca.verify_certificate(&renewed.certificate()).await,
            Err(CaError::CertificateRevoked { .. })
        ));
        env.ca.rollover_issuing_ca().await.unwrap();
        let crls = env.ca.crls().await.unwrap();
        assert_eq!(crls.len(), 2);
        assert_eq!(crls[0].entries, 2);
        // A second instance on the same database sees the same authority and records.
        let other = env_with(db, CaConfig::default(), env.now(), 22).await;
        assert_eq!(other.ca.root_certificate(), env.ca.root_certificate());
        other.ca.verify_certificate(&lost.certificate()).await.unwrap();
        assert!(matches!(
            other.ca.verify_certificate(&issued.certificate()).await,
            Err(CaError::CertificateRevoked { .. })
        ));
        assert_eq!(other.ca.list(user(1)).await.unwrap().len(), 3);
        let usage = other.ca.usage_for_user(user(1), 100).await.unwrap();
        assert!(usage.iter().any(|u| u.event.kind == UsageKind::Reissued));

        // Both instances issuing at once: distinct serials (disjoint blocks of certificate numbers, one
        // serial key), each certificate found and verified through the other instance.
        let mut serials = std::collections::BTreeSet::new();
        for d in 10..16 {
            let ((_, a), (_, b)) = tokio::join!(env.issue(user(2), device(d)), other.issue(user(3), device(d + 10)));
            for (issued, by) in [(a, &other), (b, &env)] {
                assert!(serials.insert(issued.record.serial), "serial {} twice", issued.record.serial);
                by.ca.verify_certificate(&issued.certificate()).await.unwrap();
                assert_eq!(by.ca.store().certificate(issued.record.serial).await.unwrap().unwrap(), issued.record);
            }
        }
    })
    .await;
}
