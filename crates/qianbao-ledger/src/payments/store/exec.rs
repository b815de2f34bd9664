//! The two primitives every payments-store operation is written with, once for both backends:
//! a *script* (statements run in order in one transaction, each may require that it changed exactly
//! one row, else the whole script rolls back and says where it stopped) and a *query*. SQL is
//! written with `$1`-style parameters and only types both backends share (`BIGINT`, `TEXT`,
//! `BLOB`/`BYTEA`).

use qianbao_store::{Database, StoreError};

/// A parameter value, typed even when null (PostgreSQL checks types of nulls too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    I64(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::I64(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Param::I64(v)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_owned()))
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}

impl From<Vec<u8>> for Param {
    fn from(v: Vec<u8>) -> Self {
        Param::Bytes(Some(v))
    }
}

impl From<&[u8]> for Param {
    fn from(v: &[u8]) -> Self {
        Param::Bytes(Some(v.to_vec()))
    }
}

impl<const N: usize> From<[u8; N]> for Param {
    fn from(v: [u8; N]) -> Self {
        Param::Bytes(Some(v.to_vec()))
    }
}

impl From<Option<Vec<u8>>> for Param {
    fn from(v: Option<Vec<u8>>) -> Self {
        Param::Bytes(v)
    }
}

/// A column value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    I64(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A row read back, with typed getters that call a wrong type corrupt data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Value, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::corrupt(format!("a payments row has no column {i}")))
    }

    pub(crate) fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_i64(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }

    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::I64(v) => Ok(Some(*v)),
            other => Err(StoreError::corrupt(format!("column {i} is {other:?}, expected an integer"))),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(StoreError::corrupt(format!("column {i} is {other:?}, expected text"))),
        }
    }

    pub(crate) fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.opt_bytes(i)?.ok_or_else(|| StoreError::corrupt(format!("column {i} is null")))
    }

    pub(crate) fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Bytes(v) => Ok(Some(v.clone())),
            other => Err(StoreError::corrupt(format!("column {i} is {other:?}, expected bytes"))),
        }
    }
}

/// One statement of a script.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
    /// When set, the statement must change exactly one row, or the script stops and rolls back.
    pub(crate) expect_one: bool,
}

impl Stmt {
    /// A statement that must change exactly one row.
    pub(crate) fn one(sql: &'static str, params: Vec<Param>) -> Self {
        Stmt { sql, params, expect_one: true }
    }

    /// A statement that may change any number of rows.
    pub(crate) fn any(sql: &'static str, params: Vec<Param>) -> Self {
        Stmt { sql, params, expect_one: false }
    }
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScriptResult {
    /// Every statement ran and met its expectation; committed.
    Done,
    /// Statement `n` changed other than one row; nothing was written.
    Stopped(usize),
}

/// Runs a script in one transaction (on SQLite: inside the writer's group commit, in a savepoint of
/// its own; answered after the commit is durable).
pub(crate) async fn run(db: &Database, script: Vec<Stmt>) -> Result<ScriptResult, StoreError> {
    match db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(s) => super::sqlite::run(s, script).await,
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => super::postgres::run(p, script).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}

/// Runs a query.
pub(crate) async fn query(db: &Database, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
    match db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(s) => super::sqlite::query(s, sql, params).await,
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => super::postgres::query(p, sql, params).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}

fn unsupported() -> StoreError {
    StoreError::new(qianbao_store::ErrorKind::Other, "this build does not support the database's backend")
}
