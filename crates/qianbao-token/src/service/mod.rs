//! [`Tokens`]: the service the facade calls. One struct over a [`TokenDb`] with an injected clock,
//! entropy, digest key, configuration and notifier; its methods are grouped by concern in the sibling
//! modules (codes, TOTP, sessions and devices, transaction tokens, payment codes, QR confirmation).

use std::sync::Arc;
use std::time::Duration;

use qianbao_core::{Clock, DigestKey, Entropy, IdGenerator, Notification, NotificationKind, Notifier, Timestamp};

use crate::bearer::TokenHasher;
use crate::seal::Sealer;
use crate::store::{PurgeCutoffs, PurgeReport, TokenDb, TokenStore};
use crate::{TokenConfig, TokenError};

mod cache;
pub(crate) mod codes;
pub(crate) mod paycodes;
pub(crate) mod qr;
pub(crate) mod sessions;
pub(crate) mod totp;
pub(crate) mod txtokens;

pub use cache::CacheStats;

/// The token service: one-time codes, TOTP, sessions and devices, transaction tokens, payment codes and
/// QR confirmation.
///
/// Cheap to clone; clones share the store, the introspection cache and everything else.
#[derive(Clone)]
pub struct Tokens {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: TokenDb,
    pub(crate) config: TokenConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) entropy: Arc<dyn Entropy>,
    pub(crate) ids: IdGenerator,
    pub(crate) key: DigestKey,
    pub(crate) hasher: TokenHasher,
    pub(crate) sealer: Sealer,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) cache: cache::IntrospectionCache,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("backend", &self.inner.store.backend())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// The service over `store` (opened with [`TokenDb::open`], which applies the migrations).
    ///
    /// `key` is the service's digest key: codes, tokens and look-up keys are stored as keyed digests
    /// under it, and the sealing key for TOTP and payment-code secrets is derived from it. Keep it secret
    /// and stable: a different key makes every stored code, token and secret unusable.
    pub fn new(
        store: TokenDb,
        config: TokenConfig,
        key: DigestKey,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        notifier: Arc<dyn Notifier>,
    ) -> Result<Self, TokenError> {
        config.check()?;
        let cache = cache::IntrospectionCache::new(config.introspection_cache_max, config.introspection_cache_ttl);
        let inner = Inner {
            store,
            ids: IdGenerator::new(clock.clone(), entropy.clone()),
            hasher: TokenHasher::new(&key),
            sealer: Sealer::new(&key),
            key,
            config,
            clock,
            entropy,
            notifier,
            cache,
        };
        Ok(Tokens { inner: Arc::new(inner) })
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &TokenDb {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) async fn notify(
        &self,
        destination: qianbao_core::Destination,
        kind: NotificationKind,
        subject: String,
        body: String,
    ) -> Result<(), TokenError> {
        let n = Notification { destination, kind, subject, body, sent_at: self.now() };
        self.inner.notifier.send(&n).await?;
        Ok(())
    }

    /// Deletes what can no longer be used: codes past expiry (and past any lockout they carry), the send
    /// log older than 24 hours, expired access/refresh tokens and session families, expired transaction
    /// tokens and their consumptions, enrollments revoked more than a day ago and expired QR challenges.
    #[tracing::instrument(skip(self))]
    pub async fn purge_expired(&self) -> Result<PurgeReport, TokenError> {
        let now = self.now();
        let c = &self.inner.config;
        let day = Duration::from_secs(86_400);
        let cutoffs = PurgeCutoffs {
            codes_expired_before: now.saturating_sub(c.code_lockout),
            sends_before: now.saturating_sub(day),
            tokens_expired_before: now,
            tx_tokens_expired_before: now,
            paycodes_revoked_before: now.saturating_sub(day),
            qr_expired_before: now.saturating_sub(c.qr_ttl),
        };
        self.inner.store.purge_expired(cutoffs).await
    }

    /// Statistics of the introspection cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }
}
