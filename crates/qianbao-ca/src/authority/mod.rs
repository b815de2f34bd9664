//! [`CertificateAuthority`]: the service the facade calls — issue, renew, reissue, revoke, list, CRLs,
//! verification of presented certificates and signed payment orders, rollover, the usage record, and the
//! rustls client-certificate verifiers.

use std::sync::{Arc, RwLock};

use qianbao_core::{Clock, DeviceId, Entropy, Timestamp, UserId};
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::config::CaConfig;
use crate::issue_queue::IssueQueue;
use crate::keys::KeyCustody;
use crate::nonce::NonceGate;
use crate::record::{CertSerial, CertStatus, CertificateRecord, Fingerprint, UsageEvent, UsageKind};
use crate::serial::SerialSource;
use crate::state::{self, Authorities};
use crate::status::{CertCache, StatusBook};
use crate::store::{CaDb, CaStore};
use crate::usage::UsageSink;
use crate::{CaError, pem_encode};

mod issue;
mod payment;
mod records;
mod revoke;

/// State shared by the service and the rustls verifiers it hands out.
pub(crate) struct Shared {
    pub config: CaConfig,
    pub clock: Arc<dyn Clock>,
    pub authorities: RwLock<Arc<Authorities>>,
    /// Statuses by serial (monotone; also the mTLS verifier's revocation view).
    pub statuses: StatusBook,
    /// Verified certificates by fingerprint.
    pub certs: CertCache,
    /// Order nonces: the seen-set and the batcher.
    pub nonces: NonceGate,
    /// Issuances: the batcher that makes them durable in shared transactions.
    pub issues: IssueQueue,
    pub usage: UsageSink,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Shared {
    pub fn authorities(&self) -> Arc<Authorities> {
        self.authorities.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Notes a status change made through this instance (it takes effect here at once).
    fn note_status(&self, serial: CertSerial, status: CertStatus, not_after: Timestamp, now: Timestamp) {
        self.statuses.note(serial, status, not_after, now);
    }

    /// The mTLS verifier's status check.
    pub fn check_revocation_view(&self, serial: CertSerial, now: Timestamp) -> Result<(), CaError> {
        self.statuses.check_known(serial, now)
    }

    pub fn event(&self, kind: UsageKind, serial: Option<CertSerial>, user: Option<UserId>) -> UsageEvent {
        UsageEvent { at: self.now(), kind, serial, user, failure: None, detail: String::new() }
    }
}

/// How a renewal proves possession of the current certificate's key.
///
/// Deliberately not `Deserialize`: `MutualTls` must come from the TLS layer, never from a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewalProof {
    /// The device signed [`renewal_message`](crate::renewal_message)`(current serial, new CSR, signed_at)`
    /// with the current certificate's key (DER ECDSA signature;
    /// [`DeviceKey::sign_renewal`](crate::DeviceKey::sign_renewal) makes it).
    Signature {
        /// When it was signed (must be within `renewal_proof_max_age`).
        signed_at: Timestamp,
        /// The DER ECDSA P-256 / SHA-256 signature.
        signature: Vec<u8>,
    },
    /// The request arrived over an mTLS connection authenticated with this certificate (the caller takes
    /// it from the TLS session's peer certificates, e.g. after [`CertificateAuthority::client_verifier`]).
    MutualTls {
        /// The peer's certificate.
        certificate: CertificateDer<'static>,
    },
}

/// A certificate just issued, with its issuing CA's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCertificate {
    /// The record (status active).
    pub record: CertificateRecord,
    /// The issuing CA's certificate, DER (base64 in serialized form).
    #[serde(with = "crate::record::der_base64")]
    pub issuer_der: Vec<u8>,
}

impl IssuedCertificate {
    /// The certificate.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.record.certificate()
    }

    /// The certificate in PEM.
    pub fn pem(&self) -> String {
        self.record.pem()
    }

    /// The certificate then its issuing CA, in PEM (what a TLS client presents).
    pub fn chain_pem(&self) -> String {
        let mut s = self.record.pem();
        s.push_str(&pem_encode("CERTIFICATE", &self.issuer_der));
        s
    }

    /// The certificate then its issuing CA, as DER (what a rustls client config takes).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.record.certificate(), CertificateDer::from(self.issuer_der.clone())]
    }
}

/// A presented certificate that verified: chain, time, usage and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedCertificate {
    /// Its serial.
    pub serial: CertSerial,
    /// The user it is bound to.
    pub user: UserId,
    /// The device it is bound to.
    pub device: DeviceId,
    /// SHA-256 of its DER.
    pub fingerprint: Fingerprint,
    /// notAfter.
    pub not_after: Timestamp,
    /// Its status (active, or superseded within the grace period).
    pub status: CertStatus,
}

/// A signed payment order that verified; its nonce is now used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedOrder {
    /// The signer's certificate.
    pub certificate: VerifiedCertificate,
    /// The order.
    pub order: crate::PaymentOrder,
}

/// The certificate authority service.
///
/// Construct with [`CertificateAuthority::open`] inside a tokio runtime (it starts the usage appender, the
/// order-nonce batcher and the issuance batcher, three tasks that stop when the last clone is dropped).
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct CertificateAuthority {
    shared: Arc<Shared>,
    store: CaDb,
    custody: Arc<dyn KeyCustody>,
    entropy: Arc<dyn Entropy>,
    /// Numbers and serials for new certificates.
    serials: Arc<SerialSource>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority").field("authorities", &self.shared.authorities()).finish_non_exhaustive()
    }
}

fn failed(mut e: UsageEvent, err: &CaError) -> UsageEvent {
    e.failure = Some(err.code().to_string());
    e
}

impl CertificateAuthority {
    /// Opens the CA on `store`: creates the root and the first issuing CA on first use (keys from
    /// `custody`), otherwise reopens them. Several instances may open the same database at once: the
    /// first to store its authority wins and the others load it.
    pub async fn open(
        store: CaDb,
        custody: Arc<dyn KeyCustody>,
        config: CaConfig,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, CaError> {
        let mut rows = store.authorities().await?;
        if rows.is_empty() {
            let now = clock.now();
            let new = state::create(custody.as_ref(), &config, None, 1, now, entropy.as_ref())?;
            match store.insert_authorities(new, None).await {
                Ok(()) | Err(CaError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            rows = store.authorities().await?;
            tracing::info!("created the root and issuing CA G1");
        }
        let authorities = state::load(custody.as_ref(), &rows)?;
        let usage = UsageSink::spawn(store.clone());
        let statuses = StatusBook::new(config.certificate_cache_max, config.status_cache_ttl, config.supersede_grace);
        let certs = CertCache::new(config.certificate_cache_max);
        let nonces = NonceGate::spawn(store.clone(), config.order_max_age + config.order_future_skew);
        let issues = IssueQueue::spawn(store.clone());
        let shared = Arc::new(Shared {
            config,
            clock,
            authorities: RwLock::new(Arc::new(authorities)),
            statuses,
            certs,
            nonces,
            issues,
            usage,
        });
        let serials = Arc::new(SerialSource::open(&store, entropy.clone()).await?);
        let ca = CertificateAuthority { shared, store, custody, entropy, serials };
        ca.refresh_revocations().await?;
        Ok(ca)
    }

    /// The configuration.
    pub fn config(&self) -> &CaConfig {
        &self.shared.config
    }

    /// The store.
    pub fn store(&self) -> &CaDb {
        &self.store
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The root certificate (the trust anchor to distribute).
    pub fn root_certificate(&self) -> CertificateDer<'static> {
        self.shared.authorities().root_der.clone()
    }

    /// The certificates of every issuing CA generation, oldest first.
    pub fn issuing_certificates(&self) -> Vec<CertificateDer<'static>> {
        self.shared.authorities().intermediates.clone()
    }

    /// The generation of the current issuing CA.
    pub fn current_generation(&self) -> Result<u32, CaError> {
        Ok(self.shared.authorities().current()?.generation)
    }

    /// PEM of the root followed by every issuing CA: a CA file for `openssl verify -CAfile`.
    pub fn chain_pem(&self) -> String {
        self.shared.authorities().chain_pem()
    }
}
