//! The PostgreSQL backend's reads: the journal head and its verification.

use qianbao_store::PgDb;
use qianbao_store::drivers::deadpool_postgres::GenericClient;
use qianbao_store::drivers::tokio_postgres::IsolationLevel;

use super::journal::{JournalCheck, JournalHead, Link, Verifier};
use super::postgres::{ACCOUNT_COLS, TRANSFER_COLS, account_row, pg, transfer_row};
use crate::{Account, FailedTransfer, LedgerError, Transfer};
use qianbao_store::StoreError;

pub(crate) async fn head(c: &impl GenericClient) -> Result<JournalHead, LedgerError> {
    let r = c.query_one("SELECT last_ts, seq, digest FROM ledger_head WHERE k = 1", &[]).await.map_err(pg)?;
    let digest: Vec<u8> = r.get(2);
    Ok(JournalHead {
        seq: u64::try_from(r.get::<_, i64>(1)).map_err(|_| StoreError::corrupt("negative journal sequence"))?,
        digest: digest.try_into().map_err(|_| StoreError::corrupt("a journal digest is 32 bytes"))?,
        last_timestamp: super::codec::ts_of(r.get(0))?,
    })
}

type LinkRows = (Vec<Transfer>, Vec<Account>, Vec<FailedTransfer>);

async fn link_rows(c: &impl GenericClient, from: i64, to: i64) -> Result<LinkRows, LedgerError> {
    let sql = format!("SELECT {TRANSFER_COLS} FROM ledger_transfers t WHERE t.ts > $1 AND t.ts <= $2 ORDER BY t.ts");
    let rows = c.query(&sql, &[&from, &to]).await.map_err(pg)?;
    let transfers = rows.iter().map(|r| transfer_row(r, 0)).collect::<Result<Vec<_>, _>>()?;
    let sql = format!("SELECT {ACCOUNT_COLS} FROM ledger_accounts WHERE ts > $1 AND ts <= $2 ORDER BY ts");
    let rows = c.query(&sql, &[&from, &to]).await.map_err(pg)?;
    let accounts = rows.iter().map(account_row).collect::<Result<Vec<_>, _>>()?;
    let sql = "SELECT id, result, ts FROM ledger_failed WHERE ts > $1 AND ts <= $2 ORDER BY ts";
    let rows = c.query(sql, &[&from, &to]).await.map_err(pg)?;
    let failed = rows
        .iter()
        .map(|r| super::codec::failed_of(r.get(0), i64::from(r.get::<_, i32>(1)), r.get(2)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((transfers, accounts, failed))
}

/// Recomputes the chain in one repeatable-read snapshot.
pub(crate) async fn verify(db: &PgDb) -> Result<JournalCheck, LedgerError> {
    let mut client = db.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let mut v = Verifier::new();
    let links = tx
        .query("SELECT seq, from_ts, to_ts, events, digest FROM ledger_journal ORDER BY seq", &[])
        .await
        .map_err(pg)?;
    for r in &links {
        let (seq, from_ts, to_ts): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
        let seq = u64::try_from(seq).unwrap_or(0);
        let (transfers, accounts, failed) = match link_rows(&tx, from_ts, to_ts).await {
            Ok(rows) => rows,
            Err(e) => return Ok(JournalCheck::Broken { seq, reason: format!("a row does not decode: {e}") }),
        };
        let link =
            Link { seq, from_ts, to_ts, transfers: &transfers, accounts: &accounts, failed: &failed, events: r.get(3) };
        if let Err(reason) = v.step(&link, r.get(4)) {
            return Ok(JournalCheck::Broken { seq, reason });
        }
    }
    let head = head(&tx).await?;
    let (seq, digest, to_ts) = v.position();
    if head.seq != seq || head.digest != digest || super::codec::ts(head.last_timestamp) != to_ts {
        return Ok(JournalCheck::Broken { seq: seq + 1, reason: "the head does not match the last batch".into() });
    }
    let (transfers, accounts, failed) = link_rows(&tx, to_ts, i64::MAX).await?;
    if !(transfers.is_empty() && accounts.is_empty() && failed.is_empty()) {
        return Ok(JournalCheck::Broken { seq: seq + 1, reason: "rows exist after the last batch".into() });
    }
    tx.commit().await.map_err(pg)?;
    Ok(JournalCheck::Intact { head })
}

fn pg_sql(sql: &str) -> String {
    sql.replace("{cols}", TRANSFER_COLS)
}

/// One page of an account's transfers, newest first (PostgreSQL indexes every batch: no tail).
pub(crate) async fn transfers_page(
    db: &PgDb,
    account: qianbao_core::AccountId,
    b: &super::query::Bounds,
    dir: i32,
    code: i32,
) -> Result<Vec<Transfer>, LedgerError> {
    let client = db.client().await?;
    let key = account.to_bytes();
    let sql = pg_sql(super::query::MERGED_SQL);
    let rows = client.query(&sql, &[&&key[..], &b.lo, &b.hi, &i64::MAX, &dir, &code, &b.limit]).await.map_err(pg)?;
    Ok(rows.iter().map(|r| transfer_row(r, 0)).collect::<Result<Vec<_>, _>>()?)
}

/// One page of an account's balance history, newest first.
pub(crate) async fn balances_page(
    db: &PgDb,
    account: qianbao_core::AccountId,
    b: &super::query::Bounds,
) -> Result<Vec<crate::AccountBalance>, LedgerError> {
    let client = db.client().await?;
    let key = account.to_bytes();
    let rows = client.query(super::query::BALANCES_SQL, &[&&key[..], &b.lo, &b.hi, &b.limit]).await.map_err(pg)?;
    let mut out = Vec::new();
    for r in &rows {
        let u = |i| super::codec::u128_of(r.get(i));
        out.push(crate::AccountBalance {
            account_id: account,
            timestamp: super::codec::ts_of(r.get(0))?,
            balance: crate::Balance {
                debits_pending: u(1)?,
                debits_posted: u(2)?,
                credits_pending: u(3)?,
                credits_posted: u(4)?,
            },
        });
    }
    Ok(out)
}
