//! The one error type of this crate.

use crate::bank_card::BankCardError;
use crate::checks::CheckError;
use crate::kyc::ApplicationId;
use crate::name::NameError;
use crate::password::PasswordRejection;
use crate::payment_password::PaymentPasswordError;
use crate::resident_id::ResidentIdError;
use crate::status::{StatusAction, UserStatus};
use qianbao_core::{ContactError, Timestamp, UserId};

/// Everything that can go wrong in this crate.
///
/// Rejected requests (bad input, a wrong or locked secret, a state that forbids the action) leave the
/// state unchanged except for what the rejection itself records (a counted failed try, an audit event, a
/// rejected application). [`IdentityError::code`] is a stable short code for each variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    // ---- rejected: input ----
    /// A phone number or email address is malformed.
    #[error(transparent)]
    Contact(#[from] ContactError),
    /// A resident ID number is malformed.
    #[error(transparent)]
    ResidentId(#[from] ResidentIdError),
    /// A bank card number is malformed.
    #[error(transparent)]
    BankCard(#[from] BankCardError),
    /// A name is malformed.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The password policy refused a new password.
    #[error("password refused: {0}")]
    Password(#[from] PasswordRejection),
    /// A payment password is malformed or trivial.
    #[error("payment password refused: {0}")]
    PaymentPasswordRefused(#[from] PaymentPasswordError),

    // ---- rejected: accounts and contacts ----
    /// No such user.
    #[error("no user {0}")]
    UserNotFound(UserId),
    /// The action needs another account status.
    #[error("the account is {status}; this needs an active account")]
    AccountNotActive {
        /// The status it has.
        status: UserStatus,
    },
    /// The status change is not allowed from the current status.
    #[error("cannot {} an account that is {from}", .action.as_str())]
    StatusChangeNotAllowed {
        /// The current status.
        from: UserStatus,
        /// What was asked.
        action: StatusAction,
    },
    /// The contact is verified on another account.
    #[error("this phone number or email address is already used by another account")]
    ContactTaken,
    /// The user has no such contact.
    #[error("the account has no such phone number or email address")]
    ContactNotFound,
    /// The contact is already on the account.
    #[error("the account already has this phone number or email address")]
    ContactExists,
    /// The account has as many contacts as allowed.
    #[error("an account has at most {max} contacts; remove one first")]
    TooManyContacts {
        /// The most allowed.
        max: usize,
    },
    /// The last verified contact cannot be removed.
    #[error("the last verified contact cannot be removed; add and verify another first")]
    LastVerifiedContact,
    /// A fact handed in by the facade (a checked code, a seen balance) is too old or from the future.
    #[error("the confirmation is not fresh: it must be at most {max_age_secs} s old")]
    FactStale {
        /// The most age allowed.
        max_age_secs: u64,
    },
    /// A fact does not fit (a reset confirmed through a contact that is not a verified contact of the user).
    #[error("the confirmation does not apply: {0}")]
    FactInvalid(&'static str),
    /// The second factor cannot be turned off: the password meets only the shorter minimum that needs it.
    #[error("turn off the second factor only after choosing a password of at least {min_chars} characters")]
    SecondFactorRequired {
        /// The single-factor minimum.
        min_chars: usize,
    },

    // ---- rejected: login and secrets ----
    /// Wrong password or no such account (deliberately the same answer).
    #[error("wrong login name or password")]
    LoginFailed,
    /// Too many recent failures: wait.
    #[error("too many failed tries; try again in {retry_after_secs} s")]
    LoginThrottled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Locked after too many failures: recover the password or ask support.
    #[error("locked after too many failed tries; reset the password or contact support")]
    LoginLocked,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// No payment password is set.
    #[error("no payment password is set")]
    PaymentPasswordNotSet,
    /// A payment password is already set (change or reset it instead).
    #[error("a payment password is already set; change or reset it")]
    PaymentPasswordAlreadySet,
    /// The payment password is wrong.
    #[error("the payment password is wrong; {tries_left} tries left before it locks")]
    PaymentPasswordWrong {
        /// Tries left before the lock.
        tries_left: u32,
    },
    /// The payment password is locked.
    #[error("the payment password is locked after too many wrong tries{}", .until.map(|t| format!(" until {t}")).unwrap_or_default())]
    PaymentPasswordLocked {
        /// When it unlocks by itself.
        until: Option<Timestamp>,
    },

    // ---- rejected: real-name verification ----
    /// No such application.
    #[error("no real-name application {0}")]
    ApplicationNotFound(ApplicationId),
    /// The application is not in a state that allows the action.
    #[error("the application is {state}; cannot {action}")]
    ApplicationState {
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// The user already has an application open (draft or submitted).
    #[error("application {0} is still open; finish or wait for it first")]
    ApplicationOpen(ApplicationId),
    /// An external check could not be reached; the application is unchanged.
    #[error(transparent)]
    CheckUnavailable(#[from] CheckError),
    /// The ID number already verifies the most accounts allowed.
    #[error("this ID number already verifies {limit} accounts, the most allowed")]
    IdNumberLimitReached {
        /// The limit.
        limit: u32,
    },

    // ---- conflicts ----
    /// A concurrent change to the same account won; re-read and retry.
    #[error("a concurrent change won: {0}")]
    Conflict(String),

    // ---- storage, environment, misuse ----
    /// The database failed.
    #[error("storage failed: {0}")]
    Store(#[from] qianbao_store::StoreError),
    /// A sealed value could not be opened (wrong key, or tampered data).
    #[error("a sealed value could not be opened: wrong privacy key or tampered record")]
    Unseal,
    /// Argon2 failed (a corrupt stored hash, or parameters out of range).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The API or configuration was used in a way it does not support.
    #[error("misuse: {0}")]
    Misuse(String),
}

impl IdentityError {
    /// A stable, short, snake-case code for the variant.
    pub fn code(&self) -> &'static str {
        use IdentityError as E;
        match self {
            E::Contact(_) => "contact_invalid",
            E::ResidentId(_) => "resident_id_invalid",
            E::BankCard(_) => "bank_card_invalid",
            E::Name(_) => "name_invalid",
            E::Password(_) => "password_refused",
            E::PaymentPasswordRefused(_) => "payment_password_refused",
            E::UserNotFound(_) => "user_not_found",
            E::AccountNotActive { .. } => "account_not_active",
            E::StatusChangeNotAllowed { .. } => "status_change_not_allowed",
            E::ContactTaken => "contact_taken",
            E::ContactNotFound => "contact_not_found",
            E::ContactExists => "contact_exists",
            E::TooManyContacts { .. } => "too_many_contacts",
            E::LastVerifiedContact => "last_verified_contact",
            E::FactStale { .. } => "fact_stale",
            E::FactInvalid(_) => "fact_invalid",
            E::SecondFactorRequired { .. } => "second_factor_required",
            E::LoginFailed => "login_failed",
            E::LoginThrottled { .. } => "login_throttled",
            E::LoginLocked => "login_locked",
            E::WrongPassword => "wrong_password",
            E::PaymentPasswordNotSet => "payment_password_not_set",
            E::PaymentPasswordAlreadySet => "payment_password_already_set",
            E::PaymentPasswordWrong { .. } => "payment_password_wrong",
            E::PaymentPasswordLocked { .. } => "payment_password_locked",
            E::ApplicationNotFound(_) => "application_not_found",
            E::ApplicationState { .. } => "application_state",
            E::ApplicationOpen(_) => "application_open",
            E::CheckUnavailable(_) => "check_unavailable",
            E::IdNumberLimitReached { .. } => "id_number_limit_reached",
            E::Conflict(_) => "conflict",
            E::Store(_) => "store",
            E::Unseal => "unseal",
            E::Hashing(_) => "hashing",
            E::Misuse(_) => "misuse",
        }
    }

    /// True for rejected requests (the caller's input or the account's state), as opposed to conflicts,
    /// storage, environment and misuse failures.
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            IdentityError::Conflict(_)
                | IdentityError::Store(_)
                | IdentityError::Unseal
                | IdentityError::Hashing(_)
                | IdentityError::Misuse(_)
                | IdentityError::CheckUnavailable(_)
        )
    }
}
