//! The SQLite write path of one group, inside the writer's transaction: accounts created, the
//! account log row (`account_log.rs`), transfers appended in timestamp order, pending states, failed
//! ids, balance snapshots and the journal link; and the two merges, the account log into the account
//! rows and the tail into a run of the look-up tables (`runs.rs`).

use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{self, Connection, Statement, params};
use rustc_hash::FxHashSet;

use super::super::codec::{b16, codes_blob, transfer_body, ts, window_code};
use super::super::group::Decided;
use super::super::journal::{self, Link};
use super::super::service::Tuning;
use super::{ACCOUNT_COLS, Cache, ROWS, TRANSFER_COLS, build_filter, corrupt, transfer_row};
use crate::{AccountUpdate, LedgerState, PendingState, Transfer};

/// `head VALUES (?, …), … tail` with `rows` rows of `cols` parameters.
fn values_sql(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let row = format!("({})", vec!["?"; cols].join(","));
    format!("{head} VALUES {} {tail}", vec![row.as_str(); rows].join(","))
}

fn insert_rows<T>(
    conn: &Connection,
    head: &str,
    cols: usize,
    tail: &str,
    items: &[T],
    bind: impl Fn(&mut Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> Result<(), StoreError> {
    // Every full chunk shares one statement text (built once per call, not per chunk).
    let full = if items.len() >= ROWS { values_sql(head, cols, ROWS, tail) } else { String::new() };
    for chunk in items.chunks(ROWS) {
        let part;
        let sql = if chunk.len() == ROWS {
            &full
        } else {
            part = values_sql(head, cols, chunk.len(), tail);
            &part
        };
        let mut stmt = conn.prepare_cached(sql)?;
        for (i, item) in chunk.iter().enumerate() {
            bind(&mut stmt, i * cols + 1, item)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

fn bind_transfer(s: &mut Statement<'_>, at: usize, t: &Transfer) -> rusqlite::Result<()> {
    s.raw_bind_parameter(at, ts(t.timestamp))?;
    s.raw_bind_parameter(at + 1, transfer_body(t))
}

fn bind_account(s: &mut Statement<'_>, at: usize, a: &crate::Account) -> rusqlite::Result<()> {
    s.raw_bind_parameter(at, a.id.to_bytes())?;
    s.raw_bind_parameter(at + 1, b16(a.debits_pending))?;
    s.raw_bind_parameter(at + 2, b16(a.debits_posted))?;
    s.raw_bind_parameter(at + 3, b16(a.credits_pending))?;
    s.raw_bind_parameter(at + 4, b16(a.credits_posted))?;
    s.raw_bind_parameter(at + 5, i64::from(a.flags.bits()))?;
    s.raw_bind_parameter(at + 6, i64::from(a.ledger.as_u32()))?;
    s.raw_bind_parameter(at + 7, i64::from(a.code.as_u16()))?;
    s.raw_bind_parameter(at + 8, b16(a.user_data_128))?;
    s.raw_bind_parameter(at + 9, a.user_data_64 as i64)?;
    s.raw_bind_parameter(at + 10, i64::from(a.user_data_32))?;
    s.raw_bind_parameter(at + 11, ts(a.timestamp))
}

/// Writes a decided group and its journal link; returns the account states it logged.
pub(super) fn write(conn: &Connection, c: &mut Cache, d: &Decided) -> Result<Vec<AccountUpdate>, StoreError> {
    let ch = &d.changes;
    let view = &c.view;
    let created: Vec<crate::Account> = ch.accounts_created.iter().filter_map(|a| view.account(a.id).copied()).collect();
    insert_rows(
        conn,
        &format!("INSERT OR FAIL INTO ledger_accounts ({ACCOUNT_COLS})"),
        12,
        "",
        &created,
        bind_account,
    )?;
    // Updated accounts: their final state (the group keeps each account's last update), appended to
    // the account log as one row; an account created in the group has its final state in its new row.
    let updated: Vec<AccountUpdate> = if created.is_empty() {
        ch.accounts_updated.clone()
    } else {
        let created: FxHashSet<_> = created.iter().map(|a| a.id).collect();
        ch.accounts_updated.iter().filter(|u| !created.contains(&u.id)).copied().collect()
    };
    let seq = i64::try_from(c.seq + 1).map_err(|_| StoreError::corrupt("journal sequence overflow"))?;
    super::super::account_log::append(conn, seq, &updated)?;
    write_limits(conn, view, ch)?;
    insert_rows(
        conn,
        &format!("INSERT OR FAIL INTO ledger_transfers ({TRANSFER_COLS})"),
        2,
        "",
        &ch.transfers,
        bind_transfer,
    )?;
    let pending: Vec<(i64, &PendingState)> =
        ch.pending.iter().filter_map(|p| view.transfer(p.transfer_id).map(|t| (ts(t.timestamp), p))).collect();
    if pending.len() != ch.pending.len() {
        return Err(StoreError::corrupt("a pending change names a transfer the view does not hold"));
    }
    insert_rows(
        conn,
        "INSERT INTO ledger_pending (ts, status, expires_at, limit_slots)",
        4,
        "ON CONFLICT (ts) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at,
         limit_slots = excluded.limit_slots",
        &pending,
        |s, at, (t, p)| {
            s.raw_bind_parameter(at, *t)?;
            s.raw_bind_parameter(at + 1, i64::from(p.status.code()))?;
            s.raw_bind_parameter(at + 2, p.expires_at.map(ts))?;
            s.raw_bind_parameter(at + 3, i64::from(p.limit_slots))
        },
    )?;
    insert_rows(conn, "INSERT INTO ledger_failed (id, result, ts)", 3, "", &ch.failed, |s, at, f| {
        s.raw_bind_parameter(at, f.id.to_bytes())?;
        s.raw_bind_parameter(at + 1, i64::from(f.result.code()))?;
        s.raw_bind_parameter(at + 2, ts(f.timestamp))
    })?;
    insert_rows(
        conn,
        "INSERT INTO ledger_balances (account, ts, dp, dpo, cp, cpo)",
        6,
        "",
        &ch.balances,
        |s, at, b| {
            s.raw_bind_parameter(at, b.account_id.to_bytes())?;
            s.raw_bind_parameter(at + 1, ts(b.timestamp))?;
            s.raw_bind_parameter(at + 2, b16(b.balance.debits_pending))?;
            s.raw_bind_parameter(at + 3, b16(b.balance.debits_posted))?;
            s.raw_bind_parameter(at + 4, b16(b.balance.credits_pending))?;
            s.raw_bind_parameter(at + 5, b16(b.balance.credits_posted))
        },
    )?;
    write_link(conn, c, d)?;
    for t in &ch.transfers {
        c.filter.insert(t.id);
    }
    for f in &ch.failed {
        c.filter.insert(f.id);
    }
    c.tail_count += ch.transfers.len();
    if !updated.is_empty() {
        c.logged.extend(updated.iter().map(|a| a.id));
        c.log_rows += 1;
    }
    Ok(updated)
}

/// Writes the state of every logged account to its row and empties the account log.
pub(super) fn merge_accounts(conn: &Connection, c: &mut Cache) -> Result<(), StoreError> {
    let mut states = Vec::with_capacity(c.logged.len());
    for id in &c.logged {
        let Some(a) = c.view.account(*id) else {
            return Err(StoreError::corrupt(format!("logged account {id} is missing from the view")));
        };
        states.push(super::super::account_log::State::from(a));
    }
    super::super::account_log::merge(conn, &mut states)?;
    c.logged.clear();
    c.log_rows = 0;
    Ok(())
}

fn write_limits(conn: &Connection, view: &LedgerState, ch: &crate::Changes) -> Result<(), StoreError> {
    let mut delete = conn.prepare_cached("DELETE FROM ledger_limits WHERE account = ?1")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO ledger_limits (account, slot, win, codes, amount_max, window_start, used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut done = FxHashSet::default();
    let ids = ch.limit_sets.iter().map(|s| s.account_id).chain(ch.limit_usages.iter().map(|u| u.account_id));
    for id in ids {
        if !done.insert(id) {
            continue;
        }
        // The view's final state: later changes of the group win over earlier ones.
        delete.execute([id.to_bytes()])?;
        for l in view.limits(id) {
            insert.execute(params![
                id.to_bytes(),
                i64::from(l.limit.slot),
                window_code(l.limit.window),
                codes_blob(&l.limit.codes),
                b16(l.limit.amount_max),
                ts(l.usage.window_start),
                b16(l.usage.used_amount),
            ])?;
        }
    }
    Ok(())
}

fn write_link(conn: &Connection, c: &mut Cache, d: &Decided) -> Result<(), StoreError> {
    let ch = &d.changes;
    let to_ts = ts(ch.last_timestamp);
    let mut accounts = ch.accounts_created.clone();
    accounts.sort_by_key(|a| a.timestamp);
    let mut failed = ch.failed.clone();
    failed.sort_by_key(|f| f.timestamp);
    let sorted_transfers;
    let transfers = if ch.transfers.is_sorted_by_key(|t| t.timestamp) {
        &ch.transfers[..]
    } else {
        sorted_transfers = {
            let mut v = ch.transfers.clone();
            v.sort_by_key(|t| t.timestamp);
            v
        };
        &sorted_transfers[..]
    };
    let link = Link {
        seq: c.seq + 1,
        from_ts: c.head_ts,
        to_ts,
        transfers,
        accounts: &accounts,
        failed: &failed,
        events: &d.events,
    };
    let digest = journal::digest(&c.digest, &link);
    let seq = i64::try_from(link.seq).map_err(|_| StoreError::corrupt("journal sequence overflow"))?;
    conn.prepare_cached(
        "INSERT INTO ledger_journal (seq, from_ts, to_ts, events, digest) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![seq, link.from_ts, to_ts, &d.events, digest])?;
    conn.prepare_cached("UPDATE ledger_head SET last_ts = ?1, seq = ?2, digest = ?3 WHERE k = 1")?
        .execute(params![to_ts, seq, digest])?;
    c.seq = link.seq;
    c.digest = digest;
    c.head_ts = to_ts;
    Ok(())
}

/// Merges the tail into the look-up tables as a new run (see `runs.rs`) and starts a new tail: the
/// merge writes only the run's own rows, whatever the size of the ledger.
pub(super) fn merge(conn: &Connection, c: &mut Cache, tuning: &Tuning) -> Result<(), StoreError> {
    let run = c.run + 1;
    let entry = |t: &Transfer| super::super::runs::Entry {
        ts: ts(t.timestamp),
        id: t.id.as_u128(),
        dr: t.debit_account_id,
        cr: t.credit_account_id,
        code: t.code.as_u16(),
    };
    // The tail is in the view (transfers loaded on demand are older); read it back only if not.
    let view = c.view.transfers();
    let mut tail: Vec<super::super::runs::Entry> =
        view[c.tail_from.min(view.len())..].iter().filter(|t| ts(t.timestamp) > c.merged_ts).map(entry).collect();
    if tail.len() != c.tail_count {
        tail = tail_from_db(conn, c.merged_ts)?.iter().map(entry).collect();
    }
    super::super::runs::write_run(conn, run, c.merged_ts, c.head_ts, &tail)?;
    conn.execute("UPDATE ledger_head SET merged_ts = last_ts WHERE k = 1", [])?;
    c.run = run;
    c.merged_ts = c.head_ts;
    c.merged_count += tail.len() as u64;
    c.tail_count = 0;
    if c.view.transfers().len() > tuning.view_transfers_max {
        c.view = fresh_view(&c.view)?;
    }
    c.tail_from = c.view.transfers().len();
    if c.filter.is_full() {
        c.filter = build_filter(conn, c.merged_count as usize, &[])?;
    }
    Ok(())
}

fn tail_from_db(conn: &Connection, merged_ts: i64) -> Result<Vec<Transfer>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {TRANSFER_COLS} FROM ledger_transfers WHERE ts > ?1 ORDER BY ts"))?;
    let rows = stmt.query_map([merged_ts], |r| transfer_row(r, 0))?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().collect()
}

/// A view holding only the accounts of `old` (transfers load again on demand).
fn fresh_view(old: &LedgerState) -> Result<LedgerState, StoreError> {
    let mut view = LedgerState::view(*old.config(), old.last_timestamp());
    for a in old.accounts() {
        view.insert_account(*a, old.limits(a.id).to_vec()).map_err(corrupt)?;
    }
    Ok(view)
}
