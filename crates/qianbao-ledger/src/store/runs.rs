//! SQLite's look-up tables as immutable *runs*. Each merge of the tail writes one run: the tail's
//! `id → timestamp` pairs sorted by id, and its `account → (timestamp, code, direction)` entries sorted
//! by account then timestamp, packed into chunk blobs (`ledger_id_chunks`, `ledger_account_chunks`)
//! keyed by the run number first. A merge therefore appends a few hundred rows whatever the size of
//! the ledger, and never rewrites an older run. Runs cover disjoint, increasing timestamp ranges
//! (`ledger_runs`); look-ups probe them newest first, one index seek and one chunk each.

use qianbao_core::{AccountId, TransferId};
use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;

use super::codec::{DIR_CREDIT, DIR_DEBIT};

/// `id → timestamp` pairs per chunk (24 bytes each).
const ID_CHUNK: usize = 256;
/// An id chunk entry: the id (16 bytes, big-endian) and the timestamp (8 bytes, big-endian).
const ID_ENTRY: usize = 24;
/// Account entries per chunk (11 bytes each).
const ACCOUNT_CHUNK: usize = 512;
/// An account chunk entry: timestamp (8 bytes), code (2 bytes), direction (1 byte), big-endian.
const ACCOUNT_ENTRY: usize = 11;

/// One transfer of the tail, as the look-up tables need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub ts: i64,
    pub id: u128,
    pub dr: AccountId,
    pub cr: AccountId,
    pub code: u16,
}

/// An account chunk entry before packing: timestamp, code, direction.
type AccountEntry = (i64, u16, u8);

fn broken() -> StoreError {
    StoreError::corrupt("a look-up chunk of the ledger has a wrong length")
}

/// Writes `entries` (the tail `(from_ts, to_ts]`) as run number `run`.
pub(crate) fn write_run(
    conn: &Connection,
    run: i64,
    from_ts: i64,
    to_ts: i64,
    entries: &[Entry],
) -> Result<(), StoreError> {
    let mut ids: Vec<(u128, i64)> = entries.iter().map(|e| (e.id, e.ts)).collect();
    ids.sort_unstable();
    let mut insert = conn.prepare_cached("INSERT INTO ledger_id_chunks (run, first, data) VALUES (?1, ?2, ?3)")?;
    let mut data = Vec::with_capacity(ID_CHUNK * ID_ENTRY);
    for chunk in ids.chunks(ID_CHUNK) {
        data.clear();
        for (id, ts) in chunk {
            data.extend_from_slice(&id.to_be_bytes());
            data.extend_from_slice(&ts.to_be_bytes());
        }
        insert.execute(params![run, chunk[0].0.to_be_bytes(), &data])?;
    }
    // Each account's entries, grouped by a counting sort (the tail comes in timestamp order, so each
    // list is sorted already; it is sorted here if not), then the accounts in key order.
    let (accounts, starts, grouped) = group_by_account(entries);
    let mut order: Vec<u32> = (0..accounts.len() as u32).collect();
    order.sort_unstable_by_key(|&i| accounts[i as usize]);
    let mut insert = conn
        .prepare_cached("INSERT INTO ledger_account_chunks (run, account, first_ts, data) VALUES (?1, ?2, ?3, ?4)")?;
    let mut list = Vec::new();
    for i in order {
        list.clear();
        list.extend_from_slice(&grouped[starts[i as usize] as usize..starts[i as usize + 1] as usize]);
        if !list.is_sorted() {
            list.sort_unstable();
        }
        let account = accounts[i as usize].to_be_bytes();
        for chunk in list.chunks(ACCOUNT_CHUNK) {
            data.clear();
            for (ts, code, dir) in chunk {
                data.extend_from_slice(&ts.to_be_bytes());
                data.extend_from_slice(&code.to_be_bytes());
                data.push(*dir);
            }
            insert.execute(params![run, account, chunk[0].0, &data])?;
        }
    }
    conn.prepare_cached("INSERT INTO ledger_runs (run, from_ts, to_ts, transfers) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![run, from_ts, to_ts, entries.len() as i64])?;
    Ok(())
}

/// The accounts named in `entries` (in first-seen order), where each one's entries start in the
/// grouped list (one more start than accounts: the end), and the grouped list: each account's debit
/// and credit entries together, in the order of `entries`.
fn group_by_account(entries: &[Entry]) -> (Vec<u128>, Vec<u32>, Vec<AccountEntry>) {
    let mut index: FxHashMap<u128, u32> = FxHashMap::default();
    let mut accounts = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    // Each entry's two accounts as dense numbers, counted.
    let mut dense = Vec::with_capacity(entries.len() * 2);
    for e in entries {
        for id in [e.dr.as_u128(), e.cr.as_u128()] {
            let n = *index.entry(id).or_insert_with(|| {
                accounts.push(id);
                counts.push(0);
                (accounts.len() - 1) as u32
            });
            counts[n as usize] += 1;
            dense.push(n);
        }
    }
    let mut starts = Vec::with_capacity(accounts.len() + 1);
    let mut at = 0u32;
    for c in &counts {
        starts.push(at);
        at += c;
    }
    starts.push(at);
    let mut next = starts.clone();
    let mut grouped = vec![(0i64, 0u16, 0u8); dense.len()];
    for (e, pair) in entries.iter().zip(dense.chunks_exact(2)) {
        for (n, dir) in [(pair[0], DIR_DEBIT as u8), (pair[1], DIR_CREDIT as u8)] {
            grouped[next[n as usize] as usize] = (e.ts, e.code, dir);
            next[n as usize] += 1;
        }
    }
    (accounts, starts, grouped)
}

/// The run numbers, newest first.
pub(crate) fn runs(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT run FROM ledger_runs ORDER BY run DESC")?;
    let runs = stmt.query_map([], |r| r.get::<_, i64>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(runs)
}

/// The timestamp of the merged transfer `id`, probing `runs` (newest first).
pub(crate) fn ts_by_id(conn: &Connection, runs: &[i64], id: TransferId) -> Result<Option<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM ledger_id_chunks WHERE run = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
    )?;
    let key = id.to_bytes();
    for run in runs {
        let Some(data) = stmt.query_row(params![run, key], |r| r.get::<_, Vec<u8>>(0)).optional()? else {
            continue;
        };
        if let Some(ts) = find_id(&data, &key)? {
            return Ok(Some(ts));
        }
    }
    Ok(None)
}

/// Binary search of an id chunk.
fn find_id(data: &[u8], key: &[u8; 16]) -> Result<Option<i64>, StoreError> {
    if !data.len().is_multiple_of(ID_ENTRY) {
        return Err(broken());
    }
    let entries: Vec<&[u8]> = data.chunks_exact(ID_ENTRY).collect();
    Ok(entries.binary_search_by(|e| e[..16].cmp(&key[..])).ok().map(|i| {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&entries[i][16..]);
        i64::from_be_bytes(ts)
    }))
}

/// Every merged id (to rebuild the id filter).
pub(crate) fn for_each_id(conn: &Connection, mut f: impl FnMut(TransferId)) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT data FROM ledger_id_chunks")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let data = super::sqlite::blob(r, 0)?;
        if !data.len().is_multiple_of(ID_ENTRY) {
            return Err(broken());
        }
        for e in data.chunks_exact(ID_ENTRY) {
            let mut id = [0u8; 16];
            id.copy_from_slice(&e[..16]);
            f(TransferId::from_u128(u128::from_be_bytes(id)));
        }
    }
    Ok(())
}

/// What an account query asks of the runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountQuery {
    pub account: AccountId,
    /// Timestamps in `[lo, hi)` and at most `merged`.
    pub lo: i64,
    pub hi: i64,
    pub merged: i64,
    /// 0 both, else [`DIR_DEBIT`] or [`DIR_CREDIT`].
    pub dir: i32,
    /// Negative: any code.
    pub code: i32,
    pub limit: usize,
}

/// The timestamps of an account's merged transfers matching `q`, newest first, at most `q.limit`.
pub(crate) fn account_ts(conn: &Connection, q: &AccountQuery) -> Result<Vec<i64>, StoreError> {
    let mut runs = conn.prepare_cached(
        "SELECT run FROM ledger_runs WHERE to_ts >= ?1 AND from_ts < ?2 AND from_ts < ?3 ORDER BY run DESC",
    )?;
    let runs = runs.query_map(params![q.lo, q.hi, q.merged], |r| r.get::<_, i64>(0))?.collect::<Result<Vec<_>, _>>()?;
    let mut chunks = conn.prepare_cached(
        "SELECT data FROM ledger_account_chunks WHERE run = ?1 AND account = ?2 AND first_ts < ?3
         ORDER BY first_ts DESC",
    )?;
    let hi = q.hi.min(q.merged.saturating_add(1));
    let mut out = Vec::new();
    for run in runs {
        let mut rows = chunks.query(params![run, q.account.to_bytes(), hi])?;
        while let Some(r) = rows.next()? {
            let data = super::sqlite::blob(r, 0)?;
            if !data.len().is_multiple_of(ACCOUNT_ENTRY) {
                return Err(broken());
            }
            for e in data.chunks_exact(ACCOUNT_ENTRY).rev() {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&e[..8]);
                let ts = i64::from_be_bytes(ts);
                if ts >= hi {
                    continue;
                }
                if ts < q.lo {
                    return Ok(out);
                }
                let code = i32::from(u16::from_be_bytes([e[8], e[9]]));
                if (q.dir == 0 || q.dir == i32::from(e[10])) && (q.code < 0 || q.code == code) {
                    out.push(ts);
                    if out.len() >= q.limit {
                        return Ok(out);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::MIGRATIONS[0].sqlite).unwrap();
        conn.execute_batch(super::super::schema::MIGRATIONS[1].sqlite).unwrap();
        conn
    }

    fn entry(ts: i64, id: u128, dr: u128, cr: u128, code: u16) -> Entry {
        Entry { ts, id, dr: AccountId::from_u128(dr), cr: AccountId::from_u128(cr), code }
    }

    #[test]
    fn ids_are_found_in_any_run_and_missing_ones_are_not() {
        let conn = db();
        // Two runs, each larger than a chunk, ids in no particular order.
        let first: Vec<Entry> =
            (1..=600).map(|i| entry(i, (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15), 1, 2, 1)).collect();
        let second: Vec<Entry> =
            (601..=900).map(|i| entry(i, (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15), 2, 1, 1)).collect();
        write_run(&conn, 1, 0, 600, &first).unwrap();
        write_run(&conn, 2, 600, 900, &second).unwrap();
        let runs = runs(&conn).unwrap();
        assert_eq!(runs, vec![2, 1]);
        for e in first.iter().chain(&second) {
            assert_eq!(ts_by_id(&conn, &runs, TransferId::from_u128(e.id)).unwrap(), Some(e.ts));
        }
        assert_eq!(ts_by_id(&conn, &runs, TransferId::from_u128(7)).unwrap(), None);
        assert_eq!(ts_by_id(&conn, &runs, TransferId::from_u128(u128::MAX)).unwrap(), None);
        let mut seen = 0;
        for_each_id(&conn, |_| seen += 1).unwrap();
        assert_eq!(seen, 900);
    }

    #[test]
    fn account_entries_come_newest_first_across_runs_with_filters() {
        let conn = db();
        // Account 1 pays account 2 at odd timestamps (code 7), is paid at even ones (code 8).
        let all: Vec<Entry> = (1..=1_500)
            .map(|i| if i % 2 == 1 { entry(i, i as u128, 1, 2, 7) } else { entry(i, i as u128, 2, 1, 8) })
            .collect();
        write_run(&conn, 1, 0, 1_000, &all[..1_000]).unwrap();
        write_run(&conn, 2, 1_000, 1_500, &all[1_000..]).unwrap();
        let q = AccountQuery {
            account: AccountId::from_u128(1),
            lo: 0,
            hi: i64::MAX,
            merged: 1_500,
            dir: 0,
            code: -1,
            limit: 10_000,
        };
        let every = account_ts(&conn, &q).unwrap();
        assert_eq!(every, (1..=1_500).rev().collect::<Vec<_>>());
        let debits = account_ts(&conn, &AccountQuery { dir: DIR_DEBIT, ..q }).unwrap();
        assert_eq!(debits, (1..=1_500).rev().filter(|t| t % 2 == 1).collect::<Vec<_>>());
        let code8 = account_ts(&conn, &AccountQuery { code: 8, lo: 990, hi: 1_010, ..q }).unwrap();
        assert_eq!(code8, (990..1_010).rev().filter(|t| t % 2 == 0).collect::<Vec<_>>());
        let page = account_ts(&conn, &AccountQuery { limit: 3, merged: 1_200, ..q }).unwrap();
        assert_eq!(page, vec![1_200, 1_199, 1_198]);
        assert!(account_ts(&conn, &AccountQuery { account: AccountId::from_u128(9), ..q }).unwrap().is_empty());
    }

    #[test]
    fn entries_out_of_timestamp_order_are_sorted_per_account() {
        let conn = db();
        let all: Vec<Entry> = (1..=700).rev().map(|i| entry(i, i as u128, 1 + (i as u128 % 3), 9, 7)).collect();
        write_run(&conn, 1, 0, 700, &all).unwrap();
        let q = AccountQuery {
            account: AccountId::from_u128(2),
            lo: 0,
            hi: i64::MAX,
            merged: 700,
            dir: 0,
            code: -1,
            limit: 10_000,
        };
        assert_eq!(account_ts(&conn, &q).unwrap(), (1..=700).rev().filter(|t| t % 3 == 1).collect::<Vec<_>>());
        let nine = account_ts(&conn, &AccountQuery { account: AccountId::from_u128(9), ..q }).unwrap();
        assert_eq!(nine, (1..=700).rev().collect::<Vec<_>>());
    }
}
