//! Store operations of QR confirmation challenges.

use qianbao_core::{DeviceId, Timestamp, TokenId, UserId};
use qianbao_store::StoreError;

use super::sql::{Row, Tx, blob, id, opt_blob, query_opt, text, ts};
use crate::qr::QrPurpose;

/// A stored challenge (nonce and poll secret only as keyed digests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QrRow {
    pub id: TokenId,
    pub nonce_digest: [u8; 32],
    pub poll_digest: [u8; 32],
    pub purpose: QrPurpose,
    pub expected_user: Option<UserId>,
    pub device: DeviceId,
    pub device_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: String,
    pub approver_user: Option<UserId>,
    pub approver_device: Option<DeviceId>,
    pub decided_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

macro_rules! cols {
    () => {
        "id, nonce_digest, poll_digest, purpose, expected_user, device_id, device_name, created_at, expires_at, \
         status, approver_user, approver_device, decided_at, completed_at"
    };
}

fn from_row(r: &Row) -> Result<QrRow, StoreError> {
    let purpose = r.text(3)?;
    Ok(QrRow {
        id: TokenId::from_raw(r.id(0)?),
        nonce_digest: r.b32(1)?,
        poll_digest: r.b32(2)?,
        purpose: QrPurpose::from_name(&purpose)
            .ok_or_else(|| StoreError::corrupt(format!("unknown QR purpose {purpose:?}")))?,
        expected_user: r.opt_id(4)?.map(UserId::from_raw),
        device: DeviceId::from_raw(r.id(5)?),
        device_name: r.text(6)?,
        created_at: r.ts(7)?,
        expires_at: r.ts(8)?,
        status: r.text(9)?,
        approver_user: r.opt_id(10)?.map(UserId::from_raw),
        approver_device: r.opt_id(11)?.map(DeviceId::from_raw),
        decided_at: r.opt_ts(12)?,
        completed_at: r.opt_ts(13)?,
    })
}

/// Stores a new pending challenge.
pub(crate) async fn insert<T: Tx>(tx: &T, q: QrRow) -> Result<(), StoreError> {
    tx.exec(
        concat!(
            "INSERT INTO token_qr (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', NULL, NULL, NULL, NULL)"
        ),
        vec![
            id(q.id.raw()),
            blob(q.nonce_digest.to_vec()),
            blob(q.poll_digest.to_vec()),
            text(q.purpose.as_str()),
            opt_blob(q.expected_user.map(|u| u.to_bytes().to_vec())),
            id(q.device.raw()),
            text(q.device_name),
            ts(q.created_at),
            ts(q.expires_at),
        ],
    )
    .await?;
    Ok(())
}

/// One challenge by id.
pub(crate) async fn get<T: Tx>(tx: &T, q: TokenId) -> Result<Option<QrRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_qr WHERE id = $1"), vec![id(q.raw())])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

async fn by_nonce<T: Tx>(tx: &T, nonce: [u8; 32]) -> Result<Option<QrRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_qr WHERE nonce_digest = $1"), vec![blob(nonce.to_vec())])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Approves or denies a pending, unexpired challenge for the approver (same user when the challenge
/// names one, another device). The row after and whether this call decided it.
pub(crate) async fn decide<T: Tx>(
    tx: &T,
    nonce: [u8; 32],
    approve: bool,
    user: UserId,
    device: DeviceId,
    now: Timestamp,
) -> Result<(Option<QrRow>, bool), StoreError> {
    let rows = tx
        .query(
            concat!(
                "UPDATE token_qr SET status = $2, approver_user = $3, approver_device = $4, decided_at = $5 \
                 WHERE nonce_digest = $1 AND status = 'pending' AND expires_at > $5 \
                 AND (expected_user IS NULL OR expected_user = $3) AND device_id <> $4 RETURNING ",
                cols!()
            ),
            vec![
                blob(nonce.to_vec()),
                text(if approve { "approved" } else { "denied" }),
                id(user.raw()),
                id(device.raw()),
                ts(now),
            ],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok((Some(from_row(r)?), true));
    }
    Ok((by_nonce(tx, nonce).await?, false))
}

/// Completes an approved challenge for the holder of its poll secret, if it did not expire before
/// `not_expired_before` (the service passes `now - qr_ttl`: an approval made in time can be collected a
/// little later). The row after (or as found) and whether this call completed it.
pub(crate) async fn complete<T: Tx>(
    tx: &T,
    q: TokenId,
    poll: [u8; 32],
    now: Timestamp,
    not_expired_before: Timestamp,
) -> Result<(Option<QrRow>, bool), StoreError> {
    let rows = tx
        .query(
            concat!(
                "UPDATE token_qr SET status = 'completed', completed_at = $3 \
                 WHERE id = $1 AND poll_digest = $2 AND status = 'approved' AND expires_at > $4 RETURNING ",
                cols!()
            ),
            vec![id(q.raw()), blob(poll.to_vec()), ts(now), ts(not_expired_before)],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok((Some(from_row(r)?), true));
    }
    Ok((get(tx, q).await?, false))
}
