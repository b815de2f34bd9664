//! In-memory SQLite databases (the `memdb` VFS): private to their handle, transactional like a file,
//! and bounded by `SqliteOptions::memory_bytes_max`.

use std::collections::BTreeSet;
use std::sync::mpsc;

use qianbao_store::{Database, ErrorKind, SqliteDb, SqliteOptions, StoreError};

async fn count(db: &SqliteDb, table: &'static str) -> Result<i64, StoreError> {
    db.read(move |c| Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)).await
}

#[tokio::test]
async fn two_in_memory_databases_are_independent() {
    let (one, two) = (Database::open_in_memory().unwrap(), Database::open_in_memory().unwrap());
    let (one, two) = (one.as_sqlite().unwrap().clone(), two.as_sqlite().unwrap().clone());
    one.write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2)")?)).await.unwrap();
    let missing = count(&two, "t").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Other, "{missing}");
    assert!(missing.message().contains("no such table"), "{missing}");
    two.write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (3)")?)).await.unwrap();
    assert_eq!(count(&one, "t").await.unwrap(), 2);
    assert_eq!(count(&two, "t").await.unwrap(), 1);
    // A clone is the same database; dropping the other one leaves this one whole.
    let clone = one.clone();
    drop(two);
    assert_eq!(count(&clone, "t").await.unwrap(), 2);
}

#[tokio::test]
async fn an_in_memory_database_keeps_its_journal_in_memory_and_writes_no_file() {
    let before = cwd_entries();
    let db = SqliteDb::open_in_memory(SqliteOptions::default()).unwrap();
    let mode: String = db.read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(mode, "memory");
    db.write(|c| Ok(c.execute_batch("CREATE TABLE t (v BLOB); INSERT INTO t VALUES (zeroblob(100000))")?))
        .await
        .unwrap();
    // A savepoint rolled back inside a transaction (what a failed job in a group gets).
    db.write(|c| {
        c.execute_batch("SAVEPOINT a; INSERT INTO t VALUES (x'01'); ROLLBACK TO a; RELEASE a")?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(count(&db, "t").await.unwrap(), 1);
    let after = cwd_entries();
    assert_eq!(before, after, "an in-memory database created files");
}

fn cwd_entries() -> BTreeSet<String> {
    std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("qianbao-memory"))
        .collect()
}

fn small(bytes_max: u64) -> SqliteDb {
    let mut options = SqliteOptions::default();
    options.memory_bytes_max = bytes_max;
    SqliteDb::open_in_memory(options).unwrap()
}

/// Inserts one 8 KiB row per job until the database is full.
#[tokio::test]
async fn a_full_in_memory_database_refuses_writes_and_keeps_what_it_had() {
    let db = small(256 * 1024);
    db.write(|c| Ok(c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")?)).await.unwrap();
    let mut stored = 0i64;
    let full = loop {
        match db.write(|c| Ok(c.execute("INSERT INTO t (v) VALUES (zeroblob(8192))", [])?)).await {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 1000, "256 KiB cannot hold 1000 rows of 8 KiB");
    };
    assert_eq!(full.kind(), ErrorKind::Unavailable, "{full}");
    assert!(full.message().contains("memory_bytes_max"), "{full}");
    assert!(stored > 10, "only {stored} rows fit");
    assert_eq!(count(&db, "t").await.unwrap(), stored, "the refused write changed nothing");
    // Room made by a delete is used again.
    db.write(|c| Ok(c.execute("DELETE FROM t WHERE id <= 4", [])?)).await.unwrap();
    db.write(|c| Ok(c.execute("INSERT INTO t (v) VALUES (zeroblob(8192))", [])?)).await.unwrap();
    assert_eq!(count(&db, "t").await.unwrap(), stored - 3);
}

/// A small page cache makes SQLite write pages out in the middle of a job, so the database fills up inside a
/// group: SQLite then rolls the whole transaction back. Every acknowledged write must be stored and every
/// refused one absent — none may run outside a transaction.
#[tokio::test]
async fn a_group_that_fills_the_database_answers_every_job_truthfully() {
    let db = small(512 * 1024);
    db.write(|c| {
        c.execute_batch("PRAGMA cache_size = 8; CREATE TABLE t (id INTEGER NOT NULL, v BLOB NOT NULL)")?;
        Ok(())
    })
    .await
    .unwrap();
    // A first job holds the writer until every other job is queued, so they are committed as groups.
    let (release, wait) = mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let blocker = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |_| {
                let _ = started.send(());
                Ok(wait.recv().ok())
            })
            .await
        }
    });
    running.await.unwrap();
    let mut tasks = Vec::new();
    for id in 0..120i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let r = db
                .write(move |c| {
                    // Two statements: a job is all or nothing.
                    c.execute("INSERT INTO t (id, v) VALUES (?1, zeroblob(6000))", [id])?;
                    c.execute("INSERT INTO t (id, v) VALUES (?1, zeroblob(6000))", [id])?;
                    Ok(())
                })
                .await;
            (id, r)
        }));
    }
    tokio::task::yield_now().await;
    release.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    let (mut acked, mut refused) = (BTreeSet::new(), 0);
    for t in tasks {
        let (id, r) = t.await.unwrap();
        match r {
            Ok(()) => {
                acked.insert(id);
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "120 jobs of 12 KB cannot all fit in 512 KiB");
    assert!(!acked.is_empty());
    let rows: Vec<(i64, i64)> = db
        .read(|c| {
            let mut st = c.prepare("SELECT id, count(*) FROM t GROUP BY id ORDER BY id")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    let stored: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(stored, acked, "stored rows are exactly the acknowledged jobs'");
    assert!(rows.iter().all(|r| r.1 == 2), "a job's two rows are stored together or not at all: {rows:?}");
}

/// The limit SQLite enforces is the one asked for, above SQLite's default as well as below it.
#[tokio::test]
async fn the_size_limit_is_the_one_asked_for() {
    use qianbao_store::MEMORY_BYTES_MAX_DEFAULT;
    use qianbao_store::drivers::rusqlite::{FileControl, MAIN_DB};
    for (asked, expected) in [
        (None, MEMORY_BYTES_MAX_DEFAULT),
        (Some(4 << 30), 4 << 30),
        (Some(300_000), 300_000),
        (Some(u64::MAX), i64::MAX as u64),
    ] {
        let db = match asked {
            Some(bytes_max) => small(bytes_max),
            None => SqliteDb::open_in_memory(SqliteOptions::default()).unwrap(),
        };
        let limit = db
            .write(|c| {
                let mut limit = -1i64; // a negative value asks for the current limit
                c.file_control(Some(MAIN_DB), FileControl::SizeLimit(&mut limit))?;
                Ok(limit)
            })
            .await
            .unwrap();
        assert_eq!(u64::try_from(limit).unwrap(), expected, "asked for {asked:?}");
    }
}
