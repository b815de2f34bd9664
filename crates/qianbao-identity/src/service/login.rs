//! Login with brute-force protection (NIST SP 800-63B rate limiting), password change and recovery.
//!
//! Every try is counted per account — or, for a login name that belongs to no account, per that name, so
//! both behave alike — and per client address and device, **before** the password is checked. A refused
//! try (back-off or lock) runs no Argon2 at all; an allowed try for an unknown name runs it against a dummy
//! hash. Success resets the account's count; the source counts only fade with time.

use qianbao_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::Identity;
use super::users::{ResetAuthorization, require_usable};
use crate::IdentityError;
use crate::audit::{AuditKind, RequestContext};
use crate::guard::{GuardDecision, GuardPolicy};
use crate::password::{Password, PasswordRejection, Verification};
use crate::record::{ContactValue, PasswordHash, UserRecord};
use crate::store::{GuardKey, IdentityStore, Reservation, UserWrite};

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcome {
    /// Who.
    pub user: UserId,
    /// The user has a second factor: the facade asks for it before opening a session.
    pub second_factor: bool,
    /// The password is older than the policy's `max_age`: the facade asks for a new one.
    pub must_change_password: bool,
    /// The account is frozen (logs in; no debits).
    pub frozen: bool,
}

/// What an address guard counts: an IPv4 address, or the /64 block of an IPv6 address (one subscriber
/// usually has a whole /64, so counting single IPv6 addresses would not slow anyone down).
fn address_block(ip: std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}

fn throttled(decision: GuardDecision, now: Timestamp) -> Option<IdentityError> {
    match decision {
        GuardDecision::Allow => None,
        GuardDecision::Locked { .. } => Some(IdentityError::LoginLocked),
        GuardDecision::Throttled { until } => {
            let nanos = until.unix_nanos().saturating_sub(now.unix_nanos());
            Some(IdentityError::LoginThrottled { retry_after_secs: nanos.div_ceil(1_000_000_000).max(1) })
        }
    }
}

impl Identity {
    pub(crate) fn account_guard(&self, user: UserId) -> GuardKey {
        self.guard_key("login-user", &user.to_bytes())
    }

    fn login_guards(&self, account: GuardKey, known: bool, ctx: RequestContext) -> Vec<(GuardKey, GuardPolicy)> {
        let p = self.inner.config.login;
        let mut account_policy = p.account;
        if !known {
            account_policy.forget_after = Some(p.unknown_name_forget_after);
        }
        let mut keys = vec![(account, account_policy)];
        if let Some(ip) = ctx.client {
            keys.push((self.guard_key("login-ip", &address_block(ip)), p.source));
        }
        if let Some(d) = ctx.device {
            keys.push((self.guard_key("login-device", &d.to_bytes()), p.source));
        }
        keys
    }

    /// Counts a try on the guards, or refuses it (recording the refusal).
    async fn reserve_login(
        &self,
        user: Option<UserId>,
        account: GuardKey,
        ctx: RequestContext,
    ) -> Result<Reservation, IdentityError> {
        let now = self.now();
        let refused = self.event(user, AuditKind::LOGIN_THROTTLED, ctx, "refused before checking the password");
        let r =
            self.inner.store.guard_reserve(self.login_guards(account, user.is_some(), ctx), now, Some(refused)).await?;
        match throttled(r.decision, now) {
            Some(e) => Err(e),
            None => Ok(r),
        }
    }

    /// Logs in with a verified contact and the password. Wrong password and unknown login name give the
    /// same [`IdentityError::LoginFailed`] after the same Argon2 work; too many failures give
    /// [`IdentityError::LoginThrottled`] and then [`IdentityError::LoginLocked`] (until a password reset or
    /// an operator unlock). Every try is in the audit trail.
    #[instrument(skip_all, err(level = "info"))]
    pub async fn login(
        &self,
        login_name: &ContactValue,
        password: &Password,
        ctx: RequestContext,
    ) -> Result<LoginOutcome, IdentityError> {
        let digest = self.contact_digest(login_name);
        let user = self.inner.store.user_by_contact(digest).await?;
        let account = match user {
            Some(u) => self.account_guard(u),
            None => self.guard_key("login-name", &digest.0),
        };
        let reservation = self.reserve_login(user, account, ctx).await?;
        let record = match user {
            Some(u) => self.inner.store.user(u).await?,
            None => None,
        };
        let verification = self.verify_login(password, record.as_ref().map(|r| r.password.0.as_str())).await?;
        let Some(record) = record else {
            let e =
                self.event(None, AuditKind::LOGIN_FAILED, ctx, format!("unknown login name {}", login_name.masked()));
            self.inner.store.append_audit(vec![e]).await?;
            return Err(IdentityError::LoginFailed);
        };
        match verification {
            Verification::Mismatch => {
                self.login_failed(record.id, &reservation, ctx, "wrong password").await?;
                Err(IdentityError::LoginFailed)
            }
            Verification::Match { needs_rehash } => {
                self.login_matched(record, account, needs_rehash, password, ctx).await
            }
        }
    }

    async fn login_failed(
        &self,
        user: UserId,
        r: &Reservation,
        ctx: RequestContext,
        why: &str,
    ) -> Result<(), IdentityError> {
        let mut events = vec![self.event(Some(user), AuditKind::LOGIN_FAILED, ctx, why)];
        let policy = self.inner.config.login.account;
        if r.counted.first().is_some_and(|s| s.is_locked(&policy, self.now())) {
            events.push(self.event(
                Some(user),
                AuditKind::LOGIN_LOCKED,
                ctx,
                format!("after {} failures", policy.lock_after.unwrap_or_default()),
            ));
        }
        self.inner.store.append_audit(events).await
    }

    async fn login_matched(
        &self,
        u: UserRecord,
        account: GuardKey,
        needs_rehash: bool,
        password: &Password,
        ctx: RequestContext,
    ) -> Result<LoginOutcome, IdentityError> {
        if !u.status.can_log_in() {
            let e = self.event(Some(u.id), AuditKind::LOGIN_FAILED, ctx, format!("account {}", u.status));
            self.inner.store.guard_settle(vec![account], vec![e]).await?;
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        if needs_rehash {
            self.rehash(&u, password, ctx).await;
        }
        let ok = self.event(Some(u.id), AuditKind::LOGIN_SUCCEEDED, ctx, "");
        self.inner.store.guard_settle(vec![account], vec![ok]).await?;
        let max_age = self.inner.config.password_policy.max_age;
        Ok(LoginOutcome {
            user: u.id,
            second_factor: u.second_factor,
            must_change_password: max_age.is_some_and(|m| self.now().duration_since(u.password_set_at) > m),
            frozen: u.status == crate::status::UserStatus::Frozen,
        })
    }

    /// Upgrades a hash made with weaker parameters. Best effort: a concurrent change wins.
    async fn rehash(&self, u: &UserRecord, password: &Password, ctx: RequestContext) {
        let result = async {
            let phc = self.hash_login(password).await?;
            let (mut n, v) = Self::next(u);
            n.password = PasswordHash(phc);
            let mut w = UserWrite::new(n, v);
            w.audit.push(self.event(Some(u.id), AuditKind::PASSWORD_REHASHED, ctx, "Argon2 parameters raised"));
            self.write(w).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(user = %u.id, error = %e, "could not upgrade a password hash");
        }
    }

    /// Changes the password; the current one is checked under the same guard as logins.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn change_password(
        &self,
        user: UserId,
        current: &Password,
        new: &Password,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        let u = self.load(user).await?;
        require_usable(&u)?;
        if current == new {
            return Err(PasswordRejection::Unchanged.into());
        }
        self.check_policy(new, self.password_context(Some(&u), &[])).await?;
        let account = self.account_guard(user);
        let reservation = self.reserve_login(Some(user), account, ctx).await?;
        if self.verify_login(current, Some(&u.password.0)).await? == Verification::Mismatch {
            self.login_failed(user, &reservation, ctx, "wrong current password on change").await?;
            return Err(IdentityError::WrongPassword);
        }
        self.store_new_password(&u, new, AuditKind::PASSWORD_CHANGED, ctx).await
    }

    /// Resets a forgotten password after the facade checked a code sent to one of the user's verified
    /// contacts. Lifts a login lock. The facade then revokes every session.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn reset_password(
        &self,
        user: UserId,
        new: &Password,
        auth: &ResetAuthorization,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        self.check_fresh(auth.verified_at)?;
        let u = self.load(user).await?;
        require_usable(&u)?;
        let c = u.contact(&self.contact_digest(&auth.contact));
        if c.is_none_or(|c| c.verified_at.is_none()) {
            return Err(IdentityError::FactInvalid("the code must go to a verified contact of the account"));
        }
        self.check_policy(new, self.password_context(Some(&u), &[])).await?;
        self.store_new_password(&u, new, AuditKind::PASSWORD_RESET, ctx).await
    }

    async fn store_new_password(
        &self,
        u: &UserRecord,
        new: &Password,
        kind: AuditKind,
        ctx: RequestContext,
    ) -> Result<(), IdentityError> {
        let phc = self.hash_login(new).await?;
        let (mut n, v) = Self::next(u);
        n.password = PasswordHash(phc);
        n.password_set_at = self.now();
        n.password_single_factor_ok =
            new.expose().chars().count() >= self.inner.config.password_policy.min_chars_single_factor;
        let mut w = UserWrite::new(n, v);
        w.reset_guards.push(self.account_guard(u.id));
        w.audit.push(self.event(Some(u.id), kind, ctx, ""));
        self.write(w).await
    }

    /// An operator lifts a login lock (and any back-off) of an account.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn unlock_login(&self, user: UserId, operator: &str, ctx: RequestContext) -> Result<(), IdentityError> {
        self.load(user).await?;
        let e = self.event(Some(user), AuditKind::LOGIN_UNLOCKED, ctx, format!("by {operator}"));
        self.inner.store.guard_settle(vec![self.account_guard(user)], vec![e]).await
    }

    /// Deletes attempt counters that their policies have forgotten (address, device and unknown-name
    /// counters; never an account's). Run it now and then; returns how many went.
    pub async fn prune_attempt_counters(&self) -> Result<u64, IdentityError> {
        self.inner.store.prune_guards(self.now()).await
    }

    /// What the account's login guard says now (ignoring address and device guards).
    pub async fn login_guard(&self, user: UserId) -> Result<GuardDecision, IdentityError> {
        let s = self.inner.store.guard_state(self.account_guard(user)).await?;
        Ok(s.decide(&self.inner.config.login.account, self.now()))
    }
}
