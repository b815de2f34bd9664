//! Account status changes: freeze, unfreeze, ban, lift a ban, close — each recorded with reason and time.

use qianbao_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::Identity;
use crate::IdentityError;
use crate::audit::{AuditKind, RequestContext};
use crate::record::User;
use crate::status::{Actor, StatusAction, StatusChange, transition};
use crate::store::{IdentityStore, UserWrite};

/// The facade's statement that it found every account of the user at zero balance at `checked_at`
/// (what closing needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZeroBalanceConfirmed {
    /// When the balances were read.
    pub checked_at: Timestamp,
}

impl Identity {
    /// Applies a status action (freeze, unfreeze, ban, lift a ban). Closing goes through
    /// [`Identity::close_account`]; activation through [`Identity::mark_contact_verified`].
    #[instrument(skip_all, fields(user = %user, action = action.as_str()), err(level = "info"))]
    pub async fn change_status(
        &self,
        user: UserId,
        action: StatusAction,
        reason: &str,
        actor: Actor,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        if matches!(action, StatusAction::Close | StatusAction::Activate) {
            return Err(IdentityError::Misuse(format!("use the dedicated method to {}", action.as_str())));
        }
        self.apply_status(user, action, reason, actor, ctx).await
    }

    async fn apply_status(
        &self,
        user: UserId,
        action: StatusAction,
        reason: &str,
        actor: Actor,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        let u = self.load(user).await?;
        let to =
            transition(u.status, action).ok_or(IdentityError::StatusChangeNotAllowed { from: u.status, action })?;
        let (mut n, v) = Self::next(&u);
        let change = self.set_status(&mut n, to, reason, actor.clone());
        let closing = action == StatusAction::Close;
        if closing {
            // A closed account releases its phone numbers and addresses for a new registration.
            n.contacts.iter_mut().for_each(|c| c.verified_at = None);
        }
        let mut w = UserWrite::new(n.clone(), v);
        w.contacts_changed = closing;
        let detail = format!("{} → {} by {}: {reason}", u.status, to, actor.key());
        w.audit.push(self.event(Some(user), AuditKind::STATUS_CHANGED, ctx, detail));
        w.status_change = Some(change);
        self.write(w).await?;
        Ok(n.view())
    }

    /// Closes an active account at its owner's request, once the facade confirmed a zero balance (fresh).
    /// Records are kept (the account still counts toward its ID number's limit); its contacts are
    /// released for new registrations. The facade revokes certificates and tokens.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn close_account(
        &self,
        user: UserId,
        zero_balance: ZeroBalanceConfirmed,
        reason: &str,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        self.check_fresh(zero_balance.checked_at)?;
        self.apply_status(user, StatusAction::Close, reason, Actor::User, ctx).await
    }

    /// A user's status changes, oldest first.
    pub async fn status_history(&self, user: UserId) -> Result<Vec<StatusChange>, IdentityError> {
        self.inner.store.status_history(user).await
    }
}
