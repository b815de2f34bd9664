//! Issuances made durable in shared batches (group commit), like the order nonces.
//!
//! [`IssueQueue::insert`] hands a signed certificate with its side effects ([`NewCertificate`]) to a
//! tokio task, one per CA instance, which gathers every issuance queued meanwhile (up to
//! [`ISSUE_BATCH_MAX`]) and persists them with [`CaStore::insert_certificates`] in **one** transaction
//! (a refused one writes nothing, the others commit). Each caller is answered only after that commit: an
//! issued certificate is durable before it is returned, and the cost of the commit (an fsync on SQLite, a
//! round trip and a WAL flush on PostgreSQL) is shared by the whole batch. When a batch fails as a whole
//! (a write failed after its checks passed, e.g. a unique constraint), its issuances are tried again one
//! per transaction, so each caller gets its own answer.

use tokio::sync::{mpsc, oneshot};

use crate::CaError;
use crate::store::{CaDb, CaStore, IssueEffects, NewCertificate};

/// The most issuances committed in one transaction.
pub const ISSUE_BATCH_MAX: usize = 256;

type Reply = oneshot::Sender<Result<IssueEffects, CaError>>;

/// The handle to the issuance batcher. See the module docs.
#[derive(Debug)]
pub(crate) struct IssueQueue {
    tx: mpsc::UnboundedSender<(NewCertificate, Reply)>,
}

impl IssueQueue {
    /// Starts the batcher on the current tokio runtime; it stops when the queue is dropped.
    pub fn spawn(store: CaDb) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx));
        IssueQueue { tx }
    }

    /// Persists `new` atomically (see [`CaStore::insert_certificate`]); returns what it changed once it
    /// is committed.
    pub async fn insert(&self, new: NewCertificate) -> Result<IssueEffects, CaError> {
        let stopped = || CaError::Misuse("the issuance batcher stopped".into());
        let (reply, answer) = oneshot::channel();
        self.tx.send((new, reply)).map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The batcher: one transaction per gathered batch, answers after the commit.
async fn run(store: CaDb, mut rx: mpsc::UnboundedReceiver<(NewCertificate, Reply)>) {
    let mut buf = Vec::with_capacity(ISSUE_BATCH_MAX);
    loop {
        if rx.recv_many(&mut buf, ISSUE_BATCH_MAX).await == 0 {
            return;
        }
        let (news, replies): (Vec<_>, Vec<_>) = buf.drain(..).unzip();
        let n = news.len();
        if n > 1 {
            // Kept to try again one by one should the batch fail as a whole (a copy: small beside a signature).
            let retry = news.clone();
            match store.insert_certificates(news).await {
                Ok(outcomes) => answer(replies, outcomes, n),
                Err(e) => {
                    tracing::warn!(issuances = n, error = %e, "a batch of issuances failed; trying them one by one");
                    for (new, reply) in retry.into_iter().zip(replies) {
                        let _ = reply.send(store.insert_certificate(new).await);
                    }
                }
            }
            continue;
        }
        match store.insert_certificates(news).await {
            Ok(outcomes) => answer(replies, outcomes, n),
            Err(e) => {
                tracing::error!(issuances = n, error = %e, "could not record issued certificates");
                for reply in replies {
                    let _ = reply.send(Err(copy_error(&e)));
                }
            }
        }
    }
}

/// Answers each caller of a committed batch.
fn answer(replies: Vec<Reply>, outcomes: Vec<Result<IssueEffects, CaError>>, n: usize) {
    // A store that answers a different number of issuances is a bug: crash, do not guess.
    assert_eq!(outcomes.len(), n, "insert_certificates answered {} of {n} issuances", outcomes.len());
    for (reply, o) in replies.into_iter().zip(outcomes) {
        let _ = reply.send(o);
    }
}

/// The batch's failure, for each of its callers (`CaError` is not `Clone`).
fn copy_error(e: &CaError) -> CaError {
    match e {
        CaError::Conflict(m) => CaError::Conflict(m.clone()),
        CaError::Store(s) => CaError::Store(qianbao_store::StoreError::new(s.kind(), s.message())),
        other => CaError::Store(qianbao_store::StoreError::new(
            qianbao_store::ErrorKind::Other,
            format!("recording issued certificates: {other}"),
        )),
    }
}
