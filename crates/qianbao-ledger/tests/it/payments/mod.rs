//! The payment products through the public API, on every store backend.
//!
//! Everything here runs against a [`LedgerPort`] made by [`ledger_for`]: the durable ledger
//! ([`DurableLedger`](qianbao_ledger::DurableLedger)) on the test's database, so every product,
//! rejection, property and conformance test runs on SQLite and PostgreSQL.
//!
//! Amounts are written in fen grouped as yuan and fen (`100_00` is CNY 100.00).
#![allow(clippy::inconsistent_digit_grouping)]

mod cases;
mod port;
mod products;
mod props;
mod recovery;
mod rejections;
mod store;

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{AccountId, Currency, DigestKey, ManualClock, Money, SeededEntropy, Timestamp, UserId};
use qianbao_ledger::bank::{BankScript, CardToken, ScriptedBank};
use qianbao_ledger::payments::*;
use qianbao_ledger::qr::{CountryCode, KeyId, Mcc, MerchantProfile, QrCodec, QrConfig, QrKeyring};
use qianbao_ledger::{Account, LedgerConfig};
use qianbao_store::Database;

/// 2026-05-28T13:46:40+08:00.
pub const START: u64 = 1_779_947_200;

pub fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

pub fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

pub fn user(n: u128) -> UserId {
    UserId::from_u128(n)
}

fn digest_key(byte: u8) -> DigestKey {
    DigestKey::new(&[byte; 32]).unwrap()
}

pub fn qr_codec() -> QrCodec {
    QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("q1").unwrap(), digest_key(5))).unwrap()
}

/// The ledger the payment tests run on.
pub type TestLedger = qianbao_ledger::DurableLedger;

/// A fresh durable ledger on `db` stamped by `clock`.
pub async fn ledger_for(db: &Database, clock: Arc<ManualClock>) -> TestLedger {
    qianbao_ledger::DurableLedger::open(db.clone(), LedgerConfig::default(), clock).await.unwrap()
}

/// A payments service with its test doubles.
pub struct Harness<L = TestLedger> {
    pub payments: Payments<L>,
    pub clock: Arc<ManualClock>,
    pub bank: ScriptedBank,
}

pub async fn harness(db: Database, config: PaymentsConfig) -> Harness {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let ledger = ledger_for(&db, clock.clone()).await;
    harness_on(ledger, db, config, clock).await
}

pub async fn harness_on<L: LedgerPort>(
    ledger: L,
    db: Database,
    config: PaymentsConfig,
    clock: Arc<ManualClock>,
) -> Harness<L> {
    let store = PaymentsDb::open(db).await.unwrap();
    let bank = ScriptedBank::new();
    let keys = PaymentsKeys::new(digest_key(9), qr_codec());
    let entropy = Arc::new(SeededEntropy::new(42));
    let payments =
        Payments::open(ledger, store, config, keys, Arc::new(bank.clone()), clock.clone(), entropy).await.unwrap();
    Harness { payments, clock, bank }
}

/// No risk rules, no fees: the products alone.
pub fn plain_config() -> PaymentsConfig {
    let risk = qianbao_ledger::risk::RiskConfig::new(qianbao_ledger::risk::RiskConfigFields {
        currency: Currency::CNY,
        utc_offset_secs: 8 * 3_600,
        history: Default::default(),
        rules: vec![],
    })
    .unwrap();
    PaymentsConfig::default_for(Currency::CNY)
        .with_currency(CurrencySetup { fees: qianbao_ledger::FeeSchedule::free(Currency::CNY), risk })
}

/// Fees on every product: 0.6 % payments (min 0.01), 0.1 % withdrawals (min 0.10, the first 100.00 a
/// year free), 1 % transfers (max 5.00), 0.5 % top-ups, 1 % red packets.
pub fn fee_config() -> PaymentsConfig {
    let fees: qianbao_ledger::FeeSchedule = serde_json::from_str(
        r#"{ "currency": "CNY", "products": {
            "payment": { "rate_bps": 60, "min_minor": 1 },
            "withdrawal": { "rate_bps": 10, "min_minor": 10, "free": { "period": "year", "amount_minor": 10000 } },
            "transfer": { "rate_bps": 100, "max_minor": 500 },
            "top_up": { "rate_bps": 50 },
            "red_packet": { "rate_bps": 100 } } }"#,
    )
    .unwrap();
    let plain = plain_config();
    let risk = plain.currencies[0].risk.clone();
    plain.with_currency(CurrencySetup { fees, risk })
}

impl<L: LedgerPort> Harness<L> {
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub async fn wallet(&self, n: u128) -> AccountId {
        self.payments.open_wallet(user(n), Currency::CNY).await.unwrap()
    }

    pub async fn merchant(&self, n: u128) -> AccountId {
        self.payments.open_merchant(MerchantId::from_u128(n), Currency::CNY).await.unwrap()
    }

    /// Opens the wallet and tops it up (the bank confirms).
    pub async fn funded(&self, n: u128, minor: i64) -> AccountId {
        let w = self.wallet(n).await;
        self.bank.push(BankScript::Confirm);
        let p = self.payments.top_up(top_up(n, minor, &format!("fund-{n}-{minor}"))).await.unwrap();
        assert_eq!(p.state, PaymentState::Completed);
        w
    }

    pub async fn balance(&self, n: u128) -> i128 {
        self.payments.wallet_balance(user(n), Currency::CNY).await.unwrap().credit_balance().unwrap()
    }

    pub async fn account(&self, id: AccountId) -> Account {
        self.payments.ledger().lookup_accounts(&[id]).await.unwrap()[0]
    }

    pub fn system(&self, kind: AccountKind) -> AccountId {
        self.payments.system_account(kind, Currency::CNY).unwrap()
    }

    /// Every account of the chart with its counters, and every payment of every owner in it.
    pub async fn snapshot(&self) -> Snapshot {
        let chart = self.payments.chart(Currency::CNY).await.unwrap();
        let ids: Vec<AccountId> = chart.iter().map(|e| e.account).collect();
        let accounts = self.payments.ledger().lookup_accounts(&ids).await.unwrap();
        assert_eq!(accounts.len(), ids.len(), "every chart account is in the ledger");
        let mut payments = Vec::new();
        for owner in chart.iter().map(|e| e.owner) {
            payments.extend(self.payments.payments_of(owner, 10_000).await.unwrap());
        }
        payments.sort_by_key(|p| p.id);
        payments.dedup_by_key(|p| p.id);
        Snapshot { accounts, payments }
    }

    /// Σ of all balances is zero, posted and pending.
    pub async fn assert_conserved(&self) {
        let s = self.snapshot().await;
        let sum = |f: fn(&Account) -> u128| s.accounts.iter().map(f).sum::<u128>();
        assert_eq!(sum(|a| a.debits_posted), sum(|a| a.credits_posted), "posted money is conserved");
        assert_eq!(sum(|a| a.debits_pending), sum(|a| a.credits_pending), "pending money is conserved");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accounts: Vec<Account>,
    pub payments: Vec<Payment>,
}

pub fn top_up(n: u128, minor: i64, k: &str) -> BankTransfer {
    BankTransfer { user: user(n), card: CardToken::new(format!("tok_{n}")), amount: cny(minor), key: key(k) }
}

pub fn pay(payer: u128, merchant: AccountId, minor: i64, k: &str) -> MerchantPayment {
    MerchantPayment {
        payer: user(payer),
        merchant_account: merchant,
        amount: cny(minor),
        order_ref: None,
        device: None,
        key: key(k),
    }
}

pub fn send(from: u128, to: u128, minor: i64, k: &str) -> UserTransfer {
    UserTransfer { from: user(from), to: user(to), amount: cny(minor), device: None, key: key(k) }
}

pub fn refund(merchant: u128, payment: PaymentId, minor: i64, k: &str) -> RefundRequest {
    RefundRequest { merchant: MerchantId::from_u128(merchant), payment, amount: cny(minor), key: key(k) }
}

pub fn shop_profile(account: AccountId) -> MerchantProfile {
    MerchantProfile {
        account,
        name: "TEA HOUSE".into(),
        city: "HANGZHOU".into(),
        mcc: Mcc::parse("5812").unwrap(),
        country: CountryCode::CN,
        currency: Currency::CNY,
        local_name: None,
        store_label: None,
        terminal_label: None,
    }
}

/// Runs a test body on every store backend.
pub async fn each<F, Fut>(name: &str, body: F)
where
    F: Fn(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    qianbao_store::testing::each_backend(name, body).await;
}
