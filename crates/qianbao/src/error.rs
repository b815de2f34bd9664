//! The facade's one error type: the domain error it came from, or the facade's own policy refusal.

use qianbao_ca::{CaError, CertSerial};
use qianbao_core::DeviceId;
use qianbao_identity::{IdentityError, UserStatus};
use qianbao_token::TokenError;

use crate::journeys::login::StepUpKind;

/// Everything a wallet call can fail with.
///
/// Domain errors are kept whole (`Identity`, `Token`, `Ca`, `Store`): match on them for the details. The
/// other variants are the facade's own refusals. [`WalletError::is_rejection`] tells the caller's fault
/// (bad input, wrong secret, a state that forbids the action: answer 4xx) from the service's (storage,
/// delivery, configuration: answer 5xx); [`WalletError::code`] is a stable short code for either.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// Identity refused or failed (registration, login, passwords, contacts, real-name verification).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The token service refused or failed (codes, TOTP, sessions, transaction tokens, QR confirmation).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The certificate authority refused or failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] qianbao_store::StoreError),

    // ---- the facade's policy ----
    /// The account is frozen: no payments, no new certificates or transaction tokens until an operator
    /// unfreezes it.
    #[error("the account is frozen; payments, new certificates and new tokens are refused until it is unfrozen")]
    Frozen,
    /// The account's status forbids the action (pending verification, banned, closed).
    #[error("the account is {status}; this needs an active account")]
    AccountNotActive {
        /// The status it has.
        status: UserStatus,
    },
    /// The action needs a real-name verified account (实名认证) first.
    #[error("real-name verification is required first")]
    RealNameRequired,
    /// The answer given does not complete the step-up this login needs.
    #[error("this login needs a step-up by {required}")]
    StepUpRequired {
        /// What it needs.
        required: StepUpKind,
    },
    /// A flow ticket is malformed, tampered with, of another journey, another user or another device.
    #[error("the ticket is not valid for this step; start the journey again")]
    TicketInvalid,
    /// A flow ticket is too old.
    #[error("the ticket has expired; start the journey again")]
    TicketExpired,
    /// The account has no verified phone number or email address to send a code or notice to.
    #[error("the account has no verified phone number or email address")]
    NoVerifiedContact,
    /// A destination is not one of the account's verified contacts (or its own in-app inbox).
    #[error("deliveries go only to the account's verified contacts or its in-app inbox")]
    DestinationNotAllowed,
    /// No certificate with this serial belongs to the caller.
    #[error("no certificate {0} on this account")]
    CertificateNotFound(CertSerial),
    /// A certificate presented does not belong to this account and device.
    #[error("the client certificate does not belong to this account and device")]
    CertificateNotYours,
    /// The device is not one of the caller's.
    #[error("no device {0} on this account")]
    DeviceNotFound(DeviceId),
    /// Closing an account needs the ledger's zero-balance check, and none is installed.
    #[error("closing accounts needs the ledger's zero-balance check, which this wallet does not have")]
    ClosingUnavailable,
    /// The builder or configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

impl WalletError {
    /// True for refused requests (the caller's input or the account's state), as opposed to storage,
    /// delivery, configuration and other service failures.
    pub fn is_rejection(&self) -> bool {
        match self {
            WalletError::Identity(e) => e.is_rejection(),
            WalletError::Token(e) => e.is_rejection(),
            WalletError::Ca(e) => e.is_rejection() || ca_state_refusal(e),
            WalletError::Store(_) | WalletError::ClosingUnavailable | WalletError::Config(_) => false,
            _ => true,
        }
    }

    /// A stable, short, snake-case code: the domain error's own code, or the facade's.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::Identity(e) => e.code(),
            WalletError::Token(e) => e.code(),
            WalletError::Ca(e) => e.code(),
            WalletError::Store(_) => "store",
            WalletError::Frozen => "frozen",
            WalletError::AccountNotActive { .. } => "account_not_active",
            WalletError::RealNameRequired => "real_name_required",
            WalletError::StepUpRequired { .. } => "step_up_required",
            WalletError::TicketInvalid => "ticket_invalid",
            WalletError::TicketExpired => "ticket_expired",
            WalletError::NoVerifiedContact => "no_verified_contact",
            WalletError::DestinationNotAllowed => "destination_not_allowed",
            WalletError::CertificateNotFound(_) => "certificate_not_found",
            WalletError::CertificateNotYours => "certificate_not_yours",
            WalletError::DeviceNotFound(_) => "device_not_found",
            WalletError::ClosingUnavailable => "closing_unavailable",
            WalletError::Config(_) => "config",
        }
    }

    /// True when the request may succeed if retried unchanged (a transient storage failure, or a
    /// concurrent change that won).
    pub fn is_retryable(&self) -> bool {
        match self {
            WalletError::Store(e)
            | WalletError::Identity(IdentityError::Store(e))
            | WalletError::Token(TokenError::Store(e))
            | WalletError::Ca(CaError::Store(e)) => e.is_retryable(),
            WalletError::Identity(IdentityError::Conflict(_)) | WalletError::Ca(CaError::Conflict(_)) => true,
            _ => false,
        }
    }
}

/// CA refusals that the CA counts as state conflicts but that a user caused (an active certificate on the
/// device already, revoking twice): still the caller's to fix.
fn ca_state_refusal(e: &CaError) -> bool {
    matches!(
        e,
        CaError::DeviceHasActiveCertificate(_)
            | CaError::DeviceBoundToAnotherUser
            | CaError::NotActive(_)
            | CaError::AlreadyRevoked(_)
    )
}
