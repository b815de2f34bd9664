//! qianbao (钱包, "wallet"): an embeddable back end for a digital wallet.
//!
//! One [`Wallet`] composes the domain crates — identity and real-name verification
//! ([`qianbao_identity`]), the certificate authority ([`qianbao_ca`]), tokens ([`qianbao_token`]) and the
//! double-entry ledger ([`qianbao_ledger`]) — over one database: an embedded SQLite file by default, or
//! PostgreSQL when many service instances share it.
//!
//! ```
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let wallet = qianbao::Wallet::builder().in_memory().build().await?;
//! assert_eq!(wallet.backend(), qianbao::Backend::Sqlite);
//! # Ok::<(), qianbao::WalletError>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod error;

pub use builder::{DatabaseChoice, WalletBuilder};
pub use error::WalletError;
pub use qianbao_core as core;
pub use qianbao_store::{Backend, Database};
pub use {qianbao_ca, qianbao_identity, qianbao_ledger, qianbao_token};

/// A running wallet: every journey is a method on it.
#[derive(Debug, Clone)]
pub struct Wallet {
    db: Database,
}

impl Wallet {
    /// Starts building a wallet.
    pub fn builder() -> WalletBuilder {
        WalletBuilder::default()
    }

    /// Which database backend this wallet runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The shared database handle.
    pub fn database(&self) -> &Database {
        &self.db
    }
}
