//! The identity service's configuration, with the defaults a payments team would start from.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::class::ClassCaps;
use crate::guard::GuardPolicy;
use crate::password::{HashParams, PasswordPolicy};

/// The most failed logins NIST SP 800-63B allows before an account locks.
pub const LOGIN_LOCK_AFTER_MAX: u32 = 100;

/// How logins are protected from guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoginProtection {
    /// Per account (or per unknown login name, so the answers do not tell whether an account exists).
    /// Default [`GuardPolicy::LOGIN_ACCOUNT`]: back-off after 3, lock after 20 until recovery.
    pub account: GuardPolicy,
    /// Per client address and per device. Default [`GuardPolicy::LOGIN_SOURCE`].
    pub source: GuardPolicy,
    /// How long the counter of a login name that belongs to no account is kept after its last failure.
    /// Default 30 days. Accounts' counters are kept until a success or a reset; forgetting unknown names
    /// keeps the table small, at the price that after this long a guesser could tell the two apart.
    pub unknown_name_forget_after: Duration,
}

impl Default for LoginProtection {
    fn default() -> Self {
        LoginProtection {
            account: GuardPolicy::LOGIN_ACCOUNT,
            source: GuardPolicy::LOGIN_SOURCE,
            unknown_name_forget_after: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Real-name verification rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KycConfig {
    /// How many accounts one resident ID number may verify. Default 3.
    pub accounts_per_id_max: u32,
    /// False submissions (a check or a reviewer found false information) that ban the account. Default 3.
    pub false_submissions_ban: u32,
    /// Approve at once when every external check passes, instead of waiting for a reviewer. Default false.
    pub auto_approve: bool,
}

impl Default for KycConfig {
    fn default() -> Self {
        KycConfig { accounts_per_id_max: 3, false_submissions_ban: 3, auto_approve: false }
    }
}

/// Everything the identity service can be told. Every field has a documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdentityConfig {
    /// The login password policy (NIST SP 800-63B defaults).
    pub password_policy: PasswordPolicy,
    /// Argon2id parameters for login passwords. Default OWASP's floor (19 MiB, t=2, p=1).
    pub password_hash: HashParams,
    /// Argon2id parameters for payment passwords. Default OWASP's floor.
    pub payment_password_hash: HashParams,
    /// Login guessing protection.
    pub login: LoginProtection,
    /// Payment password guessing protection. Default [`GuardPolicy::PAYMENT_PASSWORD`]: locked 3 hours
    /// after 5 wrong tries.
    pub payment_password_guard: GuardPolicy,
    /// Real-name verification rules.
    pub kyc: KycConfig,
    /// Caps per account class (PBOC defaults).
    pub class_caps: ClassCaps,
    /// The oldest fact the facade may hand in (a code checked, a zero balance seen). Default 5 minutes.
    pub fact_max_age: Duration,
    /// The most Argon2 computations at once (each takes its memory cost). Default: the number of CPUs.
    pub hashing_concurrency_max: usize,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            password_policy: PasswordPolicy::default(),
            password_hash: HashParams::OWASP,
            payment_password_hash: HashParams::OWASP,
            login: LoginProtection::default(),
            payment_password_guard: GuardPolicy::PAYMENT_PASSWORD,
            kyc: KycConfig::default(),
            class_caps: ClassCaps::default(),
            fact_max_age: Duration::from_secs(300),
            hashing_concurrency_max: std::thread::available_parallelism().map(usize::from).unwrap_or(2),
        }
    }
}

impl IdentityConfig {
    /// The defaults with Argon2 at its lowest cost: **tests and examples only** (hashing thousands of
    /// passwords at production cost would take minutes). Never use it in production.
    pub fn insecure_fast_hashing_for_tests() -> Self {
        IdentityConfig {
            password_hash: HashParams::INSECURE_TEST_ONLY,
            payment_password_hash: HashParams::INSECURE_TEST_ONLY,
            ..IdentityConfig::default()
        }
    }
}
