//! Registration, contacts, the second-factor flag and the user views.

use qianbao_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::Identity;
use crate::IdentityError;
use crate::audit::{AuditKind, RequestContext};
use crate::password::{Password, PasswordContext};
use crate::payment_password::PaymentPassword;
use crate::privacy::Purpose;
use crate::record::{Contact, ContactRecord, ContactValue, PasswordHash, User, UserRecord};
use crate::status::{Actor, StatusAction, StatusChange, UserStatus, transition};
use crate::store::{IdentityStore, UserWrite};

/// The most contacts an account has.
pub const CONTACTS_MAX: usize = 4;

/// The facade's statement that a one-time code sent to `contact` was just entered correctly: what a
/// password or payment-password reset needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetAuthorization {
    /// The verified contact the code went to.
    pub contact: ContactValue,
    /// When the code was checked.
    pub verified_at: Timestamp,
}

/// How the old contact in a change is accounted for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum OldContactProof {
    /// The old contact is reachable and a code sent to it was just checked.
    Verified {
        /// When.
        at: Timestamp,
    },
    /// The old contact is lost; the payment password stands in (real-name verified accounts only).
    UnreachableWithPaymentPassword(PaymentPassword),
    /// The old contact is lost; an operator checked the user's identity by other means.
    UnreachableOperatorApproved {
        /// The operator.
        operator: String,
    },
}

impl Identity {
    pub(crate) fn password_context(&self, user: Option<&UserRecord>, extra: &[&ContactValue]) -> PasswordContext {
        let mut inputs: Vec<String> = extra.iter().flat_map(|c| c.password_inputs()).collect();
        if let Some(u) = user {
            for c in &u.contacts {
                if let Ok(v) = self.open_contact(u.id, c) {
                    inputs.extend(v.password_inputs());
                }
            }
        }
        PasswordContext { has_second_factor: user.is_some_and(|u| u.second_factor), user_inputs: inputs }
    }

    pub(crate) fn open_contact(&self, user: UserId, c: &ContactRecord) -> Result<ContactValue, IdentityError> {
        let s = self.inner.keys.open_string(Purpose::Contact, user.raw(), &c.sealed)?;
        ContactValue::parse(s.expose()).map_err(|_| IdentityError::Unseal)
    }

    fn contact_record(
        &self,
        user: UserId,
        c: &ContactValue,
        verified_at: Option<Timestamp>,
    ) -> Result<ContactRecord, IdentityError> {
        Ok(ContactRecord {
            kind: c.kind(),
            digest: self.contact_digest(c),
            sealed: self.inner.keys.seal(
                Purpose::Contact,
                user.raw(),
                c.as_str().as_bytes(),
                self.inner.entropy.as_ref(),
            )?,
            masked: c.masked(),
            added_at: self.now(),
            verified_at,
        })
    }

    /// Registers a user with a contact (unverified) and a password that passes the policy. The account
    /// stays [`UserStatus::PendingVerification`] until [`Identity::mark_contact_verified`]. A contact
    /// already verified on another account is refused with [`IdentityError::ContactTaken`] (registration
    /// cannot hide that an account exists; login does). Unverified claims of the same contact by several
    /// pending registrations are allowed: the first to verify it wins.
    #[instrument(skip_all, err(level = "info"))]
    pub async fn register(
        &self,
        contact: &ContactValue,
        password: &Password,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        self.check_policy(password, self.password_context(None, &[contact])).await?;
        if self.inner.store.user_by_contact(self.contact_digest(contact)).await?.is_some() {
            return Err(IdentityError::ContactTaken);
        }
        let id: UserId = self.inner.ids.next();
        let now = self.now();
        let user = UserRecord {
            id,
            version: 1,
            created_at: now,
            status: UserStatus::PendingVerification,
            status_at: now,
            status_reason: "registered".into(),
            second_factor: false,
            password: PasswordHash(self.hash_login(password).await?),
            password_set_at: now,
            password_single_factor_ok: true,
            payment_password: None,
            payment_password_set_at: None,
            class: None,
            real_name: None,
            false_submissions: 0,
            contacts: vec![self.contact_record(id, contact, None)?],
        };
        let mut w = UserWrite::new(user.clone(), None);
        w.contacts_changed = true;
        w.audit.push(self.event(Some(id), AuditKind::REGISTERED, ctx, format!("with {}", contact.masked())));
        self.write(w).await?;
        Ok(user.view())
    }

    /// Records that a code sent to `contact` was entered correctly at `verified_at` (checked by the
    /// facade). The first verified contact activates the account. Verifying twice changes nothing.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn mark_contact_verified(
        &self,
        user: UserId,
        contact: &ContactValue,
        verified_at: Timestamp,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        self.check_fresh(verified_at)?;
        let u = self.load(user).await?;
        let digest = self.contact_digest(contact);
        let c = u.contact(&digest).ok_or(IdentityError::ContactNotFound)?;
        if c.verified_at.is_some() {
            return Ok(u.view());
        }
        if matches!(u.status, UserStatus::Banned | UserStatus::Closed) {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        let (mut n, v) = Self::next(&u);
        for c in n.contacts.iter_mut().filter(|c| c.digest == digest) {
            c.verified_at = Some(verified_at);
        }
        let mut status_change = None;
        if let Some(to) = transition(u.status, StatusAction::Activate) {
            status_change = Some(self.set_status(&mut n, to, "contact verified", Actor::User));
        }
        let mut w = UserWrite::new(n.clone(), v);
        w.contacts_changed = true;
        w.audit.push(self.event(Some(user), AuditKind::CONTACT_VERIFIED, ctx, contact.masked()));
        if let Some(sc) = status_change {
            w.audit.push(self.event(Some(user), AuditKind::STATUS_CHANGED, ctx, "pending_verification → active"));
            w.status_change = Some(sc);
        }
        self.write(w).await?;
        Ok(n.view())
    }

    pub(crate) fn set_status(&self, u: &mut UserRecord, to: UserStatus, reason: &str, actor: Actor) -> StatusChange {
        let change = StatusChange { user: u.id, at: self.now(), from: u.status, to, reason: reason.into(), actor };
        u.status = to;
        u.status_at = change.at;
        u.status_reason = reason.into();
        change
    }

    /// Adds a contact (unverified) to an account that can log in; verify it with
    /// [`Identity::mark_contact_verified`].
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn add_contact(
        &self,
        user: UserId,
        contact: &ContactValue,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        let u = self.load(user).await?;
        require_usable(&u)?;
        if u.contact(&self.contact_digest(contact)).is_some() {
            return Err(IdentityError::ContactExists);
        }
        if u.contacts.len() >= CONTACTS_MAX {
            return Err(IdentityError::TooManyContacts { max: CONTACTS_MAX });
        }
        let (mut n, v) = Self::next(&u);
        n.contacts.push(self.contact_record(user, contact, None)?);
        let mut w = UserWrite::new(n.clone(), v);
        w.contacts_changed = true;
        w.audit.push(self.event(Some(user), AuditKind::CONTACT_ADDED, ctx, contact.masked()));
        self.write(w).await?;
        Ok(n.view())
    }

    /// Replaces `old` by `new`. The facade has verified `new` (at `new_verified_at`) and accounts for the
    /// old one by `old_proof`: a fresh code to it, or — when it is lost — the payment password of a
    /// real-name verified account, or an operator's approval.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn change_contact(
        &self,
        user: UserId,
        old: &ContactValue,
        new: &ContactValue,
        new_verified_at: Timestamp,
        old_proof: OldContactProof,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        self.check_fresh(new_verified_at)?;
        let u = self.load(user).await?;
        require_usable(&u)?;
        let old_digest = self.contact_digest(old);
        let oc = u.contact(&old_digest).filter(|c| c.verified_at.is_some()).ok_or(IdentityError::ContactNotFound)?;
        if u.contact(&self.contact_digest(new)).is_some() {
            return Err(IdentityError::ContactExists);
        }
        let how = self.check_old_contact_proof(&u, old_proof, ctx).await?;
        let (mut n, v) = Self::next(&u);
        let replacement =
            ContactRecord { added_at: oc.added_at, ..self.contact_record(user, new, Some(new_verified_at))? };
        for c in n.contacts.iter_mut().filter(|c| c.digest == old_digest) {
            *c = replacement.clone();
        }
        let mut w = UserWrite::new(n.clone(), v);
        w.contacts_changed = true;
        let detail = format!("{} → {} ({how})", old.masked(), new.masked());
        w.audit.push(self.event(Some(user), AuditKind::CONTACT_CHANGED, ctx, detail));
        self.write(w).await?;
        Ok(n.view())
    }

    async fn check_old_contact_proof(
        &self,
        u: &UserRecord,
        proof: OldContactProof,
        ctx: RequestContext,
    ) -> Result<String, IdentityError> {
        match proof {
            OldContactProof::Verified { at } => {
                self.check_fresh(at)?;
                Ok("old contact verified".into())
            }
            OldContactProof::UnreachableWithPaymentPassword(pp) => {
                if u.real_name.is_none() {
                    return Err(IdentityError::FactInvalid(
                        "a lost contact can be replaced with the payment password only on a real-name verified account",
                    ));
                }
                self.verify_payment_password(u.id, &pp, ctx).await?;
                Ok("old contact lost; payment password".into())
            }
            OldContactProof::UnreachableOperatorApproved { operator } => {
                Ok(format!("old contact lost; approved by {operator}"))
            }
        }
    }

    /// Removes a contact; the last verified one stays.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn remove_contact(
        &self,
        user: UserId,
        contact: &ContactValue,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        let u = self.load(user).await?;
        require_usable(&u)?;
        let digest = self.contact_digest(contact);
        let c = u.contact(&digest).ok_or(IdentityError::ContactNotFound)?;
        let verified_left = u.contacts.iter().filter(|x| x.verified_at.is_some() && x.digest != digest).count();
        if c.verified_at.is_some() && verified_left == 0 {
            return Err(IdentityError::LastVerifiedContact);
        }
        let (mut n, v) = Self::next(&u);
        n.contacts.retain(|c| c.digest != digest);
        let mut w = UserWrite::new(n.clone(), v);
        w.contacts_changed = true;
        w.audit.push(self.event(Some(user), AuditKind::CONTACT_REMOVED, ctx, contact.masked()));
        self.write(w).await?;
        Ok(n.view())
    }

    /// Records that the user turned a second factor (TOTP, managed by the token service) on or off. Turning
    /// it off is refused while the password meets only the shorter minimum that a second factor allows.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn set_second_factor(
        &self,
        user: UserId,
        enabled: bool,
        ctx: RequestContext,
    ) -> Result<User, IdentityError> {
        let u = self.load(user).await?;
        require_usable(&u)?;
        if u.second_factor == enabled {
            return Ok(u.view());
        }
        if !enabled && !u.password_single_factor_ok {
            let min_chars = self.inner.config.password_policy.min_chars_single_factor;
            return Err(IdentityError::SecondFactorRequired { min_chars });
        }
        let (mut n, v) = Self::next(&u);
        n.second_factor = enabled;
        let mut w = UserWrite::new(n.clone(), v);
        let detail = if enabled { "on" } else { "off" };
        w.audit.push(self.event(Some(user), AuditKind::SECOND_FACTOR_CHANGED, ctx, detail));
        self.write(w).await?;
        Ok(n.view())
    }

    /// A user.
    pub async fn user(&self, user: UserId) -> Result<User, IdentityError> {
        Ok(self.load(user).await?.view())
    }

    /// The user a verified contact belongs to.
    pub async fn find_user(&self, contact: &ContactValue) -> Result<Option<UserId>, IdentityError> {
        self.inner.store.user_by_contact(self.contact_digest(contact)).await
    }

    /// The user's contacts in the clear (to send codes and notices). Unverified ones included, marked.
    pub async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, IdentityError> {
        let u = self.load(user).await?;
        u.contacts
            .iter()
            .map(|c| Ok(Contact { value: self.open_contact(user, c)?, verified_at: c.verified_at }))
            .collect()
    }
}

/// Refuses accounts that cannot log in (pending, banned, closed).
pub(crate) fn require_usable(u: &UserRecord) -> Result<(), IdentityError> {
    if u.status.can_log_in() { Ok(()) } else { Err(IdentityError::AccountNotActive { status: u.status }) }
}
