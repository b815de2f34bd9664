//! Store operations of TOTP enrollments and recovery codes.

use qianbao_core::{Timestamp, UserId};
use qianbao_store::StoreError;

use super::sql::{Row, Tx, blob, id, int, query_opt, text, ts, uint};
use crate::otp::{OtpAlgorithm, OtpDigits, TotpParams};

/// A stored TOTP enrollment (the secret sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TotpRow {
    pub user: UserId,
    pub sealed_secret: Vec<u8>,
    pub params: TotpParams,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub last_step: Option<u64>,
    pub failures: u32,
    pub locked_until: Option<Timestamp>,
}

macro_rules! cols {
    () => {
        "user_id, sealed_secret, algorithm, digits, step_secs, created_at, confirmed_at, last_step, failures, \
         locked_until"
    };
}

fn from_row(r: &Row) -> Result<TotpRow, StoreError> {
    let alg = r.text(2)?;
    let digits = u8::try_from(r.int(3)?).ok().and_then(|d| OtpDigits::new(d).ok());
    Ok(TotpRow {
        user: UserId::from_raw(r.id(0)?),
        sealed_secret: r.blob(1)?,
        params: TotpParams {
            algorithm: OtpAlgorithm::from_uri_name(&alg)
                .ok_or_else(|| StoreError::corrupt(format!("unknown TOTP algorithm {alg:?}")))?,
            digits: digits.ok_or_else(|| StoreError::corrupt("stored TOTP digits out of range"))?,
            step_secs: r.u32(4)?,
        },
        created_at: r.ts(5)?,
        confirmed_at: r.opt_ts(6)?,
        last_step: r.opt_int(7)?.map(|v| u64::try_from(v).unwrap_or(0)),
        failures: r.u32(8)?,
        locked_until: r.opt_ts(9)?,
    })
}

/// The enrollment of `user`.
pub(crate) async fn get<T: Tx>(tx: &T, user: UserId) -> Result<Option<TotpRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_totp WHERE user_id = $1"), vec![id(user.raw())])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Stores a pending (unconfirmed) enrollment with its recovery-code digests, replacing a pending one.
/// `false` (nothing written) when a confirmed enrollment exists.
pub(crate) async fn put_pending<T: Tx>(tx: &T, row: TotpRow, recovery: Vec<[u8; 32]>) -> Result<bool, StoreError> {
    let user = id(row.user.raw());
    let n = tx
        .exec(
            "INSERT INTO token_totp (user_id, sealed_secret, algorithm, digits, step_secs, created_at, confirmed_at, \
             last_step, failures, locked_until) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 0, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
             algorithm = excluded.algorithm, digits = excluded.digits, step_secs = excluded.step_secs, \
             created_at = excluded.created_at, last_step = NULL, failures = 0, locked_until = NULL \
             WHERE token_totp.confirmed_at IS NULL",
            vec![
                user.clone(),
                blob(row.sealed_secret),
                text(row.params.algorithm.uri_name()),
                int(i64::from(row.params.digits.get())),
                uint(row.params.step_secs),
                ts(row.created_at),
            ],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    tx.exec("DELETE FROM token_recovery_codes WHERE user_id = $1", vec![user.clone()]).await?;
    for d in recovery {
        tx.exec(
            "INSERT INTO token_recovery_codes (user_id, digest, used_at) VALUES ($1, $2, NULL)",
            vec![user.clone(), blob(d.to_vec())],
        )
        .await?;
    }
    Ok(true)
}

/// Counts one try (a lock that has run out is lifted first); at `failures_max` tries the enrollment locks
/// until `lock_until`. Returns the row after the update, or the unchanged row (locked) or nothing, and
/// whether the try was counted.
pub(crate) async fn reserve_attempt<T: Tx>(
    tx: &T,
    user: UserId,
    now: Timestamp,
    failures_max: u32,
    lock_until: Timestamp,
) -> Result<(Option<TotpRow>, bool), StoreError> {
    let rows = tx
        .query(
            "UPDATE token_totp SET \
             failures = (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 0 ELSE failures END) + 1, \
             locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 0 \
             ELSE failures END) + 1 >= $3 THEN CAST($4 AS BIGINT) ELSE NULL END \
             WHERE user_id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
             RETURNING user_id, sealed_secret, algorithm, digits, step_secs, created_at, confirmed_at, last_step, \
             failures, locked_until",
            vec![id(user.raw()), ts(now), uint(failures_max), ts(lock_until)],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok((Some(from_row(r)?), true));
    }
    Ok((get(tx, user).await?, false))
}

/// Records a successful code at `step`: refused (`false`) unless `step` is later than every step used
/// before. Clears the failure count and confirms a pending enrollment.
pub(crate) async fn accept_step<T: Tx>(tx: &T, user: UserId, step: u64, now: Timestamp) -> Result<bool, StoreError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let n = tx
        .exec(
            "UPDATE token_totp SET last_step = $2, failures = 0, locked_until = NULL, \
             confirmed_at = COALESCE(confirmed_at, $3) \
             WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
            vec![id(user.raw()), int(step), ts(now)],
        )
        .await?;
    Ok(n == 1)
}

/// Clears the failure count (after a recovery code was accepted).
pub(crate) async fn clear_failures<T: Tx>(tx: &T, user: UserId) -> Result<(), StoreError> {
    tx.exec("UPDATE token_totp SET failures = 0, locked_until = NULL WHERE user_id = $1", vec![id(user.raw())]).await?;
    Ok(())
}

/// Uses a recovery code; `true` when it existed unused.
pub(crate) async fn use_recovery<T: Tx>(
    tx: &T,
    user: UserId,
    digest: [u8; 32],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .exec(
            "UPDATE token_recovery_codes SET used_at = $3 WHERE user_id = $1 AND digest = $2 AND used_at IS NULL",
            vec![id(user.raw()), blob(digest.to_vec()), ts(now)],
        )
        .await?;
    Ok(n == 1)
}

/// Unused recovery codes of `user`.
pub(crate) async fn recovery_left<T: Tx>(tx: &T, user: UserId) -> Result<u32, StoreError> {
    let rows = tx
        .query("SELECT count(*) FROM token_recovery_codes WHERE user_id = $1 AND used_at IS NULL", vec![id(user.raw())])
        .await?;
    rows.first().map(|r| r.u32(0)).transpose().map(|v| v.unwrap_or(0))
}

/// Removes the enrollment and its recovery codes; `true` when there was one.
pub(crate) async fn delete<T: Tx>(tx: &T, user: UserId) -> Result<bool, StoreError> {
    tx.exec("DELETE FROM token_recovery_codes WHERE user_id = $1", vec![id(user.raw())]).await?;
    Ok(tx.exec("DELETE FROM token_totp WHERE user_id = $1", vec![id(user.raw())]).await? == 1)
}
