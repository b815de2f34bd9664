//! Login passwords: the policy (NIST SP 800-63B) and Argon2id hashing with configurable parameters.
//!
//! The policy checks length in Unicode characters (8 with a second factor, 15 without, both
//! configurable; at most 128 by default, never truncated), a blocklist of common passwords (zxcvbn's
//! dictionaries of leaked passwords, names and words, plus a short list of passwords common in Chinese
//! leaks shipped here, plus the user's own contacts) and optional composition and expiry rules that are off
//! by default. Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`); a hash made with weaker
//! parameters than the configured ones is reported so the service rehashes it at the next login.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
use qianbao_core::{Entropy, SecretBytes, SecretString};
use serde::{Deserialize, Serialize};

use crate::IdentityError;

/// A login password. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(SecretString);

impl Password {
    /// Wraps what the user typed, unchanged (no trimming, no normalization, no truncation).
    pub fn new(s: impl Into<String>) -> Self {
        Password(SecretString::new(s.into()))
    }

    /// The password. Keep the borrow short.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PasswordRejection {
    /// Shorter than the minimum.
    #[error("a password needs at least {min} characters{}", if *.with_second_factor { " (with a second factor)" } else { " (15 or more, or turn on a second factor for 8)" })]
    TooShort {
        /// The minimum that applied.
        min: usize,
        /// Whether the user has a second factor.
        with_second_factor: bool,
    },
    /// Longer than the maximum (never truncated).
    #[error("a password has at most {max} characters")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// A common, leaked or easily guessed password, or one built from the user's own contacts.
    #[error("this password is too common or too easy to guess{}", .hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    TooCommon {
        /// zxcvbn's warning, when it has one.
        hint: Option<String>,
    },
    /// Fewer character classes than the (optional) composition rule asks.
    #[error("a password needs characters from at least {min} of: lowercase, uppercase, digits, other")]
    Composition {
        /// Classes required.
        min: u8,
    },
    /// The new password is the current one.
    #[error("the new password must differ from the current one")]
    Unchanged,
    /// A control character (a password may hold any other Unicode character, spaces included).
    #[error("a password may not contain control characters")]
    ControlCharacter,
}

/// The password policy. Defaults follow NIST SP 800-63B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// Minimum characters when the user has a second factor. Default 8.
    pub min_chars_with_second_factor: usize,
    /// Minimum characters otherwise. Default 15.
    pub min_chars_single_factor: usize,
    /// Maximum characters (at least 64). Default 128.
    pub max_chars: usize,
    /// The lowest zxcvbn score (0–4) accepted; anything lower is "too common". Default 2 (at least 10^6
    /// estimated guesses: refuses dictionary words, leaked passwords, keyboard walks, repeats and sequences
    /// and their variations, without refusing random 8-character passwords, which NIST allows).
    pub min_strength_score: u8,
    /// Optional composition rule: character classes required (0–4). Default 0 (off, as NIST advises).
    pub min_character_classes: u8,
    /// Optional expiry: a password older than this must be changed at the next login. Default `None`.
    pub max_age: Option<Duration>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars_with_second_factor: 8,
            min_chars_single_factor: 15,
            max_chars: 128,
            min_strength_score: 2,
            min_character_classes: 0,
            max_age: None,
        }
    }
}

/// Passwords common in Chinese leaks that zxcvbn's English-centred dictionaries rank too low.
pub const EXTRA_BLOCKLIST: &[&str] = &[
    "woaini",
    "woaini1314",
    "woaini520",
    "5201314",
    "1314520",
    "520520",
    "1314521",
    "aini1314",
    "iloveyou",
    "qq123456",
    "qq5201314",
    "a123456",
    "123456a",
    "a123456789",
    "abc123456",
    "aa123456",
    "123456aa",
    "1qaz2wsx",
    "1q2w3e4r",
    "qazwsx",
    "qweasdzxc",
    "zxcvbnm",
    "asdfghjkl",
    "wodemima",
    "mima123",
    "zhang123",
    "wang123",
    "li123456",
    "liu123456",
    "chen123",
    "yang123",
    "huang123",
    "zhao123",
    "wangyang",
    "zhangwei",
    "wangwei",
    "lijing",
    "liuyang",
    "dearbook",
    "xiaoming",
    "tiantian",
    "woshishui",
    "nihao123",
    "qianbao",
    "zhifubao",
    "weixin",
    "alipay",
    "wechat",
    "taobao",
    "jingdong",
    "88888888",
    "66666666",
    "168168",
    "518518",
    "147258369",
    "159357",
    "741852963",
    "password1",
    "passw0rd",
];

/// A user input this long or longer may not appear anywhere inside a password.
pub const PERSONAL_INPUT_CHARS_MIN: usize = 5;

/// What the blocklist check also refuses: the user's own contacts and name.
#[derive(Debug, Clone, Default)]
pub struct PasswordContext {
    /// Whether the user has a second factor (decides the minimum length).
    pub has_second_factor: bool,
    /// Strings the password must not be built from: phone digits, email local part, name.
    pub user_inputs: Vec<String>,
}

fn character_classes(s: &str) -> u8 {
    let mut classes = [false; 4];
    for c in s.chars() {
        let i = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        classes[i] = true;
    }
    classes.iter().filter(|&&b| b).count() as u8
}

impl PasswordPolicy {
    /// Checks a new password. Cheap except for the zxcvbn estimate (which reads at most 100 characters).
    pub fn check(&self, password: &Password, ctx: &PasswordContext) -> Result<(), PasswordRejection> {
        let s = password.expose();
        let n = s.chars().count();
        let min = if ctx.has_second_factor { self.min_chars_with_second_factor } else { self.min_chars_single_factor };
        if n < min {
            return Err(PasswordRejection::TooShort { min, with_second_factor: ctx.has_second_factor });
        }
        if n > self.max_chars.max(64) {
            return Err(PasswordRejection::TooLong { max: self.max_chars.max(64) });
        }
        if s.chars().any(char::is_control) {
            return Err(PasswordRejection::ControlCharacter);
        }
        if self.min_character_classes > 0 && character_classes(s) < self.min_character_classes {
            return Err(PasswordRejection::Composition { min: self.min_character_classes });
        }
        self.check_strength(s, ctx)
    }

    fn check_strength(&self, s: &str, ctx: &PasswordContext) -> Result<(), PasswordRejection> {
        let lower = s.to_lowercase();
        let personal = ctx.user_inputs.iter().filter(|i| i.chars().count() >= PERSONAL_INPUT_CHARS_MIN);
        if personal.map(|i| i.to_lowercase()).any(|i| lower.contains(&i)) {
            return Err(PasswordRejection::TooCommon {
                hint: Some("it contains your own phone number, email or name".into()),
            });
        }
        let mut inputs: Vec<&str> = ctx.user_inputs.iter().map(String::as_str).filter(|i| !i.is_empty()).collect();
        inputs.extend_from_slice(EXTRA_BLOCKLIST);
        let estimate = zxcvbn::zxcvbn(s, &inputs);
        if u8::from(estimate.score()) < self.min_strength_score.min(4) {
            let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| w.to_string());
            return Err(PasswordRejection::TooCommon { hint });
        }
        Ok(())
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashParams {
    /// Memory in KiB. OWASP's floor: 19,456 (19 MiB).
    pub memory_kib: u32,
    /// Passes. OWASP's floor with 19 MiB: 2.
    pub iterations: u32,
    /// Lanes. 1.
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommended floor for Argon2id: m=19 MiB, t=2, p=1 (the default).
    pub const OWASP: HashParams = HashParams { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };

    /// The lowest parameters Argon2 accepts (m=8 KiB, t=1): **tests only** — they make hashing cheap so
    /// suites can hash thousands of passwords. Never configure them in production.
    pub const INSECURE_TEST_ONLY: HashParams = HashParams { memory_kib: 8, iterations: 1, parallelism: 1 };

    fn argon2(self, pepper: Option<&[u8]>) -> Result<Argon2<'_>, IdentityError> {
        let p = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| IdentityError::Misuse(format!("invalid Argon2 parameters {self:?}: {e}")))?;
        match pepper {
            None => Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p)),
            Some(secret) => Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, p)
                .map_err(|e| IdentityError::Misuse(format!("Argon2 pepper: {e}"))),
        }
    }

    /// True when `self` is weaker than `other` in any dimension (a hash made with it should be redone).
    pub fn weaker_than(self, other: HashParams) -> bool {
        self.memory_kib < other.memory_kib || self.iterations < other.iterations || self.parallelism < other.parallelism
    }
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams::OWASP
    }
}

/// The result of checking a password against its stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// It matches.
    Match {
        /// The hash was made with weaker parameters (or another Argon2 variant) than configured: store a
        /// new hash.
        needs_rehash: bool,
    },
    /// It does not.
    Mismatch,
}

/// Argon2id hashing and verification, counting every call (metrics; tests use the counts to show how
/// much work an attacker can cause). Hashing is CPU-heavy: the service runs it on tokio's blocking pool.
///
/// With a pepper ([`PasswordHasher::with_pepper`], Argon2's secret input) a stolen database alone does
/// not allow guessing offline — what keeps 6-digit payment passwords (10^6 choices) safe at rest. A
/// pepper cannot change without resetting every password hashed with it.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: HashParams,
    pepper: Option<SecretBytes>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    hashes: AtomicU64,
    verifications: AtomicU64,
}

const SALT_LEN: usize = 16;

impl PasswordHasher {
    /// A hasher that makes new hashes with `params`.
    pub fn new(params: HashParams) -> Result<Self, IdentityError> {
        params.argon2(None)?;
        Ok(PasswordHasher { params, pepper: None, counts: Arc::default() })
    }

    /// The same hasher with a secret pepper (at least 16 bytes, from the embedding service's keys).
    pub fn with_pepper(mut self, pepper: SecretBytes) -> Result<Self, IdentityError> {
        if pepper.expose().len() < 16 {
            return Err(IdentityError::Misuse("an Argon2 pepper has at least 16 bytes".into()));
        }
        self.params.argon2(Some(pepper.expose()))?;
        self.pepper = Some(pepper);
        Ok(self)
    }

    fn argon2(&self) -> Result<Argon2<'_>, IdentityError> {
        self.params.argon2(self.pepper.as_ref().map(|p| p.expose().as_slice()))
    }

    /// The parameters new hashes get.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes `secret` with a fresh 16-byte salt into a PHC string.
    pub fn hash(&self, secret: &[u8], entropy: &dyn Entropy) -> Result<String, IdentityError> {
        self.counts.hashes.fetch_add(1, Ordering::Relaxed);
        let mut salt = [0u8; SALT_LEN];
        entropy.fill(&mut salt);
        let hash =
            self.argon2()?.hash_password_with_salt(secret, &salt).map_err(|e| IdentityError::Hashing(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Checks `secret` against a stored PHC string (constant-time comparison inside argon2).
    pub fn verify(&self, secret: &[u8], phc: &str) -> Result<Verification, IdentityError> {
        self.counts.verifications.fetch_add(1, Ordering::Relaxed);
        let parsed = PasswordHash::new(phc).map_err(|e| IdentityError::Hashing(format!("stored hash: {e}")))?;
        let stored = Params::try_from(&parsed).map_err(|e| IdentityError::Hashing(format!("stored hash: {e}")))?;
        let argon2id = parsed.algorithm.as_str() == "argon2id";
        match self.argon2()?.verify_password(secret, &parsed) {
            Ok(()) => {
                let was = HashParams {
                    memory_kib: stored.m_cost(),
                    iterations: stored.t_cost(),
                    parallelism: stored.p_cost(),
                };
                Ok(Verification::Match { needs_rehash: !argon2id || was.weaker_than(self.params) })
            }
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(Verification::Mismatch),
            Err(e) => Err(IdentityError::Hashing(e.to_string())),
        }
    }

    /// Argon2 hashes made so far by this hasher and its clones.
    pub fn hashes(&self) -> u64 {
        self.counts.hashes.load(Ordering::Relaxed)
    }

    /// Argon2 verifications run so far by this hasher and its clones.
    pub fn verifications(&self) -> u64 {
        self.counts.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
