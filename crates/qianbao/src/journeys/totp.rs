//! Two-factor authentication with an authenticator app (TOTP): enroll, confirm, check the state, turn off.
//! The token service keeps the secret; identity keeps the account's "has a second factor" flag, which
//! the login step-up and the password policy read.

use qianbao_token::{TotpEnrollment, TotpStatus};

use crate::notices::Notice;
use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// Starts enrolling an authenticator app: show the URI as a QR code and the recovery codes once.
    /// Nothing changes for logins until [`Wallet::confirm_totp`].
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn enroll_totp(&self, caller: &Caller) -> Result<TotpEnrollment, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_can_log_in(a.user()).await?;
        let account = self.preferred_contact(a.user()).await?.masked();
        Ok(self.inner.tokens.enroll_totp(a.user(), &account).await?)
    }

    /// Confirms the enrollment with the app's first code: logins now need the app.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn confirm_totp(&self, caller: &Caller, code: &str) -> Result<TotpStatus, WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.tokens.confirm_totp(a.user(), code).await?;
        self.inner.identity.set_second_factor(a.user(), true, a.ctx).await?;
        self.notify_user(a.user(), Notice::SecondFactor { enabled: true }).await;
        Ok(self.inner.tokens.totp_status(a.user()).await?)
    }

    /// Turns the authenticator off, proved by a current code. Refused while the password is only long
    /// enough for an account with a second factor (change it first).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn disable_totp(&self, caller: &Caller, code: &str) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.tokens.verify_totp(a.user(), code).await?;
        self.inner.identity.set_second_factor(a.user(), false, a.ctx).await?;
        self.inner.tokens.disable_totp(a.user()).await?;
        self.notify_user(a.user(), Notice::SecondFactor { enabled: false }).await;
        Ok(())
    }

    /// The caller's authenticator state.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn totp_status(&self, caller: &Caller) -> Result<TotpStatus, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.tokens.totp_status(a.user()).await?)
    }
}
