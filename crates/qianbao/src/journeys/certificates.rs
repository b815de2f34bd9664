//! Digital certificates (数字证书): a fresh identity proof (an SMS code plus the login or payment password)
//! before the CA issues a certificate from the device's CSR; the list with its status view, the usage
//! record, renewal, reissue after loss (补办), revocation, the CRL — and certificate checks for payments.

use qianbao_ca::{
    CertSerial, CertStatus, CertificateRecord, CertificateSummary, IdentityProof, IdentityProofMethod,
    IssuedCertificate, RenewalProof, RevocationReason, SignedCrl, SignedOrder, UsageRecord, VerifiedCertificate,
    VerifiedOrder,
};
use qianbao_core::{DeviceId, UserId};
use qianbao_identity::{AuditKind, Password, PaymentPassword, RequestContext};
use qianbao_token::Purpose;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer};

use super::{CodeAnswer, CodeChallenge};
use crate::caller::Authed;
use crate::notices::Notice;
use crate::ticket::TicketKind;
use crate::{Caller, Wallet, WalletError};

/// The secret that completes a certificate's identity proof, beside the SMS code.
#[derive(Clone)]
#[non_exhaustive]
pub enum ProofSecret {
    /// The login password.
    Password(Password),
    /// The payment password.
    PaymentPassword(PaymentPassword),
}

impl std::fmt::Debug for ProofSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProofSecret::Password(_) => "ProofSecret::Password([REDACTED])",
            ProofSecret::PaymentPassword(_) => "ProofSecret::PaymentPassword([REDACTED])",
        })
    }
}

/// A request for a certificate (first issuance or reissue): the identity proof and the device's CSR
/// (its private key never leaves the device).
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    /// The code from [`Wallet::request_certificate_code`].
    pub code: CodeAnswer,
    /// The login or payment password.
    pub secret: ProofSecret,
    /// The device's PKCS#10 request for its P-256 key.
    pub csr: CertificateSigningRequestDer<'static>,
}

impl Wallet {
    /// Sends the SMS code of a certificate's identity proof. Needs an active, real-name verified account;
    /// the proof is bound to the caller's device.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn request_certificate_code(&self, caller: &Caller) -> Result<CodeChallenge, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_verified(a.user()).await?;
        let contact = self.preferred_contact(a.user()).await?;
        let claims = self.claims(TicketKind::CertificateProof, a.user(), a.ctx);
        self.code_challenge(claims, Purpose::CertificateIssuance, &contact, a.ctx).await
    }

    /// Issues a certificate for the caller's device. Refused for a frozen, banned or unverified account,
    /// and when the device already has an active certificate (renew or reissue it instead).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn issue_certificate(
        &self,
        caller: &Caller,
        req: CertificateRequest,
    ) -> Result<IssuedCertificate, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_verified(a.user()).await?;
        let proof = self.identity_proof(&a, &req).await?;
        let issued = self.inner.ca.issue(&proof, a.device(), &req.csr).await?;
        self.certificate_issued(&a, &issued, "issued").await;
        Ok(issued)
    }

    /// Reissue after loss (补办): a fresh identity proof; every unexpired certificate of `lost_device` (when
    /// given) and of the caller's device is revoked (key compromise), the lost device is signed out, and a
    /// new certificate is issued for the caller's device.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn reissue_certificate(
        &self,
        caller: &Caller,
        req: CertificateRequest,
        lost_device: Option<DeviceId>,
    ) -> Result<IssuedCertificate, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_verified(a.user()).await?;
        let proof = self.identity_proof(&a, &req).await?;
        if let Some(lost) = lost_device.filter(|d| *d != a.device()) {
            self.retire_lost_device(&a, lost).await?;
        }
        let replaced = self.live_certificates(a.user(), a.device()).await?;
        let issued = self.inner.ca.reissue(&proof, a.device(), &req.csr).await?;
        for serial in replaced {
            self.certificate_revoked(&a, serial, RevocationReason::KeyCompromise).await;
        }
        self.certificate_issued(&a, &issued, "reissued after loss").await;
        Ok(issued)
    }

    /// Revokes the lost device's certificates and signs it out.
    async fn retire_lost_device(&self, a: &Authed, lost: DeviceId) -> Result<(), WalletError> {
        let certificates = self.inner.ca.list(a.user()).await?;
        if !certificates.iter().any(|c| c.device == lost) {
            return Err(WalletError::DeviceNotFound(lost));
        }
        for serial in self.live_certificates(a.user(), lost).await? {
            self.inner.ca.revoke(serial, RevocationReason::KeyCompromise).await?;
            self.certificate_revoked(a, serial, RevocationReason::KeyCompromise).await;
        }
        match self.inner.tokens.sign_out_device(a.user(), lost).await {
            Ok(_) | Err(qianbao_token::TokenError::DeviceNotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The serials of `device`'s certificates that are neither revoked nor expired.
    async fn live_certificates(&self, user: UserId, device: DeviceId) -> Result<Vec<CertSerial>, WalletError> {
        let now = self.now();
        let all = self.inner.ca.list(user).await?;
        let live = |c: &CertificateSummary| {
            c.device == device && !matches!(c.status, CertStatus::Revoked { .. }) && c.not_after >= now
        };
        Ok(all.iter().filter(|c| live(c)).map(|c| c.serial).collect())
    }

    /// The SMS code, the password or payment password, then the proof the CA takes.
    async fn identity_proof(&self, a: &Authed, req: &CertificateRequest) -> Result<IdentityProof, WalletError> {
        let t = &self.inner.tickets;
        let claims = t.open(&req.code.ticket, TicketKind::CertificateProof, Some(a.user()), self.now())?;
        if claims.device != Some(a.device()) {
            return Err(WalletError::TicketInvalid);
        }
        self.check_code(a.user(), Purpose::CertificateIssuance, claims.refs[0], &req.code.code, a.ctx).await?;
        let method = match &req.secret {
            ProofSecret::Password(p) => {
                self.check_password(a.user(), p, a.ctx).await?;
                IdentityProofMethod::SmsCodeAndPassword
            }
            ProofSecret::PaymentPassword(p) => {
                self.check_payment_password(a.user(), p, a.ctx).await?;
                IdentityProofMethod::SmsCodeAndPaymentPassword
            }
        };
        Ok(IdentityProof::new(a.user(), self.now(), method))
    }

    /// Renews one of the caller's certificates inside its renewal window, proved by the current key (a
    /// signature, or the mTLS connection it came over). The old one is superseded.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, serial = %serial))]
    pub async fn renew_certificate(
        &self,
        caller: &Caller,
        serial: CertSerial,
        proof: RenewalProof,
        csr: &CertificateSigningRequestDer<'_>,
    ) -> Result<IssuedCertificate, WalletError> {
        let a = self.authenticate(caller).await?;
        self.own_certificate(a.user(), serial).await?;
        self.require_verified(a.user()).await?;
        let issued = self.inner.ca.renew(serial, &proof, csr).await?;
        let detail = format!("{} renews {serial}", issued.record.serial);
        self.audit(a.user(), AuditKind::CERTIFICATE_RENEWED, a.ctx, detail).await;
        self.notify_user(a.user(), Notice::CertificateRenewed { serial: issued.record.serial }).await;
        Ok(issued)
    }

    /// The caller's certificates with the status they see (valid / expiring / expired / superseded /
    /// revoked) and their dates, oldest first.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn certificates(&self, caller: &Caller) -> Result<Vec<CertificateSummary>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.ca.list(a.user()).await?)
    }

    /// One of the caller's certificates, to download (`record.pem()`).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, serial = %serial))]
    pub async fn certificate(&self, caller: &Caller, serial: CertSerial) -> Result<CertificateRecord, WalletError> {
        let a = self.authenticate(caller).await?;
        self.own_certificate(a.user(), serial).await
    }

    /// The usage record of one of the caller's certificates (the last `limit` entries, oldest first).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, serial = %serial))]
    pub async fn certificate_usage(
        &self,
        caller: &Caller,
        serial: CertSerial,
        limit: u32,
    ) -> Result<Vec<UsageRecord>, WalletError> {
        let a = self.authenticate(caller).await?;
        self.own_certificate(a.user(), serial).await?;
        Ok(self.inner.ca.usage_for_certificate(serial, limit).await?)
    }

    /// Revokes one of the caller's certificates (the device no longer needs it). Allowed in any status.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, serial = %serial))]
    pub async fn revoke_certificate(
        &self,
        caller: &Caller,
        serial: CertSerial,
    ) -> Result<CertificateRecord, WalletError> {
        let a = self.authenticate(caller).await?;
        self.own_certificate(a.user(), serial).await?;
        let reason = RevocationReason::CessationOfOperation;
        let record = self.inner.ca.revoke(serial, reason).await?;
        self.certificate_revoked(&a, serial, reason).await;
        Ok(record)
    }

    /// Fresh signed CRLs, one per issuing CA generation in use (current last).
    #[tracing::instrument(skip_all)]
    pub async fn crl(&self) -> Result<Vec<SignedCrl>, WalletError> {
        Ok(self.inner.ca.crls().await?)
    }

    /// The CRLs in PEM, one after another (what a CRL distribution point serves).
    #[tracing::instrument(skip_all)]
    pub async fn crl_pem(&self) -> Result<String, WalletError> {
        Ok(self.crl().await?.iter().map(SignedCrl::pem).collect())
    }

    /// Verifies a certificate presented for a payment: chain, validity and status (the CA), then the
    /// policy — its owner is active (not frozen) and real-name verified.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn verify_payment_certificate(
        &self,
        certificate: &CertificateDer<'_>,
    ) -> Result<VerifiedCertificate, WalletError> {
        let v = self.inner.ca.verify_certificate(certificate).await?;
        tracing::Span::current().record("user", tracing::field::display(v.user));
        self.require_verified(v.user).await?;
        Ok(v)
    }

    /// Verifies a payment order signed by the device holding `certificate` (no password needed): the CA
    /// checks certificate, signer, freshness and signature and uses up the order's nonce (a replay is
    /// refused); then the owner must be active and real-name verified. Recorded in the audit trail. The
    /// payment journeys call this before they post.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn verify_payment_order(
        &self,
        certificate: &CertificateDer<'_>,
        signed: &SignedOrder,
        ctx: RequestContext,
    ) -> Result<VerifiedOrder, WalletError> {
        let v = self.inner.ca.verify_order(certificate, signed).await?;
        let user = v.certificate.user;
        tracing::Span::current().record("user", tracing::field::display(user));
        self.require_verified(user).await?;
        let detail = format!("{} signed order {}", v.certificate.serial, v.order.order_id);
        self.audit(user, AuditKind::CERTIFICATE_USED, ctx, detail).await;
        Ok(v)
    }

    /// The record of `serial` when it belongs to `user`; the same "not found" otherwise.
    async fn own_certificate(&self, user: UserId, serial: CertSerial) -> Result<CertificateRecord, WalletError> {
        match self.inner.ca.certificate(serial).await {
            Ok(r) if r.user == user => Ok(r),
            Ok(_) | Err(qianbao_ca::CaError::NotFound(_)) => Err(WalletError::CertificateNotFound(serial)),
            Err(e) => Err(e.into()),
        }
    }

    async fn certificate_issued(&self, a: &Authed, issued: &IssuedCertificate, how: &str) {
        let (serial, device) = (issued.record.serial, issued.record.device);
        let detail = format!("{serial} for device {device} ({how})");
        self.audit(a.user(), AuditKind::CERTIFICATE_ISSUED, a.ctx, detail).await;
        self.notify_user(a.user(), Notice::CertificateIssued { serial, device }).await;
    }

    async fn certificate_revoked(&self, a: &Authed, serial: CertSerial, reason: RevocationReason) {
        self.audit(a.user(), AuditKind::CERTIFICATE_REVOKED, a.ctx, format!("{serial} ({reason})")).await;
        self.notify_user(a.user(), Notice::CertificateRevoked { serial, reason }).await;
    }
}
