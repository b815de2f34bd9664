//! Real-name verification (实名认证): by resident ID card with its SMS code step, or by binding a bank card;
//! then an operator's review ([`Operator::review_application`](crate::Operator::review_application)).

use qianbao_identity::{
    AccountClass, Application, ApplicationId, BankCardRequest, IdCardRequest, IdentityError, KycRequest,
};
use qianbao_token::Purpose;

use super::{CodeAnswer, CodeChallenge};
use crate::ticket::TicketKind;
use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// Sends the real-name SMS code to the caller's verified phone (or email when there is no phone).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn request_real_name_code(&self, caller: &Caller) -> Result<CodeChallenge, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_active(a.user()).await?;
        let contact = self.preferred_contact(a.user()).await?;
        let claims = self.claims(TicketKind::RealName, a.user(), a.ctx);
        self.code_challenge(claims, Purpose::RealName, &contact, a.ctx).await
    }

    /// Applies by resident ID card with the SMS code: the application is created and submitted (the ID
    /// authority and face checks run); it then waits for review, unless a check found false information.
    /// When a provider is unreachable the application stays a draft: retry with
    /// [`Wallet::resubmit_real_name`].
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn real_name_by_id_card(
        &self,
        caller: &Caller,
        answer: &CodeAnswer,
        request: IdCardRequest,
    ) -> Result<Application, WalletError> {
        let a = self.authenticate(caller).await?;
        self.check_real_name_code(a.user(), answer, a.ctx).await?;
        let identity = &self.inner.identity;
        let app = identity.start_application(a.user(), &KycRequest::IdCard(request), a.ctx).await?;
        Ok(identity.submit_application(app.id, a.ctx).await?)
    }

    /// Applies by binding a bank card (a three- or four-element check at the bank, the reserved phone
    /// included); created and submitted at once.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn real_name_by_bank_card(
        &self,
        caller: &Caller,
        request: BankCardRequest,
    ) -> Result<Application, WalletError> {
        let a = self.authenticate(caller).await?;
        let identity = &self.inner.identity;
        let app = identity.start_application(a.user(), &KycRequest::BankCard(request), a.ctx).await?;
        Ok(identity.submit_application(app.id, a.ctx).await?)
    }

    /// Submits again an application left a draft (a provider was unreachable), with a fresh real-name code.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, application = %application))]
    pub async fn resubmit_real_name(
        &self,
        caller: &Caller,
        answer: &CodeAnswer,
        application: ApplicationId,
    ) -> Result<Application, WalletError> {
        let a = self.authenticate(caller).await?;
        let identity = &self.inner.identity;
        if identity.application(application).await?.user != a.user() {
            return Err(IdentityError::ApplicationNotFound(application).into());
        }
        self.check_real_name_code(a.user(), answer, a.ctx).await?;
        Ok(identity.submit_application(application, a.ctx).await?)
    }

    /// The caller's real-name applications, oldest first (masked; with their state and check results).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn real_name_applications(&self, caller: &Caller) -> Result<Vec<Application>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.identity.applications(a.user()).await?)
    }

    /// The caller's account class (`None` until real-name verified).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn account_class(&self, caller: &Caller) -> Result<Option<AccountClass>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.identity.account_class(a.user()).await?)
    }

    async fn check_real_name_code(
        &self,
        user: qianbao_core::UserId,
        answer: &CodeAnswer,
        ctx: qianbao_identity::RequestContext,
    ) -> Result<(), WalletError> {
        let claims = self.inner.tickets.open(&answer.ticket, TicketKind::RealName, Some(user), self.now())?;
        self.check_code(user, Purpose::RealName, claims.refs[0], &answer.code, ctx).await?;
        Ok(())
    }
}
