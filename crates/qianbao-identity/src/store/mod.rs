//! Storage of this crate: the [`IdentityStore`] trait and its backends.

use crate::IdentityError;

/// Users and their status, password hashes, bound contacts, real-name applications and their review, payment passwords.
pub trait IdentityStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), IdentityError>> + Send;
}
