//! The CA's configuration, with the defaults a payments team would start from.

use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

/// How the CA behaves. Every field has a documented default ([`CaConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaConfig {
    /// The organization (O=) in every certificate's subject. Default `qianbao`.
    pub organization: String,
    /// The root's lifetime. Default 20 years.
    pub root_validity: Duration,
    /// An issuing CA's lifetime. Default 5 years; roll it over before it gets within a device
    /// certificate's lifetime of its end ([`CaError::IssuingCaTooOld`](crate::CaError::IssuingCaTooOld)).
    pub issuing_validity: Duration,
    /// A device certificate's lifetime from issuance. Default 365 days.
    pub certificate_validity: Duration,
    /// How far notBefore is back-dated for clock skew. Default 5 minutes.
    pub backdate: Duration,
    /// The "expiring" view starts this long before notAfter. Default 30 days.
    pub expiring_within: Duration,
    /// Renewal is allowed only this long before notAfter. Default 30 days.
    pub renewal_window: Duration,
    /// A superseded certificate keeps verifying this long after its renewal. Default 10 minutes.
    pub supersede_grace: Duration,
    /// The oldest identity proof issuance and reissue accept. Default 5 minutes.
    pub identity_proof_max_age: Duration,
    /// The oldest renewal proof (signature time) accepted. Default 5 minutes.
    pub renewal_proof_max_age: Duration,
    /// The oldest signed payment order accepted. Default 5 minutes.
    pub order_max_age: Duration,
    /// How far in the future an order's signing time may be (device clock ahead). Default 30 seconds.
    pub order_future_skew: Duration,
    /// A CRL's nextUpdate is this long after its thisUpdate. Default 24 hours.
    pub crl_validity: Duration,
    /// How long a revoked (or superseded) certificate stays listed in CRLs after its notAfter. RFC 5280
    /// allows dropping an entry once the certificate expires, but a relying party whose clock lags, or one
    /// checking an old signature, should still find it; so entries stay this long past expiry.
    /// Default 90 days.
    pub crl_retention_after_expiry: Duration,
    /// How long a certificate status read from the store is trusted by the payment path before it is read
    /// again. Revocations made through this instance take effect at once; revocations made by another
    /// instance sharing the database take effect here within this time. Default 5 seconds.
    pub status_cache_ttl: Duration,
    /// The most parsed certificates kept in the cache (it is emptied when full). Default 100,000.
    pub certificate_cache_max: usize,
}

impl Default for CaConfig {
    fn default() -> Self {
        CaConfig {
            organization: "qianbao".into(),
            root_validity: 20 * 365 * DAY,
            issuing_validity: 5 * 365 * DAY,
            certificate_validity: 365 * DAY,
            backdate: Duration::from_secs(300),
            expiring_within: 30 * DAY,
            renewal_window: 30 * DAY,
            supersede_grace: Duration::from_secs(600),
            identity_proof_max_age: Duration::from_secs(300),
            renewal_proof_max_age: Duration::from_secs(300),
            order_max_age: Duration::from_secs(300),
            order_future_skew: Duration::from_secs(30),
            crl_validity: DAY,
            crl_retention_after_expiry: 90 * DAY,
            status_cache_ttl: Duration::from_secs(5),
            certificate_cache_max: 100_000,
        }
    }
}
