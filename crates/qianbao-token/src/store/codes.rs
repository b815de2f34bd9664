//! Store operations of one-time codes.

use qianbao_core::{Id128, Timestamp};
use qianbao_store::StoreError;

use super::sql::{P, Row, Tx, blob, id, opt_ts, query_opt, text, ts, uint};
use crate::TokenError;
use crate::code::Purpose;

/// A stored one-time code (the code itself only as a keyed digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeRow {
    pub id: Id128,
    pub purpose: Purpose,
    pub subject: String,
    pub dest_digest: [u8; 32],
    pub code_digest: [u8; 32],
    pub created_at: Timestamp,
    pub sent_at: Timestamp,
    pub send_count: u32,
    pub expires_at: Timestamp,
    pub attempts: u32,
    pub locked_at: Option<Timestamp>,
    pub used_at: Option<Timestamp>,
}

macro_rules! cols {
    () => {
        "id, purpose, subject, dest_digest, code_digest, created_at, sent_at, send_count, expires_at, attempts, \
         locked_at, used_at"
    };
}

fn from_row(r: &Row) -> Result<CodeRow, StoreError> {
    let purpose = r.text(1)?;
    Ok(CodeRow {
        id: r.id(0)?,
        purpose: Purpose::from_name(&purpose)
            .ok_or_else(|| StoreError::corrupt(format!("unknown code purpose {purpose:?}")))?,
        subject: r.text(2)?,
        dest_digest: r.b32(3)?,
        code_digest: r.b32(4)?,
        created_at: r.ts(5)?,
        sent_at: r.ts(6)?,
        send_count: r.u32(7)?,
        expires_at: r.ts(8)?,
        attempts: r.u32(9)?,
        locked_at: r.opt_ts(10)?,
        used_at: r.opt_ts(11)?,
    })
}

/// What a send decided to write.
#[derive(Debug, Clone)]
pub(crate) enum CodeWrite {
    /// A new code record.
    New(CodeRow),
    /// A new code value for an existing record: failures kept.
    Resend { id: Id128, code_digest: [u8; 32], sent_at: Timestamp, expires_at: Timestamp },
}

/// Reads the newest code for (purpose, subject, destination) and the destination's sends since `since`
/// (their count and the latest), then writes — in the same transaction — what `decide` makes of them and
/// logs the send.
pub(crate) async fn send<T: Tx>(
    tx: &T,
    key: (Purpose, String, [u8; 32]),
    since: Timestamp,
    decide: impl FnOnce(Option<&CodeRow>, u32, Option<Timestamp>) -> Result<CodeWrite, TokenError>,
) -> Result<Result<CodeRow, TokenError>, StoreError> {
    let (purpose, subject, dest) = key;
    // Serialize sends to one destination: on PostgreSQL the upsert holds this row's lock until commit, so
    // a concurrent send waits and then sees this one (interval and daily cap hold across instances); on
    // SQLite the single writer already serializes.
    tx.exec(
        "INSERT INTO token_code_dests (dest_digest) VALUES ($1) \
         ON CONFLICT (dest_digest) DO UPDATE SET dest_digest = excluded.dest_digest",
        vec![blob(dest.to_vec())],
    )
    .await?;
    let latest = query_opt(
        tx,
        concat!(
            "SELECT ",
            cols!(),
            " FROM token_codes WHERE dest_digest = $1 AND purpose = $2 AND subject = $3 \
             ORDER BY created_at DESC LIMIT 1"
        ),
        vec![blob(dest.to_vec()), text(purpose.as_str()), text(subject)],
    )
    .await?
    .map(|r| from_row(&r))
    .transpose()?;
    let log = tx
        .query(
            "SELECT count(*), max(at) FROM token_code_sends WHERE dest_digest = $1 AND at >= $2",
            vec![blob(dest.to_vec()), ts(since)],
        )
        .await?;
    let (sends, last_send) = match log.first() {
        Some(r) => (r.u32(0)?, r.opt_ts(1)?),
        None => (0, None),
    };
    let write = match decide(latest.as_ref(), sends, last_send) {
        Ok(w) => w,
        Err(e) => return Ok(Err(e)),
    };
    let (row_id, at) = match write {
        CodeWrite::New(row) => {
            insert(tx, &row).await?;
            (row.id, row.sent_at)
        }
        CodeWrite::Resend { id: rid, code_digest, sent_at, expires_at } => {
            tx.exec(
                "UPDATE token_codes SET code_digest = $2, sent_at = $3, expires_at = $4, send_count = send_count + 1 \
                 WHERE id = $1",
                vec![id(rid), blob(code_digest.to_vec()), ts(sent_at), ts(expires_at)],
            )
            .await?;
            (rid, sent_at)
        }
    };
    tx.exec("INSERT INTO token_code_sends (dest_digest, at) VALUES ($1, $2)", vec![blob(dest.to_vec()), ts(at)])
        .await?;
    let row = by_id(tx, row_id).await?.ok_or_else(|| StoreError::corrupt("a code just written is missing"))?;
    Ok(Ok(row))
}

async fn insert<T: Tx>(tx: &T, r: &CodeRow) -> Result<(), StoreError> {
    let params: Vec<P> = vec![
        id(r.id),
        text(r.purpose.as_str()),
        text(r.subject.clone()),
        blob(r.dest_digest.to_vec()),
        blob(r.code_digest.to_vec()),
        ts(r.created_at),
        ts(r.sent_at),
        uint(r.send_count),
        ts(r.expires_at),
        uint(r.attempts),
        opt_ts(r.locked_at),
        opt_ts(r.used_at),
    ];
    tx.exec(
        "INSERT INTO token_codes (id, purpose, subject, dest_digest, code_digest, created_at, sent_at, send_count, \
         expires_at, attempts, locked_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        params,
    )
    .await?;
    Ok(())
}

/// One code by id.
pub(crate) async fn by_id<T: Tx>(tx: &T, code: Id128) -> Result<Option<CodeRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_codes WHERE id = $1"), vec![id(code)])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Counts one try against the code if it is unused, unlocked and unexpired (locking it at the last
/// allowed try) and returns it; otherwise returns the row unchanged, or nothing, and `false`.
pub(crate) async fn reserve_attempt<T: Tx>(
    tx: &T,
    code: Id128,
    now: Timestamp,
    attempts_max: u32,
) -> Result<(Option<CodeRow>, bool), StoreError> {
    let rows = tx
        .query(
            "UPDATE token_codes SET attempts = attempts + 1, \
             locked_at = CASE WHEN attempts + 1 >= $3 THEN $2 ELSE locked_at END \
             WHERE id = $1 AND used_at IS NULL AND locked_at IS NULL AND expires_at > $2 AND attempts < $3 \
             RETURNING id, purpose, subject, dest_digest, code_digest, created_at, sent_at, send_count, \
             expires_at, attempts, locked_at, used_at",
            vec![id(code), ts(now), uint(attempts_max)],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok((Some(from_row(r)?), true));
    }
    Ok((by_id(tx, code).await?, false))
}

/// Marks the code used unless it already was; `true` when this call used it.
pub(crate) async fn consume<T: Tx>(tx: &T, code: Id128, now: Timestamp) -> Result<bool, StoreError> {
    Ok(tx
        .exec("UPDATE token_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL", vec![id(code), ts(now)])
        .await?
        == 1)
}
