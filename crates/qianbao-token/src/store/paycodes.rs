//! Store operations of payment-code enrollments.

use qianbao_core::{DeviceId, Timestamp, UserId};
use qianbao_store::StoreError;

use super::sql::{Row, Tx, blob, id, int, query_opt, ts, uint};
use crate::paycode::PaycodeIndex;

/// A payment-code enrollment (its secret sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaycodeRow {
    pub index: PaycodeIndex,
    pub user: UserId,
    pub device: DeviceId,
    pub sealed_secret: Vec<u8>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_step: Option<u64>,
    pub failures: u32,
    pub window_start: Timestamp,
}

macro_rules! cols {
    () => {
        "idx, user_id, device_id, sealed_secret, created_at, revoked_at, last_step, failures, window_start"
    };
}

fn from_row(r: &Row) -> Result<PaycodeRow, StoreError> {
    let idx = u32::try_from(r.int(0)?).ok().and_then(|v| PaycodeIndex::new(v).ok());
    Ok(PaycodeRow {
        index: idx.ok_or_else(|| StoreError::corrupt("a stored payment-code index is out of range"))?,
        user: UserId::from_raw(r.id(1)?),
        device: DeviceId::from_raw(r.id(2)?),
        sealed_secret: r.blob(3)?,
        created_at: r.ts(4)?,
        revoked_at: r.opt_ts(5)?,
        last_step: r.opt_int(6)?.map(|v| u64::try_from(v).unwrap_or(0)),
        failures: r.u32(7)?,
        window_start: r.ts(8)?,
    })
}

/// Stores a new enrollment and revokes the device's earlier ones; `false` when the index is taken.
pub(crate) async fn enroll<T: Tx>(tx: &T, row: PaycodeRow) -> Result<bool, StoreError> {
    let n = tx
        .exec(
            concat!(
                "INSERT INTO token_paycodes (",
                cols!(),
                ") VALUES ($1, $2, $3, $4, $5, NULL, NULL, 0, $5) \
                     ON CONFLICT (idx) DO NOTHING"
            ),
            vec![
                int(i64::from(row.index.get())),
                id(row.user.raw()),
                id(row.device.raw()),
                blob(row.sealed_secret),
                ts(row.created_at),
            ],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    tx.exec(
        "UPDATE token_paycodes SET revoked_at = $4 WHERE user_id = $1 AND device_id = $2 AND idx <> $3 \
         AND revoked_at IS NULL",
        vec![id(row.user.raw()), id(row.device.raw()), int(i64::from(row.index.get())), ts(row.created_at)],
    )
    .await?;
    Ok(true)
}

/// One enrollment by index.
pub(crate) async fn get<T: Tx>(tx: &T, index: PaycodeIndex) -> Result<Option<PaycodeRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_paycodes WHERE idx = $1"), vec![int(i64::from(index.get()))])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Counts one try in the enrollment's failure window (a window older than `window_from` starts over)
/// unless the window is full. The row after, or as found (throttled, revoked) or nothing, and whether
/// the try was counted.
pub(crate) async fn reserve_attempt<T: Tx>(
    tx: &T,
    index: PaycodeIndex,
    now: Timestamp,
    window_from: Timestamp,
    failures_max: u32,
) -> Result<(Option<PaycodeRow>, bool), StoreError> {
    let rows = tx
        .query(
            concat!(
                "UPDATE token_paycodes SET \
                 failures = CASE WHEN window_start <= $2 THEN 1 ELSE failures + 1 END, \
                 window_start = CASE WHEN window_start <= $2 THEN $3 ELSE window_start END \
                 WHERE idx = $1 AND revoked_at IS NULL AND (window_start <= $2 OR failures < $4) RETURNING ",
                cols!()
            ),
            vec![int(i64::from(index.get())), ts(window_from), ts(now), uint(failures_max)],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok((Some(from_row(r)?), true));
    }
    Ok((get(tx, index).await?, false))
}

/// Accepts a verified code at `step` (refunding its counted try) unless a code of this or a later step
/// paid before; `true` when accepted.
pub(crate) async fn accept_step<T: Tx>(tx: &T, index: PaycodeIndex, step: u64) -> Result<bool, StoreError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    Ok(tx
        .exec(
            "UPDATE token_paycodes SET last_step = $2, failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
             WHERE idx = $1 AND revoked_at IS NULL AND (last_step IS NULL OR last_step < $2)",
            vec![int(i64::from(index.get())), int(step)],
        )
        .await?
        == 1)
}

/// Revokes the user's live enrollments (on one device, or all); how many.
pub(crate) async fn revoke<T: Tx>(
    tx: &T,
    user: UserId,
    device: Option<DeviceId>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    match device {
        Some(d) => {
            tx.exec(
                "UPDATE token_paycodes SET revoked_at = $3 WHERE user_id = $1 AND device_id = $2 AND revoked_at IS NULL",
                vec![id(user.raw()), id(d.raw()), ts(now)],
            )
            .await
        }
        None => {
            tx.exec(
                "UPDATE token_paycodes SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                vec![id(user.raw()), ts(now)],
            )
            .await
        }
    }
}
