//! Integration tests of qianbao-ca through its public API: the lifecycle, every rejection, X.509 checks
//! with rustls-webpki and OpenSSL, a real rustls mTLS handshake, the store conformance suite on every
//! backend, property tests and the fuzz corpora.

use std::sync::Arc;
use std::time::Duration;

use qianbao_ca::*;
use qianbao_core::{
    AccountId, Clock, Currency, DeviceId, ManualClock, Money, SeededEntropy, Timestamp, TransferId, UserId,
};
use qianbao_store::Database;

mod conformance;
mod corpus;
mod lifecycle;
mod nonces;
mod props;
mod rejections;
mod tls;
mod x509;

pub(crate) const DAY: Duration = Duration::from_secs(86_400);
pub(crate) const START: u64 = 1_800_000_000;

/// A CA on a database with a manual clock and seeded entropy.
pub(crate) struct Env {
    pub(crate) ca: CertificateAuthority,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) entropy: Arc<SeededEntropy>,
    pub(crate) custody: Arc<LocalKeyCustody>,
    pub(crate) db: Database,
}

pub(crate) fn custody() -> Arc<LocalKeyCustody> {
    Arc::new(LocalKeyCustody::new(KeyEncryptionKey::new(&[0x5a; 32]).unwrap()))
}

pub(crate) async fn env_with(db: Database, config: CaConfig, start: Timestamp, seed: u64) -> Env {
    let clock = Arc::new(ManualClock::new(start));
    let entropy = Arc::new(SeededEntropy::new(seed));
    let custody = custody();
    let store = CaDb::open(db.clone()).await.unwrap();
    let ca = CertificateAuthority::open(store, custody.clone(), config, clock.clone(), entropy.clone()).await.unwrap();
    Env { ca, clock, entropy, custody, db }
}

pub(crate) async fn env() -> Env {
    env_with(Database::open_in_memory().unwrap(), CaConfig::default(), Timestamp::from_unix_secs(START), 1).await
}

pub(crate) fn user(n: u128) -> UserId {
    UserId::from_u128(0x1000 + n)
}

pub(crate) fn device(n: u128) -> DeviceId {
    DeviceId::from_u128(0x2000 + n)
}

impl Env {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn proof(&self, user: UserId) -> IdentityProof {
        IdentityProof::new(user, self.now(), IdentityProofMethod::SmsCodeAndPassword)
    }

    pub(crate) fn key(&self) -> DeviceKey {
        DeviceKey::generate(self.entropy.as_ref())
    }

    pub(crate) async fn issue(&self, user: UserId, device: DeviceId) -> (DeviceKey, IssuedCertificate) {
        let key = self.key();
        let issued = self.ca.issue(&self.proof(user), device, &key.csr().unwrap()).await.unwrap();
        (key, issued)
    }

    pub(crate) fn order(&self, payer: UserId, minor: i64) -> PaymentOrder {
        PaymentOrder {
            payer,
            payee: AccountId::from_u128(77),
            amount: Money::from_minor(minor, Currency::CNY),
            order_id: TransferId::from_u128(u128::from(self.entropy.next_u64())),
            nonce: OrderNonce::random(self.entropy.as_ref()),
            signed_at: self.now(),
        }
    }

    pub(crate) async fn renew(
        &self,
        key: &DeviceKey,
        current: &IssuedCertificate,
    ) -> Result<IssuedCertificate, CaError> {
        let csr = key.csr().unwrap();
        let at = self.now();
        let proof =
            RenewalProof::Signature { signed_at: at, signature: key.sign_renewal(current.record.serial, &csr, at) };
        self.ca.renew(current.record.serial, &proof, &csr).await
    }
}

use qianbao_core::Entropy as _;
