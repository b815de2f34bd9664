//! Verification for payments: presented certificates and signed payment orders.

use std::sync::Arc;

use qianbao_core::Timestamp;
use rustls_pki_types::CertificateDer;

use super::{CertificateAuthority, VerifiedCertificate, VerifiedOrder, failed};
use crate::CaError;
use crate::order::SignedOrder;
use crate::record::{CertSerial, CertStatus, CertificateRecord, Fingerprint, UsageEvent, UsageKind};
use crate::status::VerifiedCert;
use crate::store::{CaStore, NonceClaim, NonceOutcome};
use crate::verify::{check_validity, device_public_key, verify_client_chain, verify_with_key};

impl CertificateAuthority {
    /// Verifies a presented certificate for a payment: webpki chain to our root, validity now, clientAuth
    /// EKU present; then its status by serial in our records (cached for `status_cache_ttl`). Parsed
    /// certificates are cached by fingerprint. The attempt is recorded in the usage record.
    pub async fn verify_certificate(&self, der: &CertificateDer<'_>) -> Result<VerifiedCertificate, CaError> {
        let now = self.shared.now();
        let out = self.check_certificate(der, now).await;
        let (serial, user) = match &out {
            Ok((c, _)) => (Some(c.record.serial), Some(c.record.user)),
            Err((hint, _)) => (*hint, None),
        };
        let ev = self.shared.event(UsageKind::Verified, serial, user);
        match out {
            Ok((c, status)) => {
                self.shared.usage.record(ev);
                Ok(verified(&c.record, status))
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
    /// was never used. The nonce is claimed last: decided in memory by this instance, then recorded with
    /// the usage event in a batch shared with concurrent orders, whose transaction re-checks the
    /// certificate's status; this returns only after that commit (the nonce is durable).
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
        let (cert, status) = self.check_certificate(der, now).await.map_err(|(hint, e)| {
            ev.serial = hint;
            e
        })?;
        let record = &cert.record;
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
        // The presented DER is the cached certificate (same fingerprint): its key, taken at loading.
        verify_with_key(&cert.public_key, &msg, &signed.signature).map_err(|_| CaError::OrderSignatureInvalid)?;
        let claim = NonceClaim {
            user: record.user,
            nonce: order.nonce,
            signed_at: order.signed_at,
            serial: record.serial,
            at: now,
            grace: config.supersede_grace,
            event: ev.clone(),
        };
        match self.shared.nonces.claim(claim, now).await? {
            NonceOutcome::Accepted => Ok(VerifiedOrder { certificate: verified(record, status), order }),
            NonceOutcome::Replayed => Err(CaError::NonceReplayed),
            NonceOutcome::Unusable(s) => {
                // Revoked or superseded since the cached status was read: remember it, refuse.
                self.shared.note_status(record.serial, s, record.not_after, now);
                s.check_usable(record.serial, now, config.supersede_grace)?;
                Err(CaError::Conflict(format!(
                    "certificate {} changed status while the order was checked",
                    record.serial
                )))
            }
            NonceOutcome::UnknownCertificate => Err(CaError::UnknownCertificate),
        }
    }

    /// Chain (or cache), validity and status. On failure, the serial when it is known.
    async fn check_certificate(
        &self,
        der: &CertificateDer<'_>,
        now: Timestamp,
    ) -> Result<(Arc<VerifiedCert>, CertStatus), (Option<CertSerial>, CaError)> {
        let fp = Fingerprint::of(der);
        let cert = match self.shared.certs.get(&fp) {
            Some(c) => c,
            None => self.load_certificate(der, fp, now).await.map_err(|e| (None, e))?,
        };
        let record = &cert.record;
        let hint = Some(record.serial);
        check_validity(record, now).map_err(|e| (hint, e))?;
        let status = match self.shared.statuses.lookup(record.serial, now) {
            Some(s) => s,
            None => {
                let fresh = self.store.certificate(record.serial).await.map_err(|e| (hint, e))?;
                let s = fresh.map(|r| r.status).ok_or((hint, CaError::UnknownCertificate))?;
                self.shared.note_status(record.serial, s, record.not_after, now);
                // Never act on a read older than what this instance already knows.
                self.shared.statuses.lookup(record.serial, now).unwrap_or(s)
            }
        };
        status.check_usable(record.serial, now, self.shared.config.supersede_grace).map_err(|e| (hint, e))?;
        Ok((cert, status))
    }

    /// Cache miss: full webpki verification, then our record by serial (it must be this exact certificate).
    async fn load_certificate(
        &self,
        der: &CertificateDer<'_>,
        fp: Fingerprint,
        now: Timestamp,
    ) -> Result<Arc<VerifiedCert>, CaError> {
        let serial = {
            let auth = self.shared.authorities();
            verify_client_chain(der, &auth.root_anchor, &auth.intermediates, now)?
        };
        let record = self.store.certificate(serial).await?.ok_or(CaError::UnknownCertificate)?;
        if record.fingerprint != fp {
            return Err(CaError::UnknownCertificate);
        }
        self.shared.note_status(serial, record.status, record.not_after, now);
        let public_key = device_public_key(der.as_ref())
            .ok_or_else(|| CaError::CertificateMalformed("the public key is not EC P-256".into()))?;
        let cert = Arc::new(VerifiedCert { record, public_key });
        self.shared.certs.put(cert.clone());
        Ok(cert)
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
