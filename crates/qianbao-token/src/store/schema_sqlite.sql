CREATE TABLE token_codes (
    id BLOB PRIMARY KEY,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    dest_digest BLOB NOT NULL,
    code_digest BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    send_count BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    locked_at BIGINT,
    used_at BIGINT
);
CREATE INDEX token_codes_key ON token_codes (dest_digest, purpose, subject, created_at);
CREATE INDEX token_codes_expiry ON token_codes (expires_at);
CREATE TABLE token_code_sends (
    dest_digest BLOB NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX token_code_sends_dest ON token_code_sends (dest_digest, at);
CREATE TABLE token_code_dests (
    dest_digest BLOB PRIMARY KEY
);
CREATE TABLE token_totp (
    user_id BLOB PRIMARY KEY,
    sealed_secret BLOB NOT NULL,
    algorithm TEXT NOT NULL,
    digits BIGINT NOT NULL,
    step_secs BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT,
    failures BIGINT NOT NULL,
    locked_until BIGINT
);
CREATE TABLE token_recovery_codes (
    user_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, digest)
);
CREATE TABLE token_devices (
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    name TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    address TEXT,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE token_sessions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    client_id TEXT,
    scope TEXT NOT NULL,
    cnf BLOB,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoke_reason TEXT
);
CREATE INDEX token_sessions_user ON token_sessions (user_id, device_id);
CREATE INDEX token_sessions_expiry ON token_sessions (expires_at);
CREATE TABLE token_bearer (
    digest BLOB PRIMARY KEY,
    session_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX token_bearer_session ON token_bearer (session_id);
CREATE INDEX token_bearer_expiry ON token_bearer (expires_at);
CREATE TABLE token_tx (
    id BLOB PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL,
    label TEXT NOT NULL,
    currency TEXT NOT NULL,
    max_minor BIGINT NOT NULL,
    remaining_minor BIGINT NOT NULL,
    max_uses BIGINT NOT NULL,
    remaining_uses BIGINT NOT NULL,
    payee BLOB,
    cnf BLOB,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX token_tx_user ON token_tx (user_id, created_at);
CREATE INDEX token_tx_expiry ON token_tx (expires_at);
CREATE TABLE token_tx_uses (
    id BLOB PRIMARY KEY,
    token_id BLOB NOT NULL,
    amount_minor BIGINT NOT NULL,
    payee BLOB NOT NULL,
    at BIGINT NOT NULL,
    released_at BIGINT
);
CREATE INDEX token_tx_uses_token ON token_tx_uses (token_id);
CREATE TABLE token_paycodes (
    idx BIGINT PRIMARY KEY,
    user_id BLOB NOT NULL,
    device_id BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_step BIGINT,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX token_paycodes_device ON token_paycodes (user_id, device_id);
CREATE TABLE token_qr (
    id BLOB PRIMARY KEY,
    nonce_digest BLOB NOT NULL UNIQUE,
    poll_digest BLOB NOT NULL,
    purpose TEXT NOT NULL,
    expected_user BLOB,
    device_id BLOB NOT NULL,
    device_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    approver_user BLOB,
    approver_device BLOB,
    decided_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX token_qr_expiry ON token_qr (expires_at);
