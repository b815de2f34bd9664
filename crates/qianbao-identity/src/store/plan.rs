//! A [`UserWrite`] compiled into the statements both backends run in one transaction.

use qianbao_store::StoreError;

use super::codec::{
    APPLICATION_COLUMNS, CONTACT_COLUMNS, USER_COLUMNS, Value, application_values, audit_values, channel_values,
    contact_values, status_values, user_values,
};
use super::{GuardKey, UserWrite};
use crate::IdentityError;
use crate::audit::AuditEvent;

/// Why a write was refused, decided by a statement's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepFailure {
    /// A compare-and-set found another version.
    Conflict(String),
    /// A verified contact is verified on another account.
    ContactTaken,
    /// An ID number holds too many accounts.
    IdLimit(u32),
}

impl StepFailure {
    /// The crate error.
    pub(crate) fn into_error(self) -> IdentityError {
        match self {
            StepFailure::Conflict(m) => IdentityError::Conflict(m),
            StepFailure::ContactTaken => IdentityError::ContactTaken,
            StepFailure::IdLimit(limit) => IdentityError::IdNumberLimitReached { limit },
        }
    }
}

/// One statement (SQL with `?N` placeholders; PostgreSQL gets `$N`).
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Runs a statement; when `rows` is set and another number of rows changed, fails with its failure.
    /// A unique violation fails with `on_unique` when set.
    Exec {
        /// SQL.
        sql: String,
        /// Parameters.
        params: Vec<Value>,
        /// Rows that must change.
        rows: Option<(u64, StepFailure)>,
        /// Failure on a unique violation.
        on_unique: Option<StepFailure>,
    },
    /// A query returning one integer that must be at most `max`.
    AtMost {
        /// SQL.
        sql: String,
        /// Parameters.
        params: Vec<Value>,
        /// The largest allowed result.
        max: i64,
        /// Failure otherwise.
        failure: StepFailure,
    },
    /// Runs only on PostgreSQL (row locks that SQLite's single writer does not need).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    PgOnly(Box<Step>),
}

fn exec(sql: impl Into<String>, params: Vec<Value>) -> Step {
    Step::Exec { sql: sql.into(), params, rows: None, on_unique: None }
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// `?N` → `$N` for PostgreSQL.
#[cfg(any(feature = "postgres", test))]
pub(crate) fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn insert(table: &str, columns: &str, values: Vec<Value>) -> Step {
    let sql = format!("INSERT INTO {table} ({columns}) VALUES ({})", placeholders(1, values.len()));
    exec(sql, values)
}

/// `UPDATE table SET c2 = ?2, … WHERE c1 = ?1 AND version = ?(n+1)`, exactly one row or a conflict.
fn update_cas(
    table: &str,
    columns: &str,
    mut values: Vec<Value>,
    expected: u64,
    what: &str,
) -> Result<Step, StoreError> {
    let cols: Vec<&str> = columns.split(',').map(str::trim).collect();
    let sets = cols.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = ?{}", i + 1)).collect::<Vec<_>>().join(", ");
    let n = values.len();
    values.push(Value::u64(expected)?);
    let sql = format!("UPDATE {table} SET {sets} WHERE {} = ?1 AND version = ?{}", cols[0], n + 1);
    let failure = StepFailure::Conflict(format!("{what} was changed concurrently"));
    Ok(Step::Exec { sql, params: values, rows: Some((1, failure)), on_unique: None })
}

pub(crate) fn audit_step(e: &AuditEvent) -> Step {
    insert("identity_audit", "at, user_id, kind, device_id, client, detail", audit_values(e))
}

pub(crate) fn guard_reset_step(k: &GuardKey) -> Step {
    exec("DELETE FROM identity_guards WHERE key = ?1", vec![Value::blob(k.0)])
}

/// The statements of a write, in order.
pub(crate) fn plan(w: &UserWrite) -> Result<Vec<Step>, StoreError> {
    let mut steps = Vec::new();
    let u = &w.user;
    match w.expected_version {
        None => {
            let mut s = insert("identity_users", USER_COLUMNS, user_values(u)?);
            if let Step::Exec { on_unique, .. } = &mut s {
                *on_unique = Some(StepFailure::Conflict(format!("user {} exists", u.id)));
            }
            steps.push(s);
        }
        Some(v) => steps.push(update_cas("identity_users", USER_COLUMNS, user_values(u)?, v, "the user")?),
    }
    if w.contacts_changed {
        steps.push(exec("DELETE FROM identity_contacts WHERE user_id = ?1", vec![Value::blob(u.id.to_bytes())]));
        for (i, c) in u.contacts.iter().enumerate() {
            let mut s = insert("identity_contacts", CONTACT_COLUMNS, contact_values(u.id, i, c));
            if let Step::Exec { on_unique, .. } = &mut s {
                *on_unique = Some(StepFailure::ContactTaken);
            }
            steps.push(s);
        }
    }
    if let Some(c) = &w.status_change {
        steps.push(insert(
            "identity_status_changes",
            "user_id, at, from_status, to_status, reason, actor",
            status_values(c),
        ));
    }
    if let Some(a) = &w.application {
        let values = application_values(&a.record)?;
        steps.push(match a.expected_version {
            None => insert("identity_applications", APPLICATION_COLUMNS, values),
            Some(v) => update_cas("identity_applications", APPLICATION_COLUMNS, values, v, "the application")?,
        });
    }
    for c in &w.channels {
        let sql = format!(
            "INSERT INTO identity_channels (user_id, channel, application_id, at) VALUES ({}) ON CONFLICT DO NOTHING",
            placeholders(1, 4)
        );
        steps.push(exec(sql, channel_values(u.id, c)));
    }
    if let Some(claim) = &w.id_claim {
        id_claim_steps(&mut steps, u.id, claim.digest.0, claim.limit, u.status_at);
    }
    steps.extend(w.reset_guards.iter().map(guard_reset_step));
    steps.extend(w.audit.iter().map(audit_step));
    Ok(steps)
}

fn id_claim_steps(
    steps: &mut Vec<Step>,
    user: qianbao_core::UserId,
    digest: [u8; 32],
    limit: u32,
    at: qianbao_core::Timestamp,
) {
    let d = || Value::blob(digest);
    // PostgreSQL: serialize claims of one ID number on its row (SQLite has one writer already).
    steps.push(Step::PgOnly(Box::new(exec(
        "INSERT INTO identity_id_numbers (digest) VALUES (?1) ON CONFLICT DO NOTHING",
        vec![d()],
    ))));
    steps.push(Step::PgOnly(Box::new(exec(
        "SELECT digest FROM identity_id_numbers WHERE digest = ?1 FOR UPDATE",
        vec![d()],
    ))));
    steps.push(exec(
        "INSERT INTO identity_id_holders (digest, user_id, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        vec![d(), Value::blob(user.to_bytes()), Value::ts(at)],
    ));
    steps.push(Step::AtMost {
        sql: "SELECT COUNT(*) FROM identity_id_holders WHERE digest = ?1".into(),
        params: vec![d()],
        max: i64::from(limit),
        failure: StepFailure::IdLimit(limit),
    });
}

/// Reads one counter: `failures, last_failure_at`.
pub(crate) const GUARD_SELECT: &str = "SELECT failures, last_failure_at FROM identity_guards WHERE key = ?1";
/// Writes one counter.
pub(crate) const GUARD_UPSERT: &str = "INSERT INTO identity_guards (key, failures, last_failure_at, forget_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
     last_failure_at = excluded.last_failure_at, forget_at = excluded.forget_at";

/// The values of [`GUARD_UPSERT`].
/// When a counter may be deleted: never for a policy that does not forget.
pub(crate) fn guard_values(k: &GuardKey, s: &crate::guard::GuardState, p: &crate::guard::GuardPolicy) -> Vec<Value> {
    let forget_at = s.last_failure_at.zip(p.forget_after).map(|(t, f)| t.saturating_add(f));
    vec![
        Value::blob(k.0),
        Value::int(i64::from(s.failures)),
        Value::opt_ts(s.last_failure_at),
        Value::opt_ts(forget_at),
    ]
}

/// A counter from `failures, last_failure_at`.
pub(crate) fn guard_from_row(r: &impl super::Get) -> Result<crate::guard::GuardState, StoreError> {
    Ok(crate::guard::GuardState {
        failures: u32::try_from(r.req_int(0)?).map_err(|_| StoreError::corrupt("guard failures out of range"))?,
        last_failure_at: r.opt_ts(1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_translate() {
        assert_eq!(pg_sql("SELECT ?1, ?12 WHERE a = '?'"), "SELECT $1, $12 WHERE a = '?'");
        assert_eq!(placeholders(1, 3), "?1, ?2, ?3");
    }
}
