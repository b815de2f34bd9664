//! `Wallet::builder()`: choose the database, the notifier, the providers, the clock, the entropy, the keys
//! and the configuration; then build.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use qianbao_ca::{CaDb, CertificateAuthority, KeyCustody, LocalKeyCustody};
use qianbao_core::{Clock, Entropy, Notifier, OsEntropy, Outbox, SystemClock};
use qianbao_identity::{BankVerifier, ExternalChecks, FaceService, IdAuthority, Identity, IdentityDb, PrivacyKeys};
use qianbao_token::{TokenDb, Tokens};

use qianbao_ledger::BankAdapter;
use qianbao_ledger::payments::{Payments, PaymentsDb, PaymentsKeys};
use qianbao_ledger::qr::{KeyId, QrCodec, QrConfig, QrKeyring};

use crate::closing::{ClosingCheck, LedgerZeroBalance};
use crate::ledger::open_ledger;
use crate::money::locks::UserLocks;
use crate::providers::NoBank;
use crate::providers::NotConfigured;
use crate::ticket::TicketKey;
use crate::wallet::Inner;
use crate::{Database, Wallet, WalletConfig, WalletError, WalletKeys};

/// Where the wallet keeps its data. `Debug` does not print a PostgreSQL URL (it may carry a password).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum DatabaseChoice {
    /// An embedded SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A private in-memory SQLite database: tests and demos.
    #[default]
    InMemory,
    /// PostgreSQL at this URL.
    Postgres(String),
    /// A database the caller already opened (e.g. a PostgreSQL pool with its own options, or a test
    /// schema).
    Open(Database),
}

impl std::fmt::Debug for DatabaseChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseChoice::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            DatabaseChoice::InMemory => f.write_str("InMemory"),
            DatabaseChoice::Postgres(_) => f.write_str("Postgres([REDACTED URL])"),
            DatabaseChoice::Open(db) => f.debug_tuple("Open").field(&db.backend()).finish(),
        }
    }
}

/// Builds a [`Wallet`].
///
/// Defaults: SQLite in memory, an [`Outbox`] as notifier, the system clock, the OS random source,
/// [`WalletConfig::default`], and external checks that answer "not configured". Keys have no default
/// except for an in-memory database (random keys, demo-only): a wallet on a file or on PostgreSQL needs
/// [`WalletBuilder::keys`].
#[derive(Debug, Default)]
pub struct WalletBuilder {
    database: DatabaseChoice,
    notifier: Option<Arc<dyn Notifier>>,
    id_authority: Option<Arc<dyn IdAuthority>>,
    face: Option<Arc<dyn FaceService>>,
    bank: Option<Arc<dyn BankVerifier>>,
    clock: Option<Arc<dyn Clock>>,
    entropy: Option<Arc<dyn Entropy>>,
    keys: Option<WalletKeys>,
    custody: Option<Arc<dyn KeyCustody>>,
    closing: Option<Arc<dyn ClosingCheck>>,
    bank_adapter: Option<Arc<dyn BankAdapter>>,
    config: WalletConfig,
}

impl WalletBuilder {
    /// Keep data in the SQLite file at `path` (the default kind of database). One wallet owns an
    /// SQLite file at a time: building a second one on it while the first is open, in this process or
    /// another, fails with the store's `InUse` error (its ledger decides on balances kept in memory).
    /// Run many service instances on one database with [`postgres`](WalletBuilder::postgres).
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = DatabaseChoice::Sqlite(path.into());
        self
    }

    /// Keep data in memory only (lost when the wallet drops): tests and demos. Without
    /// [`keys`](Self::keys), random keys are made — fine for a demo, never for data you keep.
    pub fn in_memory(mut self) -> Self {
        self.database = DatabaseChoice::InMemory;
        self
    }

    /// Keep data in PostgreSQL at `url` (many service instances may share it).
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.database = DatabaseChoice::Postgres(url.into());
        self
    }

    /// Use a database the caller already opened.
    pub fn database(mut self, database: Database) -> Self {
        self.database = DatabaseChoice::Open(database);
        self
    }

    /// Deliver codes, tokens and notices through `notifier` (SMS gateway, mail relay, push service).
    /// Without one, messages collect in an [`Outbox`] ([`Wallet::outbox`]).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The ID authority for real-name verification by ID card.
    pub fn id_authority(mut self, provider: Arc<dyn IdAuthority>) -> Self {
        self.id_authority = Some(provider);
        self
    }

    /// The face and liveness service.
    pub fn face_service(mut self, provider: Arc<dyn FaceService>) -> Self {
        self.face = Some(provider);
        self
    }

    /// The bank verifier for real-name verification by bank card.
    pub fn bank_verifier(mut self, provider: Arc<dyn BankVerifier>) -> Self {
        self.bank = Some(provider);
        self
    }

    /// The clock (tests use `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The random source (tests use `SeededEntropy`; production the default OS source).
    pub fn entropy(mut self, entropy: Arc<dyn Entropy>) -> Self {
        self.entropy = Some(entropy);
        self
    }

    /// The secret keys (see [`WalletKeys`]). Required except for in-memory demos.
    pub fn keys(mut self, keys: WalletKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Where the CA's private keys live (an HSM or KMS). Default: sealed in the database under the CA
    /// key-encryption key of [`WalletKeys`].
    pub fn ca_key_custody(mut self, custody: Arc<dyn KeyCustody>) -> Self {
        self.custody = Some(custody);
        self
    }

    /// The bank (or payment network) that moves money between verified bank cards and wallets. Without
    /// one, top-ups and withdrawals answer [`WalletError::BankNotConfigured`]. Tests use
    /// [`ScriptedBank`](qianbao_ledger::ScriptedBank).
    pub fn bank_adapter(mut self, bank: Arc<dyn BankAdapter>) -> Self {
        self.bank_adapter = Some(bank);
        self
    }

    /// Replaces the zero-balance check closing an account needs (default: the user's wallet on the
    /// ledger is empty with nothing pending; see [`ClosingCheck`]).
    pub fn closing_check(mut self, check: Arc<dyn ClosingCheck>) -> Self {
        self.closing = Some(check);
        self
    }

    /// The configuration.
    pub fn config(mut self, config: WalletConfig) -> Self {
        self.config = config;
        self
    }

    /// Opens the database, applies every crate's migrations, opens the services and returns the wallet.
    pub async fn build(self) -> Result<Wallet, WalletError> {
        self.config.check()?;
        let clock = self.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
        let entropy = self.entropy.clone().unwrap_or_else(|| Arc::new(OsEntropy));
        let demo = matches!(self.database, DatabaseChoice::InMemory);
        let keys = match (self.keys.clone(), demo) {
            (Some(k), _) => k,
            (None, true) => WalletKeys::random_for_demo(entropy.as_ref())?,
            (None, false) => {
                return Err(WalletError::Config(
                    "keys are required for a database that outlives the process: set WalletBuilder::keys".into(),
                ));
            }
        };
        let db = open(self.database.clone()).await?;
        let (notifier, outbox) = match self.notifier.clone() {
            Some(n) => (n, None),
            None => {
                let o = Outbox::new();
                (Arc::new(o.clone()) as Arc<dyn Notifier>, Some(o))
            }
        };
        let services = Services { db, clock, entropy, notifier, keys };
        self.assemble(services, outbox).await
    }

    async fn assemble(self, s: Services, outbox: Option<Outbox>) -> Result<Wallet, WalletError> {
        let checks = ExternalChecks::new(
            self.id_authority.unwrap_or_else(|| Arc::new(NotConfigured)),
            self.face.unwrap_or_else(|| Arc::new(NotConfigured)),
            self.bank.unwrap_or_else(|| Arc::new(NotConfigured)),
        );
        let privacy = PrivacyKeys::new(s.keys.identity_sealing.clone(), s.keys.digest.clone());
        let identity_db = IdentityDb::open(s.db.clone()).await?;
        let config = self.config;
        let identity =
            Identity::open(identity_db, privacy, checks, config.identity.clone(), s.clock.clone(), s.entropy.clone())
                .await?;
        let token_db = TokenDb::open(s.db.clone()).await?;
        let tokens = Tokens::new(
            token_db,
            config.tokens.to_config(),
            s.keys.token.clone(),
            s.clock.clone(),
            s.entropy.clone(),
            s.notifier.clone(),
        )?;
        let custody = self.custody.unwrap_or_else(|| Arc::new(LocalKeyCustody::new(s.keys.ca_kek.clone())));
        let ca_db = CaDb::open(s.db.clone()).await?;
        let ca = CertificateAuthority::open(ca_db, custody, config.ca.to_config(), s.clock.clone(), s.entropy.clone())
            .await?;
        let qr = qr_codec(&s.keys)?;
        let bank_configured = self.bank_adapter.is_some();
        let bank = self.bank_adapter.unwrap_or_else(|| Arc::new(NoBank));
        let payments = Payments::open(
            open_ledger(&s.db, s.clock.clone()).await?,
            PaymentsDb::open(s.db.clone()).await?,
            config.payments.clone(),
            PaymentsKeys::new(s.keys.payment_ids_key()?, qr.clone()),
            bank,
            s.clock.clone(),
            s.entropy.clone(),
        )
        .await?;
        let closing = match self.closing {
            Some(c) => c,
            None => Arc::new(LedgerZeroBalance { payments: payments.clone(), clock: s.clock.clone() }),
        };
        let ttl = Duration::from_secs(config.policy.flow_ticket_ttl_secs);
        let tickets = TicketKey::new(s.keys.ticket_key()?, ttl);
        let locks = UserLocks::new(&s.db);
        let inner = Inner {
            db: s.db,
            identity,
            tokens,
            ca,
            config,
            clock: s.clock,
            notifier: s.notifier,
            outbox,
            tickets,
            closing,
            payments,
            qr,
            bank_configured,
            locks,
        };
        Ok(Wallet { inner: Arc::new(inner) })
    }
}

/// The codec of the wallet's merchant QR codes, under the QR signing key.
fn qr_codec(keys: &WalletKeys) -> Result<QrCodec, WalletError> {
    let id = KeyId::new("1").map_err(WalletError::Config)?;
    let codec = QrCodec::new(QrConfig::default(), QrKeyring::new(id, keys.qr_signing.clone()));
    codec.map_err(|e| WalletError::Config(format!("QR codes: {e}")))
}

/// What every service is opened with.
struct Services {
    db: Database,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    notifier: Arc<dyn Notifier>,
    keys: WalletKeys,
}

async fn open(choice: DatabaseChoice) -> Result<Database, WalletError> {
    Ok(match choice {
        DatabaseChoice::Open(db) => db,
        #[cfg(feature = "sqlite")]
        DatabaseChoice::Sqlite(path) => Database::open_sqlite(path)?,
        #[cfg(feature = "sqlite")]
        DatabaseChoice::InMemory => Database::open_in_memory()?,
        #[cfg(feature = "postgres")]
        DatabaseChoice::Postgres(url) => Database::connect_postgres(&url).await?,
        #[allow(unreachable_patterns)]
        other => {
            // Name the backend only: a PostgreSQL URL may carry a password.
            let backend = match other {
                DatabaseChoice::Postgres(_) => "postgres",
                _ => "sqlite",
            };
            return Err(WalletError::Config(format!(
                "the {backend} backend needs its Cargo feature, which this build lacks"
            )));
        }
    })
}
