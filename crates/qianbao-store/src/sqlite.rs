//! The embedded SQLite backend: one writer thread owns the write connection and commits the jobs
//! queued at the same moment as one transaction (group commit); readers use their own connections.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::{Connection, FileControl, OpenFlags};
use tokio::sync::oneshot;

use crate::claim::{Claimed, SqliteClaim};
use crate::migrate::{self, Migration};
use crate::{ErrorKind, StoreError};

/// How SQLite is opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// `PRAGMA synchronous`: `FULL` (default) makes every acknowledged commit durable across power loss.
    /// `NORMAL` in WAL mode survives a process crash but may lose the last commits on power loss.
    pub synchronous: Synchronous,
    /// The most write jobs committed together in one transaction.
    pub group_commit_jobs_max: usize,
    /// Reader connections kept open (file databases only).
    pub readers_max: usize,
    /// How long a connection waits on a lock held by another process.
    pub busy_timeout: Duration,
    /// The most bytes an in-memory database may hold (default [`MEMORY_BYTES_MAX_DEFAULT`], 1 GiB, SQLite's
    /// own default). A write that would grow it past this fails with [`ErrorKind::Unavailable`] (SQLite's
    /// `SQLITE_FULL`) and changes nothing. File databases ignore it.
    pub memory_bytes_max: u64,
}

/// The default [`SqliteOptions::memory_bytes_max`]: 1 GiB, SQLite's `SQLITE_MEMDB_DEFAULT_MAXSIZE`.
pub const MEMORY_BYTES_MAX_DEFAULT: u64 = 1 << 30;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            group_commit_jobs_max: 1024,
            readers_max: 4,
            busy_timeout: Duration::from_secs(5),
            memory_bytes_max: MEMORY_BYTES_MAX_DEFAULT,
        }
    }
}

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// fsync on every commit: durable acknowledgements (the default).
    Full,
    /// WAL mode fsyncs at checkpoints only: survives a process kill, not a power loss.
    Normal,
    /// No fsync at all. Only for throwaway databases.
    Off,
}

/// Hands a job's result to its caller; given the commit's error when the commit failed.
type Deliver = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// Runs a job; says whether it succeeded (else its savepoint is rolled back) and how to deliver.
/// It is given the connection, or the error that keeps it from running.
type JobFn = Box<dyn FnOnce(Result<&Connection, StoreError>) -> (bool, Deliver) + Send>;

enum Job {
    /// Runs inside the group's transaction, in its own savepoint.
    Write(JobFn),
    /// Runs outside any transaction (in-memory databases route reads here).
    Read(JobFn),
}

/// A handle to an SQLite database. Clones share the writer thread and reader connections.
#[derive(Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<mpsc::Sender<Job>>,
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
    options: SqliteOptions,
    claimed: Claimed,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

fn configure(conn: &Connection, options: &SqliteOptions, file: bool) -> Result<(), StoreError> {
    conn.busy_timeout(options.busy_timeout)?;
    if file {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
        Synchronous::Off => "OFF",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl SqliteDb {
    /// Opens (creating if needed) the database file at `path`, in WAL mode.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)?;
        configure(&conn, &options, true)?;
        Ok(Self::start(conn, Some(path), options))
    }

    /// A private in-memory database (one connection; reads go through the writer thread), lost when the
    /// last handle drops.
    ///
    /// It lives in SQLite's `memdb` VFS (`file:<name>?vfs=memdb`, a name not starting with `/`, so no other
    /// connection can open it), where a commit costs the same however large the database is (a `:memory:`
    /// database scans its whole page cache on every commit). Its rollback journal is kept in memory; nothing
    /// is written to disk. It holds at most [`SqliteOptions::memory_bytes_max`] bytes (1 GiB by default):
    /// a write past that fails with [`ErrorKind::Unavailable`] and changes nothing.
    pub fn open_in_memory(options: SqliteOptions) -> Result<Self, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let uri = format!("file:qianbao-memory-{}-{n}?vfs=memdb", std::process::id());
        let conn = Connection::open_with_flags(uri, OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI)?;
        // Lowering the limit below the current size sets it to the current size, so this cannot fail on a
        // fresh database; a value past i64::MAX means no limit of our own.
        let mut limit = i64::try_from(options.memory_bytes_max).unwrap_or(i64::MAX);
        conn.file_control(Some(rusqlite::MAIN_DB), FileControl::SizeLimit(&mut limit))?;
        configure(&conn, &options, false)?;
        // No other connection can open it, so the one connection keeps its lock between transactions
        // instead of taking and dropping it (and re-checking the file's change counter) around each one.
        // The bench `ca_store`, 4 alternated runs: an issuance's write 11.6 -> 10.1 us of CPU.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        Ok(Self::start(conn, None, options))
    }

    fn start(conn: Connection, path: Option<PathBuf>, options: SqliteOptions) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let jobs_max = options.group_commit_jobs_max.max(1);
        std::thread::Builder::new()
            .name("qianbao-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, jobs_max))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("could not start the SQLite writer thread: {e}"));
        let inner =
            Inner { jobs: Mutex::new(tx), path, readers: Mutex::new(Vec::new()), options, claimed: Claimed::default() };
        SqliteDb { inner: Arc::new(inner) }
    }

    /// The file path; `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Claims sole ownership of `role` (`[a-z0-9_]+`) of this database until the claim is dropped:
    /// refused with [`ErrorKind::InUse`] while this handle, one of its clones, another handle on the
    /// same file or another process holds it. For components that keep the database's state in
    /// memory (the ledger), so that a second writer cannot act on a stale copy. A file database also
    /// gets a side file `<path>-<role>.lock` carrying an advisory lock the system drops with the process.
    pub fn claim(&self, role: &str) -> Result<SqliteClaim, StoreError> {
        crate::claim::claim(&self.inner.claimed, self.path(), role)
    }

    fn submit<R: Send + 'static>(
        &self,
        read: bool,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> oneshot::Receiver<Result<R, StoreError>> {
        let (reply, rx) = oneshot::channel();
        let run: JobFn = Box::new(move |conn: Result<&Connection, StoreError>| {
            let out = conn.and_then(|conn| {
                catch_unwind(AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::new(ErrorKind::Other, "a storage job panicked")))
            });
            let ok = out.is_ok();
            let deliver: Deliver = Box::new(move |commit_error| {
                let _ = reply.send(match (commit_error, out) {
                    (Some(e), Ok(_)) => Err(e),
                    (_, out) => out,
                });
            });
            (ok, deliver)
        });
        let job = if read { Job::Read(run) } else { Job::Write(run) };
        let sender = self.inner.jobs.lock().unwrap_or_else(|p| p.into_inner());
        // If the writer has stopped the job is dropped, its reply sender with it, and the caller sees Closed.
        let _ = sender.send(job);
        rx
    }

    /// Runs `f` on the write connection inside a transaction and returns after the commit is durable.
    ///
    /// Jobs queued together share one transaction (group commit), each in its own savepoint: a job that
    /// returns `Err` is rolled back alone and the others still commit. `f` must not begin or commit
    /// transactions itself. Results are handed back only after the commit succeeded.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.submit(false, f).await.unwrap_or_else(|_| Err(closed()))
    }

    /// Runs `f` on a reader connection (a consistent snapshot for its duration when `f` opens a
    /// transaction). In-memory databases run it on the writer thread, outside any write transaction.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let Some(path) = self.inner.path.clone() else {
            return self.submit(true, f).await.unwrap_or_else(|_| Err(closed()));
        };
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = db.take_reader(&path)?;
            let out = f(&conn);
            db.return_reader(conn);
            out
        })
        .await
        .unwrap_or_else(|_| Err(StoreError::new(ErrorKind::Other, "a storage read panicked")))
    }

    fn take_reader(&self, path: &Path) -> Result<Connection, StoreError> {
        if let Some(c) = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let conn = Connection::open(path)?;
        configure(&conn, &self.inner.options, true)?;
        Ok(conn)
    }

    fn return_reader(&self, conn: Connection) {
        let mut readers = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < self.inner.options.readers_max {
            readers.push(conn);
        }
    }

    /// Applies a component's pending migrations in one transaction.
    pub async fn migrate(&self, migrations: &'static [Migration]) -> Result<(), StoreError> {
        migrate::check_list(migrations)?;
        self.write(move |conn| {
            conn.execute_batch(migrate::TABLE_SQL)?;
            let Some(first) = migrations.first() else { return Ok(()) };
            let mut stmt = conn
                .prepare("SELECT version, name FROM qianbao_schema_migrations WHERE component = ?1 ORDER BY version")?;
            let applied = stmt
                .query_map([first.component], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for m in migrate::pending(migrations, &applied)? {
                conn.execute_batch(m.sqlite).map_err(|e| {
                    StoreError::new(ErrorKind::Migration, format!("{} v{} {}: {e}", m.component, m.version, m.name))
                        .with_source(e)
                })?;
                conn.execute(
                    "INSERT INTO qianbao_schema_migrations (component, version, name, applied_at_ms)
                     VALUES (?1, ?2, ?3, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                    rusqlite::params![m.component, m.version, m.name],
                )?;
                tracing::info!(component = m.component, version = m.version, name = m.name, "migrated (sqlite)");
            }
            Ok(())
        })
        .await
    }
}

fn closed() -> StoreError {
    StoreError::new(ErrorKind::Closed, "the SQLite writer thread has stopped")
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, jobs_max: usize) {
    let mut carry: Option<Job> = None;
    loop {
        let first = match carry.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return, // every handle dropped
            },
        };
        let group = match first {
            Job::Read(run) => {
                let (_, deliver) = run(Ok(&conn));
                deliver(None);
                continue;
            }
            Job::Write(run) => {
                let mut group = vec![run];
                while group.len() < jobs_max {
                    match rx.try_recv() {
                        Ok(Job::Write(run)) => group.push(run),
                        Ok(read) => {
                            carry = Some(read);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                group
            }
        };
        commit_group(&conn, group);
    }
}

/// Runs a transaction-control statement, prepared once per connection (a group runs several).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs a group of write jobs in one transaction, each in a savepoint; replies only after COMMIT. A group
/// of one job needs no savepoint (its failure rolls the transaction back): on a file database a savepoint
/// copies every page it touches to a sub-journal first.
///
/// Some errors (`SQLITE_FULL` — a full disk or in-memory database —, out of memory, I/O errors) make SQLite
/// roll back the whole transaction, savepoints and all, not just the failing statement. The jobs that ran
/// before in it are then answered with an error (their writes are gone) and the jobs not yet run get a
/// transaction of their own: none of them runs outside a transaction.
fn commit_group(conn: &Connection, group: Vec<JobFn>) {
    let mut rest = group;
    while !rest.is_empty() {
        rest = commit_jobs(conn, rest);
    }
}

/// Commits `group` in one transaction; returns the jobs not run because SQLite rolled that transaction back.
fn commit_jobs(conn: &Connection, group: Vec<JobFn>) -> Vec<JobFn> {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        let e = StoreError::from(e);
        for run in group {
            let (_, deliver) = run(Err(StoreError::new(e.kind(), e.message())));
            deliver(None);
        }
        return Vec::new();
    }
    let alone = group.len() == 1;
    let mut delivers = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    while let Some(run) = jobs.next() {
        if !alone && let Err(e) = control(conn, "SAVEPOINT job") {
            tracing::error!("SAVEPOINT failed: {e}");
        }
        let (ok, deliver) = run(Ok(conn));
        delivers.push((ok, deliver));
        if conn.is_autocommit() {
            tracing::warn!("SQLite rolled back a whole group transaction after an error in one of its jobs");
            for (ok, deliver) in delivers {
                deliver(ok.then(rolled_back));
            }
            return jobs.collect();
        }
        if !alone {
            let end = if ok { control(conn, "RELEASE job") } else { end_failed_savepoint(conn) };
            if let Err(e) = end {
                tracing::error!("ending a savepoint failed: {e}");
            }
        }
    }
    if alone && !delivers[0].0 {
        if let Err(e) = control(conn, "ROLLBACK") {
            tracing::error!("rolling back a failed job failed: {e}");
        }
        for (_, deliver) in delivers {
            deliver(None);
        }
        return Vec::new();
    }
    let commit_error = control(conn, "COMMIT").err().map(StoreError::from);
    if commit_error.is_some() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for (ok, deliver) in delivers {
        let err = commit_error.as_ref().filter(|_| ok).map(|e| StoreError::new(e.kind(), e.message()));
        deliver(err);
    }
    Vec::new()
}

/// What a job that succeeded is told when another job's error made SQLite roll back their transaction.
fn rolled_back() -> StoreError {
    StoreError::new(
        ErrorKind::Unavailable,
        "sqlite: the transaction was rolled back after an error in a job committed with this one \
         (database or disk full, out of memory, or an I/O error); nothing of this write was kept",
    )
}

fn end_failed_savepoint(conn: &Connection) -> rusqlite::Result<()> {
    control(conn, "ROLLBACK TO job")?;
    control(conn, "RELEASE job")
}
