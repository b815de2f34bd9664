//! Backend-neutral storage errors: a small [`ErrorKind`] a caller can act on, the driver error kept as
//! the `source`.

use std::error::Error as StdError;
use std::fmt;

/// What kind of storage failure happened — the part a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A uniqueness or foreign-key constraint refused the write (a duplicate key).
    Conflict,
    /// The row asked for does not exist.
    NotFound,
    /// The database could not be reached, is busy or ran out of a resource (a full disk, a full in-memory
    /// database); retrying later may work.
    Unavailable,
    /// A concurrent transaction won (serialization failure, deadlock); retrying now may work.
    Serialization,
    /// Stored data failed a check on the way back (a value out of range, a broken invariant).
    Corrupt,
    /// A schema migration failed or the recorded schema does not match this build.
    Migration,
    /// The database handle was closed (its writer thread stopped).
    Closed,
    /// Another owner holds what was asked for (a claimed role of an SQLite database).
    InUse,
    /// Anything else the driver reported.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::Conflict => "conflict",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Serialization => "serialization failure",
            ErrorKind::Corrupt => "corrupt data",
            ErrorKind::Migration => "migration failed",
            ErrorKind::Closed => "database closed",
            ErrorKind::InUse => "in use",
            ErrorKind::Other => "storage error",
        };
        f.write_str(s)
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct StoreError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, message: message.into(), source: None }
    }

    /// Keeps `source` as the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Corrupt data: a stored value failed a check on the way back.
    pub fn corrupt(message: impl Into<String>) -> Self {
        StoreError::new(ErrorKind::Corrupt, message)
    }

    /// Not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        StoreError::new(ErrorKind::NotFound, message)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when an immediate retry of the whole transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Serialization)
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let kind = match &e {
            rusqlite::Error::QueryReturnedNoRows => ErrorKind::NotFound,
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::ConstraintViolation => ErrorKind::Conflict,
                C::DatabaseBusy | C::DatabaseLocked => ErrorKind::Unavailable,
                C::CannotOpen | C::DiskFull | C::OutOfMemory | C::SystemIoFailure | C::PermissionDenied => {
                    ErrorKind::Unavailable
                }
                C::DatabaseCorrupt | C::NotADatabase => ErrorKind::Corrupt,
                _ => ErrorKind::Other,
            },
            rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::IntegralValueOutOfRange(..) => {
                ErrorKind::Corrupt
            }
            _ => ErrorKind::Other,
        };
        let hint = match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == C::DiskFull => {
                " (the disk is full, or an in-memory database reached SqliteOptions::memory_bytes_max)"
            }
            _ => "",
        };
        StoreError::new(kind, format!("sqlite: {e}{hint}")).with_source(e)
    }
}

#[cfg(feature = "postgres")]
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState as S;
        let kind = match e.code() {
            Some(c) if *c == S::UNIQUE_VIOLATION || *c == S::FOREIGN_KEY_VIOLATION || *c == S::EXCLUSION_VIOLATION => {
                ErrorKind::Conflict
            }
            Some(c) if *c == S::T_R_SERIALIZATION_FAILURE || *c == S::T_R_DEADLOCK_DETECTED => ErrorKind::Serialization,
            Some(c) if *c == S::TOO_MANY_CONNECTIONS || *c == S::ADMIN_SHUTDOWN || *c == S::CANNOT_CONNECT_NOW => {
                ErrorKind::Unavailable
            }
            Some(_) => ErrorKind::Other,
            None if e.is_closed() => ErrorKind::Unavailable,
            None => ErrorKind::Unavailable,
        };
        let message = match e.as_db_error() {
            Some(db) => format!("postgres: {}: {}", db.code().code(), db.message()),
            None => format!("postgres: {e}"),
        };
        StoreError::new(kind, message).with_source(e)
    }
}

#[cfg(feature = "postgres")]
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(pg) => StoreError::from(pg),
            other => StoreError::new(ErrorKind::Unavailable, format!("postgres pool: {other}")).with_source(other),
        }
    }
}
