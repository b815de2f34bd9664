//! The SQLite backend: runs the store operations on the writer thread (writes, inside the group-commit
//! transaction and its own savepoint) or on a reader connection (reads). Statements are cached.

use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use qianbao_store::drivers::rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use qianbao_store::drivers::rusqlite::{self, Connection, params_from_iter};
use qianbao_store::{ErrorKind, StoreError};

use super::sql::{P, Row, Tx, V};

/// A [`Tx`] over the connection the job runs on.
pub(crate) struct SqliteTx<'c>(pub(crate) &'c Connection);

impl ToSql for P {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            P::Int(v) => v.to_sql(),
            P::Blob(v) => v.to_sql(),
            P::Text(v) => v.to_sql(),
        }
    }
}

fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn value(v: ValueRef<'_>) -> Result<V, StoreError> {
    Ok(match v {
        ValueRef::Null => V::Null,
        ValueRef::Integer(i) => V::Int(i),
        ValueRef::Blob(b) => V::Blob(b.to_vec()),
        ValueRef::Text(t) => {
            V::Text(String::from_utf8(t.to_vec()).map_err(|_| StoreError::corrupt("a text column is not UTF-8"))?)
        }
        ValueRef::Real(_) => return Err(StoreError::corrupt("unexpected floating-point column")),
    })
}

fn exec_now(c: &Connection, sql: &str, params: &[P]) -> Result<u64, StoreError> {
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    let n = stmt.execute(params_from_iter(params.iter()))?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

fn query_now(c: &Connection, sql: &str, params: &[P]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    let n = stmt.column_count();
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(value(r.get_ref(i)?)?);
        }
        out.push(Row(vals));
    }
    Ok(out)
}

impl Tx for SqliteTx<'_> {
    type Fut<'a, O: 'a>
        = Ready<Result<O, StoreError>>
    where
        Self: 'a;

    fn exec<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, u64> {
        ready(exec_now(self.0, sql, &params))
    }

    fn query<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, Vec<Row>> {
        ready(query_now(self.0, sql, &params))
    }
}

/// Drives an operation over a [`SqliteTx`] to completion. Its statement futures are always ready, so one
/// poll finishes it; anything else is a bug reported as an error rather than a hang.
pub(crate) fn complete<O>(f: impl Future<Output = Result<O, StoreError>>) -> Result<O, StoreError> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => {
            Err(StoreError::new(ErrorKind::Other, "a SQLite store operation did not complete synchronously"))
        }
    }
}
