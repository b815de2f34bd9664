//! One ledger per SQLite database: a second `DurableLedger` on the same file — in this process or
//! another — is refused while the first is open, because it would decide on stale balances.

use std::process::Command;
use std::time::Duration;

use qianbao_ledger::{CreateTransferResult as R, LedgerError};
use qianbao_store::{Database, ErrorKind};

use super::*;

const CHILD_ENV: &str = "QIANBAO_LEDGER_OWNER_CHILD";

fn quick() -> LedgerOptions {
    let mut o = LedgerOptions::default();
    o.open_wait = Duration::from_millis(50);
    o
}

fn in_use(e: &LedgerError) -> bool {
    matches!(e, LedgerError::Store(s) if s.kind() == ErrorKind::InUse)
}

async fn try_open(db: &Database) -> Result<DurableLedger, LedgerError> {
    DurableLedger::open_with(db.clone(), LedgerConfig::default(), clock(), quick()).await
}

/// Not a test on its own: the child's body, run only when the parent sets [`CHILD_ENV`]. Exits 3 when
/// the ledger is in use, 0 when it could open it.
#[tokio::test]
async fn owner_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Database::open_sqlite(path).unwrap();
    match try_open(&db).await {
        Ok(_) => std::process::exit(0),
        Err(e) if in_use(&e) => std::process::exit(3),
        Err(_) => std::process::exit(1),
    }
}

fn child_opens(path: &std::path::Path) -> i32 {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "durable::owner::owner_child", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[tokio::test]
async fn a_second_ledger_on_one_sqlite_file_is_refused_until_the_first_closes() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let db = Database::open_sqlite(&path).unwrap();
    let first = try_open(&db).await.unwrap();
    first.create_accounts(&chart(2)).await.unwrap();

    // The same handle, another handle on the same file, and another process are all refused.
    assert!(in_use(&try_open(&db).await.unwrap_err()));
    let other = Database::open_sqlite(&path).unwrap();
    assert!(in_use(&try_open(&other).await.unwrap_err()));
    assert_eq!(child_opens(&path), 3, "another process must be refused");

    // The first ledger is unharmed by the refused opens.
    let t = pay(1, 1, 2, 500);
    assert_eq!(first.create_transfers(&[t]).await.unwrap(), vec![R::Ok]);

    // Once it is closed, the file can be opened again (here by waiting for its task to finish) and
    // the state is there.
    drop(first);
    let mut wait = LedgerOptions::default();
    wait.open_wait = Duration::from_secs(5);
    let again = open(&other, &clock(), wait).await;
    assert_eq!(again.lookup_accounts(&[aid(2)]).await.unwrap()[0].credits_posted, 500);
    drop(again);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(child_opens(&path), 0, "another process may open it once it is free");
}

#[tokio::test]
async fn an_in_memory_database_takes_one_ledger() {
    let db = Database::open_in_memory().unwrap();
    let first = try_open(&db).await.unwrap();
    assert!(in_use(&try_open(&db).await.unwrap_err()));
    drop(first);
    let mut wait = LedgerOptions::default();
    wait.open_wait = Duration::from_secs(5);
    open(&db, &clock(), wait).await;
}
