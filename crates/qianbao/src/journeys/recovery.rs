//! Forgotten password: a code to a verified contact, then a new password; every session is revoked and the
//! login lock lifted.

use std::net::IpAddr;

use qianbao_core::{Timestamp, UserId};
use qianbao_identity::{AuditKind, ContactValue, Password, RequestContext, ResetAuthorization};
use qianbao_token::Purpose;
use serde::Serialize;

use super::CodeAnswer;
use crate::notices::Notice;
use crate::ticket::{Claims, FlowTicket, TicketKind};
use crate::{Wallet, WalletError};

/// The answer to [`Wallet::start_password_recovery`]: the same shape whether or not an account has the
/// contact, so the first step does not tell. (Registration does tell — a verified contact cannot be
/// registered twice — so this is defence in depth, not secrecy.)
#[derive(Debug, Clone, Serialize)]
pub struct PasswordRecovery {
    /// Send it back with the code ([`Wallet::reset_password`]).
    pub ticket: FlowTicket,
    /// Where the code went, masked.
    pub destination_masked: String,
    /// Until when the code works.
    pub expires_at: Timestamp,
}

impl Wallet {
    /// Starts a password recovery: when `contact` is a verified contact of an account, a recovery code is
    /// sent to it. The answer looks the same either way.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn start_password_recovery(
        &self,
        contact: &ContactValue,
        address: Option<IpAddr>,
    ) -> Result<PasswordRecovery, WalletError> {
        let ctx = RequestContext::new(None, address);
        let now = self.now();
        let ttl = self.inner.tokens.config().code_ttl;
        let Some(user) = self.inner.identity.find_user(contact).await? else {
            // No account: a ticket for nobody, which no code will ever match.
            let claims = Claims::new(TicketKind::PasswordRecovery, UserId::from_u128(0), now);
            let ticket = self.inner.tickets.sign(&claims);
            return Ok(PasswordRecovery {
                ticket,
                destination_masked: contact.masked(),
                expires_at: now.saturating_add(ttl),
            });
        };
        tracing::Span::current().record("user", tracing::field::display(user));
        let claims = self.claims(TicketKind::PasswordRecovery, user, ctx);
        let challenge = self.code_challenge(claims, Purpose::Recovery, contact, ctx).await?;
        let code = challenge.code;
        Ok(PasswordRecovery {
            ticket: challenge.ticket,
            destination_masked: code.destination_masked,
            expires_at: code.expires_at,
        })
    }

    /// Finishes a recovery: checks the code, sets the new password (it lifts a login lock), revokes every
    /// session of the account and notifies the user.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn reset_password(
        &self,
        answer: &CodeAnswer,
        new_password: &Password,
        address: Option<IpAddr>,
    ) -> Result<(), WalletError> {
        let claims = self.inner.tickets.open(&answer.ticket, TicketKind::PasswordRecovery, None, self.now())?;
        let user = claims.user;
        tracing::Span::current().record("user", tracing::field::display(user));
        let ctx = RequestContext::new(None, address);
        let checked = self.check_code(user, Purpose::Recovery, claims.refs[0], &answer.code, ctx).await?;
        let contact = self.bound_contact(user, claims.digests[0]).await?;
        let auth = ResetAuthorization { contact, verified_at: checked.verified_at };
        self.inner.identity.reset_password(user, new_password, &auth, ctx).await?;
        let n = self.inner.tokens.revoke_all_sessions(user).await?;
        self.audit(user, AuditKind::TOKEN_REVOKED, ctx, format!("{n} sessions after a password reset")).await;
        self.notify_user(user, Notice::PasswordReset).await;
        Ok(())
    }
}
