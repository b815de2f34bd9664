//! The 6-digit payment password: set, check (locked for a while after 5 wrong tries), change, reset.

use qianbao_core::UserId;
use tracing::instrument;

use super::Identity;
use super::users::ResetAuthorization;
use crate::IdentityError;
use crate::audit::{AuditKind, RequestContext};
use crate::guard::GuardDecision;
use crate::password::Verification;
use crate::payment_password::{PaymentPassword, PaymentPasswordContext};
use crate::record::{PasswordHash, UserRecord};
use crate::status::UserStatus;
use crate::store::{GuardKey, IdentityStore, UserWrite};

impl Identity {
    fn payment_guard(&self, user: UserId) -> GuardKey {
        self.guard_key("payment-password", &user.to_bytes())
    }

    /// What a new payment password must not be made of: the birth date, the ID number, the phone numbers.
    fn payment_context(&self, u: &UserRecord) -> PaymentPasswordContext {
        let mut ctx = PaymentPasswordContext::default();
        if let Ok(Some(identity)) = self.open_identity(u)
            && let Some(id) = &identity.id_number
        {
            ctx.birth_digits = Some(id.birth_digits().to_string());
            ctx.personal_numbers.push(id.expose().to_string());
        }
        for c in &u.contacts {
            if let Ok(v) = self.open_contact(u.id, c) {
                ctx.personal_numbers.push(v.as_str().to_string());
            }
        }
        ctx
    }

    /// Sets the first payment password of an active account. Trivial ones are refused.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn set_payment_password(
        &self,
        user: UserId,
        password: &PaymentPassword,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        let u = self.load(user).await?;
        if u.status != UserStatus::Active {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        if u.payment_password.is_some() {
            return Err(IdentityError::PaymentPasswordAlreadySet);
        }
        password.check_not_trivial(&self.payment_context(&u))?;
        self.store_payment_password(&u, password, AuditKind::PAYMENT_PASSWORD_SET, ctx).await
    }

    async fn store_payment_password(
        &self,
        u: &UserRecord,
        p: &PaymentPassword,
        kind: AuditKind,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        let phc = self.hash_payment(p.expose().to_string()).await?;
        let (mut n, v) = Self::next(u);
        n.payment_password = Some(PasswordHash(phc));
        n.payment_password_set_at = Some(self.now());
        let mut w = UserWrite::new(n, v);
        w.reset_guards.push(self.payment_guard(u.id));
        w.audit.push(self.event(Some(u.id), kind, ctx, ""));
        self.write(w).await
    }

    /// Checks the payment password (to authorize a payment). After
    /// [`GuardPolicy::lock_after`](crate::GuardPolicy::lock_after) wrong tries it is locked for
    /// `lock_for`; a right one resets the count. Every try is in the audit trail.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn verify_payment_password(
        &self,
        user: UserId,
        password: &PaymentPassword,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        let u = self.load(user).await?;
        super::users::require_usable(&u)?;
        let phc = u.payment_password.clone().ok_or(IdentityError::PaymentPasswordNotSet)?;
        let policy = self.inner.config.payment_password_guard;
        let key = self.payment_guard(user);
        let now = self.now();
        let refused = self.event(Some(user), AuditKind::PAYMENT_PASSWORD_LOCKED, ctx, "refused: locked");
        let r = self.inner.store.guard_reserve(vec![(key, policy)], now, Some(refused)).await?;
        match r.decision {
            GuardDecision::Allow => {}
            GuardDecision::Locked { until } => return Err(IdentityError::PaymentPasswordLocked { until }),
            GuardDecision::Throttled { until } => {
                return Err(IdentityError::PaymentPasswordLocked { until: Some(until) });
            }
        }
        match self.verify_payment(password.expose().to_string(), phc.0).await? {
            Verification::Match { needs_rehash } => {
                if needs_rehash {
                    self.rehash_payment(&u, password, ctx).await;
                }
                let ok = self.event(Some(user), AuditKind::PAYMENT_PASSWORD_OK, ctx, "");
                self.inner.store.guard_settle(vec![key], vec![ok]).await
            }
            Verification::Mismatch => {
                let counted = r.counted.first().copied().unwrap_or_default();
                let lock_after = policy.lock_after.unwrap_or(u32::MAX);
                let tries_left = lock_after.saturating_sub(counted.failures);
                let mut events = vec![self.event(
                    Some(user),
                    AuditKind::PAYMENT_PASSWORD_WRONG,
                    ctx,
                    format!("{tries_left} tries left"),
                )];
                if tries_left == 0 {
                    events.push(self.event(
                        Some(user),
                        AuditKind::PAYMENT_PASSWORD_LOCKED,
                        ctx,
                        "locked after wrong tries",
                    ));
                }
                self.inner.store.append_audit(events).await?;
                Err(match counted.decide(&policy, now) {
                    GuardDecision::Locked { until } => IdentityError::PaymentPasswordLocked { until },
                    _ => IdentityError::PaymentPasswordWrong { tries_left },
                })
            }
        }
    }

    /// Upgrades a payment password hash made with weaker parameters. Best effort: a concurrent change wins.
    async fn rehash_payment(&self, u: &UserRecord, p: &PaymentPassword, ctx: RequestContext) {
        let result = async {
            let phc = self.hash_payment(p.expose().to_string()).await?;
            let (mut n, v) = Self::next(u);
            n.payment_password = Some(PasswordHash(phc));
            let mut w = UserWrite::new(n, v);
            w.audit.push(self.event(Some(u.id), AuditKind::PASSWORD_REHASHED, ctx, "payment password"));
            self.write(w).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(user = %u.id, error = %e, "could not upgrade a payment password hash");
        }
    }

    /// Changes the payment password; the current one is checked like a payment.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn change_payment_password(
        &self,
        user: UserId,
        current: &PaymentPassword,
        new: &PaymentPassword,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        if current == new {
            return Err(IdentityError::PaymentPasswordRefused(crate::PaymentPasswordError::Unchanged));
        }
        let u = self.load(user).await?;
        new.check_not_trivial(&self.payment_context(&u))?;
        self.verify_payment_password(user, current, ctx).await?;
        let u = self.load(user).await?;
        self.store_payment_password(&u, new, AuditKind::PAYMENT_PASSWORD_CHANGED, ctx).await
    }

    /// Resets a forgotten (or locked) payment password after the facade checked a code sent to a verified
    /// contact. Lifts the lock.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn reset_payment_password(
        &self,
        user: UserId,
        new: &PaymentPassword,
        auth: &ResetAuthorization,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        self.check_fresh(auth.verified_at)?;
        let u = self.load(user).await?;
        if u.status != UserStatus::Active {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        if u.contact(&self.contact_digest(&auth.contact)).is_none_or(|c| c.verified_at.is_none()) {
            return Err(IdentityError::FactInvalid("the code must go to a verified contact of the account"));
        }
        new.check_not_trivial(&self.payment_context(&u))?;
        self.store_payment_password(&u, new, AuditKind::PAYMENT_PASSWORD_CHANGED, ctx).await
    }

    /// What the payment password guard says now.
    pub async fn payment_password_guard(&self, user: UserId) -> Result<GuardDecision, IdentityError> {
        let s = self.inner.store.guard_state(self.payment_guard(user)).await?;
        Ok(s.decide(&self.inner.config.payment_password_guard, self.now()))
    }
}
