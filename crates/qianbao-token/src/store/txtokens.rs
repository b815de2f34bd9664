//! Store operations of transaction tokens and their consumptions.

use qianbao_core::{AccountId, Currency, Money, Timestamp, TokenId, TransferId, UserId};
use qianbao_store::StoreError;

use super::sql::{P, Row, Tx, blob, id, int, opt_blob, query_opt, text, ts, uint};

/// A stored transaction token (the token itself only as a keyed digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxRow {
    pub id: TokenId,
    pub digest: [u8; 32],
    pub user: UserId,
    pub label: String,
    pub max_amount: Money,
    pub remaining: Money,
    pub max_uses: u32,
    pub remaining_uses: u32,
    pub payee: Option<AccountId>,
    pub cnf: Option<[u8; 32]>,
    pub channel: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A consumption of a transaction token by one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UseRow {
    pub id: TransferId,
    pub token: TokenId,
    pub amount_minor: i64,
    pub payee: AccountId,
    pub at: Timestamp,
    pub released_at: Option<Timestamp>,
}

macro_rules! cols {
    () => {
        "id, digest, user_id, label, currency, max_minor, remaining_minor, max_uses, remaining_uses, payee, cnf, \
         channel, created_at, expires_at, revoked_at"
    };
}

fn from_row(r: &Row) -> Result<TxRow, StoreError> {
    let cur = r.text(4)?;
    let currency = Currency::from_code(&cur).map_err(|_| StoreError::corrupt(format!("unknown currency {cur:?}")))?;
    Ok(TxRow {
        id: TokenId::from_raw(r.id(0)?),
        digest: r.b32(1)?,
        user: UserId::from_raw(r.id(2)?),
        label: r.text(3)?,
        max_amount: Money::from_minor(r.int(5)?, currency),
        remaining: Money::from_minor(r.int(6)?, currency),
        max_uses: r.u32(7)?,
        remaining_uses: r.u32(8)?,
        payee: r.opt_id(9)?.map(AccountId::from_raw),
        cnf: r.opt_b32(10)?,
        channel: r.text(11)?,
        created_at: r.ts(12)?,
        expires_at: r.ts(13)?,
        revoked_at: r.opt_ts(14)?,
    })
}

fn use_from(r: &Row) -> Result<UseRow, StoreError> {
    Ok(UseRow {
        id: TransferId::from_raw(r.id(0)?),
        token: TokenId::from_raw(r.id(1)?),
        amount_minor: r.int(2)?,
        payee: AccountId::from_raw(r.id(3)?),
        at: r.ts(4)?,
        released_at: r.opt_ts(5)?,
    })
}

/// Stores a new token.
pub(crate) async fn insert<T: Tx>(tx: &T, t: TxRow) -> Result<(), StoreError> {
    let params: Vec<P> = vec![
        id(t.id.raw()),
        blob(t.digest.to_vec()),
        id(t.user.raw()),
        text(t.label),
        text(t.max_amount.currency().code()),
        int(t.max_amount.minor()),
        int(t.remaining.minor()),
        uint(t.max_uses),
        uint(t.remaining_uses),
        opt_blob(t.payee.map(|p| p.to_bytes().to_vec())),
        opt_blob(t.cnf.map(|c| c.to_vec())),
        text(t.channel),
        ts(t.created_at),
        ts(t.expires_at),
    ];
    tx.exec(
        concat!(
            "INSERT INTO token_tx (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)"
        ),
        params,
    )
    .await?;
    Ok(())
}

/// The user's tokens, newest first.
pub(crate) async fn list<T: Tx>(tx: &T, user: UserId) -> Result<Vec<TxRow>, StoreError> {
    tx.query(
        concat!("SELECT ", cols!(), " FROM token_tx WHERE user_id = $1 ORDER BY created_at DESC, id DESC"),
        vec![id(user.raw())],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// One token by id.
pub(crate) async fn by_id<T: Tx>(tx: &T, token: TokenId) -> Result<Option<TxRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_tx WHERE id = $1"), vec![id(token.raw())])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

async fn by_digest<T: Tx>(tx: &T, digest: [u8; 32]) -> Result<Option<TxRow>, StoreError> {
    query_opt(tx, concat!("SELECT ", cols!(), " FROM token_tx WHERE digest = $1"), vec![blob(digest.to_vec())])
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Revokes the user's token `token` (if live); the row as it is after.
pub(crate) async fn revoke<T: Tx>(
    tx: &T,
    user: UserId,
    token: TokenId,
    now: Timestamp,
) -> Result<Option<TxRow>, StoreError> {
    tx.exec(
        "UPDATE token_tx SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        vec![id(token.raw()), id(user.raw()), ts(now)],
    )
    .await?;
    Ok(by_id(tx, token).await?.filter(|t| t.user == user))
}

/// Revokes every live token of the user; how many.
pub(crate) async fn revoke_all<T: Tx>(tx: &T, user: UserId, now: Timestamp) -> Result<u64, StoreError> {
    tx.exec(
        "UPDATE token_tx SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        vec![id(user.raw()), ts(now)],
    )
    .await
}

/// A consumption request, already checked for shape by the service.
#[derive(Debug, Clone)]
pub(crate) struct ConsumeArgs {
    pub digest: [u8; 32],
    pub user: UserId,
    pub amount: Money,
    pub payee: AccountId,
    pub presented_cnf: Option<[u8; 32]>,
    pub use_id: TransferId,
    pub now: Timestamp,
}

/// What a consumption did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Consumed {
    /// Counted now: the token after, and the consumption.
    Now(TxRow, UseRow),
    /// The consumption id was used before: the token and that consumption (nothing changed).
    Before(Option<TxRow>, UseRow),
    /// Refused: the token as found (nothing changed); the service explains why.
    Refused(Option<TxRow>),
}

/// Consumes one use and `amount` of the token atomically: one conditional UPDATE checks owner, currency,
/// payee, binding, revocation, expiry, remaining uses and remaining amount and decrements both, so
/// concurrent consumers cannot overspend; the consumption is recorded in the same transaction.
pub(crate) async fn consume<T: Tx>(tx: &T, a: ConsumeArgs) -> Result<Consumed, StoreError> {
    if let Some(r) = query_opt(
        tx,
        "SELECT id, token_id, amount_minor, payee, at, released_at FROM token_tx_uses WHERE id = $1",
        vec![id(a.use_id.raw())],
    )
    .await?
    {
        let u = use_from(&r)?;
        return Ok(Consumed::Before(by_id(tx, u.token).await?, u));
    }
    let rows = tx
        .query(
            concat!(
                "UPDATE token_tx SET remaining_uses = remaining_uses - 1, remaining_minor = remaining_minor - $2 \
                 WHERE digest = $1 AND user_id = $3 AND currency = $4 AND revoked_at IS NULL AND expires_at > $5 \
                 AND remaining_uses >= 1 AND remaining_minor >= $2 AND (payee IS NULL OR payee = $6) \
                 AND (cnf IS NULL OR cnf = $7) RETURNING ",
                cols!()
            ),
            vec![
                blob(a.digest.to_vec()),
                int(a.amount.minor()),
                id(a.user.raw()),
                text(a.amount.currency().code()),
                ts(a.now),
                id(a.payee.raw()),
                P::Blob(a.presented_cnf.map(|c| c.to_vec())),
            ],
        )
        .await?;
    let Some(r) = rows.first() else {
        return Ok(Consumed::Refused(by_digest(tx, a.digest).await?));
    };
    let token = from_row(r)?;
    let u = UseRow {
        id: a.use_id,
        token: token.id,
        amount_minor: a.amount.minor(),
        payee: a.payee,
        at: a.now,
        released_at: None,
    };
    tx.exec(
        "INSERT INTO token_tx_uses (id, token_id, amount_minor, payee, at, released_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        vec![id(u.id.raw()), id(u.token.raw()), int(u.amount_minor), id(u.payee.raw()), ts(u.at)],
    )
    .await?;
    Ok(Consumed::Now(token, u))
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Released {
    /// Given back now: the token after.
    Now(TxRow),
    /// It had been given back before (nothing changed).
    Before(Option<TxRow>),
    /// No such consumption.
    NotFound,
}

/// Gives a consumption's use and amount back to its token (once).
pub(crate) async fn release<T: Tx>(tx: &T, use_id: TransferId, now: Timestamp) -> Result<Released, StoreError> {
    let rows = tx
        .query(
            "UPDATE token_tx_uses SET released_at = $2 WHERE id = $1 AND released_at IS NULL \
             RETURNING id, token_id, amount_minor, payee, at, released_at",
            vec![id(use_id.raw()), ts(now)],
        )
        .await?;
    let Some(r) = rows.first() else {
        let found = query_opt(tx, "SELECT token_id FROM token_tx_uses WHERE id = $1", vec![id(use_id.raw())]).await?;
        return match found {
            Some(r) => Ok(Released::Before(by_id(tx, TokenId::from_raw(r.id(0)?)).await?)),
            None => Ok(Released::NotFound),
        };
    };
    let u = use_from(r)?;
    tx.exec(
        "UPDATE token_tx SET remaining_uses = remaining_uses + 1, remaining_minor = remaining_minor + $2 WHERE id = $1",
        vec![id(u.token.raw()), int(u.amount_minor)],
    )
    .await?;
    let token = by_id(tx, u.token).await?.ok_or_else(|| StoreError::corrupt("a consumed token vanished"))?;
    Ok(Released::Now(token))
}
