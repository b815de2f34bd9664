//! The PostgreSQL backend: runs the store operations inside one transaction of a pooled connection, with
//! prepared statements cached per connection.

use std::future::Future;
use std::pin::Pin;

use qianbao_store::drivers::deadpool_postgres::Object;
use qianbao_store::drivers::tokio_postgres::Row as PgRow;
use qianbao_store::drivers::tokio_postgres::types::{ToSql, Type};
use qianbao_store::{ErrorKind, PgDb, StoreError};

use super::sql::{P, Row, Tx, V};

/// A [`Tx`] over a pooled connection inside `BEGIN … COMMIT`. It owns the connection (no borrowed
/// lifetimes, so the operation futures are `Send` without higher-ranked lifetime trouble). Dropped
/// before [`PgTx::commit`] or [`PgTx::rollback`] — a cancelled request — it detaches the connection from
/// the pool, which closes it and so aborts the open transaction on the server.
pub(crate) struct PgTx {
    client: Option<Object>,
}

impl PgTx {
    pub(crate) async fn begin(db: &PgDb) -> Result<PgTx, StoreError> {
        let client = db.client().await?;
        client.batch_execute("BEGIN").await?;
        Ok(PgTx { client: Some(client) })
    }

    fn client(&self) -> Result<&Object, StoreError> {
        self.client.as_ref().ok_or_else(|| StoreError::new(ErrorKind::Closed, "the transaction has ended"))
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let out = self.client()?.batch_execute("COMMIT").await.map_err(StoreError::from);
        if out.is_ok() {
            self.client = None; // back to the pool
        }
        out
    }

    pub(crate) async fn rollback(mut self) {
        if let Ok(c) = self.client()
            && c.batch_execute("ROLLBACK").await.is_ok()
        {
            self.client = None;
        }
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            drop(Object::take(c));
        }
    }
}

fn param(p: &P) -> &(dyn ToSql + Sync) {
    match p {
        P::Int(v) => v,
        P::Blob(v) => v,
        P::Text(v) => v,
    }
}

fn row(r: &PgRow) -> Result<Row, StoreError> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(V::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| V::Int(i64::from(v)))
        } else if *t == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)?.map(V::Blob)
        } else if *t == Type::TEXT || *t == Type::VARCHAR {
            r.try_get::<_, Option<String>>(i)?.map(V::Text)
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|b| V::Int(i64::from(b)))
        } else {
            return Err(StoreError::corrupt(format!("unexpected column type {t}")));
        };
        vals.push(v.unwrap_or(V::Null));
    }
    Ok(Row(vals))
}

impl Tx for PgTx {
    type Fut<'a, O: 'a>
        = Pin<Box<dyn Future<Output = Result<O, StoreError>> + Send + 'a>>
    where
        Self: 'a;

    fn exec<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, u64> {
        Box::pin(async move {
            let c = self.client()?;
            let stmt = c.prepare_cached(sql).await?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(param).collect();
            Ok(c.execute(&stmt, &refs).await?)
        })
    }

    fn query<'a>(&'a self, sql: &'static str, params: Vec<P>) -> Self::Fut<'a, Vec<Row>> {
        Box::pin(async move {
            let c = self.client()?;
            let stmt = c.prepare_cached(sql).await?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(param).collect();
            let rows = c.query(&stmt, &refs).await?;
            rows.iter().map(row).collect()
        })
    }
}
