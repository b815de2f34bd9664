//! The one error type of this crate.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The database failed; the request may or may not have been applied only if the kind says so.
    #[error("storage failed: {0}")]
    Store(#[from] qianbao_store::StoreError),
}
