//! The asynchronous usage appender: events from the hot paths (verification failures, mTLS handshakes)
//! go to an in-process queue that a background task writes to the store in batches (one write per batch,
//! up to [`BATCH_MAX`] events). Issuance, renewal, reissue, revocation and accepted orders do not use it:
//! their events are written in the same transaction as the change they describe.
//!
//! An event queued here is durable once the batch holding it is committed — normally within one write
//! of being queued; [`UsageSink::flush`] waits for that. A process crash can lose the events of the last
//! batch in flight (verification attempts, never state changes).

use tokio::sync::{mpsc, oneshot};

use crate::record::UsageEvent;
use crate::store::{CaDb, CaStore};

/// The most events written in one batch.
pub const BATCH_MAX: usize = 1024;

enum Msg {
    Event(UsageEvent),
    Flush(oneshot::Sender<()>),
}

/// A handle to the appender; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct UsageSink {
    tx: mpsc::UnboundedSender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(e) => write!(f, "Event({:?})", e.kind),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl UsageSink {
    /// Starts the appender on the current tokio runtime. It stops when every handle is dropped.
    pub fn spawn(store: CaDb) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(BATCH_MAX);
            loop {
                if rx.recv_many(&mut buf, BATCH_MAX).await == 0 {
                    return;
                }
                let mut events = Vec::with_capacity(buf.len());
                let mut acks = Vec::new();
                for m in buf.drain(..) {
                    match m {
                        Msg::Event(e) => events.push(e),
                        Msg::Flush(ack) => acks.push(ack),
                    }
                }
                let n = events.len();
                if let Err(e) = store.append_usage(events).await {
                    tracing::error!(events = n, error = %e, "could not append usage events");
                }
                for ack in acks {
                    let _ = ack.send(());
                }
            }
        });
        UsageSink { tx }
    }

    /// Queues an event (never blocks).
    pub fn record(&self, event: UsageEvent) {
        if self.tx.send(Msg::Event(event)).is_err() {
            tracing::error!("the usage appender has stopped; an event was dropped");
        }
    }

    /// Waits until every event queued before this call is written.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.await;
        }
    }
}
