//! Integration tests of qianbao-identity through its public API: every journey step and rejection, login
//! protection, real-name review, privacy at rest, the store conformance suite on every backend, property
//! tests and the fuzz corpora.

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{Clock, DeviceId, DigestKey, Email, ManualClock, PhoneNumber, SeededEntropy, Timestamp, UserId};
use qianbao_identity::testing::{FakeBank, FakeFaceService, FakeIdAuthority};
use qianbao_identity::*;
use qianbao_store::Database;

mod conformance;
mod corpus;
mod journey;
mod kyc;
mod login;
mod privacy;
mod props;
mod rejections;

pub(crate) const START: u64 = 1_800_000_000;
pub(crate) const ID_F: &str = "11010519491231002X"; // 王小明 (published example, female)
pub(crate) const ID_M: &str = "440524188001010014"; // published example, male
pub(crate) const CARD_1: &str = "6222021234567890128";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct Env {
    pub(crate) id: Identity,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) authority: FakeIdAuthority,
}

pub(crate) fn keys() -> PrivacyKeys {
    PrivacyKeys::new(SealingKey::new(1, &[0x11; 32]).unwrap(), DigestKey::new(&[0x22; 32]).unwrap())
}

/// Cards the fake bank knows: three issuers for 王小明, and one for another person.
pub(crate) fn bank() -> FakeBank {
    FakeBank::new()
        .with_card(CARD_1, "王小明", "13812345678", Some(ID_F), "ICBC")
        .with_card("6212345678901265", "王小明", "13812345678", Some(ID_F), "CMB")
        .with_card("4111111111111111", "王小明", "13812345678", None, "BOC")
        .with_card("5555555555554444", "李四", "13900001111", None, "CCB")
}

pub(crate) async fn env_with(db: Database, config: IdentityConfig) -> Env {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let authority = FakeIdAuthority::new().with_person(ID_F, "王小明").with_person(ID_M, "李四");
    let checks = ExternalChecks::new(Arc::new(authority.clone()), Arc::new(FakeFaceService), Arc::new(bank()));
    let store = IdentityDb::open(db).await.unwrap();
    let id =
        Identity::open(store, keys(), checks, config, clock.clone(), Arc::new(SeededEntropy::new(5))).await.unwrap();
    Env { id, clock, authority }
}

pub(crate) fn fast() -> IdentityConfig {
    IdentityConfig::insecure_fast_hashing_for_tests()
}

pub(crate) async fn env() -> Env {
    env_with(Database::open_in_memory().unwrap(), fast()).await
}

pub(crate) fn phone(s: &str) -> ContactValue {
    ContactValue::Phone(PhoneNumber::parse(s).unwrap())
}

pub(crate) fn email(s: &str) -> ContactValue {
    ContactValue::Email(Email::parse(s).unwrap())
}

pub(crate) fn pw(s: &str) -> Password {
    Password::from(s)
}

pub(crate) fn ctx(device: u128) -> RequestContext {
    RequestContext::new(Some(DeviceId::from_u128(device)), Some(format!("10.0.0.{}", device % 250).parse().unwrap()))
}

pub(crate) fn id_card_request(env: &Env, id: &str, name: &str, session: &str) -> KycRequest {
    KycRequest::IdCard(IdCardRequest {
        name: RealName::parse(name).unwrap(),
        id_number: ResidentId::parse(id, env.now()).unwrap(),
        front_photo: PhotoDigest([1; 32]),
        back_photo: PhotoDigest([2; 32]),
        face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: session.into() },
    })
}

pub(crate) fn card_request(card: &str, holder: &str, phone_no: &str, id: Option<&str>, now: Timestamp) -> KycRequest {
    KycRequest::BankCard(BankCardRequest {
        holder: RealName::parse(holder).unwrap(),
        card: BankCardNumber::parse(card).unwrap(),
        phone: PhoneNumber::parse(phone_no).unwrap(),
        id_number: id.map(|i| ResidentId::parse(i, now).unwrap()),
    })
}

impl Env {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Registers and verifies a user with `contact`.
    pub(crate) async fn active_user(&self, contact: &ContactValue) -> UserId {
        let u = self.id.register(contact, &pw(PASSWORD), ctx(1)).await.unwrap();
        self.id.mark_contact_verified(u.id, contact, self.now(), ctx(1)).await.unwrap();
        u.id
    }

    /// An active user verified by ID card (class I).
    pub(crate) async fn verified_user(&self, contact: &ContactValue) -> UserId {
        let user = self.active_user(contact).await;
        let app =
            self.id.start_application(user, &id_card_request(self, ID_F, "王小明", "live"), ctx(1)).await.unwrap();
        self.id.submit_application(app.id, ctx(1)).await.unwrap();
        self.id.review_application(app.id, ReviewDecision::Approve, "rev", ctx(1)).await.unwrap();
        user
    }

    /// Every audit kind of the user, oldest first (all pages).
    pub(crate) async fn audit_kinds(&self, user: UserId) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.id.audit_for_user(user, cursor, 500).await.unwrap();
            out.extend(page.records.into_iter().map(|r| r.event.kind.as_str().to_string()));
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        out.reverse();
        out
    }
}
