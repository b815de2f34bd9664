//! Integration tests of the storage plumbing: the same round trip on every backend.

mod memory;

use qianbao_store::testing::each_backend;
use qianbao_store::{Database, ErrorKind, Migration, StoreError};

static NOTES: &[Migration] = &[
    Migration {
        component: "it_notes",
        version: 1,
        name: "create notes",
        sqlite: "CREATE TABLE notes (id BLOB PRIMARY KEY, body TEXT NOT NULL, at_ns BIGINT NOT NULL)",
        postgres: "CREATE TABLE notes (id BYTEA PRIMARY KEY, body TEXT NOT NULL, at_ns BIGINT NOT NULL)",
    },
    Migration {
        component: "it_notes",
        version: 2,
        name: "add author",
        sqlite: "ALTER TABLE notes ADD COLUMN author TEXT",
        postgres: "ALTER TABLE notes ADD COLUMN author TEXT",
    },
];

/// A tiny store over both backends, as every domain crate writes one.
async fn insert(db: &Database, id: [u8; 16], body: &str) -> Result<(), StoreError> {
    let body = body.to_owned();
    match db {
        Database::Sqlite(s) => {
            s.write(move |c| {
                c.execute("INSERT INTO notes (id, body, at_ns) VALUES (?1, ?2, 1)", (&id[..], &body))?;
                Ok(())
            })
            .await
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => {
            let client = p.client().await?;
            client.execute("INSERT INTO notes (id, body, at_ns) VALUES ($1, $2, 1)", &[&&id[..], &body]).await?;
            Ok(())
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("each_backend gives only the backends compiled in"),
    }
}

async fn get(db: &Database, id: [u8; 16]) -> Result<Option<String>, StoreError> {
    match db {
        Database::Sqlite(s) => {
            s.read(move |c| {
                let mut st = c.prepare("SELECT body FROM notes WHERE id = ?1")?;
                let mut rows = st.query([&id[..]])?;
                Ok(match rows.next()? {
                    Some(r) => Some(r.get(0)?),
                    None => None,
                })
            })
            .await
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => {
            let client = p.client().await?;
            let row = client.query_opt("SELECT body FROM notes WHERE id = $1", &[&&id[..]]).await?;
            Ok(row.map(|r| r.get(0)))
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("each_backend gives only the backends compiled in"),
    }
}

#[tokio::test]
async fn a_row_round_trips_on_every_backend() {
    each_backend("a_row_round_trips_on_every_backend", |db| async move {
        db.migrate(NOTES).await.unwrap();
        db.migrate(NOTES).await.unwrap(); // idempotent
        insert(&db, [1; 16], "你好, wallet").await.unwrap();
        assert_eq!(get(&db, [1; 16]).await.unwrap().as_deref(), Some("你好, wallet"));
        assert_eq!(get(&db, [2; 16]).await.unwrap(), None);
        let dup = insert(&db, [1; 16], "again").await.unwrap_err();
        assert_eq!(dup.kind(), ErrorKind::Conflict, "{dup}");
        assert_eq!(get(&db, [1; 16]).await.unwrap().as_deref(), Some("你好, wallet"));
    })
    .await;
}

#[tokio::test]
async fn a_changed_migration_is_refused() {
    static CHANGED: &[Migration] = &[Migration {
        component: "it_notes",
        version: 1,
        name: "create notes differently",
        sqlite: "SELECT 1",
        postgres: "SELECT 1",
    }];
    static GAP: &[Migration] =
        &[Migration { component: "it_gap", version: 2, name: "starts at two", sqlite: "", postgres: "" }];
    each_backend("a_changed_migration_is_refused", |db| async move {
        db.migrate(NOTES).await.unwrap();
        assert_eq!(db.migrate(CHANGED).await.unwrap_err().kind(), ErrorKind::Migration);
        assert_eq!(db.migrate(&NOTES[..1]).await.unwrap_err().kind(), ErrorKind::Migration);
        assert_eq!(db.migrate(GAP).await.unwrap_err().kind(), ErrorKind::Migration);
    })
    .await;
}

#[tokio::test]
async fn concurrent_sqlite_writers_share_commits_and_fail_alone() {
    let t = qianbao_store::testing::sqlite();
    writers_share_commits_and_fail_alone(t.db.clone()).await;
}

#[tokio::test]
async fn concurrent_in_memory_writers_share_commits_and_fail_alone() {
    writers_share_commits_and_fail_alone(Database::open_in_memory().unwrap()).await;
}

async fn writers_share_commits_and_fail_alone(db: Database) {
    db.migrate(NOTES).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u8 {
        let db = db.clone();
        // Every 10th job writes a duplicate of id 0 and must fail on its own.
        let id = if i % 10 == 0 && i > 0 { [0; 16] } else { [i; 16] };
        tasks.push(tokio::spawn(async move { insert(&db, id, &format!("n{i}")).await }));
    }
    let mut failed = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            assert_eq!(e.kind(), ErrorKind::Conflict);
            failed += 1;
        }
    }
    assert_eq!(failed, 19);
    let count: i64 = db
        .as_sqlite()
        .unwrap()
        .read(|c| Ok(c.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(count, 181);
}

#[tokio::test]
async fn sqlite_file_keeps_acknowledged_writes_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite");
    {
        let db = Database::open_sqlite(&path).unwrap();
        db.migrate(NOTES).await.unwrap();
        insert(&db, [7; 16], "durable").await.unwrap();
    }
    let db = Database::open_sqlite(&path).unwrap();
    db.migrate(NOTES).await.unwrap();
    assert_eq!(get(&db, [7; 16]).await.unwrap().as_deref(), Some("durable"));
    let mode: String =
        db.as_sqlite().unwrap().read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_failing_job_rolls_back_only_itself() {
    let db = Database::open_in_memory().unwrap();
    db.migrate(NOTES).await.unwrap();
    let s = db.as_sqlite().unwrap();
    let err = s
        .write(|c| {
            c.execute("INSERT INTO notes (id, body, at_ns) VALUES (x'01', 'half', 1)", [])?;
            Err::<(), _>(StoreError::corrupt("refused after the first insert"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    let n: i64 = s.read(|c| Ok(c.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(n, 0, "the failed job's insert was rolled back");
    let panicked = s.write(|_| -> Result<(), StoreError> { panic!("a bug in a job") }).await.unwrap_err();
    assert_eq!(panicked.kind(), ErrorKind::Other);
    insert(&db, [3; 16], "still works").await.unwrap();
}

/// A shared lock excludes every other holder — through another pool too, as another service instance
/// would — until it is released, or until its holder is dropped (a cancelled task).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_lock_excludes_other_instances_until_released_or_dropped() {
    use std::time::Duration;
    let Some(t) = qianbao_store::testing::postgres("shared lock").await else { return };
    let url = qianbao_store::testing::postgres_url().expect("the URL of the test database");
    let one = t.db.as_postgres().expect("postgres").clone();
    let two = qianbao_store::PgDb::connect(&url, qianbao_store::PgOptions::default()).await.unwrap();
    let key = 0x5eed_0000_0000_0001_i64 ^ i64::from(std::process::id());

    let held = one.lock(key).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(300), two.lock(key)).await;
    assert!(waiting.is_err(), "another instance waits while the lock is held");
    held.release().await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), two.lock(key)).await.expect("free once released");
    let second = second.unwrap();
    // Another key is independent.
    one.lock(key + 1).await.unwrap().release().await.unwrap();

    // Dropped without release (a cancelled task): the lock is not left held by a pooled connection.
    drop(second);
    let third = tokio::time::timeout(Duration::from_secs(10), one.lock(key)).await.expect("free once dropped");
    third.unwrap().release().await.unwrap();
    // A wait that is cancelled leaves nothing behind either.
    let held = one.lock(key).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(100), two.lock(key)).await.is_err());
    held.release().await.unwrap();
    let again =
        tokio::time::timeout(Duration::from_secs(10), two.lock(key)).await.expect("free after a cancelled wait");
    again.unwrap().release().await.unwrap();
    t.cleanup().await;
}
