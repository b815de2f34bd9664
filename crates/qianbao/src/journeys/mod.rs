//! The journeys: methods on [`Wallet`] grouped by concern, and the steps they share (one-time codes to a
//! verified contact, re-checking the login password).

use qianbao_core::{Destination, Id128, SecretString, TokenId, UserId};
use qianbao_identity::{AuditKind, ContactValue, Password, RequestContext};
use qianbao_token::{CodeCheck, CodeRequest, CodeSubject, CodeTicket, Purpose, VerifiedCode};
use serde::Serialize;

use crate::notices::verified;
use crate::ticket::{Claims, FlowTicket, TicketKind};
use crate::{Wallet, WalletError};

pub(crate) mod account;
pub(crate) mod certificates;
pub(crate) mod devices;
pub(crate) mod kyc;
pub(crate) mod login;
pub(crate) mod payment_password;
pub(crate) mod records;
pub(crate) mod recovery;
pub(crate) mod security;
pub(crate) mod tokens;
pub(crate) mod totp;

/// A one-time code was sent: show the client where (masked) and until when; keep the ticket for the
/// answer.
#[derive(Debug, Clone, Serialize)]
pub struct CodeChallenge {
    /// Send it back with the code ([`CodeAnswer`]).
    pub ticket: FlowTicket,
    /// Where the code went (masked), when it expires, when another may be sent. Never the code.
    pub code: CodeTicket,
}

/// The answer to a [`CodeChallenge`]: its ticket and the code the user typed.
#[derive(Clone)]
pub struct CodeAnswer {
    /// The challenge's ticket.
    pub ticket: FlowTicket,
    /// What the user typed.
    pub code: SecretString,
}

impl CodeAnswer {
    /// An answer.
    pub fn new(ticket: FlowTicket, code: impl Into<String>) -> Self {
        CodeAnswer { ticket, code: SecretString::new(code.into()) }
    }
}

impl std::fmt::Debug for CodeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeAnswer([REDACTED])")
    }
}

/// Where a code or notice to `contact` goes.
pub(crate) fn destination(contact: &ContactValue) -> Result<Destination, WalletError> {
    match contact {
        ContactValue::Phone(p) => Ok(Destination::Phone(p.clone())),
        ContactValue::Email(e) => Ok(Destination::Email(e.clone())),
        #[allow(unreachable_patterns)]
        _ => Err(WalletError::NoVerifiedContact),
    }
}

impl Wallet {
    /// Sends a one-time code for `purpose` to `contact` and records it in the trail.
    pub(crate) async fn send_code(
        &self,
        user: UserId,
        purpose: Purpose,
        contact: &ContactValue,
        ctx: RequestContext,
    ) -> Result<CodeTicket, WalletError> {
        let req = CodeRequest { purpose, subject: CodeSubject::User(user), destination: destination(contact)? };
        let ticket = self.inner.tokens.send_code(req).await?;
        let detail = format!("{} code to {}", purpose.as_str(), contact.masked());
        self.audit(user, AuditKind::CODE_SENT, ctx, detail).await;
        Ok(ticket)
    }

    /// Checks a one-time code the user typed; a refusal is recorded in the trail.
    pub(crate) async fn check_code(
        &self,
        user: UserId,
        purpose: Purpose,
        id: Option<Id128>,
        code: &SecretString,
        ctx: RequestContext,
    ) -> Result<VerifiedCode, WalletError> {
        let id = TokenId::from_raw(id.ok_or(WalletError::TicketInvalid)?);
        let check = CodeCheck { id, purpose, subject: CodeSubject::User(user), code: code.expose() };
        match self.inner.tokens.verify_code(check).await {
            Ok(v) => Ok(v),
            Err(e) => {
                if e.is_rejection() {
                    let detail = format!("{} code refused: {}", purpose.as_str(), e.code());
                    self.audit(user, AuditKind::CODE_FAILED, ctx, detail).await;
                }
                Err(e.into())
            }
        }
    }

    /// Sends a code for `purpose` to `contact` and signs a ticket of `kind` that binds it.
    pub(crate) async fn code_challenge(
        &self,
        mut claims: Claims,
        purpose: Purpose,
        contact: &ContactValue,
        ctx: RequestContext,
    ) -> Result<CodeChallenge, WalletError> {
        let code = self.send_code(claims.user, purpose, contact, ctx).await?;
        claims.refs[0] = Some(code.id.raw());
        claims.digests[0] = Some(self.inner.tickets.bind(contact.as_str()));
        Ok(CodeChallenge { ticket: self.inner.tickets.sign(&claims), code })
    }

    /// A fresh ticket of `kind` for `user` on the caller's device.
    pub(crate) fn claims(&self, kind: TicketKind, user: UserId, ctx: RequestContext) -> Claims {
        let mut c = Claims::new(kind, user, self.now());
        c.device = ctx.device;
        c
    }

    /// The user's verified phone number, else verified email address: where codes go.
    pub(crate) async fn preferred_contact(&self, user: UserId) -> Result<ContactValue, WalletError> {
        let contacts = verified(self.inner.identity.contacts(user).await?);
        let phone = contacts.iter().find(|c| matches!(c, ContactValue::Phone(_)));
        phone.or(contacts.first()).cloned().ok_or(WalletError::NoVerifiedContact)
    }

    /// The contact of `user` a ticket bound (`digest`), verified or not.
    pub(crate) async fn bound_contact(
        &self,
        user: UserId,
        digest: Option<[u8; 32]>,
    ) -> Result<ContactValue, WalletError> {
        let digest = digest.ok_or(WalletError::TicketInvalid)?;
        let contacts = self.inner.identity.contacts(user).await?;
        let found = contacts.into_iter().find(|c| self.inner.tickets.bind(c.value.as_str()) == digest);
        found.map(|c| c.value).ok_or(WalletError::TicketInvalid)
    }

    /// Checks that `contact` is the one a ticket bound.
    pub(crate) fn check_bound(&self, digest: Option<[u8; 32]>, contact: &ContactValue) -> Result<(), WalletError> {
        match digest {
            Some(d) if d == self.inner.tickets.bind(contact.as_str()) => Ok(()),
            _ => Err(WalletError::TicketInvalid),
        }
    }

    /// Re-checks the user's login password (for a certificate or closing the account). It runs under the
    /// login guard, so guesses here count toward the same lock as logins, and the trail records it as a
    /// password check by login.
    pub(crate) async fn check_password(
        &self,
        user: UserId,
        password: &Password,
        ctx: RequestContext,
    ) -> Result<(), WalletError> {
        let login = self.preferred_contact(user).await?;
        let outcome = self.inner.identity.login(&login, password, ctx).await?;
        if outcome.user != user {
            return Err(qianbao_identity::IdentityError::LoginFailed.into());
        }
        Ok(())
    }
}
