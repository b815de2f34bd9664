//! Audit events the facade records for other domains (certificates, tokens, devices, step-ups) through
//! [`Identity::record_audit`](qianbao_identity::Identity::record_audit), beside identity's own.

use qianbao_core::UserId;
use qianbao_identity::{AuditEvent, AuditKind, RequestContext};

use crate::Wallet;

/// The facade's own event kinds (`wallet.*`).
pub(crate) mod kinds {
    use qianbao_identity::AuditKind;

    /// A login needed a step-up (second factor, new device).
    pub(crate) const STEP_UP_REQUIRED: &str = "wallet.step_up_required";
    /// A login's step-up was completed.
    pub(crate) const STEP_UP_PASSED: &str = "wallet.step_up_passed";
    /// A logged-in device approved or denied a new device's QR challenge.
    pub(crate) const DEVICE_DECISION: &str = "wallet.device_decision";
    /// A user reported an abnormal transaction: the wallet was frozen for debits, a case opened.
    pub(crate) const ABNORMAL_REPORTED: &str = "wallet.abnormal_reported";
    /// An operator resolved an abnormal-transaction case.
    pub(crate) const CASE_RESOLVED: &str = "wallet.case_resolved";

    /// The kind of one of the codes above.
    pub(crate) fn of(code: &'static str) -> AuditKind {
        // The codes above are fixed lowercase literals; `kinds_are_valid` tests each of them.
        AuditKind::new(code).unwrap_or_else(|_| unreachable!("facade audit kinds are valid literals"))
    }
}

impl Wallet {
    /// Appends one event to the trail. Best effort: it records a change already made, so a failure is
    /// logged at error level rather than reported as a failure of that change.
    pub(crate) async fn audit(&self, user: UserId, kind: AuditKind, ctx: RequestContext, detail: impl Into<String>) {
        let event = AuditEvent::new(self.now(), Some(user), kind, ctx, detail);
        if let Err(e) = self.inner.identity.record_audit(vec![event]).await {
            tracing::error!(%user, error = %e, "an audit event could not be recorded");
        }
    }
}

#[cfg(test)]
mod tests;
