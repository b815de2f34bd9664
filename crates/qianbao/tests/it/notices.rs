//! Notices never carry a secret: after a long journey, no message body holds a password, a payment
//! password, an ID or card number, and no code shows up anywhere but in its own message.

use qianbao::core::{NotificationKind, SecretString};
use qianbao::qianbao_identity::ContactValue;
use qianbao::*;

use crate::support::*;

async fn busy_life(env: &Env, p: &ContactValue) {
    let (user, s) = env.verified(p).await;
    let me = s.caller();
    env.wallet.change_payment_password(&me, &pay(PAY), &pay("907263")).await.unwrap();
    let key = env.device_key();
    let challenge = env.wallet.request_certificate_code(&me).await.unwrap();
    let req = CertificateRequest {
        code: env.answer(&challenge, p),
        secret: ProofSecret::Password(pw(PASSWORD)),
        csr: key.csr().unwrap(),
    };
    let issued = env.wallet.issue_certificate(&me, req).await.unwrap();
    env.wallet.revoke_certificate(&me, issued.record.serial).await.unwrap();
    // A new device, with its code.
    let LoginOutcome::StepUp(up) = env.login(p, PASSWORD, 2).await.unwrap() else { panic!("step-up") };
    let answer = StepUpAnswer::Code(SecretString::new(env.code(p)));
    env.wallet.complete_login(&up.ticket, answer, device(2)).await.unwrap();
    env.wallet.change_password(&me, &pw(PASSWORD), &pw(NEW_PASSWORD)).await.unwrap();
    let r = env.wallet.start_password_recovery(p, None).await.unwrap();
    env.wallet.reset_password(&CodeAnswer::new(r.ticket, env.code(p)), &pw(PASSWORD), None).await.unwrap();
    let me = env.session(p, 1).await.caller();
    let new = phone("13900001111");
    let change = env.wallet.start_contact_change(&me, p, &new, true).await.unwrap();
    let req = ConfirmContactChange {
        ticket: change.ticket,
        old: p.clone(),
        new: new.clone(),
        new_code: SecretString::new(env.code(&new)),
        old_answer: OldContactAnswer::Code(SecretString::new(env.code(p))),
    };
    env.wallet.confirm_contact_change(&me, req).await.unwrap();
    env.wallet.operator("risk").freeze(user, "report").await.unwrap();
}

#[tokio::test]
async fn no_notification_carries_a_secret() {
    each_backend("no_notification_carries_a_secret", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        busy_life(&env, &p).await;
        let all = env.outbox.all();
        let codes: Vec<String> = all
            .iter()
            .filter(|n| n.kind == NotificationKind::VerificationCode)
            .map(|n| testing::code_in(&n.body).expect("a code message has its code"))
            .collect();
        assert!(codes.len() >= 7, "the journey sent codes: {}", codes.len());
        let secrets = [PASSWORD, NEW_PASSWORD, PAY, "907263", ID_F, "11010519491231002", CARD];
        let notices = all.iter().filter(|n| n.kind == NotificationKind::SecurityNotice).count();
        assert!(notices >= 10, "the journey made notices: {notices}");
        for n in &all {
            for s in secrets {
                assert!(!n.body.contains(s), "{:?} {:?} carries a secret", n.kind, n.subject);
            }
            match n.kind {
                NotificationKind::VerificationCode => {
                    let own = testing::code_in(&n.body).unwrap();
                    let others = codes.iter().filter(|c| **c != own && n.body.contains(c.as_str())).count();
                    assert_eq!(others, 0, "a code message carries another code");
                }
                _ => {
                    for c in &codes {
                        assert!(!n.body.contains(c.as_str()), "{:?} {:?} carries a code", n.kind, n.subject);
                    }
                }
            }
        }
    })
    .await;
}
