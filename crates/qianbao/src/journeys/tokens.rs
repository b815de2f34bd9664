//! Transaction tokens: requested by a signed-in, verified user, delivered to one of their own verified
//! contacts (or in-app), optionally bound to the device's certificate; listed and revoked.

use qianbao_core::{Destination, TokenId, UserId};
use qianbao_identity::AuditKind;
use qianbao_token::{TxTokenInfo, TxTokenRequest};

use crate::notices::verified;
use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// Issues a transaction token and delivers it (the token is only in that message). The account must be
    /// active (not frozen) and real-name verified; delivery goes only to a verified contact of the account
    /// or its in-app inbox; a binding must be the certificate the caller presents (and it must be theirs).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn request_transaction_token(
        &self,
        caller: &Caller,
        request: TxTokenRequest,
    ) -> Result<TxTokenInfo, WalletError> {
        let a = self.authenticate(caller).await?;
        self.require_verified(a.user()).await?;
        self.check_delivery(a.user(), &request.delivery).await?;
        if let Some(bound) = request.binding {
            let der = caller.client_certificate.as_ref().ok_or(WalletError::CertificateNotYours)?;
            if caller.thumbprint() != Some(bound) {
                return Err(WalletError::CertificateNotYours);
            }
            if self.inner.ca.verify_certificate(der).await?.user != a.user() {
                return Err(WalletError::CertificateNotYours);
            }
        }
        let info = self.inner.tokens.request_transaction_token(&a.grant, request).await?;
        let bound = if info.binding.is_some() { ", certificate-bound" } else { "" };
        let detail = format!(
            "transaction token {} \"{}\": up to {} in {} uses{bound}",
            info.id, info.label, info.max_amount, info.max_uses
        );
        self.audit(a.user(), AuditKind::TOKEN_ISSUED, a.ctx, detail).await;
        Ok(info)
    }

    async fn check_delivery(&self, user: UserId, to: &Destination) -> Result<(), WalletError> {
        let ok = match to {
            Destination::User(u) => *u == user,
            other => verified(self.inner.identity.contacts(user).await?)
                .iter()
                .any(|c| super::destination(c).is_ok_and(|d| &d == other)),
        };
        if ok { Ok(()) } else { Err(WalletError::DestinationNotAllowed) }
    }

    /// The caller's transaction tokens, newest first (never the tokens themselves).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn transaction_tokens(&self, caller: &Caller) -> Result<Vec<TxTokenInfo>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.tokens.list_transaction_tokens(a.user()).await?)
    }

    /// Revokes one of the caller's transaction tokens.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, token = %token))]
    pub async fn revoke_transaction_token(&self, caller: &Caller, token: TokenId) -> Result<TxTokenInfo, WalletError> {
        let a = self.authenticate(caller).await?;
        let info = self.inner.tokens.revoke_transaction_token(a.user(), token).await?;
        self.audit(a.user(), AuditKind::TOKEN_REVOKED, a.ctx, format!("transaction token {token}")).await;
        Ok(info)
    }
}
