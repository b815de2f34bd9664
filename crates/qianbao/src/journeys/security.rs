//! Credentials of a signed-in user: change the password (the old one required), change a bound phone or
//! email (the new one verified, and the old one too when it is still reachable).

use qianbao_core::SecretString;
use qianbao_identity::{AuditKind, ContactValue, OldContactProof, Password, PaymentPassword, User};
use qianbao_token::{CodeTicket, Purpose};
use serde::Serialize;

use crate::notices::Notice;
use crate::ticket::{FlowTicket, TicketKind};
use crate::{Caller, Wallet, WalletError};

/// A contact change under way: codes went to the new contact and, when reachable, to the old one.
#[derive(Debug, Clone, Serialize)]
pub struct ContactChange {
    /// Send it back with the codes ([`Wallet::confirm_contact_change`]).
    pub ticket: FlowTicket,
    /// The code sent to the new contact.
    pub new_code: CodeTicket,
    /// The code sent to the old contact, when it is reachable.
    pub old_code: Option<CodeTicket>,
}

/// How the old contact of a change is accounted for.
#[derive(Clone)]
#[non_exhaustive]
pub enum OldContactAnswer {
    /// The code sent to the old contact.
    Code(SecretString),
    /// The old contact is lost: the payment password stands in (real-name verified accounts only).
    PaymentPassword(PaymentPassword),
}

impl std::fmt::Debug for OldContactAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OldContactAnswer([REDACTED])")
    }
}

/// The second step of a contact change.
#[derive(Debug, Clone)]
pub struct ConfirmContactChange {
    /// The ticket of [`ContactChange`].
    pub ticket: FlowTicket,
    /// The contact being replaced (as in the first step).
    pub old: ContactValue,
    /// The new contact (as in the first step).
    pub new: ContactValue,
    /// The code sent to the new contact.
    pub new_code: SecretString,
    /// The old contact's code, or the payment password when it is lost.
    pub old_answer: OldContactAnswer,
}

impl Wallet {
    /// Changes the password; the current one is checked under the login guard. Other devices are signed
    /// out (policy `sign_out_other_devices_on_password_change`, on by default) and the user is notified.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &Password,
        new: &Password,
    ) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.identity.change_password(a.user(), current, new, a.ctx).await?;
        if self.inner.config.policy.sign_out_other_devices_on_password_change {
            let n = self.inner.tokens.sign_out_other_devices(a.user(), a.device()).await?;
            let detail = format!("every device but {} after a password change ({n} sessions)", a.device());
            self.audit(a.user(), AuditKind::DEVICE_SIGNED_OUT, a.ctx, detail).await;
        }
        self.notify_user(a.user(), Notice::PasswordChanged).await;
        Ok(())
    }

    /// Starts replacing the verified contact `old` by `new`: a code to `new`, and one to `old` when
    /// `old_reachable` (otherwise the payment password stands in at the second step).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn start_contact_change(
        &self,
        caller: &Caller,
        old: &ContactValue,
        new: &ContactValue,
        old_reachable: bool,
    ) -> Result<ContactChange, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_can_log_in(a.user()).await?;
        let contacts = self.inner.identity.contacts(a.user()).await?;
        if !contacts.iter().any(|c| &c.value == old && c.verified_at.is_some()) {
            return Err(qianbao_identity::IdentityError::ContactNotFound.into());
        }
        if contacts.iter().any(|c| &c.value == new) {
            return Err(qianbao_identity::IdentityError::ContactExists.into());
        }
        let mut claims = self.claims(TicketKind::ContactChange, a.user(), a.ctx);
        let new_code = self.send_code(a.user(), Purpose::ContactChange, new, a.ctx).await?;
        claims.refs[0] = Some(new_code.id.raw());
        claims.digests = [Some(self.inner.tickets.bind(new.as_str())), Some(self.inner.tickets.bind(old.as_str()))];
        let old_code = match old_reachable {
            true => Some(self.send_code(a.user(), Purpose::ContactChange, old, a.ctx).await?),
            false => None,
        };
        claims.refs[1] = old_code.as_ref().map(|c| c.id.raw());
        Ok(ContactChange { ticket: self.inner.tickets.sign(&claims), new_code, old_code })
    }

    /// Finishes a contact change: checks the new contact's code and the old contact's code (or the payment
    /// password when it was declared lost), replaces the contact and tells both.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn confirm_contact_change(
        &self,
        caller: &Caller,
        req: ConfirmContactChange,
    ) -> Result<User, WalletError> {
        let a = self.authenticate(caller).await?;
        let t = &self.inner.tickets;
        let claims = t.open(&req.ticket, TicketKind::ContactChange, Some(a.user()), self.now())?;
        self.check_bound(claims.digests[0], &req.new)?;
        self.check_bound(claims.digests[1], &req.old)?;
        let purpose = Purpose::ContactChange;
        let new_checked = self.check_code(a.user(), purpose, claims.refs[0], &req.new_code, a.ctx).await?;
        let proof = match req.old_answer {
            OldContactAnswer::Code(code) => {
                let v = self.check_code(a.user(), purpose, claims.refs[1], &code, a.ctx).await?;
                OldContactProof::Verified { at: v.verified_at }
            }
            OldContactAnswer::PaymentPassword(pp) if claims.refs[1].is_none() => {
                OldContactProof::UnreachableWithPaymentPassword(pp)
            }
            OldContactAnswer::PaymentPassword(_) => return Err(WalletError::TicketInvalid),
        };
        let identity = &self.inner.identity;
        let user = identity.change_contact(a.user(), &req.old, &req.new, new_checked.verified_at, proof, a.ctx).await?;
        let notice = Notice::ContactChanged { old: req.old.masked(), new: req.new.masked() };
        // The old contact hears of it too: it is no longer on the account, so it is told directly.
        self.notify_only(a.user(), std::slice::from_ref(&req.old), &notice).await;
        self.notify_user(a.user(), notice).await;
        Ok(user)
    }
}
