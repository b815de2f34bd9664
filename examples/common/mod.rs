//! What the examples share: a wallet on an SQLite file in a temporary folder, with the outside world
//! played by test doubles (`FakeBank` for bank-card checks, `ScriptedBank` for moving money, the
//! in-memory outbox for SMS codes), a manual clock (so an example can wait a day in no time), and a few
//! people the fake bank knows.
//!
//! Each example uses part of this module; the rest would be dead code there.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use qianbao::core::{
    Clock, Currency, DeviceId, ManualClock, Money, OsEntropy, PhoneNumber, SystemClock, Timestamp, UserId,
};
use qianbao::qianbao_ca::DeviceKey;
use qianbao::qianbao_identity::testing::FakeBank;
use qianbao::qianbao_identity::{
    ApplicationId, BankCardNumber, BankCardRequest, ContactValue, Password, PaymentPassword, RealName, ReviewDecision,
};
use qianbao::qianbao_ledger::ScriptedBank;
use qianbao::qianbao_ledger::payments::IdempotencyKey;
use qianbao::qianbao_token::DeviceInfo;
use qianbao::{
    Authorization, Caller, CardMovement, CertificateRequest, CodeAnswer, LoginOutcome, LoginRequest, ProofSecret,
    RegisterRequest, Wallet, WalletConfig, WalletError, WalletKeys, testing,
};

/// What the examples return.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The login password every demo person uses.
pub const PASSWORD: &str = "correct horse battery staple";
/// The payment password every demo person uses.
pub const PAY: &str = "815926";

/// Someone the fake bank knows: a name, the phone reserved at the bank, a (Luhn-valid) card number and
/// the id of their phone.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    /// The real name.
    pub name: &'static str,
    /// The phone number (also the login).
    pub phone: &'static str,
    /// The bank card.
    pub card: &'static str,
    /// Their phone's device id.
    pub device: u128,
}

/// 王小明, the main character.
pub const WANG: Person = Person { name: "王小明", phone: "13812345678", card: "6222021234567890128", device: 1 };
/// 李四, a friend.
pub const LI: Person = Person { name: "李四", phone: "13987654321", card: "6222028765432109908", device: 2 };
/// 张三, another friend.
pub const ZHANG: Person = Person { name: "张三", phone: "13700001111", card: "6222025555666677776", device: 3 };
/// 赵六, a third friend.
pub const ZHAO: Person = Person { name: "赵六", phone: "13600002222", card: "6222024444333322226", device: 4 };

/// A person who is registered, verified (by bank card), has a payment password and is logged in.
#[derive(Debug, Clone)]
pub struct Member {
    /// Who.
    pub person: Person,
    /// Their user id.
    pub user: UserId,
    /// Their current session.
    pub caller: Caller,
    /// Their bound bank card (the real-name application's id).
    pub card: ApplicationId,
}

/// A demo wallet and the doubles around it.
pub struct Demo {
    /// The wallet.
    pub wallet: Wallet,
    /// The clock the wallet reads.
    pub clock: Arc<ManualClock>,
    /// Where SMS codes and notices collect.
    pub outbox: qianbao::core::Outbox,
    /// The bank that moves money (it can be told to keep a movement pending).
    pub bank: Arc<ScriptedBank>,
    /// The temporary folder holding the database file; removed when the demo ends.
    pub dir: tempfile::TempDir,
}

impl Demo {
    /// A wallet on an SQLite file in a fresh temporary folder, with the production configuration.
    pub async fn new() -> Result<Demo> {
        Demo::with_config(WalletConfig::default()).await
    }

    /// As [`Demo::new`], with `config`.
    pub async fn with_config(config: WalletConfig) -> Result<Demo> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wallet.sqlite");
        // The manual clock starts at the real time; the demo moves it forward instead of waiting.
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(SystemClock.now().unix_secs())));
        let mut checks = FakeBank::new();
        for p in [WANG, LI, ZHANG, ZHAO] {
            checks = checks.with_card(p.card, p.name, p.phone, None, "ICBC");
        }
        let bank = Arc::new(ScriptedBank::new());
        let wallet = Wallet::builder()
            .sqlite(&path)
            // A real service loads its master secret from a secret manager.
            .keys(WalletKeys::from_master_secret(b"qianbao example master secret, not for production")?)
            .config(config)
            .clock(clock.clone())
            .bank_verifier(Arc::new(checks))
            .bank_adapter(bank.clone())
            .build()
            .await?;
        let outbox = wallet.outbox().ok_or("no notifier was set, so the wallet keeps an outbox")?.clone();
        Ok(Demo { wallet, clock, outbox, bank, dir })
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// The newest SMS code sent to `who`; a minute passes first so the next code may be sent.
    pub fn code(&self, who: &Person) -> Result<String> {
        let code = testing::last_code_to(&self.outbox, &phone(who)?).ok_or("an SMS code was sent")?;
        self.advance(61);
        Ok(code)
    }

    /// Registers `who`, confirms the SMS code, logs in, verifies the real name by bank card (approved
    /// by an operator) and sets the payment password.
    pub async fn member(&self, who: Person) -> Result<Member> {
        let reg = self.wallet.register(RegisterRequest::new(phone(&who)?, Password::from(PASSWORD))).await?;
        let answer = CodeAnswer::new(reg.challenge.ticket, self.code(&who)?);
        self.wallet.confirm_registration(&answer, None).await?;
        let caller = self.login(&who).await?;
        let request = BankCardRequest {
            holder: RealName::parse(who.name)?,
            card: BankCardNumber::parse(who.card)?,
            phone: PhoneNumber::parse(who.phone)?,
            id_number: None,
        };
        let application = self.wallet.real_name_by_bank_card(&caller, request).await?;
        self.wallet.operator("reviewer-1").review_application(application.id, ReviewDecision::Approve).await?;
        self.wallet.set_payment_password(&caller, &PaymentPassword::parse(PAY)?).await?;
        println!("   {} registered, verified by bank card and set a payment password", who.name);
        Ok(Member { person: who, user: reg.user, caller, card: application.id })
    }

    /// Logs `who` in on their phone (a known device: no second step).
    pub async fn login(&self, who: &Person) -> Result<Caller> {
        let device =
            DeviceInfo { id: DeviceId::from_u128(who.device), name: format!("{}'s phone", who.name), address: None };
        match self.wallet.login(LoginRequest::new(phone(who)?, Password::from(PASSWORD), device)).await? {
            LoginOutcome::Session(session) => Ok(session.caller()),
            _ => Err(format!("{} was asked for a second step", who.name).into()),
        }
    }

    /// Tops `m`'s wallet up from their bank card.
    pub async fn top_up(&self, m: &Member, amount: &str, key: &str) -> Result<()> {
        let req = CardMovement { card: m.card, amount: cny(amount)?, key: idem(key)? };
        self.wallet.top_up(&m.caller, req, &by_password()?).await?;
        println!("   {} topped up {amount} CNY from the bank card", m.person.name);
        Ok(())
    }

    /// `m`'s balance.
    pub async fn balance(&self, m: &Member) -> Result<Money> {
        Ok(self.wallet.balance(&m.caller).await?.balance)
    }

    /// A certificate request for `m`'s current device: a fresh SMS code, the payment password and a
    /// CSR made from the device's own key.
    pub async fn certificate_request(&self, m: &Member, key: &DeviceKey) -> Result<CertificateRequest> {
        let challenge = self.wallet.request_certificate_code(&m.caller).await?;
        Ok(CertificateRequest {
            code: CodeAnswer::new(challenge.ticket, self.code(&m.person)?),
            secret: ProofSecret::PaymentPassword(PaymentPassword::parse(PAY)?),
            csr: key.csr()?,
        })
    }
}

/// A fresh device key, made "on the phone" (P-256, from the operating system's random source).
pub fn device_key() -> DeviceKey {
    DeviceKey::generate(&OsEntropy)
}

/// `who`'s phone number as a contact.
pub fn phone(who: &Person) -> Result<ContactValue> {
    Ok(ContactValue::Phone(PhoneNumber::parse(who.phone)?))
}

/// Money in yuan from `"12.34"`.
pub fn cny(amount: &str) -> Result<Money> {
    Ok(Money::parse(amount, Currency::CNY)?)
}

/// An idempotency key.
pub fn idem(key: &str) -> Result<IdempotencyKey> {
    Ok(IdempotencyKey::new(key)?)
}

/// The demo payment password as an authorization.
pub fn by_password() -> Result<Authorization> {
    Ok(Authorization::password(PaymentPassword::parse(PAY)?))
}

/// Expects a refusal: prints it and returns the error, or fails the example when the step succeeded.
pub fn refused<T>(what: &str, result: std::result::Result<T, WalletError>) -> Result<WalletError> {
    match result {
        Ok(_) => Err(format!("{what} should have been refused").into()),
        Err(e) => {
            println!("   refused as expected: {what}: {e} [{}]", e.code());
            Ok(e)
        }
    }
}

/// Fails the example with `message` unless `ok`.
pub fn check(ok: bool, message: &str) -> Result<()> {
    if ok { Ok(()) } else { Err(format!("check failed: {message}").into()) }
}
