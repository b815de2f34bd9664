CREATE TABLE identity_users (
    id BLOB PRIMARY KEY,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_at BIGINT NOT NULL,
    status_reason TEXT NOT NULL,
    second_factor INTEGER NOT NULL,
    password_phc TEXT NOT NULL,
    password_set_at BIGINT NOT NULL,
    password_single_factor_ok INTEGER NOT NULL,
    payment_phc TEXT,
    payment_set_at BIGINT,
    class TEXT,
    real_name_sealed BLOB,
    real_name_id_digest BLOB,
    real_name_name_masked TEXT,
    real_name_id_masked TEXT,
    real_name_at BIGINT,
    false_submissions BIGINT NOT NULL
);
CREATE TABLE identity_contacts (
    user_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    masked TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    verified_at BIGINT,
    PRIMARY KEY (user_id, digest)
);
CREATE UNIQUE INDEX identity_contacts_verified ON identity_contacts (digest) WHERE verified_at IS NOT NULL;
CREATE INDEX identity_contacts_digest ON identity_contacts (digest);
CREATE TABLE identity_status_changes (
    seq INTEGER PRIMARY KEY,
    user_id BLOB NOT NULL,
    at BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX identity_status_changes_user ON identity_status_changes (user_id, seq);
CREATE TABLE identity_applications (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    version BIGINT NOT NULL,
    method TEXT NOT NULL,
    state TEXT NOT NULL,
    reason_code TEXT,
    reason_note TEXT,
    created_at BIGINT NOT NULL,
    submitted_at BIGINT,
    decided_at BIGINT,
    payload BLOB NOT NULL,
    id_digest BLOB,
    card_digest BLOB,
    summary TEXT NOT NULL,
    checks TEXT NOT NULL,
    reviewer TEXT
);
CREATE INDEX identity_applications_user ON identity_applications (user_id, created_at);
CREATE INDEX identity_applications_state ON identity_applications (state, created_at);
CREATE TABLE identity_channels (
    user_id BLOB NOT NULL,
    channel TEXT NOT NULL,
    application_id BLOB,
    at BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel)
);
CREATE TABLE identity_id_numbers (
    digest BLOB PRIMARY KEY
);
CREATE TABLE identity_id_holders (
    digest BLOB NOT NULL,
    user_id BLOB NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (digest, user_id)
);
CREATE TABLE identity_guards (
    key BLOB PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT,
    forget_at BIGINT
);
CREATE INDEX identity_guards_forget ON identity_guards (forget_at);
CREATE TABLE identity_audit (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id BLOB,
    kind TEXT NOT NULL,
    device_id BLOB,
    client TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX identity_audit_user ON identity_audit (user_id, seq);
