//! Password change and recovery, contact change.

use qianbao::core::SecretString;
use qianbao::qianbao_identity::IdentityError;
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use crate::support::*;

fn quiet_devices() -> WalletConfig {
    let mut c = test_config();
    c.policy.new_device_step_up = NewDeviceStepUp::None;
    c
}

#[tokio::test]
async fn password_change_needs_the_old_one_and_signs_out_other_devices() {
    each_backend("password_change_needs_the_old_one", |db| async move {
        let env = Env::with(db, quiet_devices()).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let other = env.session(&p, 2).await.caller();
        let e = env.wallet.change_password(&me, &pw("not the password at all"), &pw(NEW_PASSWORD)).await;
        assert!(matches!(e, Err(WalletError::Identity(IdentityError::WrongPassword))));
        env.wallet.change_password(&me, &pw(PASSWORD), &pw(NEW_PASSWORD)).await.unwrap();
        assert!(env.wallet.profile(&me).await.is_ok());
        assert!(matches!(env.wallet.profile(&other).await, Err(WalletError::Token(TokenError::TokenRevoked))));
        assert!(env.login(&p, PASSWORD, 1).await.is_err());
        assert!(env.login(&p, NEW_PASSWORD, 1).await.is_ok());
        assert!(env.notices_to(user).iter().any(|b| b.contains("login password was changed")));
    })
    .await;
}

#[tokio::test]
async fn recovery_resets_the_password_and_revokes_every_session() {
    each_backend("recovery_resets_the_password_and_revokes_every_session", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let r = env.wallet.start_password_recovery(&p, None).await.unwrap();
        // Unknown contacts get the same shape of answer and no message.
        let sent = env.outbox.len();
        let nobody = env.wallet.start_password_recovery(&phone("13900001111"), None).await.unwrap();
        assert_eq!(env.outbox.len(), sent);
        assert_eq!(nobody.destination_masked, "+86 139****1111");
        // A wrong code changes nothing; the right one resets.
        let wrong = CodeAnswer::new(r.ticket.clone(), "000000");
        assert!(env.wallet.reset_password(&wrong, &pw(NEW_PASSWORD), None).await.is_err());
        env.wallet.reset_password(&CodeAnswer::new(r.ticket, env.code(&p)), &pw(NEW_PASSWORD), None).await.unwrap();
        assert!(matches!(env.wallet.profile(&me).await, Err(WalletError::Token(TokenError::TokenRevoked))));
        assert!(env.login(&p, NEW_PASSWORD, 1).await.is_ok());
        assert!(env.notices_to(user).iter().any(|b| b.contains("was reset")));
        assert!(env.audit_kinds(user).await.iter().any(|k| k == "token.revoked"));
    })
    .await;
}

#[tokio::test]
async fn contact_change_verifies_both_contacts_and_tells_the_old_one() {
    each_backend("contact_change_verifies_both_contacts", |db| async move {
        let env = Env::new(db).await;
        let (old, new) = (phone(PHONE), phone("13900001111"));
        let user = env.register(&old).await;
        let me = env.session(&old, 1).await.caller();
        let change = env.wallet.start_contact_change(&me, &old, &new, true).await.unwrap();
        let (old_code, new_code) = (env.code(&old), env.code(&new));
        let confirm = |new_code: &str, old_code: &str, new_contact| ConfirmContactChange {
            ticket: change.ticket.clone(),
            old: old.clone(),
            new: new_contact,
            new_code: SecretString::new(new_code.into()),
            old_answer: OldContactAnswer::Code(SecretString::new(old_code.into())),
        };
        // The ticket binds the contacts: another "new" contact is refused.
        let e = env.wallet.confirm_contact_change(&me, confirm(&new_code, &old_code, phone("13700002222"))).await;
        assert!(matches!(e, Err(WalletError::TicketInvalid)));
        // Codes swapped between the contacts do not verify.
        let e = env.wallet.confirm_contact_change(&me, confirm(&old_code, &new_code, new.clone())).await;
        assert!(e.is_err());
        let change = env.wallet.start_contact_change(&me, &old, &new, true).await.unwrap();
        let req = ConfirmContactChange {
            ticket: change.ticket,
            old: old.clone(),
            new: new.clone(),
            new_code: SecretString::new(env.code(&new)),
            old_answer: OldContactAnswer::Code(SecretString::new(env.code(&old))),
        };
        let u = env.wallet.confirm_contact_change(&me, req).await.unwrap();
        assert_eq!(u.contacts[0].masked, "+86 139****1111");
        assert!(env.login(&new, PASSWORD, 1).await.is_ok());
        assert!(env.login(&old, PASSWORD, 1).await.is_err());
        let told_old = env.outbox.all().into_iter().any(|n| n.destination == dest(&old) && n.body.contains("replaced"));
        assert!(told_old, "the old contact is told of the change");
        assert!(env.notices_to(user).iter().any(|b| b.contains("replaced by +86 139****1111")));
    })
    .await;
}

#[tokio::test]
async fn a_lost_contact_is_replaced_with_the_payment_password() {
    each_backend("a_lost_contact_is_replaced_with_the_payment_password", |db| async move {
        let env = Env::new(db).await;
        let (old, new) = (phone(PHONE), phone("13900001111"));
        let (_, s) = env.verified(&old).await;
        let me = s.caller();
        let change = env.wallet.start_contact_change(&me, &old, &new, false).await.unwrap();
        assert!(change.old_code.is_none());
        let req = |pp: &str| ConfirmContactChange {
            ticket: change.ticket.clone(),
            old: old.clone(),
            new: new.clone(),
            new_code: SecretString::new(env.code(&new)),
            old_answer: OldContactAnswer::PaymentPassword(pay(pp)),
        };
        let e = env.wallet.confirm_contact_change(&me, req("135792")).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::PaymentPasswordWrong { .. })), "{e}");
        // The new code was used by the failed try: a fresh change.
        let change = env.wallet.start_contact_change(&me, &old, &new, false).await.unwrap();
        let req = ConfirmContactChange {
            ticket: change.ticket,
            old: old.clone(),
            new: new.clone(),
            new_code: SecretString::new(env.code(&new)),
            old_answer: OldContactAnswer::PaymentPassword(pay(PAY)),
        };
        env.wallet.confirm_contact_change(&me, req).await.unwrap();
        assert!(env.login(&new, PASSWORD, 1).await.is_ok());
    })
    .await;
}
