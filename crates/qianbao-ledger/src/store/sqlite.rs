//! The SQLite backend's write path. One process owns an SQLite ledger, so the engine's view stays in
//! memory across groups ([`Cache`]): a group loads only what the view lacks, is decided, and its
//! changes are written on the database's writer thread in one transaction: transfers appended in
//! timestamp order, touched accounts' new counters appended to the account log (`account_log.rs`)
//! and merged into their rows every few groups. The id and account
//! look-up tables are merged in bulk, sorted, once the tail of unmerged transfers is long enough; the
//! tail lives in the view (and in [`Tail`] for readers) and is reloaded from the log on open.

use qianbao_core::{AccountId, Clock, TransferId};
use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{self, Connection, OptionalExtension, Statement, params};
use rustc_hash::FxHashSet;

use super::codec::{
    AccountCols, LimitCols, b16, codes_blob, failed_of, pending_of, transfer_body, transfer_of_body, ts, window_code,
};
use super::filter::IdFilter;
use super::group::{self, Answer, Decided, Op};
use super::journal::{self, Link};
use super::service::Tuning;
use crate::{LedgerConfig, LedgerError, LedgerState, Needs, PendingState, Transfer};

/// The writer's automatic checkpoint, a backstop to the background ones: 256 MiB of WAL.
pub(crate) const WAL_BACKSTOP_PAGES: i64 = 65_536;

/// Rows per multi-row statement.
const ROWS: usize = 128;

/// A transfer row: its timestamp and body (`codec::transfer_body`, migration 4).
pub(crate) const TRANSFER_COLS: &str = "ts, body";
pub(crate) const ACCOUNT_COLS: &str = "id, dp, dpo, cp, cpo, flags, ledger, code, ud128, ud64, ud32, ts";

/// What the writer keeps between groups.
pub(crate) struct Cache {
    view: LedgerState,
    filter: IdFilter,
    /// `last_ts` as stored: where the next journal link starts.
    head_ts: i64,
    seq: u64,
    digest: [u8; 32],
    merged_ts: i64,
    merged_count: u64,
    tail_count: usize,
    /// The newest run of the look-up tables (0: none yet).
    run: i64,
    /// The accounts named in the account log, and its rows.
    logged: FxHashSet<AccountId>,
    log_rows: usize,
}

/// What readers must learn after the commit: the tail's new ids (or a whole new tail).
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub reset: bool,
    pub ids: Vec<(TransferId, i64)>,
    pub merged_ts: i64,
    /// The account overlay starts again (after a merge of the account log, or on open).
    pub accounts_reset: bool,
    /// Accounts whose new state is in the account log.
    pub accounts: Vec<crate::Account>,
}

pub(crate) type Answers = Vec<Option<Result<Answer, LedgerError>>>;

fn corrupt(e: LedgerError) -> StoreError {
    StoreError::corrupt(format!("loading the ledger view: {e}"))
}

/// A blob column.
pub(crate) fn blob<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    r.get_ref(i).and_then(|v| v.as_blob().map_err(Into::into))
}

pub(crate) fn transfer_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Result<Transfer, StoreError>> {
    Ok(transfer_of_body(r.get(at)?, blob(r, at + 1)?))
}

pub(crate) fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<crate::Account, StoreError>> {
    let b = |i: usize| blob(r, i);
    let cols = AccountCols {
        id: b(0)?,
        dp: b(1)?,
        dpo: b(2)?,
        cp: b(3)?,
        cpo: b(4)?,
        flags: r.get(5)?,
        ledger: r.get(6)?,
        code: r.get(7)?,
        ud128: b(8)?,
        ud64: r.get(9)?,
        ud32: r.get(10)?,
        ts: r.get(11)?,
    };
    Ok(cols.decode())
}

/// Decides and writes one group inside the writer's transaction. `cache` is `None` after a failure
/// or on first use: it is then rebuilt from the database.
pub(crate) fn run_group(
    conn: &Connection,
    cache: &mut Option<Cache>,
    ops: &[Op],
    clock: &dyn Clock,
    config: LedgerConfig,
    tuning: &Tuning,
) -> Result<(Answers, Published), StoreError> {
    conn.set_prepared_statement_cache_capacity(64);
    let mut published = Published::default();
    if cache.is_none() {
        let (c, tail, accounts) = load_cache(conn, config)?;
        published = Published { reset: true, ids: tail, merged_ts: c.merged_ts, accounts_reset: true, accounts };
        *cache = Some(c);
    }
    let Some(c) = cache.as_mut() else { return Err(StoreError::corrupt("ledger cache missing")) };
    published.merged_ts = c.merged_ts;
    let now = clock.now();
    if ops.iter().any(|o| matches!(o, Op::Expire)) {
        load_due(conn, &mut c.view, ts(now))?;
    }
    for _round in 0..4 {
        let needs = group::needs(&c.view, ops, now);
        if needs.is_empty() {
            break;
        }
        let transfers = load(conn, c, &needs)?;
        c.view.resolve(&needs);
        // Only a loaded transfer (a pending one, whose accounts a post or void needs) can add needs:
        // without one, every need is now met or known absent.
        if transfers == 0 {
            break;
        }
    }
    let decided = group::decide(&mut c.view, ops, now);
    c.view.absent_accounts.clear();
    c.view.absent_transfers.clear();
    if !decided.is_empty() {
        published.accounts.extend(write(conn, c, &decided)?);
        if c.log_rows >= tuning.account_log_max {
            merge_accounts(conn, c)?;
            published.accounts_reset = true;
            published.accounts.clear();
        }
        published.ids.extend(decided.changes.transfers.iter().map(|t| (t.id, ts(t.timestamp))));
        if c.tail_count >= tuning.merge_threshold(c.merged_count) {
            merge(conn, c, tuning)?;
            published.reset = true;
            published.ids.clear();
            published.merged_ts = c.merged_ts;
        }
    }
    Ok((decided.answers, published))
}

/// What a fresh [`Cache`] publishes: the tail's ids and the accounts of the account log.
type Loaded = (Cache, Vec<(TransferId, i64)>, Vec<crate::Account>);

/// Reads the head, reloads the tail (transfers after `merged_ts`) and the accounts of the account
/// log into a fresh view and builds the id filter from the look-up table, the tail and the failed ids.
fn load_cache(conn: &Connection, config: LedgerConfig) -> Result<Loaded, StoreError> {
    // Touched accounts and the look-up tables should stay in the page cache between groups (SQLite's
    // default is 2 MiB): up to 256 MiB, allocated only as pages are read.
    conn.pragma_update(None, "cache_size", -262_144)?;
    // Checkpoints run in the background (`Backend::checkpoint`); the writer checkpoints by itself
    // only if the WAL ever grows past this backstop.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
    // A group runs in a savepoint, so SQLite copies every page it first changes into a statement
    // journal: keep that journal (and the merge's sorter) in memory instead of a temporary file. The
    // durable copy is the WAL, written and synced at commit as before.
    // Only a performance setting: SQLite refuses it within a transaction once the temporary storage
    // is open (e.g. by an earlier migration on this connection); the next rebuild of the cache tries again.
    let temp: i64 = conn.query_row("PRAGMA temp_store", [], |r| r.get(0))?;
    if temp != 2
        && let Err(e) = conn.pragma_update(None, "temp_store", "MEMORY")
    {
        tracing::debug!(error = %e, "the ledger keeps SQLite's temporary storage as it is");
    }
    let (last_ts, seq, digest, merged_ts): (i64, i64, Vec<u8>, i64) =
        conn.query_row("SELECT last_ts, seq, digest, merged_ts FROM ledger_head WHERE k = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let mut view = LedgerState::view(config, super::codec::ts_of(last_ts)?);
    let mut stmt = conn.prepare(&format!(
        "SELECT t.{cols}, p.status, p.expires_at, p.limit_slots FROM ledger_transfers t
         LEFT JOIN ledger_pending p ON p.ts = t.ts WHERE t.ts > ?1 ORDER BY t.ts",
        cols = TRANSFER_COLS.replace(", ", ", t.")
    ))?;
    let mut tail = Vec::new();
    let mut rows = stmt.query([merged_ts])?;
    while let Some(r) = rows.next()? {
        let (t, p) = transfer_with_pending(r)?;
        tail.push((t.id, ts(t.timestamp)));
        view.insert_transfer(t, p).map_err(corrupt)?;
    }
    let (run, merged_count): (i64, i64) =
        conn.query_row("SELECT coalesce(max(run), 0), coalesce(sum(transfers), 0) FROM ledger_runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (log, log_rows) = super::account_log::read(conn)?;
    let mut accounts = Vec::with_capacity(log.len());
    for (id, state) in &log {
        let Some((mut account, limits)) = read_account(conn, *id)? else {
            return Err(StoreError::corrupt(format!("the account log names account {id}, which is not stored")));
        };
        state.apply(&mut account);
        view.insert_account(account, limits).map_err(corrupt)?;
        accounts.push(account);
    }
    let filter = build_filter(conn, merged_count as usize + tail.len(), &tail)?;
    let cache = Cache {
        view,
        filter,
        head_ts: last_ts,
        seq: u64::try_from(seq).map_err(|_| StoreError::corrupt("negative journal sequence"))?,
        digest: digest.try_into().map_err(|_| StoreError::corrupt("a journal digest is 32 bytes"))?,
        merged_ts,
        merged_count: merged_count as u64,
        tail_count: tail.len(),
        run,
        logged: log.into_keys().collect(),
        log_rows,
    };
    Ok((cache, tail, accounts))
}

fn build_filter(conn: &Connection, count: usize, tail: &[(TransferId, i64)]) -> Result<IdFilter, StoreError> {
    let mut filter = IdFilter::with_capacity((count * 2).max(1 << 20));
    super::runs::for_each_id(conn, |id| filter.insert(id))?;
    let mut stmt = conn.prepare("SELECT id FROM ledger_failed")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id = super::codec::u128_of(blob(r, 0)?)?;
        filter.insert(TransferId::from_u128(id));
    }
    for (id, _) in tail {
        filter.insert(*id);
    }
    Ok(filter)
}

fn transfer_with_pending(r: &rusqlite::Row<'_>) -> Result<(Transfer, Option<PendingState>), StoreError> {
    let t = transfer_row(r, 0)??;
    let status: Option<i64> = r.get(2)?;
    let p = match status {
        Some(s) => Some(pending_of(t.id, s, r.get(3)?, r.get(4)?)?),
        None => None,
    };
    Ok((t, p))
}

/// Loads the pending transfers due at `now` that the view does not hold.
fn load_due(conn: &Connection, view: &mut LedgerState, now: i64) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.{cols}, p.status, p.expires_at, p.limit_slots FROM ledger_pending p
         JOIN ledger_transfers t ON t.ts = p.ts
         WHERE p.status = 1 AND p.expires_at IS NOT NULL AND p.expires_at <= ?1
         ORDER BY p.expires_at, p.ts LIMIT ?2",
        cols = TRANSFER_COLS.replace(", ", ", t.")
    ))?;
    let mut rows = stmt.query(params![now, crate::BATCH_EVENTS_MAX as i64])?;
    while let Some(r) = rows.next()? {
        let (t, p) = transfer_with_pending(r)?;
        if view.transfer(t.id).is_none() {
            view.insert_transfer(t, p).map_err(corrupt)?;
        }
    }
    Ok(())
}

/// Loads what `needs` lists: accounts with their limits, transfers (unless the filter rules them out)
/// with their pending state, and failed ids; returns how many transfers it loaded.
fn load(conn: &Connection, c: &mut Cache, needs: &Needs) -> Result<usize, StoreError> {
    let mut loaded = 0;
    for id in &needs.accounts {
        if let Some((account, limits)) = read_account(conn, *id)? {
            c.view.insert_account(account, limits).map_err(corrupt)?;
        }
    }
    let mut by_ts = conn.prepare_cached(&format!(
        "SELECT t.{cols}, p.status, p.expires_at, p.limit_slots FROM ledger_transfers t
         LEFT JOIN ledger_pending p ON p.ts = t.ts WHERE t.ts = ?1",
        cols = TRANSFER_COLS.replace(", ", ", t.")
    ))?;
    let mut failed = conn.prepare_cached("SELECT result, ts FROM ledger_failed WHERE id = ?1")?;
    let mut runs = None;
    for id in &needs.transfers {
        if !c.filter.may_contain(*id) {
            continue;
        }
        // The tail is in the view already: only the runs can hold it.
        if runs.is_none() {
            runs = Some(super::runs::runs(conn)?);
        }
        let at = super::runs::ts_by_id(conn, runs.as_deref().unwrap_or_default(), *id)?;
        let key = id.to_bytes();
        if let Some(at) = at {
            let mut rows = by_ts.query([at])?;
            let Some(r) = rows.next()? else {
                return Err(StoreError::corrupt(format!("the look-up of transfer {id} names no transfer")));
            };
            let (t, p) = transfer_with_pending(r)?;
            if t.id != *id {
                return Err(StoreError::corrupt(format!("the look-up of transfer {id} found {}", t.id)));
            }
            c.view.insert_transfer(t, p).map_err(corrupt)?;
            loaded += 1;
            continue;
        }
        if let Some((result, at)) =
            failed.query_row([&key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).optional()?
        {
            c.view.insert_failed(failed_of(&key, result, at)?).map_err(corrupt)?;
        }
    }
    Ok(loaded)
}

pub(crate) fn read_account(
    conn: &Connection,
    id: AccountId,
) -> Result<Option<(crate::Account, Vec<crate::AccountLimit>)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM ledger_accounts WHERE id = ?1"))?;
    let Some(account) = stmt.query_row([id.to_bytes()], account_row).optional()? else { return Ok(None) };
    let account = account?;
    let mut stmt = conn.prepare_cached(
        "SELECT slot, win, codes, amount_max, window_start, used FROM ledger_limits WHERE account = ?1 ORDER BY slot",
    )?;
    let mut limits = Vec::new();
    let mut rows = stmt.query([id.to_bytes()])?;
    while let Some(r) = rows.next()? {
        let cols = LimitCols {
            slot: r.get(0)?,
            window: r.get(1)?,
            codes: blob(r, 2)?,
            amount_max: blob(r, 3)?,
            window_start: r.get(4)?,
            used: blob(r, 5)?,
        };
        limits.push(cols.decode()?);
    }
    Ok(Some((account, limits)))
}

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
    for chunk in items.chunks(ROWS) {
        let mut stmt = conn.prepare_cached(&values_sql(head, cols, chunk.len(), tail))?;
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

/// Writes a decided group and its journal link; returns the accounts it logged.
fn write(conn: &Connection, c: &mut Cache, d: &Decided) -> Result<Vec<crate::Account>, StoreError> {
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
    // Updated accounts: their final state, once each, appended to the account log as one row.
    let mut seen: FxHashSet<_> = created.iter().map(|a| a.id).collect();
    let updated: Vec<crate::Account> =
        ch.accounts_updated.iter().filter(|u| seen.insert(u.id)).filter_map(|u| view.account(u.id).copied()).collect();
    if updated.len() != seen.len() - created.len() {
        return Err(StoreError::corrupt("an updated account is missing from the view"));
    }
    let seq = i64::try_from(c.seq + 1).map_err(|_| StoreError::corrupt("journal sequence overflow"))?;
    super::account_log::append(conn, seq, updated.iter())?;
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
fn merge_accounts(conn: &Connection, c: &mut Cache) -> Result<(), StoreError> {
    let mut states = Vec::with_capacity(c.logged.len());
    for id in &c.logged {
        let Some(a) = c.view.account(*id) else {
            return Err(StoreError::corrupt(format!("logged account {id} is missing from the view")));
        };
        states.push(super::account_log::State::of(a));
    }
    super::account_log::merge(conn, &mut states)?;
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
fn merge(conn: &Connection, c: &mut Cache, tuning: &Tuning) -> Result<(), StoreError> {
    let run = c.run + 1;
    let entry = |t: &Transfer| super::runs::Entry {
        ts: ts(t.timestamp),
        id: t.id.as_u128(),
        dr: t.debit_account_id,
        cr: t.credit_account_id,
        code: t.code.as_u16(),
    };
    // The tail is in the view (transfers loaded on demand are older); read it back only if not.
    let mut tail: Vec<super::runs::Entry> =
        c.view.transfers().iter().filter(|t| ts(t.timestamp) > c.merged_ts).map(entry).collect();
    if tail.len() != c.tail_count {
        tail = tail_from_db(conn, c.merged_ts)?.iter().map(entry).collect();
    }
    super::runs::write_run(conn, run, c.merged_ts, c.head_ts, &tail)?;
    conn.execute("UPDATE ledger_head SET merged_ts = last_ts WHERE k = 1", [])?;
    c.run = run;
    c.merged_ts = c.head_ts;
    c.merged_count += tail.len() as u64;
    c.tail_count = 0;
    if c.view.transfers().len() > tuning.view_transfers_max {
        c.view = fresh_view(&c.view)?;
    }
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
