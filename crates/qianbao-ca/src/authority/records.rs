//! Certificate records, the user's list and the usage record.

use qianbao_core::UserId;

use super::CertificateAuthority;
use crate::CaError;
use crate::record::{CertSerial, CertificateRecord, CertificateSummary, UsageRecord};
use crate::store::CaStore;

impl CertificateAuthority {
    // ---------------------------------------------------------------- records

    /// One certificate record.
    pub async fn certificate(&self, serial: CertSerial) -> Result<CertificateRecord, CaError> {
        self.store.certificate(serial).await?.ok_or(CaError::NotFound(serial))
    }

    /// A user's certificates with the view they see (valid / expiring / expired / superseded / revoked),
    /// oldest first. At most one per device is active.
    pub async fn list(&self, user: UserId) -> Result<Vec<CertificateSummary>, CaError> {
        let now = self.shared.now();
        let within = self.shared.config.expiring_within;
        Ok(self.store.certificates_for_user(user).await?.iter().map(|r| r.summary(now, within)).collect())
    }

    /// The usage record of a certificate (last `limit` entries, oldest first). Waits for queued events.
    pub async fn usage_for_certificate(&self, serial: CertSerial, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        self.shared.usage.flush().await;
        self.store.usage_for_certificate(serial, limit).await
    }

    /// The usage record of a user (last `limit` entries, oldest first). Waits for queued events.
    pub async fn usage_for_user(&self, user: UserId, limit: u32) -> Result<Vec<UsageRecord>, CaError> {
        self.shared.usage.flush().await;
        self.store.usage_for_user(user, limit).await
    }

    /// Waits until every queued usage event is written.
    pub async fn flush_usage(&self) {
        self.shared.usage.flush().await;
    }

    /// Forgets the nonces of orders too old to pass the freshness check. Returns how many.
    pub async fn prune_order_nonces(&self) -> Result<u64, CaError> {
        let now = self.shared.now();
        let before = now.saturating_sub(self.shared.config.order_max_age + self.shared.config.order_future_skew);
        self.store.prune_nonces(before).await
    }
}
