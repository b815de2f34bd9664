//! Records: the caller's audit trail (every security-relevant event of every domain), newest first, a
//! page at a time. Certificate usage records are in [`Wallet::certificate_usage`].

use qianbao_identity::{AuditCursor, AuditPage};

use crate::{Caller, Wallet, WalletError};

impl Wallet {
    /// A page of the caller's audit trail, newest first: `limit` records (1 to 500); pass the page's
    /// `next` as `cursor` for the following (older) page.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn audit_trail(
        &self,
        caller: &Caller,
        cursor: Option<AuditCursor>,
        limit: u32,
    ) -> Result<AuditPage, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.identity.audit_for_user(a.user(), cursor, limit).await?)
    }
}
