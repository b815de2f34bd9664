//! The PostgreSQL backend of the payments store: scripts and queries on [`PgDb`].

use qianbao_store::drivers::tokio_postgres::types::{ToSql, Type};
use qianbao_store::{PgDb, StoreError};

use super::exec::{Param, Row, ScriptResult, Stmt, Value};

fn boxed(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::I64(v) => Box::new(*v),
                Param::Text(v) => Box::new(v.clone()),
                Param::Bytes(v) => Box::new(v.clone()),
            }
        })
        .collect()
}

fn refs(b: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    b.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

pub(super) async fn run(db: &PgDb, script: Vec<Stmt>) -> Result<ScriptResult, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    for (i, s) in script.iter().enumerate() {
        let stmt = tx.prepare_cached(s.sql).await?;
        let params = boxed(&s.params);
        let n = tx.execute(&stmt, &refs(&params)).await?;
        if s.expect_one && n != 1 {
            tx.rollback().await?;
            return Ok(ScriptResult::Stopped(i));
        }
    }
    tx.commit().await?;
    Ok(ScriptResult::Done)
}

fn cell(r: &qianbao_store::drivers::tokio_postgres::Row, i: usize) -> Result<Value, StoreError> {
    let ty = r.columns()[i].type_().clone();
    let v = if ty == Type::INT8 {
        r.try_get::<_, Option<i64>>(i)?.map(Value::I64)
    } else if ty == Type::INT4 {
        r.try_get::<_, Option<i32>>(i)?.map(|v| Value::I64(i64::from(v)))
    } else if ty == Type::TEXT || ty == Type::VARCHAR {
        r.try_get::<_, Option<String>>(i)?.map(Value::Text)
    } else if ty == Type::BYTEA {
        r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Bytes)
    } else {
        return Err(StoreError::corrupt(format!("unexpected column type {ty} in a payments query")));
    };
    Ok(v.unwrap_or(Value::Null))
}

pub(super) async fn query(db: &PgDb, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
    let client = db.client().await?;
    let stmt = client.prepare_cached(sql).await?;
    let params = boxed(&params);
    let rows = client.query(&stmt, &refs(&params)).await?;
    rows.iter().map(|r| (0..r.len()).map(|i| cell(r, i)).collect::<Result<Vec<_>, _>>().map(Row)).collect()
}
