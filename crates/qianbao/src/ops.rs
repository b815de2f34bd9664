//! [`Operator`]: the back office. Real-name review, freezing and banning, unlocking logins, revoking
//! certificates, reading any user's trail.

use qianbao_ca::{CertSerial, CertificateRecord, RevocationReason};
use qianbao_core::UserId;
use qianbao_identity::{
    AccountClass, Actor, Application, ApplicationId, ApplicationState, AuditCursor, AuditKind, AuditPage,
    RequestContext, ReviewDecision, StatusAction, User,
};

use crate::notices::Notice;
use crate::{Wallet, WalletError};

/// Operator actions, each recorded in the audit trail under the operator's name.
///
/// **For the embedding service's back office only.** These methods do not authenticate anyone: the
/// service must authenticate its staff and check they may take the action before calling them (never
/// expose them to wallet users). Get one with [`Wallet::operator`].
#[derive(Debug, Clone)]
pub struct Operator {
    pub(crate) wallet: Wallet,
    pub(crate) name: String,
}

const CTX: RequestContext = RequestContext::NONE;

impl Operator {
    pub(crate) fn new(wallet: Wallet, name: String) -> Self {
        Operator { wallet, name }
    }

    /// The operator's name as recorded.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn actor(&self) -> Actor {
        Actor::Operator(self.name.clone())
    }

    /// A user's account.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn user(&self, user: UserId) -> Result<User, WalletError> {
        Ok(self.wallet.inner.identity.user(user).await?)
    }

    /// Submitted real-name applications waiting for review, oldest first.
    #[tracing::instrument(skip_all, fields(operator = %self.name))]
    pub async fn review_queue(&self, limit: u32) -> Result<Vec<Application>, WalletError> {
        Ok(self.wallet.inner.identity.review_queue(limit).await?)
    }

    /// Approves or rejects a submitted application; the user is told the outcome (not the details). An
    /// approval opens the user's wallet with the debit limits of the account class (or moves an open
    /// one to the new class's limits).
    #[tracing::instrument(skip_all, fields(operator = %self.name, application = %application))]
    pub async fn review_application(
        &self,
        application: ApplicationId,
        decision: ReviewDecision,
    ) -> Result<Application, WalletError> {
        let app = self.wallet.inner.identity.review_application(application, decision, &self.name, CTX).await?;
        let approved = app.state == ApplicationState::Approved;
        if approved {
            // The class may have changed: open the wallet with (or move it to) the class's limits.
            let user = self.wallet.inner.identity.user(app.user).await?;
            self.wallet.ensure_wallet(&user).await?;
        }
        self.wallet.notify_user(app.user, Notice::RealNameDecided { approved }).await;
        Ok(app)
    }

    /// Records an in-person check of the user's documents (one more verification channel); the wallet
    /// moves to the limits of the class reached.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn record_in_person_verification(&self, user: UserId) -> Result<AccountClass, WalletError> {
        let class = self.wallet.inner.identity.record_in_person_verification(user, &self.name, CTX).await?;
        let u = self.wallet.inner.identity.user(user).await?;
        self.wallet.ensure_wallet(&u).await?;
        Ok(class)
    }

    /// Freezes an account: it can still log in and look, but cannot pay or get new certificates or
    /// tokens. The user is notified.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn freeze(&self, user: UserId, reason: &str) -> Result<User, WalletError> {
        let u = self.status(user, StatusAction::Freeze, reason).await?;
        self.wallet.notify_user(user, Notice::AccountFrozen).await;
        Ok(u)
    }

    /// Unfreezes an account.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn unfreeze(&self, user: UserId, reason: &str) -> Result<User, WalletError> {
        self.status(user, StatusAction::Unfreeze, reason).await
    }

    /// Bans an account: it cannot log in; every certificate (privilege withdrawn), transaction token,
    /// payment code and session is revoked at once. The user is notified.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn ban(&self, user: UserId, reason: &str) -> Result<User, WalletError> {
        self.user(user).await?;
        // Revoke first: should the ban then fail, the account has fewer credentials, never a ban with
        // live ones. Revocation is idempotent, so a retry completes it.
        self.wallet.revoke_everything(user, RevocationReason::PrivilegeWithdrawn, CTX).await?;
        let u = self.status(user, StatusAction::Ban, reason).await?;
        self.wallet.notify_user(user, Notice::AccountBanned).await;
        Ok(u)
    }

    /// Lifts a ban found wrong (certificates stay revoked: the user requests new ones).
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn lift_ban(&self, user: UserId, reason: &str) -> Result<User, WalletError> {
        self.status(user, StatusAction::LiftBan, reason).await
    }

    async fn status(&self, user: UserId, action: StatusAction, reason: &str) -> Result<User, WalletError> {
        let identity = &self.wallet.inner.identity;
        Ok(identity.change_status(user, action, reason, self.actor(), CTX).await?)
    }

    /// Lifts a login lock (and back-off) after checking the user's identity by other means.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn unlock_login(&self, user: UserId) -> Result<(), WalletError> {
        Ok(self.wallet.inner.identity.unlock_login(user, &self.name, CTX).await?)
    }

    /// Revokes any certificate (e.g. reported compromised), telling its owner.
    #[tracing::instrument(skip_all, fields(operator = %self.name, serial = %serial))]
    pub async fn revoke_certificate(
        &self,
        serial: CertSerial,
        reason: RevocationReason,
    ) -> Result<CertificateRecord, WalletError> {
        let r = self.wallet.inner.ca.revoke(serial, reason).await?;
        let detail = format!("{serial} ({reason}) by operator {}", self.name);
        self.wallet.audit(r.user, AuditKind::CERTIFICATE_REVOKED, CTX, detail).await;
        self.wallet.notify_user(r.user, Notice::CertificateRevoked { serial, reason }).await;
        Ok(r)
    }

    /// Signs every device of a user out at once. How many sessions were live.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn sign_out_user(&self, user: UserId) -> Result<u32, WalletError> {
        let n = self.wallet.inner.tokens.revoke_all_sessions(user).await?;
        let detail = format!("every device ({n} sessions) by operator {}", self.name);
        self.wallet.audit(user, AuditKind::DEVICE_SIGNED_OUT, CTX, detail).await;
        Ok(n)
    }

    /// A page of one user's audit trail, newest first.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn audit_for_user(
        &self,
        user: UserId,
        cursor: Option<AuditCursor>,
        limit: u32,
    ) -> Result<AuditPage, WalletError> {
        Ok(self.wallet.inner.identity.audit_for_user(user, cursor, limit).await?)
    }

    /// A page of the whole trail, newest first.
    #[tracing::instrument(skip_all, fields(operator = %self.name))]
    pub async fn audit_recent(&self, cursor: Option<AuditCursor>, limit: u32) -> Result<AuditPage, WalletError> {
        Ok(self.wallet.inner.identity.audit_recent(cursor, limit).await?)
    }
}
