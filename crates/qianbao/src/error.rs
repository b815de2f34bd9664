//! The facade's one error type, keeping the domain error it came from.

/// Everything a wallet call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] qianbao_store::StoreError),
    /// The builder was given an unusable configuration.
    #[error("configuration: {0}")]
    Config(String),
}
