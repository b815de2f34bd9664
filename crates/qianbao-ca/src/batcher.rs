//! The loop shared by the issuance and nonce batchers: gather what callers queued, commit it as one
//! batch, and gather again — one batch at the store at a time; what callers queue while it commits becomes
//! the next batch.
//!
//! Two batches in flight (the next gathered and queued behind the one committing) was measured and not
//! kept: it made more, smaller commits, and the issuance and order rates were lower in 9 of 12
//! alternated runs (the bench `ca`, 2026-11-24).
//!
//! Nor was yielding once to the runtime before each commit, to take what the tasks ready to run would
//! queue meanwhile (larger batches): per CPU second it gained a little on a durable file and nothing
//! clear in memory, while by wall clock the bench thread waited on commits and issuance in memory fell
//! from 0.80–0.91 to 0.70–0.80 of the raw rate (three alternated runs of the whole `ca` bench, the code
//! before it against it with migration 6, 2026-11-24; migration 6 saves CPU and does not wait).

use std::future::Future;

use tokio::sync::mpsc;

/// Gathers batches of at most `max` items from `rx` and awaits `commit(items, replies)` on each in turn.
/// Returns when every sender is gone and the queue is empty.
pub(crate) async fn run<T, R, F, Fut>(mut rx: mpsc::UnboundedReceiver<(T, R)>, max: usize, mut commit: F)
where
    F: FnMut(Vec<T>, Vec<R>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut buf = Vec::with_capacity(max);
    while rx.recv_many(&mut buf, max).await > 0 {
        let (items, replies): (Vec<_>, Vec<_>) = buf.drain(..).unzip();
        commit(items, replies).await;
    }
}
