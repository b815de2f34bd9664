//! The ledger's tables (component `ledger`), the same shape on SQLite and PostgreSQL.
//!
//! - `ledger_head`: one row: the last assigned timestamp, the journal's last sequence number and
//!   digest, and `merged_ts`, up to which the look-up tables below hold every transfer.
//! - `ledger_accounts`: accounts with their four counters (`u128` as 16-byte big-endian blobs).
//! - `ledger_limits`: debit limits with their usage, by account and slot.
//! - `ledger_transfers`: transfers keyed by their timestamp (unique, increasing): appended in order.
//!   On SQLite (migration 4) a row is the timestamp and one 120-byte `body` (`codec::transfer_body`:
//!   the journal's canonical bytes of the transfer without its timestamp); PostgreSQL keeps columns.
//! - `ledger_transfer_ids` (id → timestamp) and `ledger_account_transfers` (account, timestamp, code,
//!   direction): PostgreSQL's look-up tables, filled with every batch.
//! - SQLite (migration 2) replaces them by immutable runs: transfers after `merged_ts` are the
//!   *tail*, held in memory; every few batches the tail is merged as one run (`ledger_runs`: its
//!   timestamp range) of sorted chunk blobs, `ledger_id_chunks` (id → timestamp) and
//!   `ledger_account_chunks` (account → timestamp, code, direction), never rewritten.
//! - SQLite (migration 3): `ledger_account_log`, one row per group (keyed by its journal sequence)
//!   holding the packed counters and flags of the accounts it touched; an account's state is its
//!   `ledger_accounts` row overridden by the latest log entry naming it. Every few groups the log is
//!   merged into the rows and emptied. Migration 5 adds its `format` (0: fixed 82-byte entries,
//!   rows from before; 1: compact entries, see `account_log.rs`).
//! - `ledger_pending`: the state of pending transfers, by the pending transfer's timestamp, with a
//!   partial index of those still pending by expiry.
//! - `ledger_failed`: ids whose first attempt failed for a state-dependent reason.
//! - `ledger_balances`: balance snapshots of accounts with the `HISTORY` flag.
//! - `ledger_journal`: one row per committed batch: the timestamp range it covers, the events not
//!   kept elsewhere, and the SHA-256 chain digest.

use qianbao_store::Migration;

/// The migrations of the ledger's tables.
pub static MIGRATIONS: &[Migration] = &[
    Migration {
        component: "ledger",
        version: 1,
        name: "ledger tables",
        sqlite: "
CREATE TABLE ledger_head (
    k INTEGER PRIMARY KEY CHECK (k = 1),
    last_ts INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    digest BLOB NOT NULL,
    merged_ts INTEGER NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, 0, zeroblob(32), 0);
CREATE TABLE ledger_accounts (
    id BLOB PRIMARY KEY,
    dp BLOB NOT NULL, dpo BLOB NOT NULL, cp BLOB NOT NULL, cpo BLOB NOT NULL,
    flags INTEGER NOT NULL, ledger INTEGER NOT NULL, code INTEGER NOT NULL,
    ud128 BLOB NOT NULL, ud64 INTEGER NOT NULL, ud32 INTEGER NOT NULL, ts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ledger_accounts_ts ON ledger_accounts (ts);
CREATE TABLE ledger_limits (
    account BLOB NOT NULL, slot INTEGER NOT NULL, win INTEGER NOT NULL, codes BLOB NOT NULL,
    amount_max BLOB NOT NULL, window_start INTEGER NOT NULL, used BLOB NOT NULL,
    PRIMARY KEY (account, slot)
) WITHOUT ROWID;
CREATE TABLE ledger_transfers (
    ts INTEGER PRIMARY KEY,
    id BLOB NOT NULL, dr BLOB NOT NULL, cr BLOB NOT NULL, amount BLOB NOT NULL, pending_id BLOB NOT NULL,
    ud128 BLOB NOT NULL, ud64 INTEGER NOT NULL, ud32 INTEGER NOT NULL, timeout INTEGER NOT NULL,
    ledger INTEGER NOT NULL, code INTEGER NOT NULL, flags INTEGER NOT NULL
);
CREATE TABLE ledger_transfer_ids (id BLOB PRIMARY KEY, ts INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE ledger_account_transfers (
    account BLOB NOT NULL, ts INTEGER NOT NULL, code INTEGER NOT NULL, dir INTEGER NOT NULL,
    PRIMARY KEY (account, ts)
) WITHOUT ROWID;
CREATE TABLE ledger_pending (
    ts INTEGER PRIMARY KEY, status INTEGER NOT NULL, expires_at INTEGER, limit_slots INTEGER NOT NULL
);
CREATE INDEX ledger_pending_due ON ledger_pending (expires_at, ts) WHERE status = 1 AND expires_at IS NOT NULL;
CREATE TABLE ledger_failed (id BLOB PRIMARY KEY, result INTEGER NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX ledger_failed_ts ON ledger_failed (ts);
CREATE TABLE ledger_balances (
    account BLOB NOT NULL, ts INTEGER NOT NULL,
    dp BLOB NOT NULL, dpo BLOB NOT NULL, cp BLOB NOT NULL, cpo BLOB NOT NULL,
    PRIMARY KEY (account, ts)
) WITHOUT ROWID;
CREATE TABLE ledger_journal (
    seq INTEGER PRIMARY KEY, from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL,
    events BLOB NOT NULL, digest BLOB NOT NULL
);
",
        postgres: "
CREATE TABLE ledger_head (
    k INTEGER PRIMARY KEY CHECK (k = 1),
    last_ts BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    digest BYTEA NOT NULL,
    merged_ts BIGINT NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, 0, decode(repeat('00', 32), 'hex'), 0);
CREATE TABLE ledger_accounts (
    id BYTEA PRIMARY KEY,
    dp BYTEA NOT NULL, dpo BYTEA NOT NULL, cp BYTEA NOT NULL, cpo BYTEA NOT NULL,
    flags INTEGER NOT NULL, ledger BIGINT NOT NULL, code INTEGER NOT NULL,
    ud128 BYTEA NOT NULL, ud64 BIGINT NOT NULL, ud32 BIGINT NOT NULL, ts BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_ts ON ledger_accounts (ts);
CREATE TABLE ledger_limits (
    account BYTEA NOT NULL, slot INTEGER NOT NULL, win INTEGER NOT NULL, codes BYTEA NOT NULL,
    amount_max BYTEA NOT NULL, window_start BIGINT NOT NULL, used BYTEA NOT NULL,
    PRIMARY KEY (account, slot)
);
CREATE TABLE ledger_transfers (
    ts BIGINT PRIMARY KEY,
    id BYTEA NOT NULL, dr BYTEA NOT NULL, cr BYTEA NOT NULL, amount BYTEA NOT NULL, pending_id BYTEA NOT NULL,
    ud128 BYTEA NOT NULL, ud64 BIGINT NOT NULL, ud32 BIGINT NOT NULL, timeout BIGINT NOT NULL,
    ledger BIGINT NOT NULL, code INTEGER NOT NULL, flags INTEGER NOT NULL
);
CREATE TABLE ledger_transfer_ids (id BYTEA PRIMARY KEY, ts BIGINT NOT NULL);
CREATE TABLE ledger_account_transfers (
    account BYTEA NOT NULL, ts BIGINT NOT NULL, code INTEGER NOT NULL, dir INTEGER NOT NULL,
    PRIMARY KEY (account, ts)
);
CREATE TABLE ledger_pending (
    ts BIGINT PRIMARY KEY, status INTEGER NOT NULL, expires_at BIGINT, limit_slots INTEGER NOT NULL
);
CREATE INDEX ledger_pending_due ON ledger_pending (expires_at, ts) WHERE status = 1 AND expires_at IS NOT NULL;
CREATE TABLE ledger_failed (id BYTEA PRIMARY KEY, result INTEGER NOT NULL, ts BIGINT NOT NULL);
CREATE INDEX ledger_failed_ts ON ledger_failed (ts);
CREATE TABLE ledger_balances (
    account BYTEA NOT NULL, ts BIGINT NOT NULL,
    dp BYTEA NOT NULL, dpo BYTEA NOT NULL, cp BYTEA NOT NULL, cpo BYTEA NOT NULL,
    PRIMARY KEY (account, ts)
);
CREATE TABLE ledger_journal (
    seq BIGINT PRIMARY KEY, from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL,
    events BYTEA NOT NULL, digest BYTEA NOT NULL
);
",
    },
    Migration {
        component: "ledger",
        version: 2,
        name: "sqlite look-up runs",
        // SQLite only: the look-up tables become immutable runs of chunk blobs (see `runs.rs`). Every
        // transfer becomes tail again (`merged_ts = 0`): it is reloaded on open and merged into the first
        // run by the next merge.
        sqlite: "
CREATE TABLE ledger_runs (
    run INTEGER PRIMARY KEY, from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL, transfers INTEGER NOT NULL
);
CREATE TABLE ledger_id_chunks (
    run INTEGER NOT NULL, first BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run, first)
);
CREATE TABLE ledger_account_chunks (
    run INTEGER NOT NULL, account BLOB NOT NULL, first_ts INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (run, account, first_ts)
);
DROP TABLE ledger_transfer_ids;
DROP TABLE ledger_account_transfers;
UPDATE ledger_head SET merged_ts = 0;
",
        postgres: "SELECT 1;",
    },
    Migration {
        component: "ledger",
        version: 3,
        name: "sqlite account log",
        // SQLite only: the counters of touched accounts are appended here and merged into
        // `ledger_accounts` every few groups (see `account_log.rs`).
        sqlite: "CREATE TABLE ledger_account_log (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);",
        postgres: "SELECT 1;",
    },
    Migration {
        component: "ledger",
        version: 4,
        name: "sqlite transfer bodies",
        // SQLite only: a transfer row is its timestamp and one 120-byte body (the journal's canonical
        // bytes without the timestamp, `codec::transfer_body`), two values to bind instead of 13. (Copied
        // twice rather than renamed: a rename opens SQLite's temporary storage, whose mode the ledger
        // then could not set within the transaction.)
        sqlite: "
CREATE TABLE ledger_transfers_body (ts INTEGER PRIMARY KEY, body BLOB NOT NULL);
INSERT INTO ledger_transfers_body (ts, body)
SELECT ts, CAST(id || dr || cr || amount || pending_id || ud128
    || unhex(printf('%016x%08x%08x%08x%04x%04x', ud64, ud32, timeout, ledger, code, flags)) AS BLOB)
FROM ledger_transfers ORDER BY ts;
DROP TABLE ledger_transfers;
CREATE TABLE ledger_transfers (ts INTEGER PRIMARY KEY, body BLOB NOT NULL);
INSERT INTO ledger_transfers (ts, body) SELECT ts, body FROM ledger_transfers_body ORDER BY ts;
DROP TABLE ledger_transfers_body;
",
        postgres: "SELECT 1;",
    },
    Migration {
        component: "ledger",
        version: 5,
        name: "sqlite compact account log",
        // SQLite only: a log row says how its entries are packed (`account_log.rs`): 0 for the rows
        // written before (fixed 82-byte entries, read as they are), 1 for compact entries.
        sqlite: "ALTER TABLE ledger_account_log ADD COLUMN format INTEGER NOT NULL DEFAULT 0;",
        postgres: "SELECT 1;",
    },
];

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use qianbao_core::{AccountId, Timestamp, TransferId};
    use qianbao_store::drivers::rusqlite::{Connection, params};

    use super::MIGRATIONS;
    use crate::store::codec::{b16, transfer_of_body};
    use crate::{Ledger, Transfer, TransferCode, TransferFlags};

    #[test]
    fn migration_4_packs_existing_transfer_rows_into_bodies() {
        let conn = Connection::open_in_memory().unwrap();
        for m in &MIGRATIONS[..3] {
            conn.execute_batch(m.sqlite).unwrap();
        }
        // Every field away from zero, user_data_64 with its top bit set (a negative BIGINT).
        let t = Transfer {
            id: TransferId::from_u128(u128::MAX - 1),
            debit_account_id: AccountId::from_u128(0x0102_0304),
            credit_account_id: AccountId::from_u128(1 << 100),
            amount: 123_456_789,
            pending_id: TransferId::from_u128(77),
            user_data_128: 0x00ff_00ff,
            user_data_64: u64::MAX - 5,
            user_data_32: u32::MAX,
            timeout_secs: 3_600,
            ledger: Ledger::from_u32(156),
            code: TransferCode::from_u16(0xbeef),
            flags: TransferFlags::from_bits_retain(0x8001),
            timestamp: Timestamp::from_unix_nanos(1_779_947_200_000_000_001),
        };
        let ts = crate::store::codec::ts(t.timestamp);
        conn.execute(
            "INSERT INTO ledger_transfers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                ts,
                t.id.to_bytes(),
                t.debit_account_id.to_bytes(),
                t.credit_account_id.to_bytes(),
                b16(t.amount),
                t.pending_id.to_bytes(),
                b16(t.user_data_128),
                t.user_data_64 as i64,
                i64::from(t.user_data_32),
                i64::from(t.timeout_secs),
                i64::from(t.ledger.as_u32()),
                i64::from(t.code.as_u16()),
                i64::from(t.flags.bits()),
            ],
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[3].sqlite).unwrap();
        let (at, body): (i64, Vec<u8>) =
            conn.query_row("SELECT ts, body FROM ledger_transfers", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(body, crate::store::codec::transfer_body(&t));
        assert_eq!(transfer_of_body(at, &body).unwrap(), t);
        assert!(transfer_of_body(at, &body[1..]).is_err());
    }

    #[test]
    fn migration_5_keeps_existing_account_log_rows_readable() {
        use crate::store::account_log::{self, State};
        use crate::{AccountFlags, AccountUpdate};
        let conn = Connection::open_in_memory().unwrap();
        for m in &MIGRATIONS[..4] {
            conn.execute_batch(m.sqlite).unwrap();
        }
        let old = |id: u128, n: u128| AccountUpdate {
            id: AccountId::from_u128(id),
            debits_pending: n,
            debits_posted: u128::MAX - n,
            credits_pending: 0,
            credits_posted: n << 64,
            flags: AccountFlags::from_bits_retain(0x8001),
        };
        let first = [old(1, 5), old(2, 6)];
        let second = [old(2, 9)];
        for (seq, states) in [(1, &first[..]), (2, &second[..])] {
            conn.execute(
                "INSERT INTO ledger_account_log (seq, data) VALUES (?1, ?2)",
                params![seq, account_log::tests::encode_fixed(states)],
            )
            .unwrap();
        }
        conn.execute_batch(MIGRATIONS[4].sqlite).unwrap();
        // Rows from before are read as they were written, and a row appended after wins over them.
        let (log, rows) = account_log::read(&conn).unwrap();
        assert_eq!(rows, 2);
        assert_eq!(log[&AccountId::from_u128(1)], first[0]);
        assert_eq!(log[&AccountId::from_u128(2)], second[0]);
        let newer: State = old(1, 1 << 100);
        account_log::append(&conn, 3, &[newer]).unwrap();
        let (log, rows) = account_log::read(&conn).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(log[&AccountId::from_u128(1)], newer);
        assert_eq!(log[&AccountId::from_u128(2)], second[0]);
    }
}
