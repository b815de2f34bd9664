//! The SQLite backend's write path. One ledger owns an SQLite database (claimed on open, `owner.rs`), so the engine's view stays in
//! memory across groups ([`Cache`]): a group loads only what the view lacks, is decided, and its
//! changes are written on the database's writer thread in one transaction: transfers appended in
//! timestamp order, touched accounts' new counters appended to the account log (`account_log.rs`)
//! and merged into their rows every few groups. The id and account
//! look-up tables are merged in bulk, sorted, once the tail of unmerged transfers is long enough; the
//! tail lives in the view (and in [`Tail`] for readers) and is reloaded from the log on open.
//! This module loads and decides; `write.rs` writes.

use qianbao_core::{AccountId, Clock, TransferId};
use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{self, Connection, OptionalExtension, params};
use rustc_hash::FxHashSet;

use super::codec::{AccountCols, LimitCols, failed_of, pending_of, transfer_of_body, ts};
use super::filter::IdFilter;
use super::group::{self, Answer, Op};
use super::service::Tuning;
use crate::{LedgerConfig, LedgerError, LedgerState, Needs, PendingState, Transfer};
use write::{merge, merge_accounts, write};

mod write;

/// The writer's automatic checkpoint: 32 MiB of WAL (about ten groups of 8,189 transfers). The
/// background checkpoints (`Backend::checkpoint`) copy most frames, but never all of them while the
/// writer appends, and SQLite starts the WAL over from its beginning only once every frame is
/// copied. Without this the WAL grows to hundreds of MiB, and every commit appends to new file pages
/// (the kernel's block reservation and page allocation were most of a commit's cost); with it the
/// writer copies the few frames the last background checkpoint left, and the WAL is written over.
pub(crate) const WAL_BACKSTOP_PAGES: i64 = 8_192;

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
    /// Where the tail starts in the view's transfers: none before this index (the tail is appended
    /// after it; the merge checks the count and reads the tail back if it ever differs).
    tail_from: usize,
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
    pub accounts: Vec<crate::AccountUpdate>,
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
    // A transfer id the filter rules out is not stored: it is neither looked up nor listed.
    let mut met = false;
    for _round in 0..4 {
        let filter = &c.filter;
        let needs = group::needs_where(&c.view, ops, now, |id| filter.may_contain(id));
        if needs.is_empty() {
            met = true;
            break;
        }
        let transfers = load(conn, c, &needs)?;
        c.view.resolve(&needs);
        // Only a loaded transfer (a pending one, whose accounts a post or void needs) can add needs:
        // without one, every need is now met or known absent.
        if transfers == 0 {
            met = true;
            break;
        }
    }
    let decided = if met {
        let filter = &c.filter;
        group::decide_loaded(&mut c.view, ops, now, |id| filter.may_contain(id))
    } else {
        // Unreachable in practice (a second round loads only accounts); the engine reports what is missing.
        group::decide(&mut c.view, ops, now)
    };
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
type Loaded = (Cache, Vec<(TransferId, i64)>, Vec<crate::AccountUpdate>);

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
        state.apply_to(&mut account);
        view.insert_account(account, limits).map_err(corrupt)?;
        accounts.push(*state);
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
        tail_from: 0,
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
