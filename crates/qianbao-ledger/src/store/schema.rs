//! The ledger's tables (component `ledger`), the same shape on SQLite and PostgreSQL.
//!
//! - `ledger_head`: one row: the last assigned timestamp, the journal's last sequence number and
//!   digest, and `merged_ts`, up to which the look-up tables below hold every transfer.
//! - `ledger_accounts`: accounts with their four counters (`u128` as 16-byte big-endian blobs).
//! - `ledger_limits`: debit limits with their usage, by account and slot.
//! - `ledger_transfers`: transfers keyed by their timestamp (unique, increasing): appended in order.
//! - `ledger_transfer_ids` (id → timestamp) and `ledger_account_transfers` (account, timestamp, code,
//!   direction): PostgreSQL's look-up tables, filled with every batch.
//! - SQLite (migration 2) replaces them by immutable runs: transfers after `merged_ts` are the
//!   *tail*, held in memory; every few batches the tail is merged as one run (`ledger_runs`: its
//!   timestamp range) of sorted chunk blobs, `ledger_id_chunks` (id → timestamp) and
//!   `ledger_account_chunks` (account → timestamp, code, direction), never rewritten.
//! - SQLite (migration 3): `ledger_account_log`, one row per group (keyed by its journal sequence)
//!   holding the packed counters and flags of the accounts it touched; an account's state is its
//!   `ledger_accounts` row overridden by the latest log entry naming it. Every few groups the log is
//!   merged into the rows and emptied.
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
];
