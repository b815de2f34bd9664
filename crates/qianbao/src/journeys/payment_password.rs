//! The 6-digit payment password: set, change (the current one required), reset after a code to a verified
//! contact — and the check payments use, which tells the user when it locks.

use qianbao_core::UserId;
use qianbao_identity::{GuardDecision, IdentityError, PaymentPassword, RequestContext, ResetAuthorization};
use qianbao_token::Purpose;

use super::{CodeAnswer, CodeChallenge};
use crate::notices::Notice;
use crate::ticket::TicketKind;
use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// Sets the first payment password of an active account (trivial ones are refused).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn set_payment_password(&self, caller: &Caller, password: &PaymentPassword) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.identity.set_payment_password(a.user(), password, a.ctx).await?;
        self.notify_user(a.user(), Notice::PaymentPasswordSet).await;
        Ok(())
    }

    /// Changes the payment password; the current one is checked like a payment (wrong tries count toward
    /// its lock).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn change_payment_password(
        &self,
        caller: &Caller,
        current: &PaymentPassword,
        new: &PaymentPassword,
    ) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        let was_open = self.payment_password_open(a.user()).await?;
        let result = self.inner.identity.change_payment_password(a.user(), current, new, a.ctx).await;
        self.notify_if_locked(a.user(), was_open, &result).await;
        result?;
        self.notify_user(a.user(), Notice::PaymentPasswordChanged).await;
        Ok(())
    }

    /// Sends a code to the caller's verified phone (or email) to reset a forgotten or locked payment
    /// password.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn request_payment_password_reset(&self, caller: &Caller) -> Result<CodeChallenge, WalletError> {
        let a = self.authenticate(caller).await?;
        let contact = self.preferred_contact(a.user()).await?;
        let claims = self.claims(TicketKind::PaymentPasswordReset, a.user(), a.ctx);
        self.code_challenge(claims, Purpose::Recovery, &contact, a.ctx).await
    }

    /// Resets the payment password with the code (lifts its lock).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn reset_payment_password(
        &self,
        caller: &Caller,
        answer: &CodeAnswer,
        new: &PaymentPassword,
    ) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        let t = &self.inner.tickets;
        let claims = t.open(&answer.ticket, TicketKind::PaymentPasswordReset, Some(a.user()), self.now())?;
        let checked = self.check_code(a.user(), Purpose::Recovery, claims.refs[0], &answer.code, a.ctx).await?;
        let contact = self.bound_contact(a.user(), claims.digests[0]).await?;
        let auth = ResetAuthorization { contact, verified_at: checked.verified_at };
        self.inner.identity.reset_payment_password(a.user(), new, &auth, a.ctx).await?;
        self.notify_user(a.user(), Notice::PaymentPasswordChanged).await;
        Ok(())
    }

    /// Checks the payment password of `user` (what a password-authorized payment calls). When this very
    /// try locks it, the user is notified.
    pub(crate) async fn check_payment_password(
        &self,
        user: UserId,
        password: &PaymentPassword,
        ctx: RequestContext,
    ) -> Result<(), WalletError> {
        let was_open = self.payment_password_open(user).await?;
        let result = self.inner.identity.verify_payment_password(user, password, ctx).await;
        self.notify_if_locked(user, was_open, &result).await;
        Ok(result?)
    }

    async fn payment_password_open(&self, user: UserId) -> Result<bool, WalletError> {
        Ok(self.inner.identity.payment_password_guard(user).await? == GuardDecision::Allow)
    }

    async fn notify_if_locked(&self, user: UserId, was_open: bool, result: &Result<(), IdentityError>) {
        if was_open && matches!(result, Err(IdentityError::PaymentPasswordLocked { .. })) {
            self.notify_user(user, Notice::PaymentPasswordLocked).await;
        }
    }
}
