//! Issuances made durable in shared batches (group commit), like the order nonces.
//!
//! [`IssueQueue::insert`] hands a signed certificate with its side effects ([`NewCertificate`]) to a
//! tokio task, one per CA instance, which gathers every issuance queued meanwhile (up to
//! [`ISSUE_BATCH_MAX`]) and persists them with [`CaStore::insert_certificates`] in **one** transaction
//! (a refused one writes nothing, the others commit). Each caller is answered only after that commit: an
//! issued certificate is durable before it is returned, and the cost of the commit (an fsync on SQLite, a
//! round trip and a WAL flush on PostgreSQL) is shared by the whole batch. When a batch conflicts as a
//! whole before its commit (a write failed after its checks passed, e.g. a unique constraint), its
//! issuances are tried again one per transaction, so each caller gets its own answer.
//!
//! One batch is at the store at a time ([`crate::batcher`]). Callers enter the queue
//! ([`IssueQueue::enter`]) before their CSR is verified and the certificate signed, so that a batch can
//! wait for the issuances already under way (up to half of them) instead of committing each fsync's
//! worth alone.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::CaError;
use crate::batcher::{AtWork, Callers};
use crate::store::{CaDb, CaStore, IssueEffects, NewCertificate};

/// The most issuances committed in one transaction.
pub const ISSUE_BATCH_MAX: usize = 256;

type Reply = oneshot::Sender<Result<IssueEffects, CaError>>;

/// The handle to the issuance batcher. See the module docs.
#[derive(Debug)]
pub(crate) struct IssueQueue {
    tx: mpsc::UnboundedSender<(NewCertificate, Reply)>,
    callers: Arc<Callers>,
}

impl IssueQueue {
    /// Starts the batcher on the current tokio runtime; it stops when the queue is dropped.
    pub fn spawn(store: CaDb) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let callers = Arc::new(Callers::default());
        tokio::spawn(crate::batcher::run(rx, ISSUE_BATCH_MAX, Some(callers.clone()), move |news, replies| {
            let store = store.clone();
            async move { commit(&store, news, replies).await }
        }));
        IssueQueue { tx, callers }
    }

    /// Counts an issuance under way until the guard drops: taken on entry to issue, renew and reissue,
    /// before the CSR check and the signature.
    pub fn enter(&self) -> AtWork<'_> {
        self.callers.enter()
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

/// Commits one batch and answers its callers.
async fn commit(store: &CaDb, news: Vec<NewCertificate>, replies: Vec<Reply>) {
    let n = news.len();
    // Kept to try again one by one should a batch of several fail as a whole (a copy: small beside a
    // signature).
    let retry = (n > 1).then(|| news.clone());
    match (store.insert_certificates(news).await, retry) {
        (Ok(outcomes), _) => answer(replies, outcomes, n),
        // A conflict fails the batch before its commit (nothing of it was written): each alone.
        (Err(e @ CaError::Conflict(_)), Some(retry)) => {
            tracing::warn!(issuances = n, error = %e, "a batch of issuances conflicted; trying them one by one");
            for (new, reply) in retry.into_iter().zip(replies) {
                let _ = reply.send(store.insert_certificate(new).await);
            }
        }
        // Anything else (the commit itself may have failed or even succeeded unseen): no retry.
        (Err(e), _) => fail(replies, &e),
    }
}

/// Answers each caller of a batch that could not be committed.
fn fail(replies: Vec<Reply>, e: &CaError) {
    tracing::error!(issuances = replies.len(), error = %e, "could not record issued certificates");
    for reply in replies {
        let _ = reply.send(Err(copy_error(e)));
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

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use qianbao_core::{DeviceId, Timestamp, UserId};
    use qianbao_store::Database;

    use super::*;
    use crate::record::{CertSerial, CertStatus, CertificateRecord, Fingerprint, RevocationReason};
    use crate::store::DevicePlan;

    fn new(serial: u8, device: u128) -> NewCertificate {
        let at = Timestamp::from_unix_secs(1_800_000_000);
        let der = vec![0x30, serial, device as u8];
        let record = CertificateRecord {
            serial: CertSerial::from_bytes([serial; 16]).unwrap(),
            user: UserId::from_u128(1),
            device: DeviceId::from_u128(device),
            fingerprint: Fingerprint::of(&der),
            issuer_generation: 1,
            not_before: at,
            not_after: at.saturating_add(std::time::Duration::from_secs(86_400)),
            issued_at: at,
            status: CertStatus::Active,
            replaces: None,
            der,
        };
        let plan = DevicePlan::Issue;
        NewCertificate {
            record,
            id: None,
            plan,
            supersede: vec![],
            revoke: vec![],
            revoke_reason: RevocationReason::Unspecified,
            events: vec![],
        }
    }

    /// SQLite fails a whole batch when a write fails after its plan allowed it (here a serial already
    /// taken); the queue then tries each issuance alone, so only that one is refused.
    #[tokio::test]
    async fn a_batch_that_fails_whole_is_retried_one_by_one() {
        let store = CaDb::open(Database::open_in_memory().unwrap()).await.unwrap();
        let queue = IssueQueue::spawn(store.clone());
        queue.insert(new(1, 1)).await.unwrap();
        // Both queued before the batcher runs (current-thread runtime): one batch of two.
        let (taken, fine) = tokio::join!(queue.insert(new(1, 2)), queue.insert(new(2, 3)));
        assert!(matches!(taken, Err(CaError::Conflict(_))), "{taken:?}");
        assert_eq!(fine.unwrap(), crate::store::IssueEffects::default());
        assert!(store.certificates_for_device(DeviceId::from_u128(2)).await.unwrap().is_empty());
        let stored = store.certificate(CertSerial::from_bytes([2; 16]).unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.device, DeviceId::from_u128(3));
    }
}
