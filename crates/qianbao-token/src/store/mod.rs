//! Storage of this crate: [`TokenDb`], the store over a [`qianbao_store::Database`] (SQLite by default,
//! PostgreSQL with the `postgres` feature), and the [`TokenStore`] trait.
//!
//! Tables (component `token`): `token_codes`, `token_code_sends` and `token_code_dests` (one-time codes as
//! keyed digests, the send log the daily cap counts, and one row per destination that serializes sends), `token_totp` and `token_recovery_codes`, `token_devices`,
//! `token_sessions` and `token_bearer` (session families and their access/refresh token digests),
//! `token_tx` and `token_tx_uses` (transaction tokens and their consumptions), `token_paycodes`
//! (payment-code enrollments, secrets sealed) and `token_qr` (QR confirmation challenges).
//!
//! Every operation is written once over the statement layer in `sql.rs` and runs in one database
//! transaction on either backend: the state-changing checks are conditional `UPDATE … WHERE …` statements
//! (remaining count and amount, unused, unlocked, unexpired), so concurrent callers — threads of one
//! instance or many instances on one PostgreSQL — cannot both win. The operations are the service's
//! ([`crate::Tokens`]) implementation detail; the conformance suite runs the service on both backends.

use std::future::Future;

use qianbao_core::Timestamp;
use qianbao_store::{Backend as DbBackend, Database, Migration};
use serde::{Deserialize, Serialize};

use crate::TokenError;

pub(crate) mod codes;
pub(crate) mod paycodes;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod qr;
pub(crate) mod sessions;
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
pub(crate) mod totp;
pub(crate) mod txtokens;

pub(crate) static MIGRATIONS: &[Migration] = &[Migration {
    component: "token",
    version: 1,
    name: "codes, totp, devices, sessions, bearer tokens, transaction tokens, payment codes, qr challenges",
    sqlite: include_str!("schema_sqlite.sql"),
    postgres: include_str!("schema_postgres.sql"),
}];

/// The store of this crate.
pub trait TokenStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), TokenError>> + Send;

    /// Deletes what can no longer be used (see [`PurgeCutoffs`]).
    fn purge_expired(&self, cutoffs: PurgeCutoffs) -> impl Future<Output = Result<PurgeReport, TokenError>> + Send;
}

/// What [`TokenStore::purge_expired`] deletes: rows whose usefulness ended before these times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    /// Codes that expired before this (kept past expiry while a lockout they carry still applies).
    pub codes_expired_before: Timestamp,
    /// Send-log entries before this (the daily cap looks back 24 hours).
    pub sends_before: Timestamp,
    /// Access and refresh tokens, and session families, that expired before this.
    pub tokens_expired_before: Timestamp,
    /// Transaction tokens (and their consumptions) that expired before this.
    pub tx_tokens_expired_before: Timestamp,
    /// Revoked payment-code enrollments revoked before this.
    pub paycodes_revoked_before: Timestamp,
    /// QR challenges that expired before this.
    pub qr_expired_before: Timestamp,
}

/// How many rows [`TokenStore::purge_expired`] deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// One-time codes.
    pub codes: u64,
    /// Send-log entries.
    pub code_sends: u64,
    /// Access and refresh token rows.
    pub bearer_tokens: u64,
    /// Session families.
    pub sessions: u64,
    /// Transaction tokens.
    pub tx_tokens: u64,
    /// Transaction-token consumptions.
    pub tx_uses: u64,
    /// Payment-code enrollments.
    pub paycodes: u64,
    /// QR challenges.
    pub qr_challenges: u64,
}

/// The concrete store of this crate over the shared database; the facade holds one of these.
#[derive(Debug, Clone)]
pub struct TokenDb {
    pub(crate) inner: Backend,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(qianbao_store::SqliteDb),
    #[cfg(feature = "postgres")]
    Postgres(qianbao_store::PgDb),
}

/// Runs `$body` (an expression over `$tx: &impl Tx` returning a future of `Result<_, StoreError>`) in one
/// transaction. `write` runs on SQLite's writer thread; `read` on a reader connection.
macro_rules! run {
    ($mode:ident, $db:expr, |$tx:ident| $body:expr) => {{
        let out: Result<_, qianbao_store::StoreError> = match &$db.inner {
            #[cfg(feature = "sqlite")]
            $crate::store::Backend::Sqlite(s) => {
                s.$mode(move |c| {
                    let $tx = &$crate::store::sqlite::SqliteTx(c);
                    $crate::store::sqlite::complete($body)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            $crate::store::Backend::Postgres(p) => $crate::store::pg_run!(p, |$tx| $body),
        };
        out
    }};
}
pub(crate) use run;

#[cfg(feature = "postgres")]
macro_rules! pg_run {
    ($p:expr, |$tx:ident| $body:expr) => {{
        async {
            let t = $crate::store::postgres::PgTx::begin($p).await?;
            let out = {
                let $tx = &t;
                $body.await
            };
            match out {
                Ok(v) => t.commit().await.map(|()| v),
                Err(e) => {
                    t.rollback().await;
                    Err(e)
                }
            }
        }
        .await
    }};
}
#[cfg(feature = "postgres")]
pub(crate) use pg_run;

impl TokenDb {
    /// Wraps `db` and applies this crate's migrations (component `token`).
    pub async fn open(db: Database) -> Result<TokenDb, TokenError> {
        let inner = match db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(s) => Backend::Sqlite(s),
            #[cfg(feature = "postgres")]
            Database::Postgres(p) => Backend::Postgres(p),
            #[allow(unreachable_patterns)]
            _ => return Err(TokenError::Misuse("this build does not support the database's backend".into())),
        };
        let store = TokenDb { inner };
        store.migrate().await?;
        Ok(store)
    }

    /// Which backend this is.
    pub fn backend(&self) -> DbBackend {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => DbBackend::Sqlite,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => DbBackend::Postgres,
        }
    }
}

impl TokenStore for TokenDb {
    async fn migrate(&self) -> Result<(), TokenError> {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(s) => s.migrate(MIGRATIONS).await?,
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.migrate(MIGRATIONS).await?,
        }
        Ok(())
    }

    async fn purge_expired(&self, cutoffs: PurgeCutoffs) -> Result<PurgeReport, TokenError> {
        Ok(run!(write, self, |tx| purge(tx, cutoffs))?)
    }
}

async fn purge_sends<T: sql::Tx>(tx: &T, before: Timestamp) -> Result<u64, qianbao_store::StoreError> {
    let n = tx.exec("DELETE FROM token_code_sends WHERE at < $1", vec![sql::ts(before)]).await?;
    tx.exec(
        "DELETE FROM token_code_dests WHERE NOT EXISTS \
         (SELECT 1 FROM token_code_sends s WHERE s.dest_digest = token_code_dests.dest_digest)",
        vec![],
    )
    .await?;
    Ok(n)
}

async fn purge<T: sql::Tx>(tx: &T, c: PurgeCutoffs) -> Result<PurgeReport, qianbao_store::StoreError> {
    use sql::ts;
    Ok(PurgeReport {
        codes: tx.exec("DELETE FROM token_codes WHERE expires_at < $1", vec![ts(c.codes_expired_before)]).await?,
        code_sends: purge_sends(tx, c.sends_before).await?,
        bearer_tokens: tx
            .exec("DELETE FROM token_bearer WHERE expires_at < $1", vec![ts(c.tokens_expired_before)])
            .await?,
        sessions: tx
            .exec(
                "DELETE FROM token_sessions WHERE expires_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM token_bearer b WHERE b.session_id = token_sessions.id)",
                vec![ts(c.tokens_expired_before)],
            )
            .await?,
        tx_uses: tx
            .exec(
                "DELETE FROM token_tx_uses WHERE token_id IN (SELECT id FROM token_tx WHERE expires_at < $1)",
                vec![ts(c.tx_tokens_expired_before)],
            )
            .await?,
        tx_tokens: tx.exec("DELETE FROM token_tx WHERE expires_at < $1", vec![ts(c.tx_tokens_expired_before)]).await?,
        paycodes: tx
            .exec(
                "DELETE FROM token_paycodes WHERE revoked_at IS NOT NULL AND revoked_at < $1",
                vec![ts(c.paycodes_revoked_before)],
            )
            .await?,
        qr_challenges: tx.exec("DELETE FROM token_qr WHERE expires_at < $1", vec![ts(c.qr_expired_before)]).await?,
    })
}
