//! Risk counters and history (versioned), known devices, the payee block list, decisions.

use qianbao_core::{AccountId, DeviceId, Timestamp, UserId};
use qianbao_store::sql::{id_from_sql, ts_from_sql, ts_to_sql};
use qianbao_store::{Database, StoreError};

use super::exec::{Row, Stmt, query, run};
use super::{RiskState, RiskWrite, SubjectState, from_json, to_json};
use crate::payments::ids::PaymentId;
use crate::payments::model::DecisionRecord;
use crate::risk::{AmountHistory, VelocityCounters};

fn user_key(user: UserId) -> Vec<u8> {
    let mut k = vec![b'u'];
    k.extend_from_slice(&user.to_bytes());
    k
}

fn device_key(device: DeviceId) -> Vec<u8> {
    let mut k = vec![b'd'];
    k.extend_from_slice(&device.to_bytes());
    k
}

async fn subject(db: &Database, key: Vec<u8>) -> Result<SubjectState, StoreError> {
    const SQL: &str = "SELECT version, counters, history FROM pay_risk_subjects WHERE subject = $1";
    let rows = query(db, SQL, vec![key.into()]).await?;
    let Some(r) = rows.first() else { return Ok(SubjectState::default()) };
    Ok(SubjectState { version: r.i64(0)?, counters: from_json(&r.text(1)?)?, history: from_json(&r.text(2)?)? })
}

pub(super) async fn risk_state(db: &Database, user: UserId, device: Option<DeviceId>) -> Result<RiskState, StoreError> {
    let user_state = subject(db, user_key(user)).await?;
    let Some(device) = device else {
        return Ok(RiskState { user: user_state, device: None, device_known: true });
    };
    let device_state = subject(db, device_key(device)).await?;
    const SQL: &str = "SELECT first_seen FROM pay_known_devices WHERE user_id = $1 AND device_id = $2";
    let known = !query(db, SQL, vec![user.to_bytes().into(), device.to_bytes().into()]).await?.is_empty();
    Ok(RiskState { user: user_state, device: Some(device_state), device_known: known })
}

fn write_subject(
    key: Vec<u8>,
    version: i64,
    counters: &VelocityCounters,
    history: &AmountHistory,
) -> Result<Stmt, StoreError> {
    let (counters, history) = (to_json(counters)?, to_json(history)?);
    Ok(if version == 0 {
        Stmt::one(
            "INSERT INTO pay_risk_subjects (subject, version, counters, history) VALUES ($1, 1, $2, $3) \
             ON CONFLICT DO NOTHING",
            vec![key.into(), counters.into(), history.into()],
        )
    } else {
        Stmt::one(
            "UPDATE pay_risk_subjects SET version = version + 1, counters = $1, history = $2 \
             WHERE subject = $3 AND version = $4",
            vec![counters.into(), history.into(), key.into(), version.into()],
        )
    })
}

/// The statements that write the risk state after an accepted payment; each must change one row
/// (a concurrent payment changed the versions read otherwise).
pub(super) fn write_stmts(w: &RiskWrite) -> Result<Vec<Stmt>, StoreError> {
    let mut script =
        vec![write_subject(user_key(w.user), w.user_version, &w.recorded.user_counters, &w.recorded.history)?];
    if let Some((device, version)) = w.device {
        let none = AmountHistory::default();
        script.push(write_subject(device_key(device), version, &w.recorded.device_counters, &none)?);
        script.push(Stmt::any(
            "INSERT INTO pay_known_devices (user_id, device_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vec![w.user.to_bytes().into(), device.to_bytes().into(), ts_to_sql(w.at).into()],
        ));
    }
    Ok(script)
}

pub(super) async fn mark_device_known(
    db: &Database,
    user: UserId,
    device: DeviceId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let stmt = Stmt::any(
        "INSERT INTO pay_known_devices (user_id, device_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        vec![user.to_bytes().into(), device.to_bytes().into(), ts_to_sql(at).into()],
    );
    run(db, vec![stmt]).await.map(|_| ())
}

pub(super) async fn record_decision(db: &Database, d: &DecisionRecord) -> Result<(), StoreError> {
    let outcome = to_json(&d.outcome)?;
    let stmt = Stmt::any(
        "INSERT INTO pay_risk_decisions (payment_id, user_id, at, outcome, fired) VALUES ($1, $2, $3, $4, $5)",
        vec![
            d.payment.to_bytes().into(),
            d.user.to_bytes().into(),
            ts_to_sql(d.at).into(),
            outcome.trim_matches('"').into(),
            to_json(&d.fired)?.into(),
        ],
    );
    run(db, vec![stmt]).await.map(|_| ())
}

fn decision(r: &Row) -> Result<DecisionRecord, StoreError> {
    Ok(DecisionRecord {
        payment: PaymentId::from_u128(id_from_sql(&r.bytes(0)?)?.as_u128()),
        user: UserId::from_raw(id_from_sql(&r.bytes(1)?)?),
        at: ts_from_sql(r.i64(2)?)?,
        outcome: from_json(&format!("\"{}\"", r.text(3)?))?,
        fired: from_json(&r.text(4)?)?,
    })
}

pub(super) async fn decisions(db: &Database, payment: PaymentId) -> Result<Vec<DecisionRecord>, StoreError> {
    const SQL: &str =
        "SELECT payment_id, user_id, at, outcome, fired FROM pay_risk_decisions WHERE payment_id = $1 ORDER BY seq";
    query(db, SQL, vec![payment.to_bytes().into()]).await?.iter().map(decision).collect()
}

pub(super) async fn set_payee_blocked(
    db: &Database,
    account: AccountId,
    reason: Option<String>,
    at: Timestamp,
) -> Result<(), StoreError> {
    let stmt = match reason {
        Some(reason) => Stmt::any(
            "INSERT INTO pay_blocked_payees (account_id, reason, blocked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET reason = excluded.reason, blocked_at = excluded.blocked_at",
            vec![account.to_bytes().into(), reason.into(), ts_to_sql(at).into()],
        ),
        None => Stmt::any("DELETE FROM pay_blocked_payees WHERE account_id = $1", vec![account.to_bytes().into()]),
    };
    run(db, vec![stmt]).await.map(|_| ())
}

pub(super) async fn payee_blocked(db: &Database, account: AccountId) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT blocked_at FROM pay_blocked_payees WHERE account_id = $1";
    Ok(!query(db, SQL, vec![account.to_bytes().into()]).await?.is_empty())
}
