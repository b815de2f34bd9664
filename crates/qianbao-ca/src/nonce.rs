//! Payment-order nonces, usable once: decided in memory, made durable in shared batches.
//!
//! [`NonceGate::claim`] first consults an in-process seen-set of `(user, nonce)`: a second use of a nonce
//! this instance has already taken is refused at once, with no database round-trip, even while the first
//! is still being written. A new nonce then goes to the batcher — one tokio task per CA instance — which
//! gathers every claim queued meanwhile (up to [`NONCE_BATCH_MAX`]) and hands them to
//! [`CaStore::accept_nonces`] in **one** transaction. That transaction re-checks each certificate's status
//! (so a revocation committed after the in-memory check still wins), inserts the nonces (the primary key
//! catches a nonce used through another instance sharing the database) and the usage events of the
//! accepted orders. Each caller is answered only after that commit: an accepted order's nonce is durable
//! before the order is acknowledged, and the cost of the commit (an fsync on SQLite) is shared by the
//! whole batch.
//!
//! One batch is at the store at a time ([`crate::batcher`]).
//!
//! The seen-set forgets nonces older than the freshness window (such orders fail the time check before
//! they get here), so it holds at most the orders of one window; the batcher likewise deletes stored
//! nonces older than the window, once per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use qianbao_core::{Timestamp, UserId};
use tokio::sync::{mpsc, oneshot};

use crate::CaError;
use crate::order::OrderNonce;
use crate::store::{CaDb, CaStore, NonceClaim, NonceOutcome};

/// The most claims committed in one transaction.
pub const NONCE_BATCH_MAX: usize = 512;

/// The seen-set is pruned of expired nonces when it grows past this (and then past twice what is left).
const SEEN_PRUNE_MIN: usize = 4_096;

type Reply = oneshot::Sender<Result<NonceOutcome, CaError>>;

#[derive(Debug, Default)]
struct Seen {
    nonces: HashMap<(UserId, OrderNonce), Timestamp>,
    prune_at: usize,
}

/// The in-memory seen-set and the handle to the batcher. See the module docs.
#[derive(Debug)]
pub(crate) struct NonceGate {
    seen: Mutex<Seen>,
    tx: mpsc::UnboundedSender<(NonceClaim, Reply)>,
    /// Orders signed before `now - window` are stale; their nonces can be forgotten.
    window: Duration,
}

impl NonceGate {
    /// Starts the batcher on the current tokio runtime; it stops when the gate is dropped.
    pub fn spawn(store: CaDb, window: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx, window));
        NonceGate { seen: Mutex::new(Seen { nonces: HashMap::new(), prune_at: SEEN_PRUNE_MIN }), tx, window }
    }

    /// Claims `claim`'s nonce for an order already checked in every other way. Returns the store's
    /// verdict once it is durable; [`NonceOutcome::Replayed`] straight away for a nonce this instance
    /// has already taken.
    pub async fn claim(&self, claim: NonceClaim, now: Timestamp) -> Result<NonceOutcome, CaError> {
        let key = (claim.user, claim.nonce);
        if !self.take(key, claim.signed_at, now) {
            return Ok(NonceOutcome::Replayed);
        }
        let (reply, answer) = oneshot::channel();
        let out = match self.tx.send((claim, reply)) {
            Ok(()) => answer.await.unwrap_or_else(|_| Err(CaError::Misuse("the nonce batcher stopped".into()))),
            Err(_) => Err(CaError::Misuse("the nonce batcher stopped".into())),
        };
        if out.is_err() {
            // Not written (or not known to be): let a retry ask the store, which has the last word.
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).nonces.remove(&key);
        }
        out
    }

    /// Marks `key` as taken; false when it already was.
    fn take(&self, key: (UserId, OrderNonce), signed_at: Timestamp, now: Timestamp) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.nonces.len() >= seen.prune_at {
            let cutoff = now.saturating_sub(self.window);
            seen.nonces.retain(|_, at| *at >= cutoff);
            seen.prune_at = SEEN_PRUNE_MIN.max(seen.nonces.len() * 2);
        }
        match seen.nonces.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(signed_at);
                true
            }
        }
    }
}

/// The batcher: one transaction per gathered batch, answers after the commit. Once per `window` (by the
/// claims' own verification times) it first forgets stored nonces of orders too old to pass the
/// freshness check, so the table holds about one window of orders.
fn run(
    store: CaDb,
    rx: mpsc::UnboundedReceiver<(NonceClaim, Reply)>,
    window: Duration,
) -> impl std::future::Future<Output = ()> {
    let mut pruned_at: Option<Timestamp> = None;
    crate::batcher::run(rx, NONCE_BATCH_MAX, None, move |claims: Vec<NonceClaim>, replies| {
        let latest = claims.iter().map(|c| c.at).max().unwrap_or_default();
        let prune = match pruned_at {
            None => {
                pruned_at = Some(latest);
                None
            }
            Some(at) if latest.duration_since(at) >= window => {
                pruned_at = Some(latest);
                Some(latest.saturating_sub(window))
            }
            Some(_) => None,
        };
        let store = store.clone();
        async move {
            if let Some(before) = prune {
                match store.prune_nonces(before).await {
                    Ok(gone) => tracing::debug!(gone, "pruned stale order nonces"),
                    Err(e) => tracing::warn!(error = %e, "could not prune stale order nonces"),
                }
            }
            commit(&store, claims, replies).await;
        }
    })
}

/// Records one batch of claims and answers their callers.
async fn commit(store: &CaDb, claims: Vec<NonceClaim>, replies: Vec<Reply>) {
    let n = claims.len();
    match store.accept_nonces(claims).await {
        Ok(outcomes) => {
            // A store that answers a different number of claims is a bug: crash, do not guess.
            assert_eq!(outcomes.len(), n, "accept_nonces answered {} of {n} claims", outcomes.len());
            for (reply, o) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(o));
            }
        }
        Err(e) => {
            tracing::error!(claims = n, error = %e, "could not record order nonces");
            let kind = match &e {
                CaError::Store(s) => s.kind(),
                _ => qianbao_store::ErrorKind::Other,
            };
            for reply in replies {
                let copy = qianbao_store::StoreError::new(kind, format!("recording order nonces: {e}"));
                let _ = reply.send(Err(CaError::Store(copy)));
            }
        }
    }
}
