//! Real-name verification through the facade: by ID card with its SMS code, by bank card, rejections,
//! an unreachable provider, and the operator's review.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use qianbao::qianbao_identity::checks::CheckFuture;
use qianbao::qianbao_identity::testing::FakeIdAuthority;
use qianbao::qianbao_identity::{
    AccountClass, ApplicationState, AuthorityAnswer, BankCardNumber, BankCardRequest, CheckError, IdAuthority,
    IdentityError, RealName, Rejection, RejectionCode, ResidentId, ReviewDecision,
};
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use crate::support::*;

#[tokio::test]
async fn id_card_with_sms_code_then_review() {
    each_backend("id_card_with_sms_code_then_review", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        // Without the right code nothing is created.
        let challenge = env.wallet.request_real_name_code(&me).await.unwrap();
        assert_eq!(challenge.code.purpose.as_str(), "real_name");
        let wrong = CodeAnswer::new(challenge.ticket.clone(), "000000");
        let e = env.wallet.real_name_by_id_card(&me, &wrong, env.id_card()).await.unwrap_err();
        assert!(matches!(e, WalletError::Token(TokenError::CodeWrong { .. })), "{e}");
        assert!(env.wallet.real_name_applications(&me).await.unwrap().is_empty());
        let app = env.wallet.real_name_by_id_card(&me, &env.answer(&challenge, &p), env.id_card()).await.unwrap();
        assert_eq!(app.state, ApplicationState::Submitted);
        assert_eq!(app.summary.id_masked.as_deref(), Some("110105********002X"));
        assert_eq!(env.wallet.account_class(&me).await.unwrap(), None);
        let ops = env.wallet.operator("reviewer-7");
        assert_eq!(ops.review_queue(10).await.unwrap().len(), 1);
        ops.review_application(app.id, ReviewDecision::Approve).await.unwrap();
        assert_eq!(env.wallet.account_class(&me).await.unwrap(), Some(AccountClass::I));
        assert!(env.notices_to(user).iter().any(|b| b.contains("verification was approved")));
    })
    .await;
}

#[tokio::test]
async fn bank_card_binding_and_a_rejection() {
    each_backend("bank_card_binding_and_a_rejection", |db| async move {
        let env = Env::new(db).await;
        let p = phone(PHONE);
        let user = env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let request = |holder: &str| BankCardRequest {
            holder: RealName::parse(holder).unwrap(),
            card: BankCardNumber::parse(CARD).unwrap(),
            phone: qianbao::core::PhoneNumber::parse(PHONE).unwrap(),
            id_number: Some(ResidentId::parse(ID_F, env.now()).unwrap()),
        };
        // Someone else's name on the card: rejected at once (false information).
        let app = env.wallet.real_name_by_bank_card(&me, request("李四")).await.unwrap();
        assert!(matches!(app.state, ApplicationState::Rejected(_)), "{:?}", app.state);
        let app = env.wallet.real_name_by_bank_card(&me, request("王小明")).await.unwrap();
        assert_eq!(app.state, ApplicationState::Submitted);
        let rejection = Rejection { code: RejectionCode::Other, note: "blurred photo".into() };
        env.wallet.operator("reviewer").review_application(app.id, ReviewDecision::Reject(rejection)).await.unwrap();
        assert!(env.notices_to(user).iter().any(|b| b.contains("was not approved")));
        assert_eq!(env.wallet.real_name_applications(&me).await.unwrap().len(), 2);
    })
    .await;
}

/// An ID authority that is down until switched back on.
#[derive(Debug)]
struct Flaky {
    up: AtomicBool,
    inner: FakeIdAuthority,
}

impl IdAuthority for Flaky {
    fn check<'a>(&'a self, name: &'a RealName, id: &'a ResidentId) -> CheckFuture<'a, AuthorityAnswer> {
        if self.up.load(Ordering::SeqCst) {
            self.inner.check(name, id)
        } else {
            Box::pin(async { Err(CheckError { provider: "id authority", message: "down".into() }) })
        }
    }
}

#[tokio::test]
async fn an_unreachable_provider_leaves_a_draft_to_resubmit() {
    each_backend("an_unreachable_provider_leaves_a_draft_to_resubmit", |db| async move {
        let flaky = Arc::new(Flaky {
            up: AtomicBool::new(false),
            inner: FakeIdAuthority::new().with_person(ID_F, "王小明"),
        });
        let f = flaky.clone();
        let env = Env::builder(db, test_config(), move |b, _| b.id_authority(f)).await;
        let p = phone(PHONE);
        env.register(&p).await;
        let me = env.session(&p, 1).await.caller();
        let challenge = env.wallet.request_real_name_code(&me).await.unwrap();
        let e = env.wallet.real_name_by_id_card(&me, &env.answer(&challenge, &p), env.id_card()).await.unwrap_err();
        assert!(matches!(e, WalletError::Identity(IdentityError::CheckUnavailable(_))), "{e}");
        assert!(!e.is_rejection());
        let draft = env.wallet.real_name_applications(&me).await.unwrap().pop().unwrap();
        assert_eq!(draft.state, ApplicationState::Draft);
        flaky.up.store(true, Ordering::SeqCst);
        let challenge = env.wallet.request_real_name_code(&me).await.unwrap();
        let app = env.wallet.resubmit_real_name(&me, &env.answer(&challenge, &p), draft.id).await.unwrap();
        assert_eq!(app.state, ApplicationState::Submitted);
    })
    .await;
}

#[tokio::test]
async fn without_providers_real_name_is_unavailable_not_approved() {
    let env = Env::builder(qianbao::Database::open_in_memory().unwrap(), test_config(), |_, clock| {
        Wallet::builder().keys(keys()).config(test_config()).clock(clock)
    })
    .await;
    let p = phone(PHONE);
    env.register(&p).await;
    let me = env.session(&p, 1).await.caller();
    let challenge = env.wallet.request_real_name_code(&me).await.unwrap();
    let e = env.wallet.real_name_by_id_card(&me, &env.answer(&challenge, &p), env.id_card()).await.unwrap_err();
    assert!(e.to_string().contains("no provider is configured"), "{e}");
}
