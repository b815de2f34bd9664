//! The facade's one error type: the domain error it came from, or the facade's own policy refusal.

use qianbao_ca::{CaError, CertSerial};
use qianbao_core::DeviceId;
use qianbao_core::Money;
use qianbao_identity::{ApplicationId, IdentityError, UserStatus};
use qianbao_ledger::{LedgerError, PaymentError};
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
    /// The payments layer or the ledger refused or failed (insufficient funds, a class limit reached, a
    /// risk block, a bad QR code, a bank failure, ...).
    #[error(transparent)]
    Payment(#[from] PaymentError),

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
    /// The account cannot close: its wallet holds money or has movements pending (withdraw first, or
    /// wait for a top-up or withdrawal to settle).
    #[error("the wallet holds {balance}{}; withdraw it before closing", if *pending { " and has movements pending" } else { "" })]
    BalanceNotZero {
        /// The posted balance.
        balance: Money,
        /// Whether movements are pending.
        pending: bool,
    },
    /// A payment needs an authorization: the payment password, a transaction token or a certificate
    /// signature.
    #[error("the payment needs the payment password, a transaction token or a certificate-signed order")]
    AuthorizationRequired,
    /// The signed payment order does not match the payment asked for (payer, payee or amount).
    #[error("the signed order does not match this payment ({0} differs)")]
    OrderMismatch(&'static str),
    /// The payment would take the day's payments past the cap of the authentication used.
    #[error("the daily cap for {strength} is {cap}; {spent} was paid today, so this payment is refused")]
    DailyCapReached {
        /// How the payment was authorized.
        strength: crate::AuthStrength,
        /// The cap for it.
        cap: Money,
        /// Paid today before this payment.
        spent: Money,
    },
    /// The amount is not in the wallet's currency.
    #[error("amounts are in {expected}, got {found}")]
    WrongCurrency {
        /// The wallet's currency.
        expected: qianbao_core::Currency,
        /// The one given.
        found: qianbao_core::Currency,
    },
    /// No verified bank card with this reference on the account.
    #[error("no verified bank card {0} on this account")]
    BankCardNotFound(ApplicationId),
    /// The receiving user cannot receive (unknown, pending, banned or closed).
    #[error("the recipient cannot receive money")]
    RecipientUnavailable,
    /// The wallet was built without a bank adapter, so money cannot move to or from bank cards.
    #[error("no bank adapter is configured: top-ups and withdrawals are unavailable")]
    BankNotConfigured,
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
            WalletError::Payment(e) => crate::money::errors::is_rejection(e),
            WalletError::Store(_) | WalletError::BankNotConfigured | WalletError::Config(_) => false,
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
            WalletError::Payment(e) => crate::money::errors::code(e),
            WalletError::AuthorizationRequired => "authorization_required",
            WalletError::OrderMismatch(_) => "order_mismatch",
            WalletError::DailyCapReached { .. } => "daily_cap_reached",
            WalletError::WrongCurrency { .. } => "wrong_currency",
            WalletError::BankCardNotFound(_) => "bank_card_not_found",
            WalletError::RecipientUnavailable => "recipient_unavailable",
            WalletError::BankNotConfigured => "bank_not_configured",
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
            WalletError::BalanceNotZero { .. } => "balance_not_zero",
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
            | WalletError::Ca(CaError::Store(e))
            | WalletError::Payment(PaymentError::Store(e))
            | WalletError::Payment(PaymentError::Ledger(LedgerError::Store(e))) => e.is_retryable(),
            WalletError::Payment(PaymentError::Contended { .. } | PaymentError::Bank(_)) => true,
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

#[cfg(test)]
mod tests {
    use qianbao_store::{ErrorKind, StoreError};

    use super::*;

    #[test]
    fn a_storage_failure_classifies_the_same_whichever_component_met_it() {
        for (kind, retryable) in
            [(ErrorKind::Serialization, true), (ErrorKind::Corrupt, false), (ErrorKind::InUse, false)]
        {
            let e = || StoreError::new(kind, "x");
            let all = [
                WalletError::Store(e()),
                WalletError::Identity(IdentityError::Store(e())),
                WalletError::Token(TokenError::Store(e())),
                WalletError::Ca(CaError::Store(e())),
                WalletError::Payment(PaymentError::Store(e())),
                // The ledger's own store (its group commit on PostgreSQL gave up after its retries).
                WalletError::Payment(PaymentError::Ledger(LedgerError::Store(e()))),
            ];
            for w in all {
                assert_eq!(w.is_retryable(), retryable, "{kind:?}: {w:?}");
            }
        }
    }
}
