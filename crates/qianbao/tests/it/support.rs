//! The test wallet: a manual clock, seeded entropy, the outbox, the identity test doubles, fixed keys.

use std::sync::Arc;
use std::time::Duration;

use qianbao::core::{Clock, DeviceId, Email, ManualClock, Outbox, PhoneNumber, SeededEntropy, Timestamp, UserId};
use qianbao::qianbao_ca::{DeviceKey, IssuedCertificate};
use qianbao::qianbao_identity::testing::{FakeBank, FakeFaceService, FakeIdAuthority};
use qianbao::qianbao_identity::{
    ContactValue, FaceEvidence, IdCardRequest, Password, PaymentPassword, PhotoDigest, RealName, ResidentId,
    ReviewDecision,
};
use qianbao::qianbao_ledger::ScriptedBank;
use qianbao::qianbao_ledger::payments::IdempotencyKey;
use qianbao::qianbao_token::DeviceInfo;
use qianbao::*;

pub const START: u64 = 1_800_000_000;
pub const ID_F: &str = "11010519491231002X"; // 王小明 (published example)
pub const ID_M: &str = "440524188001010014"; // 李四 (published example)
pub const CARD: &str = "6222021234567890128";
pub const PASSWORD: &str = "correct horse battery staple";
pub const NEW_PASSWORD: &str = "purple elephant juggles quietly";
pub const PAY: &str = "815926";
pub const PHONE: &str = "13812345678";
pub const PHONE_M: &str = "13987654321";
pub const CARD_M: &str = "6222028765432109908"; // Luhn-valid, 李四's

/// The test configuration: cheap Argon2, and codes that may be sent back to back (the throttle is the
/// token crate's, tested there).
pub fn test_config() -> WalletConfig {
    let mut c = WalletConfig::insecure_fast_for_tests();
    c.tokens.code_resend_interval_secs = 0;
    c.tokens.code_daily_cap = 1_000;
    c
}

pub fn keys() -> WalletKeys {
    WalletKeys::from_master_secret(&[0x42; 32]).unwrap()
}

pub fn phone(s: &str) -> ContactValue {
    ContactValue::Phone(PhoneNumber::parse(s).unwrap())
}

pub fn email(s: &str) -> ContactValue {
    ContactValue::Email(Email::parse(s).unwrap())
}

pub fn pw(s: &str) -> Password {
    Password::from(s)
}

pub fn pay(s: &str) -> PaymentPassword {
    PaymentPassword::parse(s).unwrap()
}

/// Where messages to `c` go.
pub fn dest(c: &ContactValue) -> qianbao::core::Destination {
    match c {
        ContactValue::Phone(p) => qianbao::core::Destination::Phone(p.clone()),
        ContactValue::Email(e) => qianbao::core::Destination::Email(e.clone()),
        _ => unreachable!("contacts are phones or emails"),
    }
}

pub fn device(n: u128) -> DeviceInfo {
    DeviceInfo { id: DeviceId::from_u128(n), name: format!("phone {n}"), address: Some("10.1.2.3".parse().unwrap()) }
}

pub struct Env {
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    pub outbox: Outbox,
    pub entropy: Arc<SeededEntropy>,
    pub bank: Arc<ScriptedBank>,
}

impl Env {
    pub async fn new(db: Database) -> Env {
        Env::with(db, test_config()).await
    }

    pub async fn with(db: Database, config: WalletConfig) -> Env {
        Env::builder(db, config, |b, _| b).await
    }

    /// A wallet whose builder `tweak` may change further.
    pub async fn builder(
        db: Database,
        config: WalletConfig,
        tweak: impl FnOnce(WalletBuilder, Arc<ManualClock>) -> WalletBuilder,
    ) -> Env {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
        let entropy = Arc::new(SeededEntropy::new(11));
        let authority = FakeIdAuthority::new().with_person(ID_F, "王小明").with_person(ID_M, "李四");
        let bank = FakeBank::new().with_card(CARD, "王小明", PHONE, Some(ID_F), "ICBC").with_card(
            CARD_M,
            "李四",
            PHONE_M,
            Some(ID_M),
            "ABC",
        );
        let money_bank = Arc::new(ScriptedBank::new());
        let builder = Wallet::builder()
            .database(db)
            .keys(keys())
            .config(config)
            .clock(clock.clone())
            .entropy(entropy.clone())
            .id_authority(Arc::new(authority))
            .face_service(Arc::new(FakeFaceService))
            .bank_verifier(Arc::new(bank))
            .bank_adapter(money_bank.clone());
        let wallet = tweak(builder, clock.clone()).build().await.unwrap();
        let outbox = wallet.outbox().unwrap().clone();
        Env { wallet, clock, outbox, entropy, bank: money_bank }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The newest code sent to `c`.
    pub fn code(&self, c: &ContactValue) -> String {
        testing::last_code_to(&self.outbox, c).expect("a code was sent")
    }

    /// The answer to `challenge` with the code sent to `c`.
    pub fn answer(&self, challenge: &CodeChallenge, c: &ContactValue) -> CodeAnswer {
        CodeAnswer::new(challenge.ticket.clone(), self.code(c))
    }

    /// Registers and verifies `c`.
    pub async fn register(&self, c: &ContactValue) -> UserId {
        let reg = self.wallet.register(RegisterRequest::new(c.clone(), pw(PASSWORD))).await.unwrap();
        self.wallet.confirm_registration(&self.answer(&reg.challenge, c), None).await.unwrap();
        reg.user
    }

    pub async fn login(&self, c: &ContactValue, password: &str, device_n: u128) -> Result<LoginOutcome, WalletError> {
        self.wallet.login(LoginRequest::new(c.clone(), pw(password), device(device_n))).await
    }

    /// Logs in, expecting a session without step-up.
    pub async fn session(&self, c: &ContactValue, device_n: u128) -> Session {
        match self.login(c, PASSWORD, device_n).await.unwrap() {
            LoginOutcome::Session(s) => *s,
            other => panic!("expected a session, got {other:?}"),
        }
    }

    pub fn id_card(&self) -> IdCardRequest {
        IdCardRequest {
            name: RealName::parse("王小明").unwrap(),
            id_number: ResidentId::parse(ID_F, self.now()).unwrap(),
            front_photo: PhotoDigest([1; 32]),
            back_photo: PhotoDigest([2; 32]),
            face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: "live-1".into() },
        }
    }

    /// Real-name verification by ID card, approved by an operator.
    pub async fn real_name(&self, caller: &Caller, c: &ContactValue) {
        let challenge = self.wallet.request_real_name_code(caller).await.unwrap();
        let app = self.wallet.real_name_by_id_card(caller, &self.answer(&challenge, c), self.id_card()).await.unwrap();
        self.wallet.operator("reviewer").review_application(app.id, ReviewDecision::Approve).await.unwrap();
    }

    /// A registered, real-name verified user with a payment password, logged in on device 1.
    pub async fn verified(&self, c: &ContactValue) -> (UserId, Session) {
        let user = self.register(c).await;
        let s = self.session(c, 1).await;
        self.real_name(&s.caller(), c).await;
        self.wallet.set_payment_password(&s.caller(), &pay(PAY)).await.unwrap();
        (user, s)
    }

    /// A certificate for the caller's device, proved by code and payment password.
    pub async fn certificate(&self, caller: &Caller, c: &ContactValue, key: &DeviceKey) -> IssuedCertificate {
        self.wallet.issue_certificate(caller, self.cert_request(caller, c, key).await).await.unwrap()
    }

    pub async fn cert_request(&self, caller: &Caller, c: &ContactValue, key: &DeviceKey) -> CertificateRequest {
        let challenge = self.wallet.request_certificate_code(caller).await.unwrap();
        CertificateRequest {
            code: self.answer(&challenge, c),
            secret: ProofSecret::PaymentPassword(pay(PAY)),
            csr: key.csr().unwrap(),
        }
    }

    pub fn device_key(&self) -> DeviceKey {
        DeviceKey::generate(self.entropy.as_ref())
    }

    /// Every audit kind recorded for `user`, newest first.
    pub async fn audit_kinds(&self, user: UserId) -> Vec<String> {
        let page = self.wallet.operator("auditor").audit_for_user(user, None, 500).await.unwrap();
        page.records.into_iter().map(|r| r.event.kind.as_str().to_string()).collect()
    }

    /// Bodies of the security notices sent to `user`'s in-app inbox.
    pub fn notices_to(&self, user: UserId) -> Vec<String> {
        let me = qianbao::core::Destination::User(user);
        self.outbox.all().into_iter().filter(|n| n.destination == me).map(|n| n.body).collect()
    }
}

/// Money in the wallet's currency from `"12.34"`.
pub fn cny(s: &str) -> qianbao::core::Money {
    qianbao::core::Money::parse(s, qianbao::core::Currency::CNY).unwrap()
}

pub fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

pub fn by_password() -> Authorization {
    Authorization::password(pay(PAY))
}

impl Env {
    /// Binds the bank card of the person behind `c` (real-name verification by bank card, approved);
    /// returns the card's reference.
    pub async fn bind_card(&self, caller: &Caller, who: Person) -> qianbao::qianbao_identity::ApplicationId {
        use qianbao::qianbao_identity::{BankCardNumber, BankCardRequest};
        let (name, card, phone, id) = match who {
            Person::F => ("王小明", CARD, PHONE, ID_F),
            Person::M => ("李四", CARD_M, PHONE_M, ID_M),
        };
        let request = BankCardRequest {
            holder: RealName::parse(name).unwrap(),
            card: BankCardNumber::parse(card).unwrap(),
            phone: PhoneNumber::parse(phone).unwrap(),
            id_number: Some(ResidentId::parse(id, self.now()).unwrap()),
        };
        let app = self.wallet.real_name_by_bank_card(caller, request).await.unwrap();
        self.wallet.operator("reviewer").review_application(app.id, ReviewDecision::Approve).await.unwrap();
        app.id
    }

    /// 王小明: ID card and bank card (three channels: class II), a payment password, `amount` topped up.
    pub async fn funded(&self, amount: &str) -> (UserId, Session, qianbao::qianbao_identity::ApplicationId) {
        let p = phone(PHONE);
        let (user, s) = self.verified(&p).await;
        let card = self.bind_card(&s.caller(), Person::F).await;
        self.top_up(&s.caller(), card, amount, "funding").await;
        (user, s, card)
    }

    /// 李四: bank card only (one channel: class I), a payment password, `amount` topped up (if any).
    pub async fn class_one(&self, amount: Option<&str>) -> (UserId, Session, qianbao::qianbao_identity::ApplicationId) {
        let p = phone(PHONE_M);
        let user = self.register(&p).await;
        let s = self.session(&p, 21).await;
        let card = self.bind_card(&s.caller(), Person::M).await;
        self.wallet.set_payment_password(&s.caller(), &pay(PAY)).await.unwrap();
        if let Some(amount) = amount {
            self.top_up(&s.caller(), card, amount, "funding-m").await;
        }
        (user, s, card)
    }

    pub async fn top_up(&self, caller: &Caller, card: qianbao::qianbao_identity::ApplicationId, amount: &str, k: &str) {
        let req = CardMovement { card, amount: cny(amount), key: key(k) };
        let p = self.wallet.top_up(caller, req, &by_password()).await.unwrap();
        assert_eq!(p.state, qianbao::qianbao_ledger::payments::PaymentState::Completed);
    }

    pub async fn balance(&self, caller: &Caller) -> qianbao::core::Money {
        self.wallet.balance(caller).await.unwrap().balance
    }

    /// A merchant with an account; returns its id and account.
    pub async fn merchant(&self, n: u128) -> (qianbao::qianbao_ledger::payments::MerchantId, qianbao::core::AccountId) {
        let m = qianbao::qianbao_ledger::payments::MerchantId::from_u128(n);
        (m, self.wallet.operator("merchants").open_merchant(m).await.unwrap())
    }
}

/// The two people the test doubles know.
#[derive(Debug, Clone, Copy)]
pub enum Person {
    F,
    M,
}

/// Runs `body` on every configured backend, each with a fresh database.
pub use qianbao_store::testing::each_backend;
