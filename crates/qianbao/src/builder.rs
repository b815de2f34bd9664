//! `Wallet::builder()`: choose the database, then build.

use std::path::PathBuf;

use crate::{Database, Wallet, WalletError};

/// Where the wallet keeps its data.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum DatabaseChoice {
    /// An embedded SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A private in-memory SQLite database: tests and demos.
    #[default]
    InMemory,
    /// PostgreSQL at this URL.
    Postgres(String),
}

/// Builds a [`Wallet`].
#[derive(Debug, Default)]
pub struct WalletBuilder {
    database: DatabaseChoice,
}

impl WalletBuilder {
    /// Keep data in the SQLite file at `path` (the default kind of database).
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = DatabaseChoice::Sqlite(path.into());
        self
    }

    /// Keep data in memory only.
    pub fn in_memory(mut self) -> Self {
        self.database = DatabaseChoice::InMemory;
        self
    }

    /// Keep data in PostgreSQL at `url`.
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.database = DatabaseChoice::Postgres(url.into());
        self
    }

    /// Opens the database, applies every crate's migrations and returns the wallet.
    pub async fn build(self) -> Result<Wallet, WalletError> {
        let db = match self.database {
            #[cfg(feature = "sqlite")]
            DatabaseChoice::Sqlite(path) => Database::open_sqlite(path)?,
            #[cfg(feature = "sqlite")]
            DatabaseChoice::InMemory => Database::open_in_memory()?,
            #[cfg(feature = "postgres")]
            DatabaseChoice::Postgres(url) => Database::connect_postgres(&url).await?,
            #[allow(unreachable_patterns)]
            other => return Err(WalletError::Config(format!("{other:?} needs a feature this build lacks"))),
        };
        Ok(Wallet { db })
    }
}
