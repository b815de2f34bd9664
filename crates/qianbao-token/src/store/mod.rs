//! Storage of this crate: the [`TokenStore`] trait and its backends.

use crate::TokenError;

/// One-time codes (as keyed digests), TOTP enrollments, sessions, transaction tokens, payment-code secrets and QR challenges.
pub trait TokenStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), TokenError>> + Send;
}
