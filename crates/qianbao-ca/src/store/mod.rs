//! Storage of this crate: the [`CaStore`] trait and its backends.

use crate::CaError;

/// The CA's own keys and certificates, issued certificate records, revocations, CRL numbers, order nonces and the usage record.
pub trait CaStore: Send + Sync {
    /// Creates or upgrades this crate's tables.
    fn migrate(&self) -> impl Future<Output = Result<(), CaError>> + Send;
}
