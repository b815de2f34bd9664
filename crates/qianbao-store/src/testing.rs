//! Test support: run the same test body on every configured backend (the conformance pattern).
//!
//! SQLite always runs (a fresh database file in a temporary folder, WAL, durable commits). PostgreSQL
//! runs when [`POSTGRES_URL_ENV`] is set and the crate was built with the `postgres` feature, each test
//! in a fresh schema of its own; otherwise the helper prints a clear `skipped` line.
//!
//! ```no_run
//! # async fn t() {
//! qianbao_store::testing::each_backend("round trip", |db| async move {
//!     // ... use `db` through a store ...
//! #   let _ = db;
//! })
//! .await;
//! # }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Backend, Database};

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_ENV: &str = "QIANBAO_TEST_POSTGRES_URL";

/// Set to `1` (CI does) to make a skipped PostgreSQL run a failure instead of a note.
pub const REQUIRE_POSTGRES_ENV: &str = "QIANBAO_REQUIRE_POSTGRES";

fn skip(test_name: &str, why: &str) {
    if std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        panic!("{test_name}: PostgreSQL is required ({REQUIRE_POSTGRES_ENV}=1) but {why}");
    }
    eprintln!("{test_name}: postgres skipped: {why}");
}

/// A database made for one test; it cleans up after itself (the folder on drop; the schema by
/// [`TestDb::cleanup`]).
#[derive(Debug)]
pub struct TestDb {
    /// The database.
    pub db: Database,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Which backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Drops a PostgreSQL test schema; nothing to do for SQLite.
    pub async fn cleanup(self) {
        #[cfg(feature = "postgres")]
        if let Database::Postgres(pg) = &self.db
            && let Err(e) = pg.drop_schema().await
        {
            eprintln!("note: could not drop test schema {:?}: {e}", pg.schema());
        }
    }
}

/// A fresh SQLite database file in a temporary folder. Panics (it is test support) if it cannot be made.
#[cfg(feature = "sqlite")]
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary folder for the test database");
    let db = crate::SqliteDb::open(dir.path().join("test.sqlite"), crate::SqliteOptions::default())
        .expect("opening the test SQLite database");
    TestDb { db: Database::Sqlite(db), _dir: Some(dir) }
}

/// The PostgreSQL URL from the environment, if set and non-empty.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_ENV).ok().filter(|s| !s.trim().is_empty())
}

/// A fresh schema on the configured PostgreSQL server, or `None` (with the reason printed) when
/// PostgreSQL is not configured. Panics when it is configured but unreachable: a CI run must not pass
/// by skipping.
pub async fn postgres(test_name: &str) -> Option<TestDb> {
    let Some(url) = postgres_url() else {
        skip(test_name, &format!("no PostgreSQL ({POSTGRES_URL_ENV} is not set)"));
        return None;
    };
    postgres_at(test_name, &url).await
}

#[cfg(feature = "postgres")]
async fn postgres_at(_test_name: &str, url: &str) -> Option<TestDb> {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut rand = [0u8; 4];
    qianbao_core::Entropy::fill(&qianbao_core::OsEntropy, &mut rand);
    let schema = format!(
        "qb_test_{}_{}_{:08x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        u32::from_le_bytes(rand)
    );
    let db = crate::PgDb::connect(url, crate::PgOptions::with_schema(schema))
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_ENV} is set but PostgreSQL is unreachable: {e}"));
    Some(TestDb { db: Database::Postgres(db), _dir: None })
}

#[cfg(not(feature = "postgres"))]
async fn postgres_at(test_name: &str, _url: &str) -> Option<TestDb> {
    let _ = AtomicU64::new(0).load(Ordering::Relaxed);
    skip(test_name, "built without the `postgres` feature (`cargo test --workspace` enables it)");
    None
}

/// Runs `body` once per configured backend, each with a fresh database, printing which ran.
pub async fn each_backend<F, Fut>(test_name: &str, body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    #[cfg(feature = "sqlite")]
    {
        let t = sqlite();
        body(t.db.clone()).await;
        eprintln!("{test_name}: sqlite ok");
        t.cleanup().await;
    }
    if let Some(t) = postgres(test_name).await {
        body(t.db.clone()).await;
        eprintln!("{test_name}: postgres ok");
        t.cleanup().await;
    }
}

/// Every file of a fuzz target's corpus (`fuzz/corpus/NAME/` of this workspace), sorted by file name,
/// as `(file name, bytes)`: the corpora run as ordinary tests through the fuzz targets' checks.
///
/// # Panics
/// When the folder cannot be read or is empty (a test helper: a missing corpus is a failed test).
pub fn fuzz_corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {name} is empty");
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("corpus file {}: {e}", p.display()));
            (p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), bytes)
        })
        .collect()
}
