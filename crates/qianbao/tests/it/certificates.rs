//! Digital certificates through the facade: the identity proof, issue, list, usage, renew, reissue after
//! loss, revoke, CRL, and the checks payments make.

use std::time::Duration;

use qianbao::core::{AccountId, Currency, DeviceId, Money, TransferId};
use qianbao::qianbao_ca::{CaError, CertView, OrderNonce, PaymentOrder, RenewalProof, UsageKind};
use qianbao::qianbao_identity::{IdentityError, RequestContext};
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn issue_list_use_and_revoke() {
    each_backend("certificates_issue_list_use_and_revoke", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        let key = env.device_key();
        // The proof: a wrong code or a wrong password issues nothing.
        let mut req = env.cert_request(&me, &p, &key).await;
        req.code.code = "000000".to_string().into();
        let e = env.wallet.issue_certificate(&me, req).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::CodeWrong { .. })), "{e}");
        let mut req = env.cert_request(&me, &p, &key).await;
        req.secret = ProofSecret::Password(pw("not my password at all"));
        let e = env.wallet.issue_certificate(&me, req).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::LoginFailed)), "{e}");
        // With the login password it works.
        let mut req = env.cert_request(&me, &p, &key).await;
        req.secret = ProofSecret::Password(pw(PASSWORD));
        let issued = env.wallet.issue_certificate(&me, req).await.unwrap();
        assert_eq!(issued.record.device, DeviceId::from_u128(1));
        let list = env.wallet.certificates(&me).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].view, CertView::Valid);
        let record = env.wallet.certificate(&me, issued.record.serial).await.unwrap();
        assert_eq!(record.pem(), issued.pem());
        // A device-signed order verifies once; the usage record shows it.
        let order = PaymentOrder {
            payer: user,
            payee: AccountId::from_u128(9),
            amount: Money::from_minor(1999, Currency::CNY),
            order_id: TransferId::from_u128(3),
            nonce: OrderNonce::random(env.entropy.as_ref()),
            signed_at: env.now(),
        };
        let signed = key.sign_order(order).unwrap();
        let ctx = RequestContext::NONE;
        let v = env.wallet.verify_payment_order(&issued.certificate(), &signed, ctx).await.unwrap();
        assert_eq!(v.certificate.user, user);
        let replay = env.wallet.verify_payment_order(&issued.certificate(), &signed, ctx).await.unwrap_err();
        assert!(matches!(replay, WalletError::Ca(CaError::NonceReplayed)));
        let usage = env.wallet.certificate_usage(&me, issued.record.serial, 50).await.unwrap();
        assert!(usage.iter().any(|u| u.event.kind == UsageKind::OrderSigned && u.event.failure.is_none()));
        // Revoked: refused for payments, listed as revoked, in the CRL.
        env.wallet.revoke_certificate(&me, issued.record.serial).await.unwrap();
        assert!(env.wallet.verify_payment_certificate(&issued.certificate()).await.is_err());
        assert_eq!(env.wallet.certificates(&me).await.unwrap()[0].view, CertView::Revoked);
        let crl = env.wallet.crl().await.unwrap();
        assert_eq!(crl.last().unwrap().entries, 1);
        assert!(env.wallet.crl_pem().await.unwrap().starts_with("-----BEGIN X509 CRL-----"));
        let kinds = env.audit_kinds(user).await;
        for k in ["ca.certificate_issued", "ca.certificate_used", "ca.certificate_revoked"] {
            assert!(kinds.iter().any(|x| x == k), "{k} missing");
        }
        let notices = env.notices_to(user);
        assert!(notices.iter().any(|b| b.contains("was issued for device")));
        assert!(notices.iter().any(|b| b.contains("was revoked")));
    })
    .await;
}

#[tokio::test]
async fn policy_real_name_first_and_frozen_accounts_refused() {
    each_backend("certificates_policy", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        assert!(matches!(env.wallet.request_certificate_code(&me).await, Err(WalletError::RealNameRequired)));
        env.real_name(&me, &p).await;
        env.wallet.set_payment_password(&me, &pay(PAY)).await.unwrap();
        let key = env.device_key();
        let issued = env.certificate(&me, &p, &key).await;
        // A second one on the same device: renew or reissue instead.
        let req = env.cert_request(&me, &p, &env.device_key()).await;
        let e = env.wallet.issue_certificate(&me, req).await.unwrap_err();
        assert!(matches!(e, WalletError::Ca(CaError::DeviceHasActiveCertificate(_))));
        assert!(e.is_rejection());
        // Frozen: no new certificate, and the existing one does not pay.
        env.wallet.operator("risk-1").freeze(user, "reported abnormal transaction").await.unwrap();
        assert!(matches!(env.wallet.request_certificate_code(&me).await, Err(WalletError::Frozen)));
        let e = env.wallet.verify_payment_certificate(&issued.certificate()).await.unwrap_err();
        assert!(matches!(e, WalletError::Frozen));
        assert!(env.notices_to(user).iter().any(|b| b.contains("frozen")));
        env.wallet.operator("risk-1").unfreeze(user, "case closed").await.unwrap();
        assert!(env.wallet.verify_payment_certificate(&issued.certificate()).await.is_ok());
        // Someone else's certificate is not found for this caller.
        let q = phone("13900001111");
        env.register(&q).await;
        let other = env.session(&q, 5).await.caller();
        let e = env.wallet.certificate(&other, issued.record.serial).await.unwrap_err();
        assert!(matches!(e, WalletError::CertificateNotFound(_)));
    })
    .await;
}

#[tokio::test]
async fn renew_inside_the_window() {
    each_backend("certificates_renew_inside_the_window", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        let key = env.device_key();
        let issued = env.certificate(&me, &p, &key).await;
        // Move into the renewal window (30 days before expiry); sessions expire, so log in again.
        env.clock.advance(Duration::from_secs(340 * 86_400));
        let me = env.session(&p, 1).await.caller();
        let new_key = env.device_key();
        let csr = new_key.csr().unwrap();
        let signature = key.sign_renewal(issued.record.serial, &csr, env.now());
        let proof = RenewalProof::Signature { signed_at: env.now(), signature };
        let renewed = env.wallet.renew_certificate(&me, issued.record.serial, proof, &csr).await.unwrap();
        assert_eq!(renewed.record.replaces, Some(issued.record.serial));
        let views: Vec<CertView> = env.wallet.certificates(&me).await.unwrap().iter().map(|c| c.view).collect();
        assert_eq!(views, vec![CertView::Superseded, CertView::Valid]);
        assert!(env.audit_kinds(user).await.iter().any(|k| k == "ca.certificate_renewed"));
    })
    .await;
}

#[tokio::test]
async fn reissue_after_loss_revokes_the_old_certificate() {
    each_backend("certificates_reissue_after_loss", |db| async move {
        let mut config = test_config();
        config.policy.new_device_step_up = NewDeviceStepUp::None;
        let env = Env::with(db, config).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let lost_key = env.device_key();
        let lost = env.certificate(&s.caller(), &p, &lost_key).await;
        // The phone is lost; on a new phone (device 2) the user reissues with a fresh code and password.
        let me = env.session(&p, 2).await.caller();
        let key = env.device_key();
        let req = env.cert_request(&me, &p, &key).await;
        let reissued = env.wallet.reissue_certificate(&me, req, Some(DeviceId::from_u128(1))).await.unwrap();
        assert_eq!(reissued.record.device, DeviceId::from_u128(2));
        let e = env.wallet.verify_payment_certificate(&lost.certificate()).await.unwrap_err();
        assert!(matches!(e, WalletError::Ca(CaError::CertificateRevoked { .. })), "{e}");
        assert!(env.wallet.verify_payment_certificate(&reissued.certificate()).await.is_ok());
        // The lost phone's session is gone too.
        assert!(env.wallet.profile(&s.caller()).await.is_err());
        // Reissuing again on the same device (a fresh proof, by login password) revokes the previous one.
        let again = env.wallet.reissue_certificate(&me, req_again(&env, &me, &p, &key).await, None).await.unwrap();
        assert_ne!(again.record.serial, reissued.record.serial);
        assert!(env.wallet.verify_payment_certificate(&reissued.certificate()).await.is_err());
        assert!(env.notices_to(user).iter().filter(|b| b.contains("was revoked")).count() >= 2);
    })
    .await;
}

async fn req_again(
    env: &Env,
    me: &Caller,
    p: &qianbao::qianbao_identity::ContactValue,
    key: &qianbao::qianbao_ca::DeviceKey,
) -> CertificateRequest {
    let mut r = env.cert_request(me, p, key).await;
    r.secret = ProofSecret::Password(pw(PASSWORD));
    r
}

#[tokio::test]
async fn a_proof_ticket_is_bound_to_its_device() {
    each_backend("certificates_proof_bound_to_device", |db| async move {
        let mut config = test_config();
        config.policy.new_device_step_up = NewDeviceStepUp::None;
        let env = Env::with(db, config).await;
        let p = phone(PHONE);
        let (_, s) = env.verified(&p).await;
        let other_device = env.session(&p, 2).await.caller();
        let req = env.cert_request(&s.caller(), &p, &env.device_key()).await;
        let e = env.wallet.issue_certificate(&other_device, req).await.unwrap_err();
        assert!(matches!(e, WalletError::TicketInvalid));
    })
    .await;
}

#[tokio::test]
async fn a_certificate_bound_session_needs_its_certificate() {
    each_backend("certificate_bound_session", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let (_, s) = env.verified(&p).await;
        let issued = env.certificate(&s.caller(), &p, &env.device_key()).await;
        let mut login = LoginRequest::new(p.clone(), pw(PASSWORD), device(1));
        login.client_certificate = Some(issued.certificate());
        let LoginOutcome::Session(bound) = env.wallet.login(login).await.unwrap() else { panic!("session") };
        let plain = bound.caller();
        let e = env.wallet.profile(&plain).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::CertificateRequired)), "{e}");
        let with_cert = plain.with_certificate(issued.certificate());
        assert!(env.wallet.profile(&with_cert).await.is_ok());
        // A certificate of another device is not accepted at login.
        let mut login = LoginRequest::new(p.clone(), pw(PASSWORD), device(1));
        login.device.id = DeviceId::from_u128(9);
        login.client_certificate = Some(issued.certificate());
        assert!(matches!(env.wallet.login(login).await, Err(WalletError::CertificateNotYours)));
    })
    .await;
}
