//! Store operations of devices, session families and their bearer tokens.

use qianbao_core::{DeviceId, SessionId, Timestamp, UserId};
use qianbao_store::StoreError;

use super::sql::{P, Row, Tx, blob, id, opt_blob, opt_text, query_opt, text, ts};
use crate::bearer::TokenKind;

/// A session family: one login on one device, through all its refresh rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    pub id: SessionId,
    pub user: UserId,
    pub device: DeviceId,
    pub client_id: Option<String>,
    pub scope: String,
    pub cnf: Option<[u8; 32]>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One access or refresh token of a session (by digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BearerRow {
    pub digest: [u8; 32],
    pub session: SessionId,
    pub kind: TokenKind,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub spent_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A device as stored, with the number of its live sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRow {
    pub device: DeviceId,
    pub name: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub address: Option<String>,
    pub active_sessions: u32,
}

macro_rules! session_cols {
    () => {
        "s.id, s.user_id, s.device_id, s.client_id, s.scope, s.cnf, s.created_at, s.expires_at, s.revoked_at"
    };
}

macro_rules! bearer_cols {
    () => {
        "b.digest, b.session_id, b.kind, b.issued_at, b.expires_at, b.spent_at, b.revoked_at"
    };
}

fn session_from(r: &Row, o: usize) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: SessionId::from_raw(r.id(o)?),
        user: UserId::from_raw(r.id(o + 1)?),
        device: DeviceId::from_raw(r.id(o + 2)?),
        client_id: r.opt_text(o + 3)?,
        scope: r.text(o + 4)?,
        cnf: r.opt_b32(o + 5)?,
        created_at: r.ts(o + 6)?,
        expires_at: r.ts(o + 7)?,
        revoked_at: r.opt_ts(o + 8)?,
    })
}

fn bearer_from(r: &Row) -> Result<BearerRow, StoreError> {
    let kind = r.text(2)?;
    Ok(BearerRow {
        digest: r.b32(0)?,
        session: SessionId::from_raw(r.id(1)?),
        kind: TokenKind::from_name(&kind).ok_or_else(|| StoreError::corrupt(format!("unknown token kind {kind:?}")))?,
        issued_at: r.ts(3)?,
        expires_at: r.ts(4)?,
        spent_at: r.opt_ts(5)?,
        revoked_at: r.opt_ts(6)?,
    })
}

/// Records that `user` used `device` at `now` (creating the device on first sight); `true` when new.
pub(crate) async fn see_device<T: Tx>(
    tx: &T,
    user: UserId,
    device: DeviceId,
    name: Option<String>,
    address: Option<String>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = tx
        .exec(
            "UPDATE token_devices SET last_seen = $3, name = COALESCE($4, name), address = COALESCE($5, address) \
             WHERE user_id = $1 AND device_id = $2",
            vec![id(user.raw()), id(device.raw()), ts(now), opt_text(name.clone()), opt_text(address.clone())],
        )
        .await?;
    if updated == 1 {
        return Ok(false);
    }
    let inserted = tx
        .exec(
            "INSERT INTO token_devices (user_id, device_id, name, first_seen, last_seen, address) \
             VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (user_id, device_id) DO NOTHING",
            vec![id(user.raw()), id(device.raw()), text(name.unwrap_or_default()), ts(now), opt_text(address)],
        )
        .await?;
    Ok(inserted == 1)
}

async fn insert_bearer<T: Tx>(tx: &T, b: &BearerRow) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO token_bearer (digest, session_id, kind, issued_at, expires_at, spent_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, NULL)",
        vec![blob(b.digest.to_vec()), id(b.session.raw()), text(b.kind.as_str()), ts(b.issued_at), ts(b.expires_at)],
    )
    .await?;
    Ok(())
}

/// Stores a new session with its first access and refresh tokens and records the device; `true` when the
/// device was new for the user.
pub(crate) async fn create<T: Tx>(
    tx: &T,
    s: SessionRow,
    tokens: [BearerRow; 2],
    device_name: Option<String>,
    address: Option<String>,
) -> Result<bool, StoreError> {
    let new_device = see_device(tx, s.user, s.device, device_name, address, s.created_at).await?;
    let params: Vec<P> = vec![
        id(s.id.raw()),
        id(s.user.raw()),
        id(s.device.raw()),
        opt_text(s.client_id),
        text(s.scope),
        opt_blob(s.cnf.map(|c| c.to_vec())),
        ts(s.created_at),
        ts(s.expires_at),
    ];
    tx.exec(
        "INSERT INTO token_sessions (id, user_id, device_id, client_id, scope, cnf, created_at, expires_at, \
         revoked_at, revoke_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        params,
    )
    .await?;
    for b in &tokens {
        insert_bearer(tx, b).await?;
    }
    Ok(new_device)
}

/// A token and its session, by digest.
pub(crate) async fn lookup<T: Tx>(tx: &T, digest: [u8; 32]) -> Result<Option<(BearerRow, SessionRow)>, StoreError> {
    let row = query_opt(
        tx,
        concat!(
            "SELECT ",
            bearer_cols!(),
            ", ",
            session_cols!(),
            " FROM token_bearer b JOIN token_sessions s ON s.id = b.session_id WHERE b.digest = $1"
        ),
        vec![blob(digest.to_vec())],
    )
    .await?;
    row.map(|r| Ok((bearer_from(&r)?, session_from(&r, 7)?))).transpose()
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// Spent now; the new tokens were stored. The session as it is now.
    Rotated(SessionRow),
    /// Already spent before: the whole family (this session) is now revoked.
    Reused(SessionId),
    /// Unknown, not a refresh token, expired or revoked: the rows as found (nothing changed).
    Refused(Option<(BearerRow, SessionRow)>),
}

/// Spends a refresh token and stores its successors, or — when it was already spent — revokes the whole
/// session family, all in one transaction.
pub(crate) async fn rotate<T: Tx>(
    tx: &T,
    digest: [u8; 32],
    now: Timestamp,
    next: [BearerRow; 2],
) -> Result<Rotation, StoreError> {
    let spent = tx
        .query(
            "UPDATE token_bearer SET spent_at = $2 WHERE digest = $1 AND kind = 'refresh' AND spent_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 \
             AND session_id IN (SELECT id FROM token_sessions WHERE revoked_at IS NULL) RETURNING session_id",
            vec![blob(digest.to_vec()), ts(now)],
        )
        .await?;
    let Some(first) = spent.first() else {
        let found = lookup(tx, digest).await?;
        if let Some((b, s)) = &found
            && b.kind == TokenKind::Refresh
            && b.spent_at.is_some()
        {
            revoke_session(tx, s.id, now, "refresh_token_reused").await?;
            return Ok(Rotation::Reused(s.id));
        }
        return Ok(Rotation::Refused(found));
    };
    let session = SessionId::from_raw(first.id(0)?);
    let refresh_exp = next[1].expires_at;
    for mut b in next {
        b.session = session;
        insert_bearer(tx, &b).await?;
    }
    tx.exec(
        "UPDATE token_sessions SET expires_at = $2 WHERE id = $1 AND expires_at < $2",
        vec![id(session.raw()), ts(refresh_exp)],
    )
    .await?;
    let row = query_opt(
        tx,
        concat!("SELECT ", session_cols!(), " FROM token_sessions s WHERE s.id = $1"),
        vec![id(session.raw())],
    )
    .await?
    .ok_or_else(|| StoreError::corrupt("a session vanished during rotation"))?;
    let s = session_from(&row, 0)?;
    see_device(tx, s.user, s.device, None, None, now).await?;
    Ok(Rotation::Rotated(s))
}

/// Revokes one session family and every token of it; `true` when it was live.
pub(crate) async fn revoke_session<T: Tx>(
    tx: &T,
    s: SessionId,
    now: Timestamp,
    reason: &str,
) -> Result<bool, StoreError> {
    let n = tx
        .exec(
            "UPDATE token_sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
            vec![id(s.raw()), ts(now), text(reason)],
        )
        .await?;
    tx.exec(
        "UPDATE token_bearer SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL",
        vec![id(s.raw()), ts(now)],
    )
    .await?;
    Ok(n == 1)
}

/// Revokes one token by digest (a refresh token takes its whole family along, RFC 7009 §2.1). Returns
/// the session and kind when the token was known.
pub(crate) async fn revoke_token<T: Tx>(
    tx: &T,
    digest: [u8; 32],
    now: Timestamp,
) -> Result<Option<(SessionId, TokenKind)>, StoreError> {
    let Some((b, s)) = lookup(tx, digest).await? else { return Ok(None) };
    match b.kind {
        TokenKind::Refresh => {
            revoke_session(tx, s.id, now, "revoked").await?;
        }
        _ => {
            tx.exec(
                "UPDATE token_bearer SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL",
                vec![blob(digest.to_vec()), ts(now)],
            )
            .await?;
        }
    }
    Ok(Some((s.id, b.kind)))
}

/// Which sessions to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector {
    /// Every live session of the user.
    User(UserId),
    /// The user's live sessions on one device.
    Device(UserId, DeviceId),
    /// The user's live sessions on every device but one.
    AllBut(UserId, DeviceId),
}

/// Revokes the selected live sessions; their ids.
pub(crate) async fn revoke_where<T: Tx>(
    tx: &T,
    sel: Selector,
    now: Timestamp,
    reason: &'static str,
) -> Result<Vec<SessionId>, StoreError> {
    let rows = match sel {
        Selector::User(u) => {
            tx.query("SELECT id FROM token_sessions WHERE user_id = $1 AND revoked_at IS NULL", vec![id(u.raw())])
                .await?
        }
        Selector::Device(u, d) => {
            tx.query(
                "SELECT id FROM token_sessions WHERE user_id = $1 AND device_id = $2 AND revoked_at IS NULL",
                vec![id(u.raw()), id(d.raw())],
            )
            .await?
        }
        Selector::AllBut(u, d) => {
            tx.query(
                "SELECT id FROM token_sessions WHERE user_id = $1 AND device_id <> $2 AND revoked_at IS NULL",
                vec![id(u.raw()), id(d.raw())],
            )
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let s = SessionId::from_raw(r.id(0)?);
        if revoke_session(tx, s, now, reason).await? {
            out.push(s);
        }
    }
    Ok(out)
}

fn device_from(r: &Row) -> Result<DeviceRow, StoreError> {
    Ok(DeviceRow {
        device: DeviceId::from_raw(r.id(0)?),
        name: r.text(1)?,
        first_seen: r.ts(2)?,
        last_seen: r.ts(3)?,
        address: r.opt_text(4)?,
        active_sessions: r.u32(5)?,
    })
}

/// The user's devices (oldest first) with their live-session counts at `now`.
pub(crate) async fn devices<T: Tx>(tx: &T, user: UserId, now: Timestamp) -> Result<Vec<DeviceRow>, StoreError> {
    tx.query(
        "SELECT d.device_id, d.name, d.first_seen, d.last_seen, d.address, \
         (SELECT count(*) FROM token_sessions s WHERE s.user_id = d.user_id AND s.device_id = d.device_id \
          AND s.revoked_at IS NULL AND s.expires_at > $2) \
         FROM token_devices d WHERE d.user_id = $1 ORDER BY d.first_seen, d.device_id",
        vec![id(user.raw()), ts(now)],
    )
    .await?
    .iter()
    .map(device_from)
    .collect()
}

/// Whether the user has used the device before.
pub(crate) async fn device_known<T: Tx>(tx: &T, user: UserId, device: DeviceId) -> Result<bool, StoreError> {
    Ok(query_opt(
        tx,
        "SELECT 1 FROM token_devices WHERE user_id = $1 AND device_id = $2",
        vec![id(user.raw()), id(device.raw())],
    )
    .await?
    .is_some())
}
