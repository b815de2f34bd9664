//! Dispatch between the SQLite and PostgreSQL backends: committing groups and reading.

use std::sync::Arc;

#[cfg(feature = "sqlite")]
use qianbao_store::drivers::rusqlite::{Connection, OptionalExtension};
use qianbao_store::{Database, ErrorKind, StoreError};

use super::group::Op;
use super::service::Shared;
#[cfg(feature = "sqlite")]
use super::sqlite::{self, Cache, Published};
#[cfg(feature = "sqlite")]
use crate::AccountUpdate;
use crate::{Account, LedgerError, Transfer};
use qianbao_core::{AccountId, TransferId};

pub(crate) type Answers = Vec<Option<Result<super::group::Answer, LedgerError>>>;

/// The writer side of one ledger.
pub(crate) struct Backend {
    shared: Arc<Shared>,
    #[cfg(feature = "sqlite")]
    cache: Option<Cache>,
    /// SQLite: groups committed since the last background checkpoint started.
    #[cfg(feature = "sqlite")]
    since_checkpoint: u32,
    /// SQLite: a background checkpoint is running.
    #[cfg(feature = "sqlite")]
    checkpointing: Arc<std::sync::atomic::AtomicBool>,
}

/// SQLite: a background checkpoint starts every this many groups (the writer's own automatic
/// checkpoint copies what they leave and lets the WAL start over, see `sqlite::WAL_BACKSTOP_PAGES`).
#[cfg(feature = "sqlite")]
const CHECKPOINT_EVERY: u32 = 4;

fn unsupported() -> LedgerError {
    LedgerError::Store(StoreError::new(ErrorKind::Other, "this database backend is not supported by the ledger"))
}

impl Backend {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Backend {
            shared,
            #[cfg(feature = "sqlite")]
            cache: None,
            #[cfg(feature = "sqlite")]
            since_checkpoint: 0,
            #[cfg(feature = "sqlite")]
            checkpointing: Arc::default(),
        }
    }

    /// Loads what the backend keeps in memory (SQLite: the view, the tail and the id filter).
    pub(crate) async fn warm_up(&mut self) -> Result<(), LedgerError> {
        self.commit(Vec::new()).await.map(|_| ())
    }

    /// Decides and commits one group; answers come back only after the commit.
    pub(crate) async fn commit(&mut self, ops: Vec<Op>) -> Result<Answers, LedgerError> {
        match &self.shared.db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(db) => {
                let cache = self.cache.take();
                let shared = self.shared.clone();
                let (cache, (answers, published)) = db
                    .write(move |conn| {
                        let mut cache = cache;
                        let out =
                            sqlite::run_group(conn, &mut cache, &ops, &*shared.clock, shared.config, &shared.tuning)?;
                        Ok((cache, out))
                    })
                    .await?;
                self.cache = cache;
                self.publish(published);
                self.since_checkpoint += 1;
                if self.since_checkpoint >= CHECKPOINT_EVERY && db.path().is_some() {
                    self.checkpoint(db.clone());
                }
                Ok(answers)
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => super::postgres::commit(&self.shared, pg, &ops).await,
            #[allow(unreachable_patterns)]
            _ => Err(unsupported()),
        }
    }

    /// Copies committed WAL frames into the database file on a reader connection, off the writer
    /// thread, so the writer does not stall on it. A commit is durable once its WAL frames are synced
    /// (`synchronous=FULL`); a checkpoint only moves committed pages, so it changes nothing of that.
    /// At most one runs at a time; a failure is logged and the next one retries.
    #[cfg(feature = "sqlite")]
    fn checkpoint(&mut self, db: qianbao_store::SqliteDb) {
        use std::sync::atomic::Ordering;
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.since_checkpoint = 0;
        let busy = self.checkpointing.clone();
        tokio::spawn(async move {
            let done =
                db.read(|conn| Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))?)).await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "a background checkpoint of the ledger failed");
            }
            busy.store(false, Ordering::Release);
        });
    }

    #[cfg(feature = "sqlite")]
    fn publish(&self, p: Published) {
        let mut tail = self.shared.tail.write().unwrap_or_else(|e| e.into_inner());
        if p.reset {
            tail.ids.clear();
        }
        tail.merged_ts = p.merged_ts;
        tail.ids.extend(p.ids);
        if p.accounts_reset {
            tail.accounts.clear();
        }
        tail.accounts.extend(p.accounts.into_iter().map(|a| (a.id, a)));
    }
}

/// Accounts by id, in the order asked, missing ones left out.
pub(crate) async fn lookup_accounts(shared: &Shared, ids: Vec<AccountId>) -> Result<Vec<Account>, LedgerError> {
    match &shared.db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(db) => {
            // An account in the overlay has its latest counters and flags there (its row is older):
            // see `account_log.rs`.
            let known: Vec<(AccountId, Option<AccountUpdate>)> = {
                let tail = shared.tail.read().unwrap_or_else(|e| e.into_inner());
                ids.iter().map(|id| (*id, tail.accounts.get(id).copied())).collect()
            };
            Ok(db
                .read(move |conn| {
                    let mut out = Vec::with_capacity(known.len());
                    for (id, known) in known {
                        match (sqlite::read_account(conn, id)?, known) {
                            (Some((mut a, _)), Some(state)) => {
                                state.apply_to(&mut a);
                                out.push(a);
                            }
                            (Some((a, _)), None) => out.push(a),
                            (None, Some(_)) => {
                                return Err(StoreError::corrupt(format!(
                                    "the account log names account {id}, which is not stored"
                                )));
                            }
                            (None, None) => {}
                        }
                    }
                    Ok(out)
                })
                .await?)
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(pg) => super::postgres::lookup_accounts(pg, &ids).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}

/// Transfers by id, in the order asked, missing ones left out.
pub(crate) async fn lookup_transfers(shared: &Shared, ids: Vec<TransferId>) -> Result<Vec<Transfer>, LedgerError> {
    match &shared.db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(db) => {
            let keys: Vec<(TransferId, Option<i64>)> = {
                let tail = shared.tail.read().unwrap_or_else(|e| e.into_inner());
                ids.iter().map(|id| (*id, tail.ids.get(id).copied())).collect()
            };
            Ok(db.read(move |conn| sqlite_transfers(conn, &keys)).await?)
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(pg) => super::postgres::lookup_transfers(pg, &ids).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}

/// Transfers by id: the tail's by their known timestamp, the others through the look-up table.
#[cfg(feature = "sqlite")]
fn sqlite_transfers(conn: &Connection, keys: &[(TransferId, Option<i64>)]) -> Result<Vec<Transfer>, StoreError> {
    let mut by_ts =
        conn.prepare_cached(&format!("SELECT {} FROM ledger_transfers WHERE ts = ?1", sqlite::TRANSFER_COLS))?;
    let runs = super::runs::runs(conn)?;
    let mut out = Vec::with_capacity(keys.len());
    for (id, known) in keys {
        let at = match known {
            Some(ts) => Some(*ts),
            None => super::runs::ts_by_id(conn, &runs, *id)?,
        };
        let Some(at) = at else { continue };
        if let Some(t) = by_ts.query_row([at], |r| sqlite::transfer_row(r, 0)).optional()? {
            let t = t?;
            if t.id != *id {
                return Err(StoreError::corrupt(format!("the look-up of transfer {id} found {}", t.id)));
            }
            out.push(t);
        }
    }
    Ok(out)
}

/// The journal head.
pub(crate) async fn journal_head(shared: &Shared) -> Result<super::JournalHead, LedgerError> {
    match &shared.db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(db) => Ok(db.read(super::sqlite_read::head).await?),
        #[cfg(feature = "postgres")]
        Database::Postgres(pg) => super::postgres_read::head(&pg.client().await?).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}

/// Recomputes the journal chain.
pub(crate) async fn verify_journal(shared: &Shared) -> Result<super::JournalCheck, LedgerError> {
    match &shared.db {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(db) => Ok(db.read(super::sqlite_read::verify).await?),
        #[cfg(feature = "postgres")]
        Database::Postgres(pg) => super::postgres_read::verify(pg).await,
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}
