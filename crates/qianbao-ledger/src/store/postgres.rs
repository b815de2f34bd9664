//! The PostgreSQL backend. Many service instances may write: each group runs in one transaction that
//! first locks the journal head (`SELECT … FOR UPDATE`) — the chain and the strictly increasing
//! timestamps need one order of batches anyway — then loads a fresh view with `= ANY($1)` queries
//! (touched accounts locked in id order), decides, and writes with `unnest` arrays. Loading after the
//! head lock means no other writer can change what was loaded before the commit; a serialization
//! failure or deadlock retries the group, a bounded number of times.

use qianbao_core::{AccountId, Timestamp, TransferId};
use qianbao_store::drivers::tokio_postgres::{Row, Transaction, types::ToSql};
use qianbao_store::{ErrorKind, PgDb, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};

use super::backend::Answers;
use super::codec::{
    AccountCols, DIR_CREDIT, DIR_DEBIT, LimitCols, TransferCols, b16, codes_blob, failed_of, pending_of, ts, ts_of,
    window_code,
};
use super::group::{self, Decided, Op};
use super::journal::{self, Link};
use super::service::Shared;
use crate::{Account, AccountLimit, LedgerError, LedgerState, Needs, PendingState, Transfer};

pub(crate) const TRANSFER_COLS: &str =
    "t.ts, t.id, t.dr, t.cr, t.amount, t.pending_id, t.ud128, t.ud64, t.ud32, t.timeout, t.ledger, t.code, t.flags";
pub(crate) const ACCOUNT_COLS: &str = "id, dp, dpo, cp, cpo, flags, ledger, code, ud128, ud64, ud32, ts";

pub(crate) fn pg(e: qianbao_store::drivers::tokio_postgres::Error) -> LedgerError {
    LedgerError::Store(StoreError::from(e))
}

fn corrupt(e: LedgerError) -> LedgerError {
    LedgerError::Store(StoreError::corrupt(format!("loading the ledger view: {e}")))
}

pub(crate) fn transfer_row(r: &Row, at: usize) -> Result<Transfer, StoreError> {
    TransferCols {
        ts: r.get(at),
        id: r.get(at + 1),
        dr: r.get(at + 2),
        cr: r.get(at + 3),
        amount: r.get(at + 4),
        pending_id: r.get(at + 5),
        ud128: r.get(at + 6),
        ud64: r.get(at + 7),
        ud32: r.get(at + 8),
        timeout: r.get(at + 9),
        ledger: r.get(at + 10),
        code: i64::from(r.get::<_, i32>(at + 11)),
        flags: i64::from(r.get::<_, i32>(at + 12)),
    }
    .decode()
}

pub(crate) fn account_row(r: &Row) -> Result<Account, StoreError> {
    AccountCols {
        id: r.get(0),
        dp: r.get(1),
        dpo: r.get(2),
        cp: r.get(3),
        cpo: r.get(4),
        flags: i64::from(r.get::<_, i32>(5)),
        ledger: r.get(6),
        code: i64::from(r.get::<_, i32>(7)),
        ud128: r.get(8),
        ud64: r.get(9),
        ud32: r.get(10),
        ts: r.get(11),
    }
    .decode()
}

fn pending_row(t: &Transfer, r: &Row, at: usize) -> Result<Option<PendingState>, StoreError> {
    match r.get::<_, Option<i32>>(at) {
        Some(s) => Ok(Some(pending_of(t.id, i64::from(s), r.get(at + 1), i64::from(r.get::<_, i32>(at + 2)))?)),
        None => Ok(None),
    }
}

/// Commits one group, retrying it on serialization failures and deadlocks.
pub(crate) async fn commit(shared: &Shared, db: &PgDb, ops: &[Op]) -> Result<Answers, LedgerError> {
    let mut attempt = 0;
    loop {
        match try_commit(shared, db, ops).await {
            Err(LedgerError::Store(e)) if e.is_retryable() && attempt < shared.tuning.retries_max => {
                attempt += 1;
                tracing::debug!(attempt, error = %e, "retrying a ledger group");
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

async fn try_commit(shared: &Shared, db: &PgDb, ops: &[Op]) -> Result<Answers, LedgerError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let head =
        tx.query_one("SELECT last_ts, seq, digest FROM ledger_head WHERE k = 1 FOR UPDATE", &[]).await.map_err(pg)?;
    let (head_ts, seq, digest): (i64, i64, Vec<u8>) = (head.get(0), head.get(1), head.get(2));
    let mut view = LedgerState::view(shared.config, ts_of(head_ts)?);
    let now = shared.clock.now();
    if ops.iter().any(|o| matches!(o, Op::Expire)) {
        load_due(&tx, &mut view, now).await?;
    }
    let mut met = false;
    for _round in 0..4 {
        let needs = group::needs(&view, ops, now);
        if needs.is_empty() {
            met = true;
            break;
        }
        load(&tx, &mut view, &needs).await?;
        view.resolve(&needs);
    }
    // Met needs are not computed again by the engine; otherwise it reports what is missing.
    let decided =
        if met { group::decide_loaded(&mut view, ops, now, |_| true) } else { group::decide(&mut view, ops, now) };
    if !decided.is_empty() {
        let prev: [u8; 32] = digest.try_into().map_err(|_| StoreError::corrupt("a journal digest is 32 bytes"))?;
        let seq = u64::try_from(seq).map_err(|_| StoreError::corrupt("negative journal sequence"))?;
        write(&tx, &view, &decided).await?;
        write_link(&tx, &decided, head_ts, seq, &prev).await?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(decided.answers)
}

async fn load_due(tx: &Transaction<'_>, view: &mut LedgerState, now: Timestamp) -> Result<(), LedgerError> {
    let rows = tx
        .query(
            &format!(
                "SELECT {TRANSFER_COLS}, p.status, p.expires_at, p.limit_slots FROM ledger_pending p
                 JOIN ledger_transfers t ON t.ts = p.ts
                 WHERE p.status = 1 AND p.expires_at IS NOT NULL AND p.expires_at <= $1
                 ORDER BY p.expires_at, p.ts LIMIT $2"
            ),
            &[&ts(now), &(crate::BATCH_EVENTS_MAX as i64)],
        )
        .await
        .map_err(pg)?;
    for r in &rows {
        let t = transfer_row(r, 0)?;
        let p = pending_row(&t, r, 13)?;
        if view.transfer(t.id).is_none() {
            view.insert_transfer(t, p).map_err(corrupt)?;
        }
    }
    Ok(())
}

async fn load(tx: &Transaction<'_>, view: &mut LedgerState, needs: &Needs) -> Result<(), LedgerError> {
    if !needs.accounts.is_empty() {
        let mut keys: Vec<[u8; 16]> = needs.accounts.iter().map(|a| a.to_bytes()).collect();
        keys.sort_unstable();
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let rows = tx
            .query(
                &format!("SELECT {ACCOUNT_COLS} FROM ledger_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE"),
                &[&keys],
            )
            .await
            .map_err(pg)?;
        let mut limits = load_limits(tx, &keys).await?;
        for r in &rows {
            let a = account_row(r)?;
            let l = limits.remove(&a.id).unwrap_or_default();
            view.insert_account(a, l).map_err(corrupt)?;
        }
    }
    if !needs.transfers.is_empty() {
        let keys: Vec<[u8; 16]> = needs.transfers.iter().map(|t| t.to_bytes()).collect();
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT {TRANSFER_COLS}, p.status, p.expires_at, p.limit_slots FROM ledger_transfer_ids i
                     JOIN ledger_transfers t ON t.ts = i.ts LEFT JOIN ledger_pending p ON p.ts = t.ts
                     WHERE i.id = ANY($1)"
                ),
                &[&keys],
            )
            .await
            .map_err(pg)?;
        for r in &rows {
            let t = transfer_row(r, 0)?;
            let p = pending_row(&t, r, 13)?;
            view.insert_transfer(t, p).map_err(corrupt)?;
        }
        let rows =
            tx.query("SELECT id, result, ts FROM ledger_failed WHERE id = ANY($1)", &[&keys]).await.map_err(pg)?;
        for r in &rows {
            let f = failed_of(r.get(0), i64::from(r.get::<_, i32>(1)), r.get(2))?;
            view.insert_failed(f).map_err(corrupt)?;
        }
    }
    Ok(())
}

async fn load_limits(
    tx: &Transaction<'_>,
    keys: &[&[u8]],
) -> Result<FxHashMap<AccountId, Vec<AccountLimit>>, LedgerError> {
    let rows = tx
        .query(
            "SELECT account, slot, win, codes, amount_max, window_start, used FROM ledger_limits
             WHERE account = ANY($1) ORDER BY account, slot",
            &[&keys],
        )
        .await
        .map_err(pg)?;
    let mut out: FxHashMap<AccountId, Vec<AccountLimit>> = FxHashMap::default();
    for r in &rows {
        let id = AccountId::from_u128(super::codec::u128_of(r.get(0))?);
        let l = LimitCols {
            slot: i64::from(r.get::<_, i32>(1)),
            window: i64::from(r.get::<_, i32>(2)),
            codes: r.get(3),
            amount_max: r.get(4),
            window_start: r.get(5),
            used: r.get(6),
        }
        .decode()?;
        out.entry(id).or_default().push(l);
    }
    Ok(out)
}

/// Columns of many rows, as arrays for `unnest`.
#[derive(Default)]
struct Cols {
    ints: Vec<Vec<i64>>,
    smalls: Vec<Vec<i32>>,
    blobs: Vec<Vec<[u8; 16]>>,
}

impl Cols {
    fn new(ints: usize, smalls: usize, blobs: usize) -> Self {
        Cols { ints: vec![Vec::new(); ints], smalls: vec![Vec::new(); smalls], blobs: vec![Vec::new(); blobs] }
    }
}

async fn exec(tx: &Transaction<'_>, sql: &str, cols: &Cols, order: &[(char, usize)]) -> Result<(), LedgerError> {
    let blob_refs: Vec<Vec<&[u8]>> = cols.blobs.iter().map(|c| c.iter().map(|b| &b[..]).collect()).collect();
    let params: Vec<&(dyn ToSql + Sync)> = order
        .iter()
        .map(|(kind, i)| match kind {
            'i' => &cols.ints[*i] as &(dyn ToSql + Sync),
            's' => &cols.smalls[*i] as &(dyn ToSql + Sync),
            _ => &blob_refs[*i] as &(dyn ToSql + Sync),
        })
        .collect();
    tx.execute(sql, &params).await.map_err(pg)?;
    Ok(())
}

async fn write(tx: &Transaction<'_>, view: &LedgerState, d: &Decided) -> Result<(), LedgerError> {
    let ch = &d.changes;
    let mut seen = FxHashSet::default();
    let accounts: Vec<&Account> = ch
        .accounts_created
        .iter()
        .map(|a| a.id)
        .chain(ch.accounts_updated.iter().map(|u| u.id))
        .filter(|id| seen.insert(*id))
        .filter_map(|id| view.account(id))
        .collect();
    if !accounts.is_empty() {
        let mut c = Cols::new(5, 2, 6);
        for a in &accounts {
            for (i, v) in [
                a.id.as_u128(),
                a.debits_pending,
                a.debits_posted,
                a.credits_pending,
                a.credits_posted,
                a.user_data_128,
            ]
            .into_iter()
            .enumerate()
            {
                c.blobs[i].push(b16(v));
            }
            c.smalls[0].push(i32::from(a.flags.bits()));
            c.smalls[1].push(i32::from(a.code.as_u16()));
            c.ints[0].push(i64::from(a.ledger.as_u32()));
            c.ints[1].push(a.user_data_64 as i64);
            c.ints[2].push(i64::from(a.user_data_32));
            c.ints[3].push(ts(a.timestamp));
        }
        exec(
            tx,
            &format!(
                "INSERT INTO ledger_accounts ({ACCOUNT_COLS}) SELECT * FROM unnest($1::bytea[], $2::bytea[],
                 $3::bytea[], $4::bytea[], $5::bytea[], $6::int4[], $7::int8[], $8::int4[], $9::bytea[], $10::int8[],
                 $11::int8[], $12::int8[])
                 ON CONFLICT (id) DO UPDATE SET dp = excluded.dp, dpo = excluded.dpo, cp = excluded.cp,
                 cpo = excluded.cpo, flags = excluded.flags"
            ),
            &c,
            &[
                ('b', 0),
                ('b', 1),
                ('b', 2),
                ('b', 3),
                ('b', 4),
                ('s', 0),
                ('i', 0),
                ('s', 1),
                ('b', 5),
                ('i', 1),
                ('i', 2),
                ('i', 3),
            ],
        )
        .await?;
    }
    write_limits(tx, view, ch).await?;
    write_transfers(tx, &ch.transfers).await?;
    write_pending(tx, view, &ch.pending).await?;
    if !ch.failed.is_empty() {
        let mut c = Cols::new(1, 1, 1);
        for f in &ch.failed {
            c.blobs[0].push(f.id.to_bytes());
            c.smalls[0].push(i32::from(f.result.code()));
            c.ints[0].push(ts(f.timestamp));
        }
        let sql =
            "INSERT INTO ledger_failed (id, result, ts) SELECT * FROM unnest($1::bytea[], $2::int4[], $3::int8[])";
        exec(tx, sql, &c, &[('b', 0), ('s', 0), ('i', 0)]).await?;
    }
    if !ch.balances.is_empty() {
        let mut c = Cols::new(1, 0, 5);
        for b in &ch.balances {
            c.blobs[0].push(b.account_id.to_bytes());
            c.ints[0].push(ts(b.timestamp));
            let v = b.balance;
            for (i, n) in
                [v.debits_pending, v.debits_posted, v.credits_pending, v.credits_posted].into_iter().enumerate()
            {
                c.blobs[i + 1].push(b16(n));
            }
        }
        let sql = "INSERT INTO ledger_balances (account, ts, dp, dpo, cp, cpo) SELECT * FROM unnest($1::bytea[],
                   $2::int8[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])";
        exec(tx, sql, &c, &[('b', 0), ('i', 0), ('b', 1), ('b', 2), ('b', 3), ('b', 4)]).await?;
    }
    Ok(())
}

async fn write_transfers(tx: &Transaction<'_>, transfers: &[Transfer]) -> Result<(), LedgerError> {
    if transfers.is_empty() {
        return Ok(());
    }
    let mut c = Cols::new(6, 2, 6);
    let mut index = Cols::new(1, 2, 1);
    for t in transfers {
        let at = ts(t.timestamp);
        for (i, v) in [
            t.id.as_u128(),
            t.debit_account_id.as_u128(),
            t.credit_account_id.as_u128(),
            t.amount,
            t.pending_id.as_u128(),
            t.user_data_128,
        ]
        .into_iter()
        .enumerate()
        {
            c.blobs[i].push(b16(v));
        }
        c.ints[0].push(at);
        c.ints[1].push(t.user_data_64 as i64);
        c.ints[2].push(i64::from(t.user_data_32));
        c.ints[3].push(i64::from(t.timeout_secs));
        c.ints[4].push(i64::from(t.ledger.as_u32()));
        c.smalls[0].push(i32::from(t.code.as_u16()));
        c.smalls[1].push(i32::from(t.flags.bits()));
        for (account, dir) in [(t.debit_account_id, DIR_DEBIT), (t.credit_account_id, DIR_CREDIT)] {
            index.blobs[0].push(account.to_bytes());
            index.ints[0].push(at);
            index.smalls[0].push(i32::from(t.code.as_u16()));
            index.smalls[1].push(dir);
        }
    }
    exec(
        tx,
        "INSERT INTO ledger_transfers (ts, id, dr, cr, amount, pending_id, ud128, ud64, ud32, timeout, ledger, code, flags)
         SELECT * FROM unnest($1::int8[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[],
         $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int4[], $13::int4[])",
        &c,
        &[('i', 0), ('b', 0), ('b', 1), ('b', 2), ('b', 3), ('b', 4), ('b', 5), ('i', 1), ('i', 2), ('i', 3), ('i', 4), ('s', 0), ('s', 1)],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO ledger_transfer_ids (id, ts) SELECT * FROM unnest($1::bytea[], $2::int8[])",
        &c,
        &[('b', 0), ('i', 0)],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO ledger_account_transfers (account, ts, code, dir)
         SELECT * FROM unnest($1::bytea[], $2::int8[], $3::int4[], $4::int4[])",
        &index,
        &[('b', 0), ('i', 0), ('s', 0), ('s', 1)],
    )
    .await
}

async fn write_pending(tx: &Transaction<'_>, view: &LedgerState, pending: &[PendingState]) -> Result<(), LedgerError> {
    // Upsert by timestamp; the last change of a transfer wins, so keep only that one.
    let mut last: FxHashMap<TransferId, &PendingState> = FxHashMap::default();
    for p in pending {
        last.insert(p.transfer_id, p);
    }
    if last.is_empty() {
        return Ok(());
    }
    let (mut at, mut status, mut expires, mut slots) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in last.values() {
        let t = view
            .transfer(p.transfer_id)
            .ok_or_else(|| StoreError::corrupt("a pending change names a transfer the view does not hold"))?;
        at.push(ts(t.timestamp));
        status.push(i32::from(p.status.code()));
        expires.push(p.expires_at.map(ts));
        slots.push(i32::from(p.limit_slots));
    }
    tx.execute(
        "INSERT INTO ledger_pending (ts, status, expires_at, limit_slots)
         SELECT * FROM unnest($1::int8[], $2::int4[], $3::int8[], $4::int4[])
         ON CONFLICT (ts) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at,
         limit_slots = excluded.limit_slots",
        &[&at, &status, &expires, &slots],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

async fn write_limits(tx: &Transaction<'_>, view: &LedgerState, ch: &crate::Changes) -> Result<(), LedgerError> {
    let mut done = FxHashSet::default();
    let ids = ch.limit_sets.iter().map(|s| s.account_id).chain(ch.limit_usages.iter().map(|u| u.account_id));
    for id in ids {
        if !done.insert(id) {
            continue;
        }
        let key = id.to_bytes();
        tx.execute("DELETE FROM ledger_limits WHERE account = $1", &[&&key[..]]).await.map_err(pg)?;
        for l in view.limits(id) {
            tx.execute(
                "INSERT INTO ledger_limits (account, slot, win, codes, amount_max, window_start, used)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &&key[..],
                    &i32::from(l.limit.slot),
                    &(window_code(l.limit.window) as i32),
                    &codes_blob(&l.limit.codes),
                    &&b16(l.limit.amount_max)[..],
                    &ts(l.usage.window_start),
                    &&b16(l.usage.used_amount)[..],
                ],
            )
            .await
            .map_err(pg)?;
        }
    }
    Ok(())
}

async fn write_link(
    tx: &Transaction<'_>,
    d: &Decided,
    head_ts: i64,
    seq: u64,
    prev: &[u8; 32],
) -> Result<(), LedgerError> {
    let ch = &d.changes;
    let mut accounts = ch.accounts_created.clone();
    accounts.sort_by_key(|a| a.timestamp);
    let mut failed = ch.failed.clone();
    failed.sort_by_key(|f| f.timestamp);
    let mut transfers = ch.transfers.clone();
    transfers.sort_by_key(|t| t.timestamp);
    let link = Link {
        seq: seq + 1,
        from_ts: head_ts,
        to_ts: ts(ch.last_timestamp),
        transfers: &transfers,
        accounts: &accounts,
        failed: &failed,
        events: &d.events,
    };
    let digest = journal::digest(prev, &link);
    let seq = i64::try_from(link.seq).map_err(|_| StoreError::new(ErrorKind::Corrupt, "journal sequence overflow"))?;
    tx.execute(
        "INSERT INTO ledger_journal (seq, from_ts, to_ts, events, digest) VALUES ($1, $2, $3, $4, $5)",
        &[&seq, &link.from_ts, &link.to_ts, &d.events, &&digest[..]],
    )
    .await
    .map_err(pg)?;
    tx.execute(
        "UPDATE ledger_head SET last_ts = $1, seq = $2, digest = $3, merged_ts = $1 WHERE k = 1",
        &[&link.to_ts, &seq, &&digest[..]],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Accounts by id, in the order asked.
pub(crate) async fn lookup_accounts(db: &PgDb, ids: &[AccountId]) -> Result<Vec<Account>, LedgerError> {
    let keys: Vec<[u8; 16]> = ids.iter().map(|a| a.to_bytes()).collect();
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let client = db.client().await?;
    let rows = client
        .query(&format!("SELECT {ACCOUNT_COLS} FROM ledger_accounts WHERE id = ANY($1)"), &[&keys])
        .await
        .map_err(pg)?;
    let mut found = FxHashMap::default();
    for r in &rows {
        let a = account_row(r)?;
        found.insert(a.id, a);
    }
    Ok(ids.iter().filter_map(|id| found.get(id).copied()).collect())
}

/// Transfers by id, in the order asked.
pub(crate) async fn lookup_transfers(db: &PgDb, ids: &[TransferId]) -> Result<Vec<Transfer>, LedgerError> {
    let keys: Vec<[u8; 16]> = ids.iter().map(|t| t.to_bytes()).collect();
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let client = db.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {TRANSFER_COLS} FROM ledger_transfer_ids i JOIN ledger_transfers t ON t.ts = i.ts
                 WHERE i.id = ANY($1)"
            ),
            &[&keys],
        )
        .await
        .map_err(pg)?;
    let mut found = FxHashMap::default();
    for r in &rows {
        let t = transfer_row(r, 0)?;
        found.insert(t.id, t);
    }
    Ok(ids.iter().filter_map(|id| found.get(id).copied()).collect())
}
