//! The SQLite backend's reads: the journal head and its verification.

use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{Connection, params};

use super::codec::{DIR_CREDIT, DIR_DEBIT};
use super::journal::{JournalCheck, JournalHead, Link, Verifier};
use super::sqlite::{ACCOUNT_COLS, TRANSFER_COLS, account_row, blob, transfer_row};
use crate::{Account, FailedTransfer, Transfer};

pub(crate) fn head(conn: &Connection) -> Result<JournalHead, StoreError> {
    let (last_ts, seq, digest): (i64, i64, Vec<u8>) =
        conn.query_row("SELECT last_ts, seq, digest FROM ledger_head WHERE k = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(JournalHead {
        seq: u64::try_from(seq).map_err(|_| StoreError::corrupt("negative journal sequence"))?,
        digest: digest.try_into().map_err(|_| StoreError::corrupt("a journal digest is 32 bytes"))?,
        last_timestamp: super::codec::ts_of(last_ts)?,
    })
}

/// The rows a link covers: timestamps in `(from, to]`.
type LinkRows = (Vec<Transfer>, Vec<Account>, Vec<FailedTransfer>);

fn link_rows(conn: &Connection, from: i64, to: i64) -> Result<LinkRows, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRANSFER_COLS} FROM ledger_transfers WHERE ts > ?1 AND ts <= ?2 ORDER BY ts"
    ))?;
    let transfers = stmt.query_map(params![from, to], |r| transfer_row(r, 0))?.collect::<Result<Vec<_>, _>>()?;
    let transfers = transfers.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLS} FROM ledger_accounts WHERE ts > ?1 AND ts <= ?2 ORDER BY ts"
    ))?;
    let accounts = stmt.query_map(params![from, to], account_row)?.collect::<Result<Vec<_>, _>>()?;
    let accounts = accounts.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut stmt =
        conn.prepare_cached("SELECT id, result, ts FROM ledger_failed WHERE ts > ?1 AND ts <= ?2 ORDER BY ts")?;
    let mut failed = Vec::new();
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        failed.push(super::codec::failed_of(blob(r, 0)?, r.get(1)?, r.get(2)?)?);
    }
    Ok((transfers, accounts, failed))
}

/// Recomputes the chain inside one read transaction.
pub(crate) fn verify(conn: &Connection) -> Result<JournalCheck, StoreError> {
    conn.execute_batch("BEGIN")?;
    let out = verify_in(conn);
    let end = conn.execute_batch("COMMIT");
    let out = out?;
    end?;
    Ok(out)
}

fn verify_in(conn: &Connection) -> Result<JournalCheck, StoreError> {
    let mut v = Verifier::new();
    let mut stmt = conn.prepare("SELECT seq, from_ts, to_ts, events, digest FROM ledger_journal ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (seq, from_ts, to_ts): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let seq = u64::try_from(seq).unwrap_or(0);
        let (transfers, accounts, failed) = match link_rows(conn, from_ts, to_ts) {
            Ok(rows) => rows,
            Err(e) => return Ok(JournalCheck::Broken { seq, reason: format!("a row does not decode: {e}") }),
        };
        let link = Link {
            seq,
            from_ts,
            to_ts,
            transfers: &transfers,
            accounts: &accounts,
            failed: &failed,
            events: blob(r, 3)?,
        };
        if let Err(reason) = v.step(&link, blob(r, 4)?) {
            return Ok(JournalCheck::Broken { seq, reason });
        }
    }
    let head = head(conn)?;
    let (seq, digest, to_ts) = v.position();
    let next = seq + 1;
    if head.seq != seq || head.digest != digest || super::codec::ts(head.last_timestamp) != to_ts {
        return Ok(JournalCheck::Broken { seq: next, reason: "the head does not match the last batch".into() });
    }
    let (transfers, accounts, failed) = link_rows(conn, to_ts, i64::MAX)?;
    if !(transfers.is_empty() && accounts.is_empty() && failed.is_empty()) {
        return Ok(JournalCheck::Broken { seq: next, reason: "rows exist after the last batch".into() });
    }
    Ok(JournalCheck::Intact { head })
}

fn sqlite_sql(sql: &str) -> String {
    let cols = format!("t.{}", TRANSFER_COLS.replace(", ", ", t."));
    sql.replace("{cols}", &cols).replace('$', "?")
}

/// One page of an account's transfers, newest first, in one read transaction.
pub(crate) fn transfers_page(
    conn: &Connection,
    account: qianbao_core::AccountId,
    b: &super::query::Bounds,
    dir: i32,
    code: i32,
) -> Result<Vec<Transfer>, StoreError> {
    conn.execute_batch("BEGIN")?;
    let out = (|| {
        let merged: i64 = conn.query_row("SELECT merged_ts FROM ledger_head WHERE k = 1", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&sqlite_sql(super::query::TAIL_SQL))?;
        let mut rows = stmt.query(params![merged, b.lo, b.hi])?;
        let limit = usize::try_from(b.limit).unwrap_or(0);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let t = transfer_row(r, 0)??;
            let side = (t.debit_account_id == account && dir != DIR_CREDIT)
                || (t.credit_account_id == account && dir != DIR_DEBIT);
            if side && (code < 0 || i32::from(t.code.as_u16()) == code) {
                out.push(t);
            }
        }
        drop(rows);
        let q = super::runs::AccountQuery {
            account,
            lo: b.lo,
            hi: b.hi,
            merged,
            dir,
            code,
            limit: usize::try_from(b.limit).unwrap_or(0).saturating_sub(out.len()),
        };
        if q.limit > 0 {
            let mut by_ts =
                conn.prepare_cached(&format!("SELECT {TRANSFER_COLS} FROM ledger_transfers WHERE ts = ?1"))?;
            for at in super::runs::account_ts(conn, &q)? {
                let t = by_ts.query_row([at], |r| transfer_row(r, 0))??;
                out.push(t);
            }
        }
        Ok(out)
    })();
    conn.execute_batch("COMMIT")?;
    out
}

/// One page of an account's balance history, newest first.
pub(crate) fn balances_page(
    conn: &Connection,
    account: qianbao_core::AccountId,
    b: &super::query::Bounds,
) -> Result<Vec<crate::AccountBalance>, StoreError> {
    let mut stmt = conn.prepare_cached(&sqlite_sql(super::query::BALANCES_SQL))?;
    let mut rows = stmt.query(params![account.to_bytes(), b.lo, b.hi, b.limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let u = |i| -> Result<u128, StoreError> { super::codec::u128_of(blob(r, i)?) };
        let balance = crate::Balance {
            debits_pending: u(1)?,
            debits_posted: u(2)?,
            credits_pending: u(3)?,
            credits_posted: u(4)?,
        };
        out.push(crate::AccountBalance { account_id: account, timestamp: super::codec::ts_of(r.get(0)?)?, balance });
    }
    Ok(out)
}
