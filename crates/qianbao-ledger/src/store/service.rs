//! [`DurableLedger`]: the ledger on a database, with group commit.
//!
//! Requests go into one queue. A task takes what is queued (up to [`LedgerOptions::batch_events_max`]
//! events, waiting at most [`LedgerOptions::batch_wait`] for more), decides the group on one view and
//! writes it in one database transaction; every caller is answered after the commit. While one group
//! commits the next one gathers, so throughput grows with load.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use qianbao_core::{AccountId, Clock, TransferId};
use qianbao_store::{Database, ErrorKind, StoreError};
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, oneshot};

use super::group::{Answer, Op};
use crate::{
    Account, BATCH_EVENTS_MAX, CreateAccountResult, CreateTransferResult, DebitLimit, LedgerConfig, LedgerError,
    NewAccount, NewTransfer, Transfer,
};

/// How a [`DurableLedger`] gathers and stores batches.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LedgerOptions {
    /// The most events (accounts, transfers, other requests) decided and committed together
    /// (at most [`BATCH_EVENTS_MAX`]).
    pub batch_events_max: usize,
    /// How long the first request of a group waits for more before the group is decided. Zero takes
    /// only what is already queued; requests arriving during a commit still form the next group.
    pub batch_wait: Duration,
    /// PostgreSQL: how often a group is retried after a serialization failure or deadlock.
    pub retries_max: u32,
    /// SQLite: the look-up tables are merged once the unmerged tail holds this many transfers (or an
    /// eighth of the merged ones, up to [`LedgerOptions::merge_transfers_max`]).
    pub merge_transfers_min: usize,
    /// SQLite: the longest tail between merges.
    pub merge_transfers_max: usize,
    /// SQLite: after a merge, the in-memory view is emptied of transfers once it holds this many.
    pub view_transfers_max: usize,
    /// SQLite: touched accounts' counters are logged per group and written to their rows once the
    /// log holds this many groups.
    pub account_log_groups_max: usize,
    /// SQLite: how long opening waits for the database's previous ledger in this process to close.
    /// One ledger owns an SQLite database at a time (another process or a second open is refused
    /// with [`ErrorKind::InUse`](qianbao_store::ErrorKind::InUse)); see [`DurableLedger`].
    pub open_wait: Duration,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            batch_events_max: BATCH_EVENTS_MAX,
            batch_wait: Duration::ZERO,
            retries_max: 8,
            merge_transfers_min: 1 << 18,
            merge_transfers_max: 1 << 19,
            view_transfers_max: 1 << 20,
            account_log_groups_max: 32,
            open_wait: Duration::from_secs(2),
        }
    }
}

/// The options the backends read.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// How often a PostgreSQL group retries a serialization failure.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub retries_max: u32,
    pub merge_min: usize,
    pub merge_max: usize,
    pub view_transfers_max: usize,
    pub account_log_max: usize,
}

impl Tuning {
    pub(crate) fn merge_threshold(&self, merged: u64) -> usize {
        let eighth = usize::try_from(merged / 8).unwrap_or(usize::MAX);
        eighth.clamp(self.merge_min.max(1), self.merge_max.max(self.merge_min.max(1)))
    }
}

type Reply = oneshot::Sender<Result<Answer, LedgerError>>;

/// The committed tail of a SQLite ledger (transfers not yet in the look-up tables) and the accounts
/// whose latest state is in the account log rather than their row, for readers.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    pub ids: FxHashMap<TransferId, i64>,
    pub merged_ts: i64,
    pub accounts: FxHashMap<AccountId, crate::AccountUpdate>,
}

pub(crate) struct Shared {
    pub db: Database,
    pub config: LedgerConfig,
    pub clock: Arc<dyn Clock>,
    pub tail: RwLock<Tail>,
    pub tuning: Tuning,
    /// Keeps other ledgers off an SQLite database while this one is open.
    _owner: super::owner::Owner,
}

/// A durable ledger on SQLite or PostgreSQL: the engine's decisions, written in one database
/// transaction per group of requests and answered only after the commit. Clones share the ledger.
///
/// On SQLite one ledger owns the database, since it decides on balances kept in memory: while it is
/// open (any clone, or its task still finishing), opening another on the same file — in this process
/// or another — is refused with [`ErrorKind::InUse`] after [`LedgerOptions::open_wait`]. On PostgreSQL
/// many processes may each open one on the same database; every group locks the accounts it writes.
#[derive(Clone)]
pub struct DurableLedger {
    pub(crate) shared: Arc<Shared>,
    queue: mpsc::Sender<(Op, Reply)>,
}

impl std::fmt::Debug for DurableLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableLedger").field("backend", &self.shared.db.backend()).finish_non_exhaustive()
    }
}

impl DurableLedger {
    /// Opens the ledger on `db` with default options: creates or upgrades its tables and restores
    /// its state (counters are stored; nothing is replayed but the short unmerged tail on SQLite).
    pub async fn open(db: Database, config: LedgerConfig, clock: Arc<dyn Clock>) -> Result<Self, LedgerError> {
        DurableLedger::open_with(db, config, clock, LedgerOptions::default()).await
    }

    /// [`DurableLedger::open`] with options.
    pub async fn open_with(
        db: Database,
        config: LedgerConfig,
        clock: Arc<dyn Clock>,
        options: LedgerOptions,
    ) -> Result<Self, LedgerError> {
        let owner = super::owner::claim(&db, options.open_wait).await?;
        db.migrate(super::schema::MIGRATIONS).await?;
        let tuning = Tuning {
            retries_max: options.retries_max,
            merge_min: options.merge_transfers_min,
            merge_max: options.merge_transfers_max,
            view_transfers_max: options.view_transfers_max,
            account_log_max: options.account_log_groups_max.max(1),
        };
        let shared = Arc::new(Shared { db, config, clock, tail: RwLock::new(Tail::default()), tuning, _owner: owner });
        let mut backend = super::backend::Backend::new(shared.clone());
        backend.warm_up().await?;
        let (queue, rx) = mpsc::channel(4_096);
        let limits = (options.batch_events_max.clamp(1, BATCH_EVENTS_MAX), options.batch_wait);
        tokio::spawn(gather(rx, backend, limits));
        Ok(DurableLedger { shared, queue })
    }

    /// The database it stores into.
    pub fn database(&self) -> &Database {
        &self.shared.db
    }

    /// Its configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.shared.config
    }

    async fn ask(&self, op: Op) -> Result<Answer, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((op, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Creates accounts: one result per request, in order. Durable when it returns.
    pub async fn create_accounts(&self, accounts: &[NewAccount]) -> Result<Vec<CreateAccountResult>, LedgerError> {
        check_len(accounts.len())?;
        match self.ask(Op::Accounts(accounts.to_vec())).await? {
            Answer::Accounts(r) => Ok(r),
            _ => Err(mixed_up()),
        }
    }

    /// Creates transfers: one result per request, in order (the engine's results, linked chains
    /// all-or-nothing). Durable when it returns.
    pub async fn create_transfers(&self, transfers: &[NewTransfer]) -> Result<Vec<CreateTransferResult>, LedgerError> {
        check_len(transfers.len())?;
        match self.ask(Op::Transfers(transfers.to_vec())).await? {
            Answer::Transfers(r) => Ok(r),
            _ => Err(mixed_up()),
        }
    }

    /// Freezes an account for debits or unfreezes it ([`LedgerError::AccountNotFound`] if missing).
    pub async fn set_frozen(&self, id: AccountId, frozen: bool) -> Result<(), LedgerError> {
        self.ask(Op::Frozen(id, frozen)).await.map(|_| ())
    }

    /// Replaces an account's debit limits ([`LedgerError::AccountNotFound`] if missing).
    pub async fn set_debit_limits(&self, id: AccountId, limits: Vec<DebitLimit>) -> Result<(), LedgerError> {
        for l in &limits {
            l.validate()?;
        }
        self.ask(Op::Limits(id, limits)).await.map(|_| ())
    }

    /// Voids the pending transfers whose timeout has passed by the ledger's clock, at most one batch
    /// ([`BATCH_EVENTS_MAX`]) per call, and returns their ids; call again while a full batch came back.
    pub async fn expire_pending(&self) -> Result<Vec<TransferId>, LedgerError> {
        match self.ask(Op::Expire).await? {
            Answer::Expired(ids) => Ok(ids),
            _ => Err(mixed_up()),
        }
    }

    /// The accounts with these ids that exist, in the order asked (missing ids are left out).
    pub async fn lookup_accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, LedgerError> {
        super::backend::lookup_accounts(&self.shared, ids.to_vec()).await
    }

    /// The head of the journal: how many batches were committed and the chain digest after the last.
    pub async fn journal_head(&self) -> Result<super::JournalHead, LedgerError> {
        super::backend::journal_head(&self.shared).await
    }

    /// Recomputes the journal's SHA-256 chain from the stored rows and reports the first batch whose
    /// link does not match (a changed, added or removed transfer, account, failed id or event).
    pub async fn verify_journal(&self) -> Result<super::JournalCheck, LedgerError> {
        super::backend::verify_journal(&self.shared).await
    }

    /// The transfers with these ids that exist, in the order asked (missing ids are left out).
    pub async fn lookup_transfers(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, LedgerError> {
        super::backend::lookup_transfers(&self.shared, ids.to_vec()).await
    }
}

fn check_len(len: usize) -> Result<(), LedgerError> {
    if len > BATCH_EVENTS_MAX {
        return Err(LedgerError::BatchTooLarge { len, max: BATCH_EVENTS_MAX });
    }
    Ok(())
}

fn stopped() -> LedgerError {
    LedgerError::Store(StoreError::new(ErrorKind::Closed, "the ledger's commit task has stopped"))
}

fn mixed_up() -> LedgerError {
    LedgerError::Conflict("the ledger answered a request of another kind".into())
}

/// The group-commit loop: gathers requests and hands each group to the backend.
async fn gather(mut rx: mpsc::Receiver<(Op, Reply)>, mut backend: super::backend::Backend, limits: (usize, Duration)) {
    let (events_max, wait) = limits;
    let mut carry: Option<(Op, Reply)> = None;
    loop {
        let first = match carry.take() {
            Some(r) => r,
            None => match rx.recv().await {
                Some(r) => r,
                None => return, // every handle dropped
            },
        };
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = first.0.events();
        let mut expiring = matches!(first.0, Op::Expire);
        let mut group = vec![first];
        while events < events_max {
            let next = if wait.is_zero() {
                rx.try_recv().ok()
            } else {
                tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten()
            };
            let Some(next) = next else { break };
            let is_expire = matches!(next.0, Op::Expire);
            if events + next.0.events() > events_max || (is_expire && expiring) {
                carry = Some(next);
                break;
            }
            expiring |= is_expire;
            events += next.0.events();
            group.push(next);
        }
        let (ops, replies): (Vec<Op>, Vec<Reply>) = group.into_iter().unzip();
        match backend.commit(ops).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer.unwrap_or_else(|| Err(mixed_up())));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a ledger group failed; nothing of it was committed");
                for reply in replies {
                    let _ = reply.send(Err(copy_error(&e)));
                }
            }
        }
    }
}

/// The same error for each caller of a failed group.
fn copy_error(e: &LedgerError) -> LedgerError {
    match e {
        LedgerError::Store(s) => LedgerError::Store(StoreError::new(s.kind(), s.message())),
        other => LedgerError::Conflict(other.to_string()),
    }
}
