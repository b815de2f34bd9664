//! [`CertificateAuthority`]: the service the facade calls — issue, renew, reissue, revoke, list, CRLs,
//! verification of presented certificates and signed payment orders, rollover, the usage record, and the
//! rustls client-certificate verifiers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use qianbao_core::{Clock, DeviceId, Entropy, Timestamp, UserId};
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer};
use serde::{Deserialize, Serialize};

use crate::config::CaConfig;
use crate::crl::{SignedCrl, build_crl};
use crate::csr::{DevicePublicKey, parse_device_csr};
use crate::keys::KeyCustody;
use crate::order::{SignedOrder, renewal_message};
use crate::profile::{device_params, whole_secs};
use crate::record::{
    CertSerial, CertStatus, CertificateRecord, CertificateSummary, Fingerprint, IdentityProof, RevocationReason,
    UsageEvent, UsageKind, UsageRecord,
};
use crate::state::{self, Authorities};
use crate::store::{CaDb, CaStore, NewCertificate, RevokeOutcome};
use crate::usage::UsageSink;
use crate::verify::{Cache, check_validity, verify_client_chain, verify_device_signature};
use crate::{CaError, pem_encode};

/// State shared by the service and the rustls verifiers it hands out.
pub(crate) struct Shared {
    pub config: CaConfig,
    pub clock: Arc<dyn Clock>,
    pub authorities: RwLock<Arc<Authorities>>,
    /// Superseded and revoked certificates not yet expired: the view the (synchronous) mTLS verifier
    /// checks. Updated at once by changes made through this instance; reloaded by
    /// [`CertificateAuthority::refresh_revocations`].
    pub revocations: RwLock<HashMap<CertSerial, CertStatus>>,
    pub cache: Cache,
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

    /// Notes a status change made through this instance in both in-memory views.
    fn note_status(&self, serial: CertSerial, status: CertStatus, now: Timestamp) {
        self.cache.put_status(serial, status, now);
        let mut r = self.revocations.write().unwrap_or_else(|p| p.into_inner());
        match status {
            CertStatus::Active => r.remove(&serial),
            other => r.insert(serial, other),
        };
    }

    /// The mTLS verifier's status check.
    pub fn check_revocation_view(&self, serial: CertSerial, now: Timestamp) -> Result<(), CaError> {
        let r = self.revocations.read().unwrap_or_else(|p| p.into_inner());
        match r.get(&serial) {
            Some(status) => status.check_usable(serial, now, self.config.supersede_grace),
            None => Ok(()),
        }
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
/// Construct with [`CertificateAuthority::open`] inside a tokio runtime (it starts the usage appender).
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct CertificateAuthority {
    shared: Arc<Shared>,
    store: CaDb,
    custody: Arc<dyn KeyCustody>,
    entropy: Arc<dyn Entropy>,
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
        let cache = Cache::new(config.certificate_cache_max);
        let shared = Arc::new(Shared {
            config,
            clock,
            authorities: RwLock::new(Arc::new(authorities)),
            revocations: RwLock::new(HashMap::new()),
            cache,
            usage,
        });
        let ca = CertificateAuthority { shared, store, custody, entropy };
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

    // ---------------------------------------------------------------- issuance

    /// Issues a certificate for `device` of the proof's user from a CSR made on the device.
    ///
    /// Refuses when the identity proof is not fresh, the CSR is bad (signature, key type), the device is
    /// bound to another user, or it already has an active, unexpired certificate (renew or reissue it
    /// instead). An active but expired certificate of the device is superseded.
    pub async fn issue(
        &self,
        proof: &IdentityProof,
        device: DeviceId,
        csr: &CertificateSigningRequestDer<'_>,
    ) -> Result<IssuedCertificate, CaError> {
        let now = self.shared.now();
        let user = proof.user();
        proof.check(user, now, self.shared.config.identity_proof_max_age)?;
        let key = parse_device_csr(csr.as_ref())?;
        let existing = self.store.certificates_for_device(device).await?;
        let mut supersede = Vec::new();
        for r in &existing {
            if r.user != user {
                return Err(CaError::DeviceBoundToAnotherUser);
            }
            if r.status == CertStatus::Active {
                if now > r.not_after {
                    supersede.push(r.serial);
                } else {
                    return Err(CaError::DeviceHasActiveCertificate(r.serial));
                }
            }
        }
        let detail = format!("identity proof {}", proof.describe());
        self.issue_new(user, device, &key, now, supersede, Vec::new(), UsageKind::Issued, detail).await
    }

    /// Renews the active certificate `current` with a new CSR (same or new key), proved by `proof`.
    ///
    /// Allowed only inside the renewal window before notAfter and before expiry. The old certificate is
    /// superseded; it keeps verifying for the configured grace period.
    pub async fn renew(
        &self,
        current: CertSerial,
        proof: &RenewalProof,
        csr: &CertificateSigningRequestDer<'_>,
    ) -> Result<IssuedCertificate, CaError> {
        let now = self.shared.now();
        let record = self.store.certificate(current).await?.ok_or(CaError::NotFound(current))?;
        let mut ev = self.shared.event(UsageKind::RenewalProof, Some(current), Some(record.user));
        if let Err(e) = self.check_renewal(&record, proof, csr, now) {
            self.shared.usage.record(failed(ev, &e));
            return Err(e);
        }
        let key = parse_device_csr(csr.as_ref())?;
        ev.detail = match proof {
            RenewalProof::Signature { .. } => "signature".into(),
            RenewalProof::MutualTls { .. } => "mtls".into(),
        };
        self.shared.usage.record(ev);
        let detail = format!("renewal of {current}");
        self.issue_new(record.user, record.device, &key, now, vec![current], Vec::new(), UsageKind::Renewed, detail)
            .await
    }

    fn check_renewal(
        &self,
        record: &CertificateRecord,
        proof: &RenewalProof,
        csr: &CertificateSigningRequestDer<'_>,
        now: Timestamp,
    ) -> Result<(), CaError> {
        if record.status != CertStatus::Active {
            return Err(CaError::NotActive(record.serial));
        }
        if now > record.not_after {
            return Err(CaError::CertificateExpired);
        }
        let opens = record.not_after.saturating_sub(self.shared.config.renewal_window);
        if now < opens {
            return Err(CaError::RenewalNotOpen { opens_at_secs: opens.unix_secs() });
        }
        match proof {
            RenewalProof::Signature { signed_at, signature } => {
                let max_age = self.shared.config.renewal_proof_max_age;
                let future = signed_at.duration_since(now) > self.shared.config.order_future_skew;
                if now.duration_since(*signed_at) > max_age || future {
                    return Err(CaError::RenewalProofInvalid("the proof is not fresh"));
                }
                let msg = renewal_message(record.serial, csr.as_ref(), *signed_at);
                verify_device_signature(&record.certificate(), &msg, signature)
                    .map_err(|_| CaError::RenewalProofInvalid("the signature does not verify with the current key"))
            }
            RenewalProof::MutualTls { certificate } => {
                if Fingerprint::of(certificate) != record.fingerprint {
                    return Err(CaError::RenewalProofInvalid("the mTLS certificate is not the one being renewed"));
                }
                Ok(())
            }
        }
    }

    /// Reissue after loss (补办): with a fresh identity proof, revokes every unexpired certificate of the
    /// device that is not already revoked (reason keyCompromise) and issues a new one from `csr`.
    pub async fn reissue(
        &self,
        proof: &IdentityProof,
        device: DeviceId,
        csr: &CertificateSigningRequestDer<'_>,
    ) -> Result<IssuedCertificate, CaError> {
        let now = self.shared.now();
        let user = proof.user();
        proof.check(user, now, self.shared.config.identity_proof_max_age)?;
        let key = parse_device_csr(csr.as_ref())?;
        let existing = self.store.certificates_for_device(device).await?;
        if existing.iter().any(|r| r.user != user) {
            return Err(CaError::DeviceBoundToAnotherUser);
        }
        let revoke: Vec<CertSerial> = existing
            .iter()
            .filter(|r| !matches!(r.status, CertStatus::Revoked { .. }) && r.not_after >= now)
            .map(|r| r.serial)
            .collect();
        // An active but expired certificate still occupies the device's "one active" slot.
        let supersede: Vec<CertSerial> =
            existing.iter().filter(|r| r.status == CertStatus::Active && r.not_after < now).map(|r| r.serial).collect();
        let detail = format!("reissue after loss, identity proof {}", proof.describe());
        self.issue_new(user, device, &key, now, supersede, revoke, UsageKind::Reissued, detail).await
    }

    /// Signs the device certificate with the current issuing CA and persists it with its side effects.
    #[allow(clippy::too_many_arguments)]
    async fn issue_new(
        &self,
        user: UserId,
        device: DeviceId,
        key: &DevicePublicKey,
        now: Timestamp,
        supersede: Vec<CertSerial>,
        revoke: Vec<CertSerial>,
        kind: UsageKind,
        detail: String,
    ) -> Result<IssuedCertificate, CaError> {
        let auth = self.shared.authorities();
        let ca = auth.current()?;
        let config = &self.shared.config;
        let serial = CertSerial::random(self.entropy.as_ref());
        let not_before = whole_secs(now.saturating_sub(config.backdate));
        let not_after = whole_secs(now.saturating_add(config.certificate_validity));
        if not_after > ca.not_after {
            return Err(CaError::IssuingCaTooOld);
        }
        let params = device_params(&config.organization, user, device, serial, not_before, not_after)?;
        let cert = params.signed_by(key, &ca.issuer).map_err(CaError::signer)?;
        let der = cert.der().to_vec();
        let record = CertificateRecord {
            serial,
            user,
            device,
            fingerprint: Fingerprint::of(&der),
            issuer_generation: ca.generation,
            not_before,
            not_after,
            issued_at: now,
            status: CertStatus::Active,
            replaces: supersede.first().or(revoke.first()).copied(),
            der,
        };
        let mut events =
            vec![UsageEvent { at: now, kind, serial: Some(serial), user: Some(user), failure: None, detail }];
        for s in &supersede {
            let detail = format!("superseded by {serial}");
            events.push(UsageEvent {
                at: now,
                kind: UsageKind::Superseded,
                serial: Some(*s),
                user: Some(user),
                failure: None,
                detail,
            });
        }
        for s in &revoke {
            let detail = format!("revoked ({}) by reissue as {serial}", RevocationReason::KeyCompromise);
            events.push(UsageEvent {
                at: now,
                kind: UsageKind::Revoked,
                serial: Some(*s),
                user: Some(user),
                failure: None,
                detail,
            });
        }
        let new = NewCertificate {
            record: record.clone(),
            supersede: supersede.clone(),
            revoke: revoke.clone(),
            revoke_reason: RevocationReason::KeyCompromise,
            events,
        };
        self.store.insert_certificate(new).await.map_err(|e| match e {
            CaError::Conflict(m) if supersede.is_empty() && revoke.is_empty() && m.contains("active") => {
                CaError::Conflict(format!("device {device} got a certificate concurrently"))
            }
            other => other,
        })?;
        for s in supersede {
            self.shared.note_status(s, CertStatus::Superseded { at: now, by: serial }, now);
        }
        for s in revoke {
            self.shared.note_status(s, CertStatus::Revoked { at: now, reason: RevocationReason::KeyCompromise }, now);
        }
        self.shared.cache.put_status(serial, CertStatus::Active, now);
        tracing::info!(%serial, %user, %device, kind = kind.as_str(), "certificate issued");
        Ok(IssuedCertificate { record, issuer_der: ca.der.to_vec() })
    }

    // ---------------------------------------------------------------- revocation and CRLs

    /// Revokes a certificate (active or superseded) for `reason`. Revoking twice is
    /// [`CaError::AlreadyRevoked`].
    pub async fn revoke(&self, serial: CertSerial, reason: RevocationReason) -> Result<CertificateRecord, CaError> {
        let now = self.shared.now();
        let mut ev = self.shared.event(UsageKind::Revoked, Some(serial), None);
        ev.detail = format!("revoked ({reason})");
        match self.store.revoke(serial, reason, now, ev).await? {
            RevokeOutcome::Revoked(r) => {
                self.shared.note_status(serial, r.status, now);
                tracing::info!(%serial, %reason, "certificate revoked");
                Ok(r)
            }
            RevokeOutcome::AlreadyRevoked(r) => {
                self.shared.note_status(serial, r.status, now);
                Err(CaError::AlreadyRevoked(serial))
            }
            RevokeOutcome::NotFound => Err(CaError::NotFound(serial)),
        }
    }

    /// Revokes every unexpired, not yet revoked certificate of `user` (closing the account). Returns the
    /// revoked records.
    pub async fn revoke_all_for_user(
        &self,
        user: UserId,
        reason: RevocationReason,
    ) -> Result<Vec<CertificateRecord>, CaError> {
        let now = self.shared.now();
        let mut out = Vec::new();
        for r in self.store.certificates_for_user(user).await? {
            if matches!(r.status, CertStatus::Revoked { .. }) || r.not_after < now {
                continue;
            }
            match self.revoke(r.serial, reason).await {
                Ok(r) => out.push(r),
                Err(CaError::AlreadyRevoked(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Signs a fresh CRL for the current issuing CA (CRL number increases by one each call).
    pub async fn crl(&self) -> Result<SignedCrl, CaError> {
        let generation = self.current_generation()?;
        self.crl_for(generation).await
    }

    /// Signs a fresh CRL for every issuing CA generation that is not expired, current last.
    pub async fn crls(&self) -> Result<Vec<SignedCrl>, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let mut out = Vec::new();
        for ca in auth.issuing.iter().filter(|i| i.not_after > now) {
            out.push(self.crl_for(ca.generation).await?);
        }
        Ok(out)
    }

    async fn crl_for(&self, generation: u32) -> Result<SignedCrl, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let ca = auth.generation(generation).ok_or_else(|| CaError::Misuse(format!("no issuing CA G{generation}")))?;
        let records = self.store.inactive_certificates(now).await?;
        let number = self.store.next_crl_number(generation).await?;
        let config = &self.shared.config;
        build_crl(&ca.issuer, &ca.ski, generation, number, &records, now, config.crl_validity, config.supersede_grace)
    }

    /// Reloads the mTLS verifier's view of superseded and revoked certificates from the store, picking up
    /// changes made by other instances sharing the database. Call it periodically (e.g. every few
    /// seconds) on multi-instance deployments.
    pub async fn refresh_revocations(&self) -> Result<(), CaError> {
        let now = self.shared.now();
        let inactive = self.store.inactive_certificates(now).await?;
        let view: HashMap<CertSerial, CertStatus> = inactive.into_iter().map(|r| (r.serial, r.status)).collect();
        *self.shared.revocations.write().unwrap_or_else(|p| p.into_inner()) = view;
        Ok(())
    }

    // ---------------------------------------------------------------- rollover

    /// Creates issuing CA generation n+1 signed by the root and makes it current; the old one is retired
    /// (it issues nothing new but keeps signing CRLs, and certificates it issued keep verifying until they
    /// expire). Returns the new issuing CA's certificate.
    pub async fn rollover_issuing_ca(&self) -> Result<CertificateDer<'static>, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let old = auth.current()?.generation;
        let next = auth.issuing.iter().map(|i| i.generation).max().unwrap_or(0) + 1;
        let mut rows =
            state::create(self.custody.as_ref(), &self.shared.config, Some(&auth), next, now, self.entropy.as_ref())?;
        for r in &mut rows {
            r.retired = false;
        }
        self.store.insert_authorities(rows, Some(old)).await?;
        self.reload_authorities().await?;
        tracing::info!(old, new = next, "issuing CA rolled over");
        Ok(self.shared.authorities().current()?.der.clone())
    }

    /// Reloads the CA certificates and keys from the store (after another instance rolled over).
    pub async fn reload_authorities(&self) -> Result<(), CaError> {
        let rows = self.store.authorities().await?;
        let loaded = state::load(self.custody.as_ref(), &rows)?;
        *self.shared.authorities.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }

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

    // ---------------------------------------------------------------- verification

    /// Verifies a presented certificate for a payment: webpki chain to our root, validity now, clientAuth
    /// EKU present; then its status by serial in our records (cached for `status_cache_ttl`). Parsed
    /// certificates are cached by fingerprint. The attempt is recorded in the usage record.
    pub async fn verify_certificate(&self, der: &CertificateDer<'_>) -> Result<VerifiedCertificate, CaError> {
        let now = self.shared.now();
        let out = self.check_certificate(der, now).await;
        let (serial, user) = match &out {
            Ok((r, _)) => (Some(r.serial), Some(r.user)),
            Err((hint, _)) => (*hint, None),
        };
        let ev = self.shared.event(UsageKind::Verified, serial, user);
        match out {
            Ok((r, status)) => {
                self.shared.usage.record(ev);
                Ok(verified(&r, status))
            }
            Err((_, e)) => {
                self.shared.usage.record(failed(ev, &e));
                Err(e)
            }
        }
    }

    /// Verifies a signed payment order from the device holding `der`: the certificate as in
    /// [`verify_certificate`](Self::verify_certificate), the payer is the certificate's user, the order is
    /// fresh, the DER ECDSA P-256 / SHA-256 signature verifies with the certificate's key, and the nonce
    /// was never used (it is recorded, durably, with the usage event, before this returns).
    pub async fn verify_order(&self, der: &CertificateDer<'_>, signed: &SignedOrder) -> Result<VerifiedOrder, CaError> {
        let now = self.shared.now();
        let mut ev = self.shared.event(UsageKind::OrderSigned, None, None);
        ev.detail = format!("order {}", signed.order.order_id);
        match self.check_order(der, signed, now, &mut ev).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.shared.usage.record(failed(ev, &e));
                Err(e)
            }
        }
    }

    async fn check_order(
        &self,
        der: &CertificateDer<'_>,
        signed: &SignedOrder,
        now: Timestamp,
        ev: &mut UsageEvent,
    ) -> Result<VerifiedOrder, CaError> {
        let (record, status) = self.check_certificate(der, now).await.map_err(|(hint, e)| {
            ev.serial = hint;
            e
        })?;
        ev.serial = Some(record.serial);
        ev.user = Some(record.user);
        let order = signed.order;
        if order.payer != record.user {
            return Err(CaError::PayerMismatch);
        }
        let config = &self.shared.config;
        let too_old = now.duration_since(order.signed_at) > config.order_max_age;
        let too_new = order.signed_at.duration_since(now) > config.order_future_skew;
        if too_old || too_new {
            return Err(CaError::OrderStale { window_secs: config.order_max_age.as_secs() });
        }
        let msg = order.encode()?;
        verify_device_signature(&record.certificate(), &msg, &signed.signature)
            .map_err(|_| CaError::OrderSignatureInvalid)?;
        if !self.store.accept_nonce(record.user, order.nonce, order.signed_at, record.serial, ev.clone()).await? {
            return Err(CaError::NonceReplayed);
        }
        Ok(VerifiedOrder { certificate: verified(&record, status), order })
    }

    /// Chain (or cache), validity and status. On failure, the serial when it is known.
    async fn check_certificate(
        &self,
        der: &CertificateDer<'_>,
        now: Timestamp,
    ) -> Result<(Arc<CertificateRecord>, CertStatus), (Option<CertSerial>, CaError)> {
        let fp = Fingerprint::of(der);
        let record = match self.shared.cache.cert(&fp) {
            Some(r) => r,
            None => self.load_certificate(der, fp, now).await.map_err(|e| (None, e))?,
        };
        let hint = Some(record.serial);
        check_validity(&record, now).map_err(|e| (hint, e))?;
        let config = &self.shared.config;
        let status = match self.shared.cache.status(record.serial, now, config.status_cache_ttl) {
            Some(s) => s,
            None => {
                let fresh = self.store.certificate(record.serial).await.map_err(|e| (hint, e))?;
                let s = fresh.map(|r| r.status).ok_or((hint, CaError::UnknownCertificate))?;
                self.shared.cache.put_status(record.serial, s, now);
                s
            }
        };
        status.check_usable(record.serial, now, config.supersede_grace).map_err(|e| (hint, e))?;
        Ok((record, status))
    }

    /// Cache miss: full webpki verification, then our record by serial (it must be this exact certificate).
    async fn load_certificate(
        &self,
        der: &CertificateDer<'_>,
        fp: Fingerprint,
        now: Timestamp,
    ) -> Result<Arc<CertificateRecord>, CaError> {
        let serial = {
            let auth = self.shared.authorities();
            verify_client_chain(der, &auth.root_anchor, &auth.intermediates, now)?
        };
        let record = self.store.certificate(serial).await?.ok_or(CaError::UnknownCertificate)?;
        if record.fingerprint != fp {
            return Err(CaError::UnknownCertificate);
        }
        self.shared.cache.put_status(serial, record.status, now);
        let record = Arc::new(record);
        self.shared.cache.put_cert(record.clone());
        Ok(record)
    }
}

fn verified(r: &CertificateRecord, status: CertStatus) -> VerifiedCertificate {
    VerifiedCertificate {
        serial: r.serial,
        user: r.user,
        device: r.device,
        fingerprint: r.fingerprint,
        not_after: r.not_after,
        status,
    }
}
