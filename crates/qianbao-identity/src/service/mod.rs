//! [`Identity`]: the service the facade calls. It owns the decisions that are identity's own (password
//! policy, account states, ID and card validity, review, classes, lockouts) and takes already-checked
//! facts from the facade (a code was verified, a balance is zero).

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{Clock, Entropy, IdGenerator, Timestamp, UserId};
use tokio::sync::Semaphore;

use crate::IdentityError;
use crate::audit::{AuditEvent, AuditKind, RequestContext};
use crate::checks::{BankVerifier, FaceService, IdAuthority};
use crate::config::{IdentityConfig, LOGIN_LOCK_AFTER_MAX};
use crate::password::{Password, PasswordContext, PasswordHasher, Verification};
use crate::privacy::{PrivacyKeys, Purpose};
use crate::record::{ContactValue, LookupDigest, UserRecord};
use crate::store::{GuardKey, IdentityDb, IdentityStore, UserWrite};

mod audit;
mod kyc;
mod login;
mod payment;
mod status;
mod users;

pub use kyc::BankCardView;
pub use login::LoginOutcome;
pub use status::ZeroBalanceConfirmed;
pub use users::{OldContactProof, ResetAuthorization};

/// The external checks real-name verification uses.
#[derive(Debug, Clone)]
pub struct ExternalChecks {
    /// Two-element name + ID number check.
    pub id_authority: Arc<dyn IdAuthority>,
    /// Liveness and face comparison.
    pub face: Arc<dyn FaceService>,
    /// Bank three/four-element check.
    pub bank: Arc<dyn BankVerifier>,
}

impl ExternalChecks {
    /// The three checks.
    pub fn new(id_authority: Arc<dyn IdAuthority>, face: Arc<dyn FaceService>, bank: Arc<dyn BankVerifier>) -> Self {
        ExternalChecks { id_authority, face, bank }
    }
}

struct Inner {
    store: IdentityDb,
    config: IdentityConfig,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    ids: IdGenerator,
    keys: PrivacyKeys,
    checks: ExternalChecks,
    hasher: PasswordHasher,
    pay_hasher: PasswordHasher,
    hashing: Semaphore,
    dummy_hash: String,
}

/// The identity service. Cheap to clone; clones share everything.
///
/// Open it with [`Identity::open`] inside a tokio runtime. Argon2 runs on tokio's blocking pool, at most
/// [`IdentityConfig::hashing_concurrency_max`] at once.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

fn check_config(c: &IdentityConfig) -> Result<(), IdentityError> {
    let lock = c.login.account.lock_after;
    if lock.is_none_or(|n| n == 0 || n > LOGIN_LOCK_AFTER_MAX) {
        return Err(IdentityError::Misuse(format!(
            "login.account.lock_after must be 1..={LOGIN_LOCK_AFTER_MAX} (NIST SP 800-63B), got {lock:?}"
        )));
    }
    if c.payment_password_guard.lock_after.is_none() {
        return Err(IdentityError::Misuse("payment_password_guard.lock_after must be set".into()));
    }
    let p = &c.password_policy;
    if p.max_chars < 64
        || p.min_chars_with_second_factor < 8
        || p.min_chars_single_factor < p.min_chars_with_second_factor
    {
        return Err(IdentityError::Misuse(
            "password policy: max_chars ≥ 64, min_chars_with_second_factor ≥ 8, single-factor minimum ≥ it".into(),
        ));
    }
    Ok(())
}

impl Identity {
    /// Opens the service on `store` with the privacy keys and external checks of the embedding service.
    pub async fn open(
        store: IdentityDb,
        keys: PrivacyKeys,
        checks: ExternalChecks,
        config: IdentityConfig,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, IdentityError> {
        check_config(&config)?;
        // Both hashers are peppered with keys derived from the digest key: the database alone does not
        // allow guessing passwords offline (6-digit payment passwords especially).
        let pepper = |label: &str| qianbao_core::SecretBytes::new(keys.digest_raw(label, b"argon2-pepper").to_vec());
        let hasher = PasswordHasher::new(config.password_hash)?.with_pepper(pepper("qianbao-identity/pepper/login"))?;
        let pay_hasher = PasswordHasher::new(config.payment_password_hash)?
            .with_pepper(pepper("qianbao-identity/pepper/payment"))?;
        // Unknown login names are checked against this hash so they cost the same Argon2 work.
        let mut dummy = [0u8; 24];
        entropy.fill(&mut dummy);
        let (h, e) = (hasher.clone(), entropy.clone());
        let dummy_hash = tokio::task::spawn_blocking(move || h.hash(&dummy, e.as_ref()))
            .await
            .map_err(|_| IdentityError::Hashing("the hashing task failed".into()))??;
        let ids = IdGenerator::new(clock.clone(), entropy.clone());
        let hashing = Semaphore::new(config.hashing_concurrency_max.max(1));
        let inner = Inner { store, config, clock, entropy, ids, keys, checks, hasher, pay_hasher, hashing, dummy_hash };
        Ok(Identity { inner: Arc::new(inner) })
    }

    /// The configuration.
    pub fn config(&self) -> &IdentityConfig {
        &self.inner.config
    }

    /// The login password hasher (its counters show how many Argon2 hashes and verifications ran).
    pub fn password_hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The payment password hasher.
    pub fn payment_password_hasher(&self) -> &PasswordHasher {
        &self.inner.pay_hasher
    }

    /// The store.
    pub fn store(&self) -> &IdentityDb {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn event(
        &self,
        user: Option<UserId>,
        kind: AuditKind,
        ctx: RequestContext,
        detail: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent::new(self.now(), user, kind, ctx, detail)
    }

    pub(crate) fn contact_digest(&self, c: &ContactValue) -> LookupDigest {
        LookupDigest(self.inner.keys.digest(Purpose::Contact, c.as_str()))
    }

    pub(crate) fn guard_key(&self, label: &str, value: &[u8]) -> GuardKey {
        GuardKey(self.inner.keys.digest_raw(&format!("qianbao-identity/guard/{label}"), value))
    }

    /// Refuses a fact older than `fact_max_age` or more than a minute in the future.
    pub(crate) fn check_fresh(&self, at: Timestamp) -> Result<(), IdentityError> {
        let now = self.now();
        let max = self.inner.config.fact_max_age;
        let stale = now.duration_since(at) > max || at.duration_since(now) > Duration::from_secs(60);
        if stale { Err(IdentityError::FactStale { max_age_secs: max.as_secs() }) } else { Ok(()) }
    }

    pub(crate) async fn load(&self, user: UserId) -> Result<UserRecord, IdentityError> {
        self.inner.store.user(user).await?.ok_or(IdentityError::UserNotFound(user))
    }

    /// A copy of `u` with the version bumped, and the version the store must still have.
    pub(crate) fn next(u: &UserRecord) -> (UserRecord, Option<u64>) {
        let mut n = u.clone();
        n.version = u.version + 1;
        (n, Some(u.version))
    }

    pub(crate) async fn write(&self, w: UserWrite) -> Result<(), IdentityError> {
        self.inner.store.write_user(w).await
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, IdentityError> {
        let _permit = self
            .inner
            .hashing
            .acquire()
            .await
            .map_err(|_| IdentityError::Misuse("the hashing pool is closed".into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|_| IdentityError::Hashing("the hashing task failed".into()))
    }

    /// The password policy check; its strength estimate can take milliseconds, so it runs on the blocking
    /// pool too.
    pub(crate) async fn check_policy(&self, p: &Password, ctx: PasswordContext) -> Result<(), IdentityError> {
        let (policy, p) = (self.inner.config.password_policy.clone(), p.clone());
        Ok(self.blocking(move || policy.check(&p, &ctx)).await??)
    }

    pub(crate) async fn hash_login(&self, p: &Password) -> Result<String, IdentityError> {
        let (h, e, p) = (self.inner.hasher.clone(), self.inner.entropy.clone(), p.clone());
        self.blocking(move || h.hash(p.expose().as_bytes(), e.as_ref())).await?
    }

    pub(crate) async fn verify_login(&self, p: &Password, phc: Option<&str>) -> Result<Verification, IdentityError> {
        let phc = phc.unwrap_or(&self.inner.dummy_hash).to_string();
        let (h, p) = (self.inner.hasher.clone(), p.clone());
        self.blocking(move || h.verify(p.expose().as_bytes(), &phc)).await?
    }

    pub(crate) async fn hash_payment(&self, secret: String) -> Result<String, IdentityError> {
        let (h, e) = (self.inner.pay_hasher.clone(), self.inner.entropy.clone());
        let secret = qianbao_core::SecretString::new(secret);
        self.blocking(move || h.hash(secret.expose().as_bytes(), e.as_ref())).await?
    }

    pub(crate) async fn verify_payment(&self, secret: String, phc: String) -> Result<Verification, IdentityError> {
        let h = self.inner.pay_hasher.clone();
        let secret = qianbao_core::SecretString::new(secret);
        self.blocking(move || h.verify(secret.expose().as_bytes(), &phc)).await?
    }
}
