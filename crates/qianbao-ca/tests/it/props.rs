//! Law: no sequence of issue / renew / reissue / revoke operations (with the clock moving) leaves a
//! revoked certificate — or a superseded one past its grace — verifying, through the payment path, the
//! signed-order path or the mTLS verifier.

use proptest::prelude::*;
use rustls::server::danger::ClientCertVerifier;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Issue(u8),
    Renew(u8),
    Reissue(u8),
    Revoke(u8),
    Verify(u8),
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3).prop_map(Op::Issue),
        2 => (0u8..3).prop_map(Op::Renew),
        2 => (0u8..3).prop_map(Op::Reissue),
        2 => (0u8..8).prop_map(Op::Revoke),
        3 => (0u8..8).prop_map(Op::Verify),
        2 => prop_oneof![Just(60u32), Just(700), Just(20 * 86_400), Just(200 * 86_400)].prop_map(Op::Advance),
    ]
}

struct Held {
    key: DeviceKey,
    cert: IssuedCertificate,
}

async fn run(ops: Vec<Op>) {
    let env = env().await;
    let verifier = env.ca.client_verifier();
    let mut held: Vec<Held> = Vec::new(); // every certificate ever issued, oldest first
    let dev = |d: u8| device(u128::from(d));
    let usr = |d: u8| user(u128::from(d % 2)); // devices 0 and 2 belong to user 0, device 1 to user 1
    for op in ops {
        match op {
            Op::Issue(d) => {
                let key = env.key();
                if let Ok(cert) = env.ca.issue(&env.proof(usr(d)), dev(d), &key.csr().unwrap()).await {
                    held.push(Held { key, cert });
                }
            }
            Op::Renew(d) => {
                let Some(h) = held.iter().rev().find(|h| h.cert.record.device == dev(d)) else { continue };
                let key = h.key.clone();
                if let Ok(cert) = env.renew(&key, &h.cert).await {
                    held.push(Held { key, cert });
                }
            }
            Op::Reissue(d) => {
                let key = env.key();
                if let Ok(cert) = env.ca.reissue(&env.proof(usr(d)), dev(d), &key.csr().unwrap()).await {
                    held.push(Held { key, cert });
                }
            }
            Op::Revoke(i) => {
                if let Some(h) = held.get(usize::from(i)) {
                    let _ = env.ca.revoke(h.cert.record.serial, RevocationReason::KeyCompromise).await;
                }
            }
            Op::Verify(i) => {
                if let Some(h) = held.get(usize::from(i)) {
                    let _ = env.ca.verify_certificate(&h.cert.certificate()).await; // warms the caches
                }
            }
            Op::Advance(secs) => env.clock.advance(Duration::from_secs(u64::from(secs))),
        }
        check(&env, verifier.as_ref(), &held).await;
    }
}

async fn check(env: &Env, verifier: &dyn ClientCertVerifier, held: &[Held]) {
    let now = env.now();
    for h in held {
        let record = env.ca.certificate(h.cert.record.serial).await.unwrap();
        let dead = match record.status {
            CertStatus::Revoked { .. } => true,
            CertStatus::Superseded { at, .. } => now >= at.saturating_add(env.ca.config().supersede_grace),
            _ => false,
        };
        if !dead {
            continue;
        }
        let cert = h.cert.certificate();
        assert!(env.ca.verify_certificate(&cert).await.is_err(), "{:?} verified", record.status);
        let signed = h.key.sign_order(env.order(record.user, 1)).unwrap();
        assert!(env.ca.verify_order(&cert, &signed).await.is_err(), "{:?} signed an order", record.status);
        let chain = h.cert.chain();
        let mtls = verifier.verify_client_cert(&chain[0], &chain[1..], rustls_pki_types::UnixTime::now());
        assert!(mtls.is_err(), "{:?} passed mTLS", record.status);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_revoked_certificate_ever_verifies(ops in proptest::collection::vec(op(), 1..14)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
