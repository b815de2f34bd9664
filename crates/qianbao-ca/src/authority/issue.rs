//! Issuance, renewal and reissue after loss.

use qianbao_core::{DeviceId, Timestamp, UserId};
use rustls_pki_types::CertificateSigningRequestDer;

use super::{CertificateAuthority, IssuedCertificate, RenewalProof, failed};
use crate::CaError;
use crate::csr::{DevicePublicKey, parse_device_csr};
use crate::device_cert::DeviceFields;
use crate::order::renewal_message;
use crate::profile::whole_secs;
use crate::record::{
    CertSerial, CertStatus, CertificateRecord, Fingerprint, IdentityProof, RevocationReason, UsageEvent, UsageKind,
};
use crate::store::{CaStore, DevicePlan, NewCertificate};
use crate::verify::verify_device_signature;

impl CertificateAuthority {
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
        let _at_work = self.shared.issues.enter();
        let now = self.shared.now();
        let user = proof.user();
        proof.check(user, now, self.shared.config.identity_proof_max_age)?;
        let key = parse_device_csr(csr.as_ref())?;
        let detail = format!("identity proof {}", proof.describe());
        self.issue_new(user, device, &key, now, DevicePlan::Issue, None, UsageKind::Issued, detail).await
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
        let _at_work = self.shared.issues.enter();
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
        let plan = DevicePlan::Given;
        self.issue_new(record.user, record.device, &key, now, plan, Some(current), UsageKind::Renewed, detail).await
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
        let _at_work = self.shared.issues.enter();
        let now = self.shared.now();
        let user = proof.user();
        proof.check(user, now, self.shared.config.identity_proof_max_age)?;
        let key = parse_device_csr(csr.as_ref())?;
        let detail = format!("reissue after loss, identity proof {}", proof.describe());
        self.issue_new(user, device, &key, now, DevicePlan::Reissue, None, UsageKind::Reissued, detail).await
    }

    /// Signs the device certificate with the current issuing CA and persists it with its side effects.
    ///
    /// What it does to the device's other certificates (`plan`; `supersede` for a renewal) is decided by
    /// the store in the transaction that writes it, from the device's rows read there: one atomic step,
    /// and no read before signing. A certificate refused there (another user's device, an active
    /// certificate left) was signed but is dropped here: it is neither stored nor returned.
    #[allow(clippy::too_many_arguments)]
    async fn issue_new(
        &self,
        user: UserId,
        device: DeviceId,
        key: &DevicePublicKey,
        now: Timestamp,
        plan: DevicePlan,
        supersede: Option<CertSerial>,
        kind: UsageKind,
        detail: String,
    ) -> Result<IssuedCertificate, CaError> {
        let auth = self.shared.authorities();
        let ca = auth.current()?;
        let config = &self.shared.config;
        let (id, serial) = self.serials.next(&self.store).await?;
        let not_before = whole_secs(now.saturating_sub(config.backdate));
        let not_after = whole_secs(now.saturating_add(config.certificate_validity));
        if not_after > ca.not_after {
            return Err(CaError::IssuingCaTooOld);
        }
        let fields =
            DeviceFields { organization: &config.organization, user, device, serial, not_before, not_after, key };
        let der = ca.devices.build(&fields)?;
        let mut record = CertificateRecord {
            serial,
            user,
            device,
            fingerprint: Fingerprint::of(&der),
            issuer_generation: ca.generation,
            not_before,
            not_after,
            issued_at: now,
            status: CertStatus::Active,
            replaces: None,
            der,
        };
        let event = UsageEvent { at: now, kind, serial: Some(serial), user: Some(user), failure: None, detail };
        let new = NewCertificate {
            record: record.clone(),
            id: Some(id),
            plan,
            supersede: supersede.into_iter().collect(),
            revoke: Vec::new(),
            revoke_reason: RevocationReason::KeyCompromise,
            events: vec![event],
        };
        let effects = self.shared.issues.insert(new).await?;
        for (s, not_after) in effects.superseded {
            self.shared.note_status(s, CertStatus::Superseded { at: now, by: serial }, not_after, now);
        }
        for (s, not_after) in effects.revoked {
            let revoked = CertStatus::Revoked { at: now, reason: RevocationReason::KeyCompromise };
            self.shared.note_status(s, revoked, not_after, now);
        }
        self.shared.note_status(serial, CertStatus::Active, not_after, now);
        record.replaces = effects.replaces;
        tracing::info!(%serial, %user, %device, kind = kind.as_str(), "certificate issued");
        Ok(IssuedCertificate { record, issuer_der: ca.der.to_vec() })
    }
}
