//! The schema of component `ca`: its migrations, in order, for SQLite and PostgreSQL.

use qianbao_store::Migration;

/// The migrations of component `ca`, applied in order by [`super::CaDb::open`].
pub(crate) static MIGRATIONS: &[Migration] = &[
    Migration {
        component: "ca",
        version: 1,
        name: "authorities, certificates, crl numbers, order nonces, usage",
        sqlite: "
CREATE TABLE ca_authorities (
    kind TEXT NOT NULL,
    generation INTEGER NOT NULL,
    cert_der BLOB NOT NULL,
    key_handle BLOB NOT NULL,
    retired INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    PRIMARY KEY (kind, generation)
);
CREATE TABLE ca_certificates (
    serial BLOB PRIMARY KEY,
    fingerprint BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    issuer_generation INTEGER NOT NULL,
    der BLOB NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_at BIGINT,
    revocation_reason TEXT,
    superseded_by BLOB,
    replaces BLOB
);
CREATE INDEX ca_certificates_user ON ca_certificates (user_id, issued_at);
CREATE INDEX ca_certificates_device ON ca_certificates (device_id, issued_at);
CREATE UNIQUE INDEX ca_certificates_one_active ON ca_certificates (device_id) WHERE status = 'active';
CREATE INDEX ca_certificates_inactive ON ca_certificates (not_after) WHERE status <> 'active';
CREATE TABLE ca_crl_numbers (
    generation INTEGER PRIMARY KEY,
    last_number BIGINT NOT NULL
);
CREATE TABLE ca_order_nonces (
    user_id BLOB NOT NULL,
    nonce BLOB NOT NULL,
    signed_at BIGINT NOT NULL,
    serial BLOB NOT NULL,
    PRIMARY KEY (user_id, nonce)
);
CREATE INDEX ca_order_nonces_time ON ca_order_nonces (signed_at);
CREATE TABLE ca_usage (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    serial BLOB,
    user_id BLOB,
    failure TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX ca_usage_serial ON ca_usage (serial, seq);
CREATE INDEX ca_usage_user ON ca_usage (user_id, seq);
",
        postgres: "
CREATE TABLE ca_authorities (
    kind TEXT NOT NULL,
    generation INTEGER NOT NULL,
    cert_der BYTEA NOT NULL,
    key_handle BYTEA NOT NULL,
    retired BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    PRIMARY KEY (kind, generation)
);
CREATE TABLE ca_certificates (
    serial BYTEA PRIMARY KEY,
    fingerprint BYTEA NOT NULL UNIQUE,
    user_id BYTEA NOT NULL,
    device_id BYTEA NOT NULL,
    issuer_generation INTEGER NOT NULL,
    der BYTEA NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_at BIGINT,
    revocation_reason TEXT,
    superseded_by BYTEA,
    replaces BYTEA
);
CREATE INDEX ca_certificates_user ON ca_certificates (user_id, issued_at);
CREATE INDEX ca_certificates_device ON ca_certificates (device_id, issued_at);
CREATE UNIQUE INDEX ca_certificates_one_active ON ca_certificates (device_id) WHERE status = 'active';
CREATE INDEX ca_certificates_inactive ON ca_certificates (not_after) WHERE status <> 'active';
CREATE TABLE ca_crl_numbers (
    generation INTEGER PRIMARY KEY,
    last_number BIGINT NOT NULL
);
CREATE TABLE ca_order_nonces (
    user_id BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    signed_at BIGINT NOT NULL,
    serial BYTEA NOT NULL,
    PRIMARY KEY (user_id, nonce)
);
CREATE INDEX ca_order_nonces_time ON ca_order_nonces (signed_at);
CREATE TABLE ca_usage (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    serial BYTEA,
    user_id BYTEA,
    failure TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX ca_usage_serial ON ca_usage (serial, seq);
CREATE INDEX ca_usage_user ON ca_usage (user_id, seq);
",
    },
    // The fingerprint needs no unique index of its own: it is the SHA-256 of a DER that holds the serial,
    // which is the primary key (two rows with one fingerprint would be a SHA-256 collision), and nothing
    // looks a certificate up by it in the store (the verified-certificate cache is in memory). The index
    // cost every issuance a B-tree insert at a random place: one more dirty page per certificate to write
    // to the WAL and to checkpoint. SQLite cannot drop a column constraint, so the table is rebuilt
    // (copied out and back, as the ledger does, rather than renamed).
    Migration {
        component: "ca",
        version: 2,
        name: "certificate fingerprints without a unique index",
        sqlite: "
CREATE TABLE ca_certificates_copy AS SELECT * FROM ca_certificates;
DROP TABLE ca_certificates;
CREATE TABLE ca_certificates (
    serial BLOB PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    issuer_generation INTEGER NOT NULL,
    der BLOB NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_at BIGINT,
    revocation_reason TEXT,
    superseded_by BLOB,
    replaces BLOB
);
INSERT INTO ca_certificates (serial, fingerprint, user_id, device_id, issuer_generation, der, not_before, not_after,
    issued_at, status, status_at, revocation_reason, superseded_by, replaces)
SELECT serial, fingerprint, user_id, device_id, issuer_generation, der, not_before, not_after,
    issued_at, status, status_at, revocation_reason, superseded_by, replaces
FROM ca_certificates_copy ORDER BY rowid;
DROP TABLE ca_certificates_copy;
CREATE INDEX ca_certificates_user ON ca_certificates (user_id, issued_at);
CREATE INDEX ca_certificates_device ON ca_certificates (device_id, issued_at);
CREATE UNIQUE INDEX ca_certificates_one_active ON ca_certificates (device_id) WHERE status = 'active';
CREATE INDEX ca_certificates_inactive ON ca_certificates (not_after) WHERE status <> 'active';
",
        postgres: "ALTER TABLE ca_certificates DROP CONSTRAINT ca_certificates_fingerprint_key;",
    },
    // A certificate's issuance event (issued, renewed, reissued: one per certificate, written with it)
    // is found through the certificate row (`issued_event`, its `seq`) rather than through the usage
    // index by serial, which keeps only the other events: an issuance then inserts into that index —
    // keyed by a random serial, so a B-tree insert at a random place and one more dirty page to write —
    // nothing. Existing certificates are linked to their issuance event.
    Migration {
        component: "ca",
        version: 3,
        name: "issuance events linked from their certificate, out of the usage index by serial",
        sqlite: "
ALTER TABLE ca_certificates ADD COLUMN issued_event INTEGER;
UPDATE ca_certificates SET issued_event = (SELECT min(u.seq) FROM ca_usage u
    WHERE u.serial = ca_certificates.serial AND u.kind IN ('issued', 'renewed', 'reissued'));
DROP INDEX ca_usage_serial;
CREATE INDEX ca_usage_serial ON ca_usage (serial, seq)
    WHERE kind <> 'issued' AND kind <> 'renewed' AND kind <> 'reissued';
",
        postgres: "
ALTER TABLE ca_certificates ADD COLUMN issued_event BIGINT;
UPDATE ca_certificates c SET issued_event = (SELECT min(u.seq) FROM ca_usage u
    WHERE u.serial = c.serial AND u.kind IN ('issued', 'renewed', 'reissued'));
DROP INDEX ca_usage_serial;
CREATE INDEX ca_usage_serial ON ca_usage (serial, seq)
    WHERE kind <> 'issued' AND kind <> 'renewed' AND kind <> 'reissued';
",
    },
    // SQLite: the used order nonces are kept in their primary key's B-tree (WITHOUT ROWID: small rows,
    // always found by that key), so a payment order inserts into one B-tree there instead of a rowid
    // table plus the key's index. PostgreSQL tables are heaps with separate indexes: nothing to change.
    Migration {
        component: "ca",
        version: 4,
        name: "order nonces clustered by their key",
        sqlite: "
CREATE TABLE ca_order_nonces_copy AS SELECT user_id, nonce, signed_at, serial FROM ca_order_nonces;
DROP TABLE ca_order_nonces;
CREATE TABLE ca_order_nonces (
    user_id BLOB NOT NULL,
    nonce BLOB NOT NULL,
    signed_at BIGINT NOT NULL,
    serial BLOB NOT NULL,
    PRIMARY KEY (user_id, nonce)
) WITHOUT ROWID;
INSERT INTO ca_order_nonces (user_id, nonce, signed_at, serial)
SELECT user_id, nonce, signed_at, serial FROM ca_order_nonces_copy ORDER BY user_id, nonce;
DROP TABLE ca_order_nonces_copy;
CREATE INDEX ca_order_nonces_time ON ca_order_nonces (signed_at);
",
        postgres: "SELECT 1;",
    },
    // Serials are the encryption of a certificate number under the CA's serial key (`crate::serial`):
    // the number is the row's key, so a certificate is found by decrypting its serial and an issuance
    // appends its row instead of inserting into an index keyed by random bytes at a random place (one
    // more page written to the log and checkpointed per certificate). SQLite: the table is rebuilt with
    // `id` as its rowid; rows from before keep their rowid as `id` and are found through
    // `legacy_serial`, a partial index that holds them only. `ca_serials` holds the serial key (made by
    // the first CA instance to open the store) and the next free certificate number.
    // PostgreSQL keeps its index by serial (heap tables: the row is appended either way) and only
    // records the number.
    Migration {
        component: "ca",
        version: 5,
        name: "certificates keyed by their number; the serial key and the number counter",
        sqlite: "
CREATE TABLE ca_certificates_copy AS SELECT rowid AS id, * FROM ca_certificates;
DROP TABLE ca_certificates;
CREATE TABLE ca_certificates (
    id INTEGER PRIMARY KEY,
    serial BLOB NOT NULL,
    legacy_serial BLOB,
    fingerprint BLOB NOT NULL,
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    issuer_generation INTEGER NOT NULL,
    der BLOB NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_at BIGINT,
    revocation_reason TEXT,
    superseded_by BLOB,
    replaces BLOB,
    issued_event INTEGER
);
INSERT INTO ca_certificates (id, serial, legacy_serial, fingerprint, user_id, device_id, issuer_generation, der,
    not_before, not_after, issued_at, status, status_at, revocation_reason, superseded_by, replaces, issued_event)
SELECT id, serial, serial, fingerprint, user_id, device_id, issuer_generation, der,
    not_before, not_after, issued_at, status, status_at, revocation_reason, superseded_by, replaces, issued_event
FROM ca_certificates_copy ORDER BY id;
DROP TABLE ca_certificates_copy;
CREATE UNIQUE INDEX ca_certificates_legacy_serial ON ca_certificates (legacy_serial) WHERE legacy_serial IS NOT NULL;
CREATE INDEX ca_certificates_user ON ca_certificates (user_id, issued_at);
CREATE INDEX ca_certificates_device ON ca_certificates (device_id, issued_at);
CREATE UNIQUE INDEX ca_certificates_one_active ON ca_certificates (device_id) WHERE status = 'active';
CREATE INDEX ca_certificates_inactive ON ca_certificates (not_after) WHERE status <> 'active';
CREATE TABLE ca_serials (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    serial_key BLOB,
    next_id BIGINT NOT NULL
);
INSERT INTO ca_serials (singleton, serial_key, next_id) SELECT 1, NULL, coalesce(max(id), 0) + 1 FROM ca_certificates;
",
        postgres: "
ALTER TABLE ca_certificates ADD COLUMN id BIGINT;
CREATE TABLE ca_serials (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    serial_key BYTEA,
    next_id BIGINT NOT NULL
);
INSERT INTO ca_serials (singleton, serial_key, next_id) VALUES (1, NULL, 1);
",
    },
    // SQLite: a certificate's issuance event is kept in the certificate's own row (`issued_kind`,
    // `issued_detail`; its time, user and serial are the row's, `issued_event` its number) instead of a
    // `ca_usage` row plus its entry in the index by user: an issuance writes one row, not two. The usage
    // record's numbers then come from `ca_usage_seq` (each write job reads it once and writes it back
    // once), so events in `ca_usage` and in certificate rows share one increasing sequence. Issuance
    // events from before stay in `ca_usage`, linked as they were. PostgreSQL: nothing to change.
    Migration {
        component: "ca",
        version: 6,
        name: "issuance events kept in their certificate's row",
        sqlite: "
ALTER TABLE ca_certificates ADD COLUMN issued_kind TEXT;
ALTER TABLE ca_certificates ADD COLUMN issued_detail TEXT;
CREATE TABLE ca_usage_seq (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    next_seq BIGINT NOT NULL
);
INSERT INTO ca_usage_seq (singleton, next_seq) SELECT 1, coalesce(max(seq), 0) + 1 FROM ca_usage;
",
        postgres: "SELECT 1;",
    },
];
