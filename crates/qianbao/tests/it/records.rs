//! The audit trail through the facade: every domain's events, newest first, in pages.

use crate::support::*;

#[tokio::test]
async fn the_trail_pages_through_every_domains_events() {
    each_backend("the_trail_pages_through_every_domains_events", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        env.certificate(&me, &p, &env.device_key()).await;
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = env.wallet.audit_trail(&me, cursor, 7).await.unwrap();
            assert!(page.records.len() <= 7);
            all.extend(page.records);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first, no repeats");
        assert!(all.iter().all(|r| r.event.user == Some(user)));
        let kinds: Vec<&str> = all.iter().map(|r| r.event.kind.as_str()).collect();
        for k in
            ["identity.registered", "token.code_sent", "token.issued", "identity.kyc_approved", "ca.certificate_issued"]
        {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        assert_eq!(all.len(), env.audit_kinds(user).await.len());
        // Operators see the whole trail.
        let recent = env.wallet.operator("auditor").audit_recent(None, 5).await.unwrap();
        assert_eq!(recent.records.len(), 5);
    })
    .await;
}
