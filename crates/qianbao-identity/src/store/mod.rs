//! Storage of this crate: the [`IdentityStore`] trait, the records it moves, and [`IdentityDb`], the
//! concrete store over a [`qianbao_store::Database`] (SQLite by default, PostgreSQL with `postgres`).
//!
//! Tables (component `identity`): `identity_users` (one row per user, optimistic `version`),
//! `identity_contacts` (sealed values, look-up digests; a partial unique index keeps a verified contact
//! on one account), `identity_status_changes`, `identity_applications` (sealed payloads),
//! `identity_channels`, `identity_id_numbers` + `identity_id_holders` (how many accounts an ID number
//! verifies), `identity_guards` (attempt counters) and `identity_audit` (the append-only trail).
//!
//! Every change to a user is one [`UserWrite`]: compiled once (`plan.rs`) into a list of statements that
//! each backend runs in one transaction, so both backends share the same SQL and the same checks.

use std::future::Future;

use qianbao_core::{Timestamp, UserId};
use qianbao_store::{Database, Migration};

use crate::IdentityError;
use crate::audit::{AuditEvent, AuditRecord};
use crate::guard::{GuardDecision, GuardPolicy, GuardState};
use crate::kyc::ApplicationId;
pub use crate::record::{
    ApplicationRecord, ChannelRecord, ContactRecord, LookupDigest, PasswordHash, RealNameRecord, UserRecord,
};
use crate::status::StatusChange;

mod codec;
mod plan;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub(crate) use codec::{Get, Value};

pub(crate) use plan::{Step, StepFailure, plan};

/// The key of an attempt counter: a keyed digest of what is counted (an account, a login name, a client
/// address, a device), so the table holds no address in the clear.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuardKey(pub [u8; 32]);

impl std::fmt::Debug for GuardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GuardKey({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// An application to insert (`expected_version` `None`) or update (compare-and-set on the version).
#[derive(Debug, Clone)]
pub struct ApplicationWrite {
    /// The new state of the record (its version already bumped).
    pub record: ApplicationRecord,
    /// The version it must have now; `None` to insert.
    pub expected_version: Option<u64>,
}

/// "Claim one of the accounts an ID number may verify": refused when `limit` other users hold it.
#[derive(Debug, Clone, Copy)]
pub struct IdClaim {
    /// The ID number's look-up digest.
    pub digest: LookupDigest,
    /// How many users may hold it.
    pub limit: u32,
}

/// Every change to one user, persisted atomically or not at all.
#[derive(Debug, Clone)]
pub struct UserWrite {
    /// The user's new state; its `version` must be `expected_version + 1` (or 1 for a new user).
    pub user: UserRecord,
    /// The version the stored row must have; `None` to insert a new user.
    pub expected_version: Option<u64>,
    /// Replace the stored contacts with `user.contacts`.
    pub contacts_changed: bool,
    /// A status change to record.
    pub status_change: Option<StatusChange>,
    /// An application to insert or update.
    pub application: Option<ApplicationWrite>,
    /// Channels to grant (existing ones are kept).
    pub channels: Vec<ChannelRecord>,
    /// An ID number claim.
    pub id_claim: Option<IdClaim>,
    /// Attempt counters to reset.
    pub reset_guards: Vec<GuardKey>,
    /// Audit events.
    pub audit: Vec<AuditEvent>,
}

impl UserWrite {
    /// A write of `user` (version already bumped) over `expected_version`, with nothing else.
    pub fn new(user: UserRecord, expected_version: Option<u64>) -> Self {
        UserWrite {
            user,
            expected_version,
            contacts_changed: false,
            status_change: None,
            application: None,
            channels: Vec::new(),
            id_claim: None,
            reset_guards: Vec::new(),
            audit: Vec::new(),
        }
    }
}

/// What [`IdentityStore::guard_reserve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The combined decision.
    pub decision: GuardDecision,
    /// When allowed: each counter after counting this try, in the order given.
    pub counted: Vec<GuardState>,
}

/// Users, contacts, status history, real-name applications and channels, ID number claims, attempt
/// counters and the audit trail.
pub trait IdentityStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), IdentityError>> + Send;

    /// Applies a [`UserWrite`] atomically. Errors: [`IdentityError::Conflict`] (the version moved, or the
    /// application's), [`IdentityError::ContactTaken`] (a verified contact is verified on another account),
    /// [`IdentityError::IdNumberLimitReached`].
    fn write_user(&self, write: UserWrite) -> impl Future<Output = Result<(), IdentityError>> + Send;

    /// One user with contacts.
    fn user(&self, id: UserId) -> impl Future<Output = Result<Option<UserRecord>, IdentityError>> + Send;

    /// The user a verified contact belongs to.
    fn user_by_contact(
        &self,
        digest: LookupDigest,
    ) -> impl Future<Output = Result<Option<UserId>, IdentityError>> + Send;

    /// One application.
    fn application(
        &self,
        id: ApplicationId,
    ) -> impl Future<Output = Result<Option<ApplicationRecord>, IdentityError>> + Send;

    /// A user's applications, oldest first.
    fn applications_for_user(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<ApplicationRecord>, IdentityError>> + Send;

    /// Applications in `state` (`draft`, `submitted`, …), oldest first, at most `limit` (the review queue).
    fn applications_in_state(
        &self,
        state: &'static str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ApplicationRecord>, IdentityError>> + Send;

    /// A user's channels, in the order granted.
    fn channels(&self, user: UserId) -> impl Future<Output = Result<Vec<ChannelRecord>, IdentityError>> + Send;

    /// How many users hold an ID number.
    fn id_holders(&self, digest: LookupDigest) -> impl Future<Output = Result<u32, IdentityError>> + Send;

    /// A user's status changes, oldest first.
    fn status_history(&self, user: UserId) -> impl Future<Output = Result<Vec<StatusChange>, IdentityError>> + Send;

    /// Appends audit events.
    fn append_audit(&self, events: Vec<AuditEvent>) -> impl Future<Output = Result<(), IdentityError>> + Send;

    /// A user's audit records with `seq < before` (all when `None`), newest first, at most `limit`.
    fn audit_for_user(
        &self,
        user: UserId,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, IdentityError>> + Send;

    /// Every audit record with `seq < before`, newest first, at most `limit`.
    fn audit_all(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, IdentityError>> + Send;

    /// Atomically: reads the counters, decides ([`crate::guard::decide_all`]) and, when allowed, counts the
    /// try on every counter; when refused, records `refused_audit` instead.
    fn guard_reserve(
        &self,
        keys: Vec<(GuardKey, GuardPolicy)>,
        now: Timestamp,
        refused_audit: Option<AuditEvent>,
    ) -> impl Future<Output = Result<Reservation, IdentityError>> + Send;

    /// Atomically: resets counters and appends audit events.
    fn guard_settle(
        &self,
        reset: Vec<GuardKey>,
        audit: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<(), IdentityError>> + Send;

    /// One counter (zero when never counted).
    fn guard_state(&self, key: GuardKey) -> impl Future<Output = Result<GuardState, IdentityError>> + Send;

    /// Deletes counters that are zero or that their policy forgets by `now` (never those of a policy
    /// without `forget_after`, such as account locks). Returns how many.
    fn prune_guards(&self, now: Timestamp) -> impl Future<Output = Result<u64, IdentityError>> + Send;
}

/// The decision and new counters of a reservation, shared by the backends.
pub(crate) fn reserve_decide(states: &[(GuardState, GuardPolicy)], now: Timestamp) -> Reservation {
    let decision = crate::guard::decide_all(states, now);
    let counted = match decision {
        GuardDecision::Allow => states.iter().map(|(s, p)| s.counted(p, now)).collect(),
        _ => Vec::new(),
    };
    Reservation { decision, counted }
}

pub(crate) fn limit_sql(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 10_000))
}

pub(crate) fn before_sql(before: Option<u64>) -> i64 {
    before.and_then(|b| i64::try_from(b).ok()).unwrap_or(i64::MAX)
}

pub(crate) static MIGRATIONS: &[Migration] = &[Migration {
    component: "identity",
    version: 1,
    name: "users, contacts, status changes, applications, channels, id holders, guards, audit",
    sqlite: include_str!("schema_sqlite.sql"),
    postgres: include_str!("schema_postgres.sql"),
}];

/// The concrete store of this crate over the shared database; the facade holds one of these.
#[derive(Debug, Clone)]
pub struct IdentityDb {
    inner: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteIdentityStore),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgIdentityStore),
}

impl IdentityDb {
    /// Wraps `db` and applies this crate's migrations (component `identity`).
    pub async fn open(db: Database) -> Result<IdentityDb, IdentityError> {
        let inner = match db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(s) => Backend::Sqlite(sqlite::SqliteIdentityStore::new(s)),
            #[cfg(feature = "postgres")]
            Database::Postgres(p) => Backend::Postgres(postgres::PgIdentityStore::new(p)),
            #[allow(unreachable_patterns)]
            _ => return Err(IdentityError::Misuse("this build does not support the database's backend".into())),
        };
        let store = IdentityDb { inner };
        store.migrate().await?;
        Ok(store)
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match &$self.inner {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($s) => $e.await,
            #[cfg(feature = "postgres")]
            Backend::Postgres($s) => $e.await,
        }
    };
}

impl IdentityStore for IdentityDb {
    async fn migrate(&self) -> Result<(), IdentityError> {
        dispatch!(self, s => s.migrate())
    }
    async fn write_user(&self, write: UserWrite) -> Result<(), IdentityError> {
        dispatch!(self, s => s.write_user(write))
    }
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, IdentityError> {
        dispatch!(self, s => s.user(id))
    }
    async fn user_by_contact(&self, digest: LookupDigest) -> Result<Option<UserId>, IdentityError> {
        dispatch!(self, s => s.user_by_contact(digest))
    }
    async fn application(&self, id: ApplicationId) -> Result<Option<ApplicationRecord>, IdentityError> {
        dispatch!(self, s => s.application(id))
    }
    async fn applications_for_user(&self, user: UserId) -> Result<Vec<ApplicationRecord>, IdentityError> {
        dispatch!(self, s => s.applications_for_user(user))
    }
    async fn applications_in_state(
        &self,
        state: &'static str,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, IdentityError> {
        dispatch!(self, s => s.applications_in_state(state, limit))
    }
    async fn channels(&self, user: UserId) -> Result<Vec<ChannelRecord>, IdentityError> {
        dispatch!(self, s => s.channels(user))
    }
    async fn id_holders(&self, digest: LookupDigest) -> Result<u32, IdentityError> {
        dispatch!(self, s => s.id_holders(digest))
    }
    async fn status_history(&self, user: UserId) -> Result<Vec<StatusChange>, IdentityError> {
        dispatch!(self, s => s.status_history(user))
    }
    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<(), IdentityError> {
        dispatch!(self, s => s.append_audit(events))
    }
    async fn audit_for_user(
        &self,
        user: UserId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, IdentityError> {
        dispatch!(self, s => s.audit_for_user(user, before, limit))
    }
    async fn audit_all(&self, before: Option<u64>, limit: u32) -> Result<Vec<AuditRecord>, IdentityError> {
        dispatch!(self, s => s.audit_all(before, limit))
    }
    async fn guard_reserve(
        &self,
        keys: Vec<(GuardKey, GuardPolicy)>,
        now: Timestamp,
        refused_audit: Option<AuditEvent>,
    ) -> Result<Reservation, IdentityError> {
        dispatch!(self, s => s.guard_reserve(keys, now, refused_audit))
    }
    async fn guard_settle(&self, reset: Vec<GuardKey>, audit: Vec<AuditEvent>) -> Result<(), IdentityError> {
        dispatch!(self, s => s.guard_settle(reset, audit))
    }
    async fn guard_state(&self, key: GuardKey) -> Result<GuardState, IdentityError> {
        dispatch!(self, s => s.guard_state(key))
    }
    async fn prune_guards(&self, now: Timestamp) -> Result<u64, IdentityError> {
        dispatch!(self, s => s.prune_guards(now))
    }
}
