//! The backend-neutral statement layer: parameters ([`P`]), result values ([`Row`]) and the [`Tx`] trait
//! both backends implement, so every store operation is written once (in the sibling modules) and runs
//! inside one database transaction on either backend.
//!
//! SQL is written with PostgreSQL's `$1, $2, …` placeholders; the SQLite backend rewrites them to its
//! numbered `?1, ?2, …` form (same numbers, same meaning).

use std::future::Future;

use qianbao_core::{Id128, Timestamp};
use qianbao_store::StoreError;
use qianbao_store::sql::{id_from_sql, ts_from_sql, ts_to_sql};

/// A statement parameter. Nulls are typed (PostgreSQL needs the type).
#[derive(Debug, Clone)]
pub(crate) enum P {
    Int(Option<i64>),
    Blob(Option<Vec<u8>>),
    Text(Option<String>),
}

pub(crate) fn int(v: i64) -> P {
    P::Int(Some(v))
}

pub(crate) fn uint(v: u32) -> P {
    P::Int(Some(i64::from(v)))
}

pub(crate) fn ts(t: Timestamp) -> P {
    P::Int(Some(ts_to_sql(t)))
}

pub(crate) fn opt_ts(t: Option<Timestamp>) -> P {
    P::Int(t.map(ts_to_sql))
}

pub(crate) fn blob(b: impl Into<Vec<u8>>) -> P {
    P::Blob(Some(b.into()))
}

pub(crate) fn opt_blob(b: Option<impl Into<Vec<u8>>>) -> P {
    P::Blob(b.map(Into::into))
}

pub(crate) fn id(v: Id128) -> P {
    P::Blob(Some(v.to_bytes().to_vec()))
}

pub(crate) fn text(s: impl Into<String>) -> P {
    P::Text(Some(s.into()))
}

pub(crate) fn opt_text(s: Option<impl Into<String>>) -> P {
    P::Text(s.map(Into::into))
}

/// A result value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Null,
    Int(i64),
    Blob(Vec<u8>),
    Text(String),
}

/// A result row.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<V>);

fn corrupt(i: usize, want: &str, got: &V) -> StoreError {
    StoreError::corrupt(format!("column {i}: expected {want}, found {got:?}"))
}

impl Row {
    fn get(&self, i: usize) -> &V {
        self.0.get(i).unwrap_or(&V::Null)
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.get(i) {
            V::Int(v) => Ok(*v),
            other => Err(corrupt(i, "an integer", other)),
        }
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.get(i) {
            V::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub(crate) fn u32(&self, i: usize) -> Result<u32, StoreError> {
        let v = self.int(i)?;
        u32::try_from(v).map_err(|_| StoreError::corrupt(format!("column {i}: {v} is not a u32")))
    }

    pub(crate) fn ts(&self, i: usize) -> Result<Timestamp, StoreError> {
        ts_from_sql(self.int(i)?)
    }

    pub(crate) fn opt_ts(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        self.opt_int(i)?.map(ts_from_sql).transpose()
    }

    pub(crate) fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.get(i) {
            V::Blob(b) => Ok(b.clone()),
            other => Err(corrupt(i, "bytes", other)),
        }
    }

    pub(crate) fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get(i) {
            V::Null => Ok(None),
            _ => self.blob(i).map(Some),
        }
    }

    pub(crate) fn b32(&self, i: usize) -> Result<[u8; 32], StoreError> {
        <[u8; 32]>::try_from(self.blob(i)?.as_slice())
            .map_err(|_| StoreError::corrupt(format!("column {i}: expected 32 bytes")))
    }

    pub(crate) fn opt_b32(&self, i: usize) -> Result<Option<[u8; 32]>, StoreError> {
        match self.get(i) {
            V::Null => Ok(None),
            _ => self.b32(i).map(Some),
        }
    }

    pub(crate) fn id(&self, i: usize) -> Result<Id128, StoreError> {
        id_from_sql(&self.blob(i)?)
    }

    pub(crate) fn opt_id(&self, i: usize) -> Result<Option<Id128>, StoreError> {
        self.opt_blob(i)?.map(|b| id_from_sql(&b)).transpose()
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.get(i) {
            V::Text(s) => Ok(s.clone()),
            other => Err(corrupt(i, "text", other)),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.get(i) {
            V::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

/// One open database transaction. SQLite's futures are always ready (it runs on the writer thread);
/// PostgreSQL's are real I/O.
pub(crate) trait Tx {
    /// The future of a statement.
    type Fut<'a, O: 'a>: Future<Output = Result<O, StoreError>> + 'a
    where
        Self: 'a;

    /// Runs a statement; the number of rows it changed.
    fn exec<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, u64>;

    /// Runs a query (or a statement with RETURNING); its rows.
    fn query<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, Vec<Row>>;
}

/// The first row of a query, if any.
pub(crate) async fn query_opt<T: Tx>(tx: &T, sql: &'static str, params: Vec<P>) -> Result<Option<Row>, StoreError> {
    Ok(tx.query(sql, params).await?.into_iter().next())
}
