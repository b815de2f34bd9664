//! The PostgreSQL backend of [`IdentityStore`].

use qianbao_core::{Timestamp, UserId};
use qianbao_store::drivers::deadpool_postgres::GenericClient;
use qianbao_store::drivers::tokio_postgres::error::SqlState;
use qianbao_store::drivers::tokio_postgres::types::ToSql;
use qianbao_store::drivers::tokio_postgres::{self, Row};
use qianbao_store::{PgDb, StoreError};

use super::codec::{
    APPLICATION_COLUMNS, CONTACT_COLUMNS, USER_COLUMNS, application_from_row, audit_from_row, channel_from_row,
    contact_from_row, status_from_row, user_from_row,
};
use super::plan::{GUARD_SELECT, GUARD_UPSERT, audit_step, guard_from_row, guard_reset_step, guard_values, pg_sql};
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

/// [`IdentityStore`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgIdentityStore {
    db: PgDb,
}

impl PgIdentityStore {
    /// A store over `db` (call [`IdentityStore::migrate`] first, or open through [`super::IdentityDb`]).
    pub fn new(db: PgDb) -> Self {
        PgIdentityStore { db }
    }
}

impl Get for Row {
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn boolean(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.try_get(i)?)
    }
}

type Param = Box<dyn ToSql + Sync + Send>;

fn params(values: &[Value]) -> Vec<Param> {
    values
        .iter()
        .map(|v| -> Param {
            match v {
                Value::Int(x) => Box::new(*x),
                Value::Text(x) => Box::new(x.clone()),
                Value::Blob(x) => Box::new(x.clone()),
                Value::Bool(x) => Box::new(*x),
            }
        })
        .collect()
}

fn refs(p: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect()
}

enum Outcome {
    Store(StoreError),
    Refused(StepFailure),
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Self {
        Outcome::Store(e)
    }
}

impl From<tokio_postgres::Error> for Outcome {
    fn from(e: tokio_postgres::Error) -> Self {
        Outcome::Store(e.into())
    }
}

async fn run_step(c: &impl GenericClient, step: &Step) -> Result<(), Outcome> {
    match step {
        Step::Exec { sql, params: values, rows, on_unique } => {
            let p = params(values);
            let n = match c.execute(pg_sql(sql).as_str(), &refs(&p)).await {
                Ok(n) => n,
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && on_unique.is_some() => {
                    return Err(Outcome::Refused(on_unique.clone().unwrap_or(StepFailure::ContactTaken)));
                }
                Err(e) => return Err(e.into()),
            };
            match rows {
                Some((want, f)) if n != *want => Err(Outcome::Refused(f.clone())),
                _ => Ok(()),
            }
        }
        Step::AtMost { sql, params: values, max, failure } => {
            let p = params(values);
            let v: i64 = c.query_one(pg_sql(sql).as_str(), &refs(&p)).await?.try_get(0)?;
            if v > *max { Err(Outcome::Refused(failure.clone())) } else { Ok(()) }
        }
        Step::PgOnly(inner) => Box::pin(run_step(c, inner)).await,
    }
}

async fn write_steps(db: &PgDb, steps: Vec<Step>) -> Result<(), IdentityError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    for step in &steps {
        match run_step(&tx, step).await {
            Ok(()) => {}
            Err(Outcome::Store(e)) => return Err(e.into()),
            Err(Outcome::Refused(f)) => return Err(f.into_error()),
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

async fn query<T>(
    c: &impl GenericClient,
    sql: &str,
    values: &[Value],
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let p = params(values);
    let rows = c.query(pg_sql(sql).as_str(), &refs(&p)).await?;
    rows.iter().map(f).collect()
}

async fn reserve(
    db: &PgDb,
    keys: &[(GuardKey, GuardPolicy)],
    now: Timestamp,
    audit: Option<&AuditEvent>,
) -> Result<Reservation, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let mut sorted: Vec<Vec<u8>> = keys.iter().map(|(k, _)| k.0.to_vec()).collect();
    sorted.sort();
    tx.execute(
        "INSERT INTO identity_guards (key, failures) SELECT k, 0 FROM unnest($1::bytea[]) AS t(k) ORDER BY k \
         ON CONFLICT DO NOTHING",
        &[&sorted],
    )
    .await?;
    let rows = tx
        .query(
            "SELECT key, failures, last_failure_at FROM identity_guards WHERE key = ANY($1) ORDER BY key FOR UPDATE",
            &[&sorted],
        )
        .await?;
    let mut states = Vec::with_capacity(keys.len());
    for (k, p) in keys {
        let row = rows.iter().find(|r| r.try_get::<_, Vec<u8>>(0).is_ok_and(|b| b == k.0));
        let s = match row {
            Some(r) => GuardState {
                failures: u32::try_from(r.try_get::<_, i64>(1)?).map_err(|_| StoreError::corrupt("guard failures"))?,
                last_failure_at: r.try_get::<_, Option<i64>>(2)?.map(qianbao_store::sql::ts_from_sql).transpose()?,
            },
            None => GuardState::default(),
        };
        states.push((s, *p));
    }
    let out = reserve_decide(&states, now);
    for ((k, p), s) in keys.iter().zip(&out.counted) {
        let p = params(&guard_values(k, s, p));
        tx.execute(pg_sql(GUARD_UPSERT).as_str(), &refs(&p)).await?;
    }
    if out.counted.is_empty()
        && let Some(e) = audit
        && let Step::Exec { sql, params: values, .. } = audit_step(e)
    {
        let p = params(&values);
        tx.execute(pg_sql(&sql).as_str(), &refs(&p)).await?;
    }
    tx.commit().await?;
    Ok(out)
}

const AUDIT_COLUMNS: &str = "seq, at, user_id, kind, device_id, client, detail";

impl IdentityStore for PgIdentityStore {
    async fn migrate(&self) -> Result<(), IdentityError> {
        Ok(self.db.migrate(MIGRATIONS).await?)
    }

    async fn write_user(&self, write: UserWrite) -> Result<(), IdentityError> {
        write_steps(&self.db, plan(&write)?).await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, IdentityError> {
        let mut client = self.db.client().await?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(StoreError::from)?;
        let key = [Value::blob(id.to_bytes())];
        let sql = format!("SELECT {USER_COLUMNS} FROM identity_users WHERE id = ?1");
        let Some(mut user) = query(&tx, &sql, &key, user_from_row).await?.pop() else { return Ok(None) };
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM identity_contacts WHERE user_id = ?1 ORDER BY position");
        user.contacts = query(&tx, &sql, &key, contact_from_row).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(user))
    }

    async fn user_by_contact(&self, digest: LookupDigest) -> Result<Option<UserId>, IdentityError> {
        let c = self.db.client().await?;
        let sql = "SELECT user_id FROM identity_contacts WHERE digest = ?1 AND verified_at IS NOT NULL";
        Ok(query(&c, sql, &[Value::blob(digest.0)], |r| r.user_id(0)).await?.pop())
    }

    async fn application(&self, id: ApplicationId) -> Result<Option<ApplicationRecord>, IdentityError> {
        let c = self.db.client().await?;
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE id = ?1");
        Ok(query(&c, &sql, &[Value::blob(id.to_bytes())], application_from_row).await?.pop())
    }

    async fn applications_for_user(&self, user: UserId) -> Result<Vec<ApplicationRecord>, IdentityError> {
        let c = self.db.client().await?;
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE user_id = ?1 ORDER BY created_at, id"
        );
        Ok(query(&c, &sql, &[Value::blob(user.to_bytes())], application_from_row).await?)
    }

    async fn applications_in_state(
        &self,
        state: &'static str,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, IdentityError> {
        let c = self.db.client().await?;
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM identity_applications WHERE state = ?1 ORDER BY created_at, id LIMIT ?2"
        );
        Ok(query(&c, &sql, &[Value::text(state), Value::int(limit_sql(limit))], application_from_row).await?)
    }

    async fn channels(&self, user: UserId) -> Result<Vec<ChannelRecord>, IdentityError> {
        let c = self.db.client().await?;
        let sql = "SELECT channel, application_id, at FROM identity_channels WHERE user_id = ?1 ORDER BY at, channel";
        Ok(query(&c, sql, &[Value::blob(user.to_bytes())], channel_from_row).await?)
    }

    async fn id_holders(&self, digest: LookupDigest) -> Result<u32, IdentityError> {
        let c = self.db.client().await?;
        let sql = "SELECT COUNT(*) FROM identity_id_holders WHERE digest = ?1";
        let n = query(&c, sql, &[Value::blob(digest.0)], |r| r.req_int(0)).await?.pop().unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn status_history(&self, user: UserId) -> Result<Vec<StatusChange>, IdentityError> {
        let c = self.db.client().await?;
        let sql = "SELECT user_id, at, from_status, to_status, reason, actor FROM identity_status_changes \
                   WHERE user_id = ?1 ORDER BY seq";
        Ok(query(&c, sql, &[Value::blob(user.to_bytes())], status_from_row).await?)
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
        let c = self.db.client().await?;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM identity_audit WHERE user_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        );
        let p = [Value::blob(user.to_bytes()), Value::int(before_sql(before)), Value::int(limit_sql(limit))];
        Ok(query(&c, &sql, &p, audit_from_row).await?)
    }

    async fn audit_all(&self, before: Option<u64>, limit: u32) -> Result<Vec<AuditRecord>, IdentityError> {
        let c = self.db.client().await?;
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM identity_audit WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2");
        let p = [Value::int(before_sql(before)), Value::int(limit_sql(limit))];
        Ok(query(&c, &sql, &p, audit_from_row).await?)
    }

    async fn guard_reserve(
        &self,
        keys: Vec<(GuardKey, GuardPolicy)>,
        now: Timestamp,
        refused_audit: Option<AuditEvent>,
    ) -> Result<Reservation, IdentityError> {
        Ok(reserve(&self.db, &keys, now, refused_audit.as_ref()).await?)
    }

    async fn guard_settle(&self, reset: Vec<GuardKey>, audit: Vec<AuditEvent>) -> Result<(), IdentityError> {
        let steps = reset.iter().map(guard_reset_step).chain(audit.iter().map(audit_step)).collect::<Vec<_>>();
        if steps.is_empty() {
            return Ok(());
        }
        write_steps(&self.db, steps).await
    }

    async fn guard_state(&self, key: GuardKey) -> Result<GuardState, IdentityError> {
        let c = self.db.client().await?;
        Ok(query(&c, GUARD_SELECT, &[Value::blob(key.0)], guard_from_row).await?.pop().unwrap_or_default())
    }

    async fn prune_guards(&self, now: Timestamp) -> Result<u64, IdentityError> {
        let c = self.db.client().await?;
        let t = qianbao_store::sql::ts_to_sql(now);
        let n = c
            .execute("DELETE FROM identity_guards WHERE failures = 0 OR forget_at <= $1", &[&t])
            .await
            .map_err(StoreError::from)?;
        Ok(n)
    }
}
