//! Integration tests of qianbao-token through its public API: RFC 4226/6238 vectors, every rejection of
//! codes, TOTP, sessions, transaction tokens, payment codes and QR confirmation, devices, the flows on
//! every backend (`each_backend`: SQLite and PostgreSQL), concurrency, property tests and the fuzz
//! corpora.

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{
    AccountId, Currency, Destination, DeviceId, DigestKey, ManualClock, Money, Outbox, PhoneNumber, SeededEntropy,
    Timestamp, TransferId, UserId,
};
use qianbao_store::Database;
use qianbao_token::*;

mod codes;
mod conformance;
mod corpus;
mod devices;
mod paycodes;
mod props;
mod qr;
mod sessions;
mod txtokens;
mod vectors;

pub(crate) const START: u64 = 1_800_000_000;
pub(crate) const MINUTE: Duration = Duration::from_secs(60);

pub(crate) struct Env {
    pub(crate) tokens: Tokens,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) outbox: Outbox,
}

pub(crate) fn key() -> DigestKey {
    DigestKey::new(&[0x42; 32]).unwrap()
}

pub(crate) async fn env_with(db: Database, config: TokenConfig) -> Env {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let outbox = Outbox::new();
    let store = TokenDb::open(db).await.unwrap();
    let tokens =
        Tokens::new(store, config, key(), clock.clone(), Arc::new(SeededEntropy::new(7)), Arc::new(outbox.clone()))
            .unwrap();
    Env { tokens, clock, outbox }
}

pub(crate) async fn env(db: Database) -> Env {
    env_with(db, TokenConfig::default()).await
}

pub(crate) async fn mem() -> Env {
    env(Database::open_in_memory().unwrap()).await
}

pub(crate) fn user(n: u128) -> UserId {
    UserId::from_u128(0x1000 + n)
}

pub(crate) fn device(n: u128) -> DeviceId {
    DeviceId::from_u128(0x2000 + n)
}

pub(crate) fn phone(n: u32) -> Destination {
    Destination::Phone(PhoneNumber::parse(&format!("138{n:08}")).unwrap())
}

pub(crate) fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

impl Env {
    pub(crate) fn now(&self) -> Timestamp {
        use qianbao_core::Clock;
        self.clock.now()
    }

    pub(crate) fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// The 6-digit code in the newest message to `to`.
    pub(crate) fn last_code(&self, to: &Destination) -> String {
        let body = self.outbox.last_body_to(to).expect("a message was sent");
        let at = body.find(" is ").expect("a code in the message") + 4;
        body[at..at + 6].to_string()
    }

    /// The transaction token in the newest message to `to`.
    pub(crate) fn last_tx_token(&self, to: &Destination) -> String {
        let body = self.outbox.last_body_to(to).expect("a message was sent");
        let at = body.find("qbt_").expect("a token in the message");
        body[at..at + 53].to_string()
    }

    pub(crate) async fn login(&self, u: UserId, d: DeviceId, binding: Option<CertThumbprint>) -> SessionTokens {
        let req = SessionRequest {
            user: u,
            device: DeviceInfo { id: d, name: format!("phone {d}"), address: Some("203.0.113.7".parse().unwrap()) },
            scope: "wallet pay".into(),
            client_id: Some("app".into()),
            binding,
        };
        self.tokens.create_session(req).await.unwrap()
    }

    pub(crate) async fn grant(&self, u: UserId, d: DeviceId) -> Arc<AccessGrant> {
        let s = self.login(u, d, None).await;
        self.tokens.authenticate(s.access_token.expose(), None).await.unwrap()
    }
}

pub(crate) fn payment(n: u128) -> TransferId {
    TransferId::from_u128(0x9000 + n)
}

pub(crate) fn merchant(n: u128) -> AccountId {
    AccountId::from_u128(0x7000 + n)
}
