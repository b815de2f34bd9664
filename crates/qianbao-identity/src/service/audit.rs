//! The audit trail: appending (for every domain) and reading per user or overall, newest first.

use qianbao_core::UserId;

use super::Identity;
use crate::IdentityError;
use crate::audit::{AUDIT_PAGE_MAX, AuditCursor, AuditEvent, AuditPage, AuditRecord};
use crate::store::IdentityStore;

fn page(mut records: Vec<AuditRecord>, limit: u32) -> AuditPage {
    let limit = limit.clamp(1, AUDIT_PAGE_MAX) as usize;
    let more = records.len() > limit;
    records.truncate(limit);
    let next = if more { records.last().map(|r| AuditCursor(r.seq)) } else { None };
    AuditPage { records, next }
}

impl Identity {
    /// Appends events of any domain (certificates, tokens, payments, freezes …) to the trail. The detail
    /// must hold no secret.
    pub async fn record_audit(&self, events: Vec<AuditEvent>) -> Result<(), IdentityError> {
        self.inner.store.append_audit(events).await
    }

    /// A user's events, newest first, `limit` (at most 500) per page; pass the page's `next` to go on.
    pub async fn audit_for_user(
        &self,
        user: UserId,
        cursor: Option<AuditCursor>,
        limit: u32,
    ) -> Result<AuditPage, IdentityError> {
        let n = limit.clamp(1, AUDIT_PAGE_MAX) + 1;
        let records = self.inner.store.audit_for_user(user, cursor.map(|c| c.0), n).await?;
        Ok(page(records, limit))
    }

    /// Every event, newest first (operators).
    pub async fn audit_recent(&self, cursor: Option<AuditCursor>, limit: u32) -> Result<AuditPage, IdentityError> {
        let n = limit.clamp(1, AUDIT_PAGE_MAX) + 1;
        let records = self.inner.store.audit_all(cursor.map(|c| c.0), n).await?;
        Ok(page(records, limit))
    }
}
