//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections.

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::migrate::{self, Migration};
use crate::{ErrorKind, StoreError};

/// How PostgreSQL is opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgOptions {
    /// The most connections in the pool.
    pub connections_max: usize,
    /// A schema to work in (set as `search_path`); created if missing. `None` uses the server default.
    pub schema: Option<String>,
    /// The most connections holding [shared locks](PgDb::lock) at once (a pool of their own, opened
    /// as needed).
    pub lock_connections_max: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { connections_max: 16, schema: None, lock_connections_max: 16 }
    }
}

impl PgOptions {
    /// Default options working in `schema`.
    pub fn with_schema(schema: impl Into<String>) -> Self {
        PgOptions { schema: Some(schema.into()), ..PgOptions::default() }
    }
}

/// A handle to a PostgreSQL database: a connection pool. Clones share it.
#[derive(Clone)]
pub struct PgDb {
    pool: Pool,
    /// Connections that hold advisory locks: never the ones the work done under a lock needs.
    locks: Pool,
    schema: Option<String>,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").field("schema", &self.schema).finish_non_exhaustive()
    }
}

fn valid_schema_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl PgDb {
    /// Connects to `url` (`postgres://user@host:port/db`), creating the schema if one is named.
    pub async fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::new(ErrorKind::Unavailable, "malformed PostgreSQL URL").with_source(e))?;
        if let Some(schema) = &options.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::new(
                    ErrorKind::Other,
                    format!("schema name {schema:?} must be lowercase letters, digits and '_'"),
                ));
            }
            let (client, conn) = config.connect(NoTls).await?;
            let task = tokio::spawn(conn);
            client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let pool = |size: usize| {
            let manager =
                Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
            Pool::builder(manager)
                .max_size(size.max(1))
                .build()
                .map_err(|e| StoreError::new(ErrorKind::Other, format!("building the pool: {e}")))
        };
        let db = PgDb {
            pool: pool(options.connections_max)?,
            locks: pool(options.lock_connections_max)?,
            schema: options.schema,
        };
        let _probe = db.client().await?; // fail now, not on first use, when the server is unreachable
        Ok(db)
    }

    /// A pooled connection. Dropping it returns it to the pool.
    pub async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Waits for the advisory lock `key` and holds it until [`SharedLock::release`]: one lock that every
    /// service instance on this database sees (PostgreSQL's session-level `pg_advisory_lock`). Keys are
    /// database-wide, across schemas. The lock is held on a connection of a pool of its own, so the work
    /// done under it never waits for a connection the locks hold.
    pub async fn lock(&self, key: i64) -> Result<SharedLock, StoreError> {
        // Held by the guard from the start: if the wait fails or is cancelled, the connection is closed
        // rather than returned to the pool with the lock perhaps granted.
        let lock = SharedLock { client: Some(self.locks.get().await?), key };
        if let Some(client) = &lock.client {
            client.execute("SELECT pg_advisory_lock($1)", &[&key]).await?;
        }
        Ok(lock)
    }

    /// The schema this handle works in, if one was named.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Drops the schema this handle works in, with everything in it. For tests.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        if let Some(schema) = &self.schema {
            self.client().await?.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await?;
        }
        Ok(())
    }

    /// Applies a component's pending migrations in one transaction, under an advisory lock so that
    /// several service instances starting at once apply each migration exactly once.
    pub async fn migrate(&self, migrations: &'static [Migration]) -> Result<(), StoreError> {
        migrate::check_list(migrations)?;
        let Some(first) = migrations.first() else { return Ok(()) };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // One lock key for all of qianbao's migrations ("qianbao" in ASCII, as an i64).
        tx.execute("SELECT pg_advisory_xact_lock(7021002546741071726)", &[]).await?;
        tx.batch_execute(migrate::TABLE_SQL).await?;
        let rows = tx
            .query(
                "SELECT version, name FROM qianbao_schema_migrations WHERE component = $1 ORDER BY version",
                &[&first.component],
            )
            .await?;
        let applied: Vec<(u32, String)> =
            rows.iter().map(|r| (u32::try_from(r.get::<_, i32>(0)).unwrap_or(0), r.get(1))).collect();
        for m in migrate::pending(migrations, &applied)? {
            tx.batch_execute(m.postgres).await.map_err(|e| {
                StoreError::new(ErrorKind::Migration, format!("{} v{} {}: {e}", m.component, m.version, m.name))
                    .with_source(e)
            })?;
            let version = i32::try_from(m.version).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO qianbao_schema_migrations (component, version, name, applied_at_ms)
                 VALUES ($1, $2, $3, (extract(epoch from clock_timestamp()) * 1000)::bigint)",
                &[&m.component, &version, &m.name],
            )
            .await?;
            tracing::info!(component = m.component, version = m.version, name = m.name, "migrated (postgres)");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// An advisory lock held on its own connection (see [`PgDb::lock`]). Release it with
/// [`SharedLock::release`]; if it is dropped instead (a cancelled task), its connection is closed and
/// the server releases the lock.
#[derive(Debug)]
#[must_use = "the lock is held until released"]
pub struct SharedLock {
    client: Option<Object>,
    key: i64,
}

impl SharedLock {
    /// Releases the lock and returns its connection to the pool. If the release fails, the connection
    /// is closed instead (which releases the lock on the server too) and the error is returned.
    pub async fn release(mut self) -> Result<(), StoreError> {
        let Some(client) = self.client.take() else { return Ok(()) };
        match client.query_one("SELECT pg_advisory_unlock($1)", &[&self.key]).await {
            Ok(row) if row.get::<_, bool>(0) => Ok(()),
            Ok(_) => {
                drop(Object::take(client));
                Err(StoreError::new(ErrorKind::Other, format!("advisory lock {} was not held", self.key)))
            }
            Err(e) => {
                drop(Object::take(client));
                Err(e.into())
            }
        }
    }
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Never back into the pool still holding the lock: closing the connection releases it.
            drop(Object::take(client));
        }
    }
}
