//! The one error type of this crate.

use qianbao_core::{Money, Timestamp};

/// Everything that can go wrong in this crate.
///
/// The variants fall in four groups: rejected requests (a wrong, expired, used or locked code; an unknown,
/// expired or revoked token; a payment code replayed — the state is unchanged except for the counted
/// failure where the variant says so), throttling (try again later), storage failures
/// ([`TokenError::Store`]) and misuse or delivery failures. [`TokenError::code`] gives a stable short
/// code for each variant (for logs, metrics and API answers).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    // ---- rejected: input that does not parse ----
    /// A token, code, URI or payload is not in the expected format.
    #[error("{what} is malformed: {why}")]
    Malformed {
        /// What was being parsed (e.g. "an access token").
        what: &'static str,
        /// What is wrong and what is allowed.
        why: &'static str,
    },

    // ---- rejected: one-time codes ----
    /// No code with that id exists (it never did, or it was purged).
    #[error("no such verification code: request a new one")]
    CodeNotFound,
    /// The code is wrong; this try was counted.
    #[error("the verification code is wrong; {attempts_left} tries left")]
    CodeWrong {
        /// Tries left before the code locks.
        attempts_left: u32,
    },
    /// The code's 5 minutes (or the configured time) are over.
    #[error("the verification code has expired: request a new one")]
    CodeExpired,
    /// The code was already used once.
    #[error("the verification code was already used")]
    CodeUsed,
    /// Too many wrong tries: the code is locked.
    #[error("too many wrong tries: verification is locked until {until}")]
    CodeLocked {
        /// When a new code may be requested.
        until: Timestamp,
    },
    /// The code was issued for another purpose (this try was counted).
    #[error("the verification code was issued for another purpose")]
    CodeWrongPurpose,
    /// The code was issued to another subject (user or contact); this try was counted.
    #[error("the verification code was issued to someone else")]
    CodeWrongSubject,
    /// A new code was sent to this destination less than the resend interval ago.
    #[error("a code was sent moments ago: a new one can be sent at {retry_at}")]
    ResendTooSoon {
        /// When the next send is allowed.
        retry_at: Timestamp,
    },
    /// The destination received as many codes as allowed in 24 hours.
    #[error("this destination has received {cap} codes in the last 24 hours, the most allowed")]
    DailyCapReached {
        /// The configured cap.
        cap: u32,
    },

    // ---- rejected: TOTP and recovery codes ----
    /// The user has no (confirmed) authenticator.
    #[error("no authenticator app is enrolled for this user")]
    TotpNotEnrolled,
    /// The user already has a confirmed authenticator: disable it first.
    #[error("an authenticator app is already enrolled: disable it before enrolling another")]
    TotpAlreadyEnrolled,
    /// The authenticator code is wrong (this try was counted).
    #[error("the authenticator code is wrong")]
    TotpWrong,
    /// The authenticator code's time step was already used (replay).
    #[error("this authenticator code was already used: wait for the next one")]
    TotpReplayed,
    /// Too many wrong authenticator codes.
    #[error("too many wrong authenticator codes: locked until {until}")]
    TotpLocked {
        /// When tries are allowed again.
        until: Timestamp,
    },
    /// The recovery code is wrong or was already used.
    #[error("the recovery code is wrong or was already used")]
    RecoveryCodeInvalid,

    // ---- rejected: sessions and tokens ----
    /// The token is not known (never issued, or purged).
    #[error("the token is not valid")]
    TokenUnknown,
    /// The token has expired.
    #[error("the token has expired")]
    TokenExpired,
    /// The token (or its session) was revoked.
    #[error("the token has been revoked")]
    TokenRevoked,
    /// A refresh token that was already exchanged was presented again: the whole session family is now
    /// revoked (the token was probably stolen).
    #[error("this refresh token was already used: the session has been revoked; log in again")]
    RefreshTokenReused,
    /// The token is bound to a certificate (RFC 8705) and none was presented.
    #[error("this token is bound to a client certificate: present it (mutual TLS)")]
    CertificateRequired,
    /// The token is bound to another certificate than the one presented.
    #[error("this token is bound to another client certificate")]
    CertificateMismatch,

    // ---- rejected: transaction tokens ----
    /// The transaction token's scope is not acceptable.
    #[error("the transaction token scope is invalid: {0}")]
    InvalidScope(String),
    /// The transaction token belongs to another user.
    #[error("the transaction token belongs to another user")]
    TxTokenWrongUser,
    /// The transaction token allows payments to another payee only.
    #[error("the transaction token is limited to another payee")]
    TxTokenWrongPayee,
    /// The amount is in another currency than the token's limit.
    #[error("the transaction token's limit is in {expected}, the payment in {found}")]
    TxTokenCurrency {
        /// The token's currency.
        expected: qianbao_core::Currency,
        /// The payment's currency.
        found: qianbao_core::Currency,
    },
    /// The amount is more than the token has left.
    #[error("the payment exceeds what the transaction token has left ({remaining})")]
    TxTokenAmountExceeded {
        /// What is left.
        remaining: Money,
    },
    /// The token has no uses left.
    #[error("the transaction token has no uses left")]
    TxTokenExhausted,
    /// No consumption with that id exists.
    #[error("no transaction-token consumption with that id")]
    ConsumptionNotFound,
    /// A consumption with that id exists with other fields (another token, amount or payee).
    #[error("a consumption with that id exists with different fields")]
    ConsumptionConflict,

    // ---- rejected: payment codes ----
    /// No payment-code enrollment matches the code (unknown index, or revoked).
    #[error("the payment code is not valid")]
    PaycodeUnknown,
    /// The payment code does not verify for any accepted time step (wrong, or older than a minute).
    #[error("the payment code is wrong or has expired: refresh it on the device")]
    PaycodeInvalid,
    /// The payment code (or an older one of the same device) was already used.
    #[error("the payment code was already used: refresh it on the device")]
    PaycodeReplayed,
    /// Too many wrong payment codes for this enrollment recently.
    #[error("too many wrong payment codes for this device: try again after {until}")]
    PaycodeThrottled {
        /// When codes are accepted again.
        until: Timestamp,
    },

    // ---- rejected: QR confirmation ----
    /// No such QR challenge.
    #[error("no such QR confirmation challenge")]
    QrNotFound,
    /// The challenge expired before it was decided or completed.
    #[error("the QR confirmation challenge has expired: show a new one")]
    QrExpired,
    /// The challenge was already approved or denied.
    #[error("the QR confirmation challenge was already decided")]
    QrAlreadyDecided,
    /// The challenge was denied.
    #[error("the QR confirmation was denied on the other device")]
    QrDenied,
    /// The challenge is still waiting for a decision.
    #[error("the QR confirmation is still waiting for approval")]
    QrPending,
    /// The challenge was already completed by the new device.
    #[error("the QR confirmation was already completed")]
    QrCompleted,
    /// The approving device belongs to another user than the one the challenge is for.
    #[error("the QR confirmation is for another user")]
    QrWrongUser,
    /// A device cannot approve its own challenge.
    #[error("a device cannot approve its own QR confirmation")]
    QrSameDevice,

    // ---- rejected: devices ----
    /// The user has no device with that id.
    #[error("no such device for this user")]
    DeviceNotFound,

    // ---- delivery, storage, misuse ----
    /// The notifier failed to deliver a code or token; nothing usable was issued.
    #[error("delivery failed: {0}")]
    Delivery(#[from] qianbao_core::NotifyError),
    /// The database failed; the request may or may not have been applied only if the kind says so.
    #[error("storage failed: {0}")]
    Store(#[from] qianbao_store::StoreError),
    /// Stored secret material could not be opened (wrong digest key, or tampered data).
    #[error("stored secret material could not be opened: wrong key or tampered record")]
    Unseal,
    /// The API was used in a way it does not support (bad configuration, wrong backend).
    #[error("misuse: {0}")]
    Misuse(String),
}

impl TokenError {
    /// A stable, short, snake-case code for the variant.
    pub fn code(&self) -> &'static str {
        use TokenError as E;
        match self {
            E::Malformed { .. } => "malformed",
            E::CodeNotFound => "code_not_found",
            E::CodeWrong { .. } => "code_wrong",
            E::CodeExpired => "code_expired",
            E::CodeUsed => "code_used",
            E::CodeLocked { .. } => "code_locked",
            E::CodeWrongPurpose => "code_wrong_purpose",
            E::CodeWrongSubject => "code_wrong_subject",
            E::ResendTooSoon { .. } => "resend_too_soon",
            E::DailyCapReached { .. } => "daily_cap_reached",
            E::TotpNotEnrolled => "totp_not_enrolled",
            E::TotpAlreadyEnrolled => "totp_already_enrolled",
            E::TotpWrong => "totp_wrong",
            E::TotpReplayed => "totp_replayed",
            E::TotpLocked { .. } => "totp_locked",
            E::RecoveryCodeInvalid => "recovery_code_invalid",
            E::TokenUnknown => "token_unknown",
            E::TokenExpired => "token_expired",
            E::TokenRevoked => "token_revoked",
            E::RefreshTokenReused => "refresh_token_reused",
            E::CertificateRequired => "certificate_required",
            E::CertificateMismatch => "certificate_mismatch",
            E::InvalidScope(_) => "invalid_scope",
            E::TxTokenWrongUser => "tx_token_wrong_user",
            E::TxTokenWrongPayee => "tx_token_wrong_payee",
            E::TxTokenCurrency { .. } => "tx_token_currency",
            E::TxTokenAmountExceeded { .. } => "tx_token_amount_exceeded",
            E::TxTokenExhausted => "tx_token_exhausted",
            E::ConsumptionNotFound => "consumption_not_found",
            E::ConsumptionConflict => "consumption_conflict",
            E::PaycodeUnknown => "paycode_unknown",
            E::PaycodeInvalid => "paycode_invalid",
            E::PaycodeReplayed => "paycode_replayed",
            E::PaycodeThrottled { .. } => "paycode_throttled",
            E::QrNotFound => "qr_not_found",
            E::QrExpired => "qr_expired",
            E::QrAlreadyDecided => "qr_already_decided",
            E::QrDenied => "qr_denied",
            E::QrPending => "qr_pending",
            E::QrCompleted => "qr_completed",
            E::QrWrongUser => "qr_wrong_user",
            E::QrSameDevice => "qr_same_device",
            E::DeviceNotFound => "device_not_found",
            E::Delivery(_) => "delivery",
            E::Store(_) => "store",
            E::Unseal => "unseal",
            E::Misuse(_) => "misuse",
        }
    }

    /// True for rejected requests (bad, wrong, expired, used, revoked or throttled input), as opposed to
    /// delivery and storage failures and misuse.
    pub fn is_rejection(&self) -> bool {
        !matches!(self, TokenError::Delivery(_) | TokenError::Store(_) | TokenError::Unseal | TokenError::Misuse(_))
    }

    pub(crate) fn malformed(what: &'static str, why: &'static str) -> Self {
        TokenError::Malformed { what, why }
    }
}
