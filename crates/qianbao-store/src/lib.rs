//! Storage plumbing shared by every qianbao crate.
//!
//! One database holds every crate's tables. [`Database`] is that database: an embedded SQLite file
//! ([`SqliteDb`], the default) or a PostgreSQL pool (`PgDb`, feature `postgres`) shared by many
//! service instances. Each crate owns its tables and registers its own ordered [`Migration`]s, applied
//! once by [`Database::migrate`] and recorded in `qianbao_schema_migrations`. Driver errors become a
//! [`StoreError`] with a backend-neutral [`ErrorKind`] and the driver error kept as its source.
//! [`testing::each_backend`] runs one test body on every configured backend.
//!
//! On SQLite one writer thread owns the write connection: jobs queued together are committed as one
//! transaction (group commit), each in its own savepoint, and every caller is answered only after the
//! commit is durable (`synchronous=FULL` by default). Readers have their own connections (WAL).
//! An in-memory database ([`Database::open_in_memory`], [`SqliteDb::open_in_memory`]) lives in SQLite's
//! `memdb` VFS, private to its handle, with its journal in memory; a commit there costs the same however
//! large the database is. It holds at most [`SqliteOptions::memory_bytes_max`] bytes (1 GiB by default,
//! [`MEMORY_BYTES_MAX_DEFAULT`]); a write past that fails with [`ErrorKind::Unavailable`] and changes nothing.
//!
//! ```
//! use qianbao_store::{Database, Migration};
//!
//! static MIGRATIONS: &[Migration] = &[Migration {
//!     component: "notes",
//!     version: 1,
//!     name: "create notes",
//!     sqlite: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
//!     postgres: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
//! }];
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let db = Database::open_in_memory()?;
//! db.migrate(MIGRATIONS).await?;
//! let sqlite = db.as_sqlite().expect("in-memory databases are SQLite");
//! sqlite.write(|c| Ok(c.execute("INSERT INTO notes VALUES (1, 'hello')", [])?)).await?;
//! let body: String = sqlite.read(|c| Ok(c.query_row("SELECT body FROM notes", [], |r| r.get(0))?)).await?;
//! assert_eq!(body, "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("qianbao-store needs a backend: enable the feature `sqlite` (the default), `postgres`, or both");

#[cfg(feature = "sqlite")]
mod claim;
mod error;
mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
pub mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod testing;

#[cfg(feature = "sqlite")]
pub use claim::SqliteClaim;
pub use error::{ErrorKind, StoreError};
pub use migrate::Migration;
#[cfg(feature = "postgres")]
pub use postgres::{PgDb, PgOptions, SharedLock};
#[cfg(feature = "sqlite")]
pub use sqlite::{MEMORY_BYTES_MAX_DEFAULT, SqliteDb, SqliteOptions, Synchronous};

/// The drivers, re-exported so store modules use exactly the versions this crate was built with.
pub mod drivers {
    #[cfg(feature = "postgres")]
    pub use deadpool_postgres;
    #[cfg(feature = "sqlite")]
    pub use rusqlite;
    #[cfg(feature = "postgres")]
    pub use tokio_postgres;
}

/// Which backend a [`Database`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The one database every qianbao crate stores into.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Database {
    /// Embedded SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteDb),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgDb),
}

impl Database {
    /// Opens (creating if needed) an SQLite database file with the default, durable options.
    #[cfg(feature = "sqlite")]
    pub fn open_sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        SqliteDb::open(path, SqliteOptions::default()).map(Database::Sqlite)
    }

    /// A private in-memory SQLite database (lost when the last handle drops): tests and demos. It holds at
    /// most 1 GiB ([`MEMORY_BYTES_MAX_DEFAULT`]); [`SqliteDb::open_in_memory`] takes another limit.
    #[cfg(feature = "sqlite")]
    pub fn open_in_memory() -> Result<Self, StoreError> {
        SqliteDb::open_in_memory(SqliteOptions::default()).map(Database::Sqlite)
    }

    /// Connects to PostgreSQL at `url` with the default options.
    #[cfg(feature = "postgres")]
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        PgDb::connect(url, PgOptions::default()).await.map(Database::Postgres)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies a component's pending migrations.
    pub async fn migrate(&self, migrations: &'static [Migration]) -> Result<(), StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(db) => db.migrate(migrations).await,
            #[cfg(feature = "postgres")]
            Database::Postgres(db) => db.migrate(migrations).await,
        }
    }

    /// The SQLite handle, if this is SQLite.
    #[cfg(feature = "sqlite")]
    pub fn as_sqlite(&self) -> Option<&SqliteDb> {
        match self {
            Database::Sqlite(db) => Some(db),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The PostgreSQL handle, if this is PostgreSQL.
    #[cfg(feature = "postgres")]
    pub fn as_postgres(&self) -> Option<&PgDb> {
        match self {
            Database::Postgres(db) => Some(db),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}
