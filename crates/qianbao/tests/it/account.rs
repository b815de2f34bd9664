//! Registering, verifying contacts, the profile, closing the account.

use std::sync::Arc;

use qianbao::core::UserId;
use qianbao::qianbao_ca::CertView;
use qianbao::qianbao_identity::{IdentityError, UserStatus, ZeroBalanceConfirmed};
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn register_confirm_and_log_in() {
    each_backend("register_confirm_and_log_in", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let reg = env.wallet.register(RegisterRequest::new(p.clone(), pw(PASSWORD))).await.unwrap();
        assert_eq!(reg.challenge.code.destination_masked, "+86 138****5678");
        // Not verified yet: no login.
        assert!(matches!(env.login(&p, PASSWORD, 1).await, Err(WalletError::Identity(IdentityError::LoginFailed))));
        // A wrong code is refused and recorded; the right one verifies the phone.
        let wrong = CodeAnswer::new(reg.challenge.ticket.clone(), "000000");
        let e = env.wallet.confirm_registration(&wrong, None).await.unwrap_err();
        assert!(e.is_rejection(), "{e}");
        let user = env.wallet.confirm_registration(&env.answer(&reg.challenge, &p), None).await.unwrap();
        assert_eq!(user.status, UserStatus::Active);
        let s = env.session(&p, 1).await;
        assert!(!s.new_device);
        let me = env.wallet.profile(&s.caller()).await.unwrap();
        assert_eq!(me.id, reg.user);
        let kinds = env.audit_kinds(reg.user).await;
        for k in ["identity.registered", "token.code_sent", "token.code_failed", "identity.contact_verified"] {
            assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn registration_code_resend_and_ticket_checks() {
    each_backend("registration_code_resend_and_ticket_checks", |db| async move {
        let env = Env::new(db).await;
        let e = email("li@example.com");
        let reg = env.wallet.register(RegisterRequest::new(e.clone(), pw(PASSWORD))).await.unwrap();
        let again = env.wallet.resend_registration_code(&reg.challenge.ticket).await.unwrap();
        assert_eq!(again.user, reg.user);
        // A forged ticket and an expired one are refused.
        let forged = CodeAnswer::new(FlowTicket::new("AAAA"), env.code(&e));
        assert!(matches!(env.wallet.confirm_registration(&forged, None).await, Err(WalletError::TicketInvalid)));
        env.advance(601);
        let late = env.answer(&again.challenge, &e);
        assert!(matches!(env.wallet.confirm_registration(&late, None).await, Err(WalletError::TicketExpired)));
    })
    .await;
}

#[tokio::test]
async fn add_and_verify_a_second_contact() {
    each_backend("add_and_verify_a_second_contact", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let e = email("li@example.com");
        let challenge = env.wallet.add_contact(&me, &e).await.unwrap();
        let u = env.wallet.verify_contact(&me, &env.answer(&challenge, &e)).await.unwrap();
        assert!(u.contacts.iter().all(|c| c.verified_at.is_some()));
        // The email is now a login name too.
        assert!(env.login(&e, PASSWORD, 1).await.is_ok());
        assert!(env.notices_to(user).iter().any(|b| b.contains("l*@example.com") || b.contains("example.com")));
    })
    .await;
}

/// A custom zero-balance check in place of the ledger's (an embedding service that keeps money elsewhere
/// too supplies its own).
#[derive(Debug)]
struct AssumeZeroBalance(Arc<qianbao::core::ManualClock>);

impl ClosingCheck for AssumeZeroBalance {
    fn confirm_zero_balance(&self, _user: UserId) -> ClosingFuture<'_> {
        use qianbao::core::Clock;
        let checked_at = self.0.now();
        Box::pin(async move { Ok(ZeroBalanceConfirmed { checked_at }) })
    }
}

#[tokio::test]
async fn closing_with_a_custom_balance_check_revokes_everything() {
    each_backend("closing_with_a_custom_balance_check_revokes_everything", |db| async move {
        let tweak = |b: WalletBuilder, clock| b.closing_check(Arc::new(AssumeZeroBalance(clock)));
        let env = Env::builder(db, test_config(), tweak).await;
        let p = phone(PHONE);
        let (user, s) = env.verified(&p).await;
        let me = s.caller();
        let cert = env.certificate(&me, &p, &env.device_key()).await;
        // The wrong password closes nothing.
        let wrong = env.wallet.close_account(&me, &pw("not my password at all"), "moving").await;
        assert!(matches!(wrong, Err(WalletError::Identity(IdentityError::LoginFailed))));
        let closed = env.wallet.close_account(&me, &pw(PASSWORD), "moving abroad").await.unwrap();
        assert_eq!(closed.status, UserStatus::Closed);
        // Sessions, certificates: gone at once.
        assert!(matches!(env.wallet.profile(&me).await, Err(WalletError::Token(TokenError::TokenRevoked))));
        let list = env.wallet.certificate_authority().list(user).await.unwrap();
        assert!(list.iter().all(|c| c.view == CertView::Revoked), "{list:?}");
        assert!(env.wallet.verify_payment_certificate(&cert.certificate()).await.is_err());
        // Records are kept.
        assert!(env.audit_kinds(user).await.iter().any(|k| k == "ca.certificate_revoked"));
    })
    .await;
}
