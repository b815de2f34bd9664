//! The payments tables (component `payments`). Ids are 16-byte blobs, owners 17 bytes (a tag and an
//! id), timestamps `BIGINT` Unix nanoseconds, amounts `BIGINT` minor units; immutable details of a
//! record are JSON in `body`, the columns a conditional update compares are plain columns.

use qianbao_store::Migration;

macro_rules! tables {
    ($blob:literal, $seq:literal) => {
        concat!(
            "
CREATE TABLE pay_accounts (
    account_id ",
            $blob,
            " PRIMARY KEY,
    owner ",
            $blob,
            " NOT NULL,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    UNIQUE (owner, kind, currency)
);
CREATE TABLE pay_payments (
    id ",
            $blob,
            " PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    state_detail TEXT NOT NULL,
    payer ",
            $blob,
            " NOT NULL,
    payee ",
            $blob,
            " NOT NULL,
    refund_of ",
            $blob,
            ",
    amount_minor BIGINT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    fee_refunded_minor BIGINT NOT NULL,
    bank_reference TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor AND fee_refunded_minor >= 0)
);
CREATE INDEX pay_payments_state ON pay_payments (state, created_at);
CREATE INDEX pay_payments_payer ON pay_payments (payer, created_at);
CREATE INDEX pay_payments_payee ON pay_payments (payee, created_at);
CREATE INDEX pay_payments_refund_of ON pay_payments (refund_of);
CREATE TABLE pay_transfers (
    transfer_id ",
            $blob,
            " PRIMARY KEY,
    payment_id ",
            $blob,
            " NOT NULL
);
CREATE TABLE pay_fee_usage (
    owner ",
            $blob,
            " NOT NULL,
    product TEXT NOT NULL,
    period BIGINT NOT NULL,
    count BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (owner, product, period)
);
CREATE TABLE pay_risk_subjects (
    subject ",
            $blob,
            " PRIMARY KEY,
    version BIGINT NOT NULL,
    counters TEXT NOT NULL,
    history TEXT NOT NULL
);
CREATE TABLE pay_known_devices (
    user_id ",
            $blob,
            " NOT NULL,
    device_id ",
            $blob,
            " NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE pay_blocked_payees (
    account_id ",
            $blob,
            " PRIMARY KEY,
    reason TEXT NOT NULL,
    blocked_at BIGINT NOT NULL
);
CREATE TABLE pay_risk_decisions (
    seq ",
            $seq,
            ",
    payment_id ",
            $blob,
            " NOT NULL,
    user_id ",
            $blob,
            " NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    fired TEXT NOT NULL
);
CREATE INDEX pay_risk_decisions_payment ON pay_risk_decisions (payment_id, seq);
CREATE TABLE pay_red_packets (
    id ",
            $blob,
            " PRIMARY KEY,
    sender ",
            $blob,
            " NOT NULL,
    state TEXT NOT NULL,
    claimed_count BIGINT NOT NULL,
    share_count BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    returned_minor BIGINT,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    CHECK (claimed_count >= 0 AND claimed_count <= share_count)
);
CREATE INDEX pay_red_packets_due ON pay_red_packets (state, expires_at);
CREATE TABLE pay_red_packet_claims (
    packet_id ",
            $blob,
            " NOT NULL,
    share_index BIGINT NOT NULL,
    receiver ",
            $blob,
            " NOT NULL,
    amount_minor BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (packet_id, share_index),
    UNIQUE (packet_id, receiver)
);
CREATE TABLE pay_cases (
    id ",
            $blob,
            " PRIMARY KEY,
    user_id ",
            $blob,
            " NOT NULL,
    account_id ",
            $blob,
            " NOT NULL,
    state TEXT NOT NULL,
    state_detail TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX pay_cases_user ON pay_cases (user_id, opened_at);
CREATE INDEX pay_cases_account ON pay_cases (account_id, state);
CREATE TABLE pay_case_events (
    seq ",
            $seq,
            ",
    case_id ",
            $blob,
            " NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX pay_case_events_case ON pay_case_events (case_id, seq);
"
        )
    };
}

const PACKETS_BY_SENDER: &str = "CREATE INDEX pay_red_packets_sender ON pay_red_packets (sender, created_at);";

pub(crate) static MIGRATIONS: &[Migration] = &[
    Migration {
        component: "payments",
        version: 1,
        name: "chart, payments, fee usage, risk, red packets, cases",
        sqlite: tables!("BLOB", "INTEGER PRIMARY KEY"),
        postgres: tables!("BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    },
    Migration {
        component: "payments",
        version: 2,
        name: "red packets by sender",
        sqlite: PACKETS_BY_SENDER,
        postgres: PACKETS_BY_SENDER,
    },
];
