//! Cases of abnormal-transaction reports and their events.

use qianbao_core::{AccountId, CaseId, UserId};
use qianbao_store::sql::{ts_from_sql, ts_to_sql};
use qianbao_store::{Database, StoreError};

use super::exec::{Row, ScriptResult, Stmt, query, run};
use super::{Inserted, from_json, to_json};
use crate::payments::model::{Case, CaseEvent, CaseState};

fn event_stmt(id: CaseId, e: &CaseEvent) -> Stmt {
    Stmt::any(
        "INSERT INTO pay_case_events (case_id, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5)",
        vec![
            id.to_bytes().into(),
            ts_to_sql(e.at).into(),
            e.kind.clone().into(),
            e.actor.clone().into(),
            e.detail.clone().into(),
        ],
    )
}

pub(super) async fn insert_case(db: &Database, c: &Case, e: &CaseEvent) -> Result<Inserted<Case>, StoreError> {
    let insert = Stmt::one(
        "INSERT INTO pay_cases (id, user_id, account_id, state, state_detail, opened_at, updated_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        vec![
            c.id.to_bytes().into(),
            c.user.to_bytes().into(),
            c.account.to_bytes().into(),
            c.state.code().into(),
            to_json(&c.state)?.into(),
            ts_to_sql(c.opened_at).into(),
            ts_to_sql(c.updated_at).into(),
            to_json(c)?.into(),
        ],
    );
    match run(db, vec![insert, event_stmt(c.id, e)]).await? {
        ScriptResult::Done => Ok(Inserted::New),
        ScriptResult::Stopped(_) => case(db, c.id)
            .await?
            .map(Inserted::Existing)
            .ok_or_else(|| StoreError::corrupt(format!("case {} vanished", c.id))),
    }
}

fn case_row(r: &Row) -> Result<Case, StoreError> {
    let mut c: Case = from_json(&r.text(2)?)?;
    c.state = from_json(&r.text(0)?)?;
    c.updated_at = ts_from_sql(r.i64(1)?)?;
    Ok(c)
}

pub(super) async fn case(db: &Database, id: CaseId) -> Result<Option<Case>, StoreError> {
    const SQL: &str = "SELECT state_detail, updated_at, body FROM pay_cases WHERE id = $1";
    query(db, SQL, vec![id.to_bytes().into()]).await?.first().map(case_row).transpose()
}

pub(super) async fn cases_of(db: &Database, user: UserId) -> Result<Vec<Case>, StoreError> {
    const SQL: &str =
        "SELECT state_detail, updated_at, body FROM pay_cases WHERE user_id = $1 ORDER BY opened_at DESC, id";
    query(db, SQL, vec![user.to_bytes().into()]).await?.iter().map(case_row).collect()
}

pub(super) async fn update_case(
    db: &Database,
    id: CaseId,
    from: &'static str,
    to: &CaseState,
    e: &CaseEvent,
) -> Result<bool, StoreError> {
    let update = Stmt::one(
        "UPDATE pay_cases SET state = $1, state_detail = $2, updated_at = $3 WHERE id = $4 AND state = $5",
        vec![to.code().into(), to_json(to)?.into(), ts_to_sql(e.at).into(), id.to_bytes().into(), from.into()],
    );
    Ok(run(db, vec![update, event_stmt(id, e)]).await? == ScriptResult::Done)
}

pub(super) async fn append_case_event(db: &Database, id: CaseId, e: &CaseEvent) -> Result<(), StoreError> {
    run(db, vec![event_stmt(id, e)]).await.map(|_| ())
}

pub(super) async fn case_events(db: &Database, id: CaseId) -> Result<Vec<CaseEvent>, StoreError> {
    const SQL: &str = "SELECT at, kind, actor, detail FROM pay_case_events WHERE case_id = $1 ORDER BY seq";
    query(db, SQL, vec![id.to_bytes().into()])
        .await?
        .iter()
        .map(|r| Ok(CaseEvent { at: ts_from_sql(r.i64(0)?)?, kind: r.text(1)?, actor: r.text(2)?, detail: r.text(3)? }))
        .collect()
}

pub(super) async fn unresolved_cases_on(db: &Database, account: AccountId) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM pay_cases WHERE account_id = $1 AND state <> 'resolved'";
    let rows = query(db, SQL, vec![account.to_bytes().into()]).await?;
    let n = rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}
