//! The account: register with a phone or email and a password (a code verifies the contact), add and
//! verify more contacts, read the profile, close the account.

use std::net::IpAddr;

use qianbao_ca::RevocationReason;
use qianbao_core::UserId;
use qianbao_identity::{AuditKind, ContactValue, Password, RequestContext, User};
use qianbao_token::Purpose;
use serde::Serialize;

use super::{CodeAnswer, CodeChallenge};
use crate::notices::{Notice, verified};
use crate::ticket::{FlowTicket, TicketKind};
use crate::{Caller, Wallet, WalletError};

/// A registration: a phone number or email address, a password that passes the policy, and the client's
/// address.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The login name: it receives the verification code.
    pub contact: ContactValue,
    /// The password as typed.
    pub password: Password,
    /// The client's network address, if known.
    pub address: Option<IpAddr>,
}

impl RegisterRequest {
    /// A registration from an unknown address.
    pub fn new(contact: ContactValue, password: Password) -> Self {
        RegisterRequest { contact, password, address: None }
    }
}

/// A registered (not yet verified) account and the code that verifies its contact.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    /// The new account.
    pub user: UserId,
    /// The code sent to the contact; answer with [`Wallet::confirm_registration`].
    pub challenge: CodeChallenge,
}

impl Wallet {
    /// Registers an account (pending until its contact is verified) and sends the verification code.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn register(&self, req: RegisterRequest) -> Result<Registration, WalletError> {
        let ctx = RequestContext::new(None, req.address);
        let user = self.inner.identity.register(&req.contact, &req.password, ctx).await?.id;
        tracing::Span::current().record("user", tracing::field::display(user));
        let claims = self.claims(TicketKind::Registration, user, ctx);
        let challenge = self.code_challenge(claims, Purpose::Register, &req.contact, ctx).await?;
        Ok(Registration { user, challenge })
    }

    /// Sends the registration code again (throttled by the token service).
    #[tracing::instrument(skip_all)]
    pub async fn resend_registration_code(&self, ticket: &FlowTicket) -> Result<Registration, WalletError> {
        let claims = self.inner.tickets.open(ticket, TicketKind::Registration, None, self.now())?;
        let contact = self.bound_contact(claims.user, claims.digests[0]).await?;
        let fresh = self.claims(TicketKind::Registration, claims.user, RequestContext::NONE);
        let challenge = self.code_challenge(fresh, Purpose::Register, &contact, RequestContext::NONE).await?;
        Ok(Registration { user: claims.user, challenge })
    }

    /// Checks the registration code: the contact is verified and the account becomes active.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn confirm_registration(
        &self,
        answer: &CodeAnswer,
        address: Option<IpAddr>,
    ) -> Result<User, WalletError> {
        let claims = self.inner.tickets.open(&answer.ticket, TicketKind::Registration, None, self.now())?;
        let user = claims.user;
        tracing::Span::current().record("user", tracing::field::display(user));
        let ctx = RequestContext::new(None, address);
        let checked = self.check_code(user, Purpose::Register, claims.refs[0], &answer.code, ctx).await?;
        let contact = self.bound_contact(user, claims.digests[0]).await?;
        Ok(self.inner.identity.mark_contact_verified(user, &contact, checked.verified_at, ctx).await?)
    }

    /// Adds a phone number or email address to the caller's account and sends it a verification code.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn add_contact(&self, caller: &Caller, contact: &ContactValue) -> Result<CodeChallenge, WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.identity.add_contact(a.user(), contact, a.ctx).await?;
        let claims = self.claims(TicketKind::ContactVerification, a.user(), a.ctx);
        self.code_challenge(claims, Purpose::ContactChange, contact, a.ctx).await
    }

    /// Checks the code sent to an added contact: it becomes verified (a login name and a notice address).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn verify_contact(&self, caller: &Caller, answer: &CodeAnswer) -> Result<User, WalletError> {
        let a = self.authenticate(caller).await?;
        let t = &self.inner.tickets;
        let claims = t.open(&answer.ticket, TicketKind::ContactVerification, Some(a.user()), self.now())?;
        let checked = self.check_code(a.user(), Purpose::ContactChange, claims.refs[0], &answer.code, a.ctx).await?;
        let contact = self.bound_contact(a.user(), claims.digests[0]).await?;
        let user = self.inner.identity.mark_contact_verified(a.user(), &contact, checked.verified_at, a.ctx).await?;
        let notice = Notice::ContactAdded { new: contact.masked() };
        self.notify_user(a.user(), notice).await;
        Ok(user)
    }

    /// The caller's account as the API shows it (masked contacts, status, class, real name).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn profile(&self, caller: &Caller) -> Result<User, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.identity.user(a.user()).await?)
    }

    /// Closes the caller's account: the password again, then the zero-balance check (by default the
    /// wallet on the ledger: no money and nothing pending, else [`WalletError::BalanceNotZero`]; see
    /// [`ClosingCheck`](crate::ClosingCheck)); then every certificate, transaction token, payment code
    /// and session is revoked and the account closed. Records are kept. A frozen account cannot close.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn close_account(&self, caller: &Caller, password: &Password, reason: &str) -> Result<User, WalletError> {
        let a = self.authenticate(caller).await?;
        let user = a.user();
        self.require_active(user).await?;
        let check = self.inner.closing.clone();
        self.check_password(user, password, a.ctx).await?;
        let zero = check.confirm_zero_balance(user).await?;
        let contacts = verified(self.inner.identity.contacts(user).await?);
        // Revoke first: should closing then fail, the account stays open with fewer credentials, never
        // closed with live ones. Revocation is idempotent, so a retry completes it.
        self.revoke_everything(user, RevocationReason::AffiliationChanged, a.ctx).await?;
        let closed = self.inner.identity.close_account(user, zero, reason, a.ctx).await?;
        self.notify_contacts(user, &contacts, Notice::AccountClosed).await;
        Ok(closed)
    }

    /// Revokes every certificate, transaction token, payment code and session of `user`, recording each.
    pub(crate) async fn revoke_everything(
        &self,
        user: UserId,
        reason: RevocationReason,
        ctx: RequestContext,
    ) -> Result<(), WalletError> {
        for r in self.inner.ca.revoke_all_for_user(user, reason).await? {
            let detail = format!("{} ({reason})", r.serial);
            self.audit(user, AuditKind::CERTIFICATE_REVOKED, ctx, detail).await;
        }
        let tokens = &self.inner.tokens;
        let tx = tokens.revoke_all_transaction_tokens(user).await?;
        let paycodes = tokens.revoke_paycodes(user, None).await?;
        let sessions = tokens.revoke_all_sessions(user).await?;
        let detail = format!("{tx} transaction tokens, {paycodes} payment-code enrollments, {sessions} sessions");
        self.audit(user, AuditKind::TOKEN_REVOKED, ctx, detail).await;
        Ok(())
    }
}
