//! The SQLite backend of the payments store: scripts and queries on [`SqliteDb`].

use qianbao_store::drivers::rusqlite::types::{ToSqlOutput, ValueRef};
use qianbao_store::drivers::rusqlite::{self, Connection, ToSql, params_from_iter};
use qianbao_store::{SqliteDb, StoreError};

use super::exec::{Param, Row, ScriptResult, Stmt, Value};

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::I64(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
            Param::Bytes(v) => v.to_sql(),
        }
    }
}

/// `$1` parameters become SQLite's numbered `?1` (the SQL holds no other `$`).
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn run_in(c: &Connection, script: &[Stmt]) -> Result<ScriptResult, StoreError> {
    for (i, s) in script.iter().enumerate() {
        let n = c.prepare_cached(&sqlite_sql(s.sql))?.execute(params_from_iter(s.params.iter()))?;
        if s.expect_one && n != 1 {
            return Ok(ScriptResult::Stopped(i));
        }
    }
    Ok(ScriptResult::Done)
}

pub(super) async fn run(db: &SqliteDb, script: Vec<Stmt>) -> Result<ScriptResult, StoreError> {
    db.write(move |c| {
        c.execute_batch("SAVEPOINT pay_script")?;
        let out = run_in(c, &script);
        let end = match out {
            Ok(ScriptResult::Done) => "RELEASE pay_script",
            _ => "ROLLBACK TO pay_script; RELEASE pay_script",
        };
        c.execute_batch(end)?;
        out
    })
    .await
}

fn value(v: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::I64(i),
        ValueRef::Text(t) => {
            Value::Text(String::from_utf8(t.to_vec()).map_err(|_| StoreError::corrupt("a text column is not UTF-8"))?)
        }
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(_) => return Err(StoreError::corrupt("a payments column holds a float")),
    })
}

pub(super) async fn query(db: &SqliteDb, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
    db.read(move |c| {
        let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let cells = (0..columns).map(|i| value(r.get_ref(i)?)).collect::<Result<Vec<_>, StoreError>>()?;
            out.push(Row(cells));
        }
        Ok(out)
    })
    .await
}
