//! Storage backends of the throughput harness: the durable ledger on SQLite and PostgreSQL, and the
//! baseline a user would otherwise write — one database transaction per transfer that reads and
//! updates both balances (`SELECT … FOR UPDATE` on PostgreSQL) — on the same database.

use std::sync::Arc;

use qianbao_core::{ManualClock, Timestamp};
use qianbao_ledger::{DurableLedger, LedgerConfig, NewAccount, NewTransfer};
use qianbao_store::drivers::rusqlite::{self, params};
use qianbao_store::{Database, PgDb, PgOptions};

use crate::ledger::{BackendError, LedgerBackend};

fn runtime() -> Result<tokio::runtime::Runtime, BackendError> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?)
}

/// A schema of its own on the PostgreSQL server at `url`, dropped when the backend drops.
async fn pg_schema(url: &str, prefix: &str) -> Result<PgDb, BackendError> {
    let schema = format!("{prefix}_{}", std::process::id());
    let db = PgDb::connect(url, PgOptions::with_schema(schema)).await?;
    db.drop_schema().await?;
    Ok(PgDb::connect(url, PgOptions::with_schema(db.schema().unwrap_or("qb_bench").to_string())).await?)
}

/// [`DurableLedger`] through its public API, every batch durable when it returns.
pub struct DurableBackend {
    name: &'static str,
    rt: tokio::runtime::Runtime,
    ledger: DurableLedger,
    pg: Option<PgDb>,
    _dir: Option<tempfile::TempDir>,
}

impl DurableBackend {
    /// On a fresh SQLite file (WAL, `synchronous=FULL`).
    pub fn sqlite() -> Result<Self, BackendError> {
        let dir = tempfile::tempdir()?;
        let db = Database::open_sqlite(dir.path().join("ledger.sqlite"))?;
        DurableBackend::open("sqlite", db, None, Some(dir))
    }

    /// On a fresh schema of the PostgreSQL server at `url`.
    pub fn postgres(url: &str) -> Result<Self, BackendError> {
        let rt = runtime()?;
        let pg = rt.block_on(pg_schema(url, "qb_bench_ledger"))?;
        drop(rt);
        DurableBackend::open("postgres", Database::Postgres(pg.clone()), Some(pg), None)
    }

    fn open(
        name: &'static str,
        db: Database,
        pg: Option<PgDb>,
        dir: Option<tempfile::TempDir>,
    ) -> Result<Self, BackendError> {
        let rt = runtime()?;
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_780_000_000)));
        let ledger = rt.block_on(DurableLedger::open(db, LedgerConfig::default(), clock))?;
        Ok(DurableBackend { name, rt, ledger, pg, _dir: dir })
    }
}

impl Drop for DurableBackend {
    fn drop(&mut self) {
        if let Some(pg) = self.pg.take() {
            let _ = self.rt.block_on(pg.drop_schema());
        }
    }
}

impl LedgerBackend for DurableBackend {
    fn name(&self) -> &'static str {
        self.name
    }

    fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<(), BackendError> {
        let results = self.rt.block_on(self.ledger.create_accounts(batch))?;
        match results.iter().find(|r| !r.is_ok()) {
            Some(r) => Err(format!("account creation failed: {r}").into()),
            None => Ok(()),
        }
    }

    fn create_transfers(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        let results = self.rt.block_on(self.ledger.create_transfers(batch))?;
        Ok(results.iter().filter(|r| r.is_ok()).count())
    }
}

const BASELINE_SQL: &str = "
CREATE TABLE baseline_accounts (id BLOB PRIMARY KEY, balance BIGINT NOT NULL, must_not_overdraw BOOLEAN NOT NULL);
CREATE TABLE baseline_transfers (id BLOB PRIMARY KEY, dr BLOB NOT NULL, cr BLOB NOT NULL, amount BIGINT NOT NULL,
    code INTEGER NOT NULL, ts BIGINT NOT NULL);";

fn credit_normal(a: &NewAccount) -> bool {
    a.flags.contains(qianbao_ledger::AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
}

fn nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// The baseline on SQLite: one `BEGIN IMMEDIATE … COMMIT` per transfer (WAL, `synchronous=FULL`).
pub struct BaselineSqlite {
    conn: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

impl BaselineSqlite {
    /// On a fresh file.
    pub fn new() -> Result<Self, BackendError> {
        let dir = tempfile::tempdir()?;
        let conn = rusqlite::Connection::open(dir.path().join("baseline.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(BASELINE_SQL)?;
        Ok(BaselineSqlite { conn, _dir: dir })
    }

    fn transfer(&mut self, t: &NewTransfer) -> Result<bool, BackendError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let balance = |id: [u8; 16]| -> rusqlite::Result<(i64, bool)> {
            tx.query_row("SELECT balance, must_not_overdraw FROM baseline_accounts WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        };
        let (dr, dr_guard) = balance(t.debit_account_id.to_bytes())?;
        let _cr = balance(t.credit_account_id.to_bytes())?;
        let amount = i64::try_from(t.amount)?;
        if dr_guard && dr < amount {
            return Ok(false);
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO baseline_transfers VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.id.to_bytes(),
                t.debit_account_id.to_bytes(),
                t.credit_account_id.to_bytes(),
                amount,
                t.code.as_u16(),
                nanos()
            ],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE baseline_accounts SET balance = balance - ?2 WHERE id = ?1",
            params![t.debit_account_id.to_bytes(), amount],
        )?;
        tx.execute(
            "UPDATE baseline_accounts SET balance = balance + ?2 WHERE id = ?1",
            params![t.credit_account_id.to_bytes(), amount],
        )?;
        tx.commit()?;
        Ok(true)
    }
}

impl LedgerBackend for BaselineSqlite {
    fn name(&self) -> &'static str {
        "baseline-sqlite"
    }

    fn payments_only(&self) -> bool {
        true
    }

    fn fund(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        self.conn.pragma_update(None, "synchronous", "OFF")?;
        let created = self.create_transfers(batch);
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        created
    }

    fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<(), BackendError> {
        let tx = self.conn.transaction()?;
        for a in batch {
            tx.execute("INSERT INTO baseline_accounts VALUES (?1, 0, ?2)", params![a.id.to_bytes(), credit_normal(a)])?;
        }
        Ok(tx.commit()?)
    }

    fn create_transfers(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        let mut created = 0;
        for t in batch {
            created += usize::from(self.transfer(t)?);
        }
        Ok(created)
    }
}

/// The baseline on PostgreSQL: one transaction per transfer, both balances locked in id order with
/// `SELECT … FOR UPDATE`.
pub struct BaselinePostgres {
    rt: tokio::runtime::Runtime,
    pg: PgDb,
}

impl BaselinePostgres {
    /// On a fresh schema of the server at `url`.
    pub fn new(url: &str) -> Result<Self, BackendError> {
        let rt = runtime()?;
        let pg = rt.block_on(async {
            let pg = pg_schema(url, "qb_bench_baseline").await?;
            let sql = BASELINE_SQL.replace("BLOB", "BYTEA");
            pg.client().await?.batch_execute(&sql).await?;
            Ok::<_, BackendError>(pg)
        })?;
        Ok(BaselinePostgres { rt, pg })
    }
}

impl Drop for BaselinePostgres {
    fn drop(&mut self) {
        let _ = self.rt.block_on(self.pg.drop_schema());
    }
}

async fn pg_transfer(
    client: &mut qianbao_store::drivers::deadpool_postgres::Object,
    t: &NewTransfer,
) -> Result<bool, BackendError> {
    let tx = client.transaction().await?;
    let (dr, cr) = (t.debit_account_id.to_bytes().to_vec(), t.credit_account_id.to_bytes().to_vec());
    let ids = if dr < cr { vec![dr.clone(), cr.clone()] } else { vec![cr.clone(), dr.clone()] };
    let rows = tx
        .query(
            "SELECT id, balance, must_not_overdraw FROM baseline_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )
        .await?;
    let amount = i64::try_from(t.amount)?;
    let debit = rows.iter().find(|r| r.get::<_, Vec<u8>>(0) == dr).ok_or("debit account missing")?;
    if debit.get::<_, bool>(2) && debit.get::<_, i64>(1) < amount {
        return Ok(false);
    }
    let inserted = tx
        .execute(
            "INSERT INTO baseline_transfers VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&t.id.to_bytes().to_vec(), &dr, &cr, &amount, &i32::from(t.code.as_u16()), &nanos()],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    tx.execute("UPDATE baseline_accounts SET balance = balance - $2 WHERE id = $1", &[&dr, &amount]).await?;
    tx.execute("UPDATE baseline_accounts SET balance = balance + $2 WHERE id = $1", &[&cr, &amount]).await?;
    tx.commit().await?;
    Ok(true)
}

impl LedgerBackend for BaselinePostgres {
    fn name(&self) -> &'static str {
        "baseline-postgres"
    }

    fn payments_only(&self) -> bool {
        true
    }

    fn fund(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        self.rt.block_on(async {
            let mut client = self.pg.client().await?;
            client.batch_execute("SET synchronous_commit = off").await?;
            let mut created = 0;
            for t in batch {
                created += usize::from(pg_transfer(&mut client, t).await?);
            }
            client.batch_execute("SET synchronous_commit = on").await?;
            Ok(created)
        })
    }

    fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<(), BackendError> {
        let ids: Vec<Vec<u8>> = batch.iter().map(|a| a.id.to_bytes().to_vec()).collect();
        let guards: Vec<bool> = batch.iter().map(credit_normal).collect();
        self.rt.block_on(async {
            self.pg
                .client()
                .await?
                .execute(
                    "INSERT INTO baseline_accounts SELECT id, 0, g FROM unnest($1::bytea[], $2::bool[]) AS u(id, g)",
                    &[&ids, &guards],
                )
                .await?;
            Ok(())
        })
    }

    fn create_transfers(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        self.rt.block_on(async {
            let mut client = self.pg.client().await?;
            let mut created = 0;
            for t in batch {
                created += usize::from(pg_transfer(&mut client, t).await?);
            }
            Ok(created)
        })
    }
}
