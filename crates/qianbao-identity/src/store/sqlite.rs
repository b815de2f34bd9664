//! The SQLite backend of [`IdentityStore`].

use std::sync::{Arc, Mutex};

use qianbao_core::{Timestamp, UserId};
use qianbao_store::drivers::rusqlite::types::{Null, ToSqlOutput};
use qianbao_store::drivers::rusqlite::{self, Connection, Row, ToSql, params_from_iter};
use qianbao_store::{ErrorKind, SqliteDb, StoreError};

use super::codec::{
    APPLICATION_COLUMNS, CONTACT_COLUMNS, USER_COLUMNS, application_from_row, audit_from_row, channel_from_row,
    contact_from_row, status_from_row, user_from_row,
};
use super::plan::{GUARD_SELECT, GUARD_UPSERT, audit_step, guard_from_row, guard_reset_step, guard_values};
use super::{
    Get, GuardKey, IdentityStore, MIGRATIONS, Reservation, Step, StepFailure, UserWrite, Value, before_sql, limit_sql,
    plan, reserve_decide,
};
use crate::IdentityError;
use crate::audit::{AuditEvent, AuditRecord};
use crate::guard::{GuardPolicy, GuardState};
use crate::kyc::ApplicationId;
use crate::record::{ApplicationRecord, ChannelRecord, LookupDigest, UserRecord};
use crate::status::StatusChange;

/// [`IdentityStore`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteIdentityStore {
    db: SqliteDb,
}

impl SqliteIdentityStore {
    /// A store over `db` (call [`IdentityStore::migrate`] first, or open through [`super::IdentityDb`]).
    pub fn new(db: SqliteDb) -> Self {
        SqliteIdentityStore { db }
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::from(*v),
            Value::Text(Some(s)) => ToSqlOutput::from(s.as_str()),
            Value::Blob(Some(b)) => ToSqlOutput::from(b.as_slice()),
            Value::Bool(b) => ToSqlOutput::from(*b),
            Value::Int(None) | Value::Text(None) | Value::Blob(None) => ToSqlOutput::from(Null),
        })
    }
}

impl Get for Row<'_> {
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(i)?)
    }
    fn boolean(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.get(i)?)
    }
}

type Slot = Arc<Mutex<Option<StepFailure>>>;

fn fail(slot: &Slot, f: StepFailure) -> StoreError {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    StoreError::new(ErrorKind::Conflict, "write refused")
}

fn run_steps(c: &Connection, steps: &[Step], slot: &Slot) -> Result<(), StoreError> {
    for step in steps {
        match step {
            Step::Exec { sql, params, rows, on_unique } => {
                let n = match c.prepare_cached(sql)?.execute(params_from_iter(params.iter())) {
                    Ok(n) => n as u64,
                    Err(e) => {
                        let e = StoreError::from(e);
                        return Err(match (e.kind(), on_unique) {
                            (ErrorKind::Conflict, Some(f)) => fail(slot, f.clone()),
                            _ => e,
                        });
                    }
                };
                if let Some((want, f)) = rows
                    && n != *want
                {
                    return Err(fail(slot, f.clone()));
                }
            }
            Step::AtMost { sql, params, max, failure } => {
                let v: i64 = c.prepare_cached(sql)?.query_row(params_from_iter(params.iter()), |r| r.get(0))?;
                if v > *max {
                    return Err(fail(slot, failure.clone()));
                }
            }
            Step::PgOnly(_) => {}
        }
    }
    Ok(())
}

async fn write_steps(db: &SqliteDb, steps: Vec<Step>) -> Result<(), IdentityError> {
    let slot: Slot = Arc::default();
    let s2 = slot.clone();
    match db.write(move |c| run_steps(c, &steps, &s2)).await {
        Ok(()) => Ok(()),
        Err(e) => match slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(f) => Err(f.into_error()),
            None => Err(e.into()),
        },
    }
}

fn query<T>(
    c: &Connection,
    sql: &str,
    params: &[Value],
    f: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

fn load_user(c: &Connection, id: UserId) -> Result<Option<UserRecord>, StoreError> {
    // One snapshot for the user row and its contacts.
    let _snapshot = c.unchecked_transaction()?;
    let key = [Value::blob(id.to_bytes())];
    let sql = format!("SELECT {USER_COLUMNS} FROM identity_users WHERE id = ?1");
    let Some(mut user) = query(c, &sql, &key, |r| user_from_row(r))?.pop() else { return Ok(None) };
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM identity_contacts WHERE user_id = ?1 ORDER BY position");
    user.contacts = query(c, &sql, &key, |r| contact_from_row(r))?;
    Ok(Some(user))
}

fn reserve(
    c: &Connection,
    keys: &[(GuardKey, GuardPolicy)],
    now: Timestamp,
    audit: Option<&AuditEvent>,
) -> Result<Reservation, StoreError> {
    let mut states = Vec::with_capacity(keys.len());
    for (k, p) in keys {
        let s = query(c, GUARD_SELECT, &[Value::blob(k.0)], |r| guard_from_row(r))?.pop().unwrap_or_default();
        states.push((s, *p));
    }
    let out = reserve_decide(&states, now);
    for ((k, p), s) in keys.iter().zip(&out.counted) {
        c.prepare_cached(GUARD_UPSERT)?.execute(params_from_iter(guard_values(k, s, p).iter()))?;
    }
    if out.counted.is_empty()
        && let Some(e) = audit
    {
        run_steps(c, &[audit_step(e)], &Slot::default())?;
    }
    Ok(out)
}

const AUDIT_COLUMNS: &str = "seq, at, user_id, kind, device_id, client, detail";

impl IdentityStore for SqliteIdentityStore {
    async fn migrate(&self) -> Result<(), IdentityError> {
        Ok(self.db.migrate(MIGRATIONS).await?)
    }

    async fn write_user(&self, write: UserWrite) -> Result<(), IdentityError> {
        write_steps(&self.db, plan(&write)?).await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, IdentityError> {
        Ok(self.db.read(move |c| load_user(c, id)).await?)
    }

    async fn user_by_contact(&self, digest: LookupDigest) -> Result<Option<UserId>, IdentityError> {
        let sql = "SELECT user_id FROM identity_contacts WHERE digest = ?1 AND verified_at IS NOT NULL";
        Ok(self.db.read(move |c| Ok(query(c, sql, &[Value::blob(digest.0)], |r| r.user_id(0))?.pop())).await?)
    }

    async fn application(&self, id: ApplicationId) -> Result<Option<ApplicationRecord>, IdentityError> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE id = ?1");
        Ok(self
            .db
            .read(move |c| Ok(query(c, &sql, &[Value::blob(id.to_bytes())], |r| application_from_row(r))?.pop()))
            .await?)
    }

    async fn applications_for_user(&self, user: UserId) -> Result<Vec<ApplicationRecord>, IdentityError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE user_id = ?1 ORDER BY created_at, id"
        );
        Ok(self.db.read(move |c| query(c, &sql, &[Value::blob(user.to_bytes())], |r| application_from_row(r))).await?)
    }

    async fn applications_in_state(
        &self,
        state: &'static str,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, IdentityError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE state = ?1 ORDER BY created_at, id LIMIT ?2"
        );
        let params = [Value::text(state), Value::int(limit_sql(limit))];
        Ok(self.db.read(move |c| query(c, &sql, &params, |r| application_from_row(r))).await?)
    }

    async fn channels(&self, user: UserId) -> Result<Vec<ChannelRecord>, IdentityError> {
        let sql = "SELECT channel, application_id, at FROM identity_channels WHERE user_id = ?1 ORDER BY at, channel";
        Ok(self.db.read(move |c| query(c, sql, &[Value::blob(user.to_bytes())], |r| channel_from_row(r))).await?)
    }

    async fn id_holders(&self, digest: LookupDigest) -> Result<u32, IdentityError> {
        let sql = "SELECT COUNT(*) FROM identity_id_holders WHERE digest = ?1";
        let n = self.db.read(move |c| Ok(query(c, sql, &[Value::blob(digest.0)], |r| r.req_int(0))?.pop())).await?;
        Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    async fn status_history(&self, user: UserId) -> Result<Vec<StatusChange>, IdentityError> {
        let sql = "SELECT user_id, at, from_status, to_status, reason, actor FROM identity_status_changes \
                   WHERE user_id = ?1 ORDER BY seq";
        Ok(self.db.read(move |c| query(c, sql, &[Value::blob(user.to_bytes())], |r| status_from_row(r))).await?)
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<(), IdentityError> {
        if events.is_empty() {
            return Ok(());
        }
        write_steps(&self.db, events.iter().map(audit_step).collect()).await
    }

    async fn audit_for_user(
        &self,
        user: UserId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, IdentityError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM identity_audit WHERE user_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        );
        let params = [Value::blob(user.to_bytes()), Value::int(before_sql(before)), Value::int(limit_sql(limit))];
        Ok(self.db.read(move |c| query(c, &sql, &params, |r| audit_from_row(r))).await?)
    }

    async fn audit_all(&self, before: Option<u64>, limit: u32) -> Result<Vec<AuditRecord>, IdentityError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM identity_audit WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2");
        let params = [Value::int(before_sql(before)), Value::int(limit_sql(limit))];
        Ok(self.db.read(move |c| query(c, &sql, &params, |r| audit_from_row(r))).await?)
    }

    async fn guard_reserve(
        &self,
        keys: Vec<(GuardKey, GuardPolicy)>,
        now: Timestamp,
        refused_audit: Option<AuditEvent>,
    ) -> Result<Reservation, IdentityError> {
        Ok(self.db.write(move |c| reserve(c, &keys, now, refused_audit.as_ref())).await?)
    }

    async fn guard_settle(&self, reset: Vec<GuardKey>, audit: Vec<AuditEvent>) -> Result<(), IdentityError> {
        let steps = reset.iter().map(guard_reset_step).chain(audit.iter().map(audit_step)).collect::<Vec<_>>();
        if steps.is_empty() {
            return Ok(());
        }
        write_steps(&self.db, steps).await
    }

    async fn guard_state(&self, key: GuardKey) -> Result<GuardState, IdentityError> {
        Ok(self
            .db
            .read(move |c| {
                Ok(query(c, GUARD_SELECT, &[Value::blob(key.0)], |r| guard_from_row(r))?.pop().unwrap_or_default())
            })
            .await?)
    }

    async fn prune_guards(&self, now: Timestamp) -> Result<u64, IdentityError> {
        let t = qianbao_store::sql::ts_to_sql(now);
        let n = self
            .db
            .write(move |c| Ok(c.execute("DELETE FROM identity_guards WHERE failures = 0 OR forget_at <= ?1", [t])?))
            .await?;
        Ok(n as u64)
    }
}
