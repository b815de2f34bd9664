//! Red packets and their claims. A receiver claims once: `(packet_id, receiver)` is unique.

use qianbao_core::{Money, Timestamp, UserId};
use qianbao_store::sql::{id_from_sql, ts_from_sql, ts_to_sql};
use qianbao_store::{Database, StoreError};

use super::exec::{Row, ScriptResult, Stmt, query, run};
use super::{
    ClaimOutcome, ClaimState, FeeUsageWrite, Inserted, PacketBody, StoredClaim, StoredPacket, from_json, limit_sql,
    to_json,
};
use crate::payments::model::PacketStatus;
use crate::redpacket::{Claim, RedPacketId};

fn key(id: RedPacketId) -> Vec<u8> {
    id.as_u128().to_be_bytes().to_vec()
}

pub(super) async fn insert_packet(db: &Database, b: &PacketBody) -> Result<Inserted<StoredPacket>, StoreError> {
    let stmt = Stmt::one(
        "INSERT INTO pay_red_packets (id, sender, state, claimed_count, share_count, expires_at, returned_minor, \
         created_at, body) VALUES ($1, $2, 'funding', 0, $3, $4, NULL, $5, $6) ON CONFLICT DO NOTHING",
        vec![
            key(b.id).into(),
            b.sender.to_bytes().into(),
            (b.shares.len() as i64).into(),
            ts_to_sql(b.expires_at).into(),
            ts_to_sql(b.created_at).into(),
            to_json(b)?.into(),
        ],
    );
    match run(db, vec![stmt]).await? {
        ScriptResult::Done => Ok(Inserted::New),
        ScriptResult::Stopped(_) => packet(db, b.id)
            .await?
            .map(Inserted::Existing)
            .ok_or_else(|| StoreError::corrupt(format!("red packet {} vanished", b.id))),
    }
}

fn claim_state(s: &str) -> Result<ClaimState, StoreError> {
    match s {
        "reserved" => Ok(ClaimState::Reserved),
        "paid" => Ok(ClaimState::Paid),
        "failed" => Ok(ClaimState::Failed),
        other => Err(StoreError::corrupt(format!("claim state {other:?}"))),
    }
}

fn stored_claim(r: &Row, currency: qianbao_core::Currency) -> Result<StoredClaim, StoreError> {
    Ok(StoredClaim {
        claim: Claim {
            share_index: u32::try_from(r.i64(0)?).map_err(|_| StoreError::corrupt("share index out of range"))?,
            receiver: UserId::from_raw(id_from_sql(&r.bytes(1)?)?),
            amount: Money::from_minor(r.i64(2)?, currency),
            claimed_at: ts_from_sql(r.i64(3)?)?,
        },
        state: claim_state(&r.text(4)?)?,
    })
}

fn status(code: &str, returned: Option<i64>, currency: qianbao_core::Currency) -> Result<PacketStatus, StoreError> {
    Ok(match (code, returned) {
        ("funding", _) => PacketStatus::Funding,
        ("open", _) => PacketStatus::Open,
        ("exhausted", _) => PacketStatus::Exhausted,
        ("returning", _) => PacketStatus::Returning,
        ("expired", Some(r)) => PacketStatus::Expired { returned: Money::from_minor(r, currency) },
        (other, _) => return Err(StoreError::corrupt(format!("red packet state {other:?}"))),
    })
}

pub(super) async fn packet(db: &Database, id: RedPacketId) -> Result<Option<StoredPacket>, StoreError> {
    const SQL: &str = "SELECT state, returned_minor, claimed_count, body FROM pay_red_packets WHERE id = $1";
    let rows = query(db, SQL, vec![key(id).into()]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let body: PacketBody = from_json(&r.text(3)?)?;
    let currency = body.total.currency();
    const CLAIMS: &str = "SELECT share_index, receiver, amount_minor, claimed_at, state FROM pay_red_packet_claims \
                          WHERE packet_id = $1 ORDER BY share_index";
    let claims = query(db, CLAIMS, vec![key(id).into()])
        .await?
        .iter()
        .map(|c| stored_claim(c, currency))
        .collect::<Result<Vec<_>, _>>()?;
    // Pair assertion across the storage boundary: the count column is the number of claim rows.
    if usize::try_from(r.i64(2)?).ok() != Some(claims.len()) {
        return Err(StoreError::corrupt(format!("red packet {id}: claim count and claims disagree")));
    }
    Ok(Some(StoredPacket { status: status(&r.text(0)?, r.opt_i64(1)?, currency)?, body, claims }))
}

async fn transition(db: &Database, sql: &'static str, params: Vec<super::exec::Param>) -> Result<bool, StoreError> {
    Ok(run(db, vec![Stmt::one(sql, params)]).await? == ScriptResult::Done)
}

pub(super) async fn mark_funded(
    db: &Database,
    id: RedPacketId,
    fee_usage: Option<FeeUsageWrite>,
) -> Result<bool, StoreError> {
    let mut script = vec![Stmt::one(
        "UPDATE pay_red_packets SET state = 'open' WHERE id = $1 AND state = 'funding'",
        vec![key(id).into()],
    )];
    if let Some(f) = &fee_usage {
        script.push(super::payments::fee_usage_stmt(f)?);
    }
    Ok(run(db, script).await? == ScriptResult::Done)
}

pub(super) async fn delete_funding(db: &Database, id: RedPacketId) -> Result<bool, StoreError> {
    transition(db, "DELETE FROM pay_red_packets WHERE id = $1 AND state = 'funding'", vec![key(id).into()]).await
}

pub(super) async fn reserve_claim(db: &Database, id: RedPacketId, c: &Claim) -> Result<ClaimOutcome, StoreError> {
    let script = vec![
        Stmt::one(
            "UPDATE pay_red_packets SET claimed_count = claimed_count + 1, \
             state = CASE WHEN claimed_count + 1 = share_count THEN 'exhausted' ELSE 'open' END \
             WHERE id = $1 AND state = 'open' AND claimed_count = $2 AND expires_at > $3",
            vec![key(id).into(), i64::from(c.share_index).into(), ts_to_sql(c.claimed_at).into()],
        ),
        Stmt::one(
            "INSERT INTO pay_red_packet_claims (packet_id, share_index, receiver, amount_minor, claimed_at, state) \
             VALUES ($1, $2, $3, $4, $5, 'reserved') ON CONFLICT DO NOTHING",
            vec![
                key(id).into(),
                i64::from(c.share_index).into(),
                c.receiver.to_bytes().into(),
                c.amount.minor().into(),
                ts_to_sql(c.claimed_at).into(),
            ],
        ),
    ];
    match run(db, script).await? {
        ScriptResult::Done => Ok(ClaimOutcome::Reserved),
        ScriptResult::Stopped(0) => Ok(ClaimOutcome::Stale),
        ScriptResult::Stopped(_) => {
            const SQL: &str = "SELECT share_index, receiver, amount_minor, claimed_at, state \
                               FROM pay_red_packet_claims WHERE packet_id = $1 AND receiver = $2";
            let rows = query(db, SQL, vec![key(id).into(), c.receiver.to_bytes().into()]).await?;
            match rows.first() {
                Some(r) => Ok(ClaimOutcome::Existing(stored_claim(r, c.amount.currency())?)),
                None => Ok(ClaimOutcome::Stale),
            }
        }
    }
}

pub(super) async fn settle_claim(
    db: &Database,
    id: RedPacketId,
    index: u32,
    to: ClaimState,
) -> Result<bool, StoreError> {
    transition(
        db,
        "UPDATE pay_red_packet_claims SET state = $1 WHERE packet_id = $2 AND share_index = $3 AND state = 'reserved'",
        vec![to.as_str().into(), key(id).into(), i64::from(index).into()],
    )
    .await
}

pub(super) async fn packets_sent_since(
    db: &Database,
    sender: UserId,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<RedPacketId>, StoreError> {
    const SQL: &str = "SELECT id FROM pay_red_packets WHERE sender = $1 AND created_at >= $2 \
        ORDER BY created_at DESC, id LIMIT $3";
    query(db, SQL, vec![sender.to_bytes().into(), ts_to_sql(since).into(), limit_sql(limit).into()])
        .await?
        .iter()
        .map(|r| Ok(RedPacketId::from_u128(id_from_sql(&r.bytes(0)?)?.as_u128())))
        .collect()
}

pub(super) async fn packets_due(db: &Database, now: Timestamp, limit: u32) -> Result<Vec<RedPacketId>, StoreError> {
    const SQL: &str = "SELECT id FROM pay_red_packets p WHERE (state = 'open' AND expires_at <= $1) \
        OR state = 'returning' \
        OR (state = 'exhausted' AND expires_at <= $1 AND EXISTS (SELECT 1 FROM pay_red_packet_claims c \
            WHERE c.packet_id = p.id AND c.state = 'failed')) \
        ORDER BY expires_at, id LIMIT $2";
    query(db, SQL, vec![ts_to_sql(now).into(), limit_sql(limit).into()])
        .await?
        .iter()
        .map(|r| Ok(RedPacketId::from_u128(id_from_sql(&r.bytes(0)?)?.as_u128())))
        .collect()
}

pub(super) async fn begin_return(db: &Database, id: RedPacketId, now: Timestamp) -> Result<bool, StoreError> {
    transition(
        db,
        "UPDATE pay_red_packets SET state = 'returning' WHERE id = $1 AND state IN ('open', 'exhausted') \
         AND expires_at <= $2",
        vec![key(id).into(), ts_to_sql(now).into()],
    )
    .await
}

pub(super) async fn finish_return(db: &Database, id: RedPacketId, returned: Money) -> Result<bool, StoreError> {
    transition(
        db,
        "UPDATE pay_red_packets SET state = 'expired', returned_minor = $1 WHERE id = $2 AND state = 'returning'",
        vec![returned.minor().into(), key(id).into()],
    )
    .await
}
