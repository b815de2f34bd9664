//! The loop shared by the issuance and nonce batchers: gather what callers queued, commit it as one batch
//! in a task of its own, with at most [`BATCHES_IN_FLIGHT`] batches at the store at once.
//!
//! One batch at a time: while it commits, what callers queue meanwhile becomes the next batch. Two in
//! flight (the next gathered and queued behind the one committing) was measured and not kept: it made
//! more, smaller commits, and the issuance and order rates were lower in 9 of 12 alternated runs (the
//! bench `ca`, 2026-11-24). The bound stays a constant here, should a backend gain from more.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

/// The most batches handed to the store and not yet answered.
pub const BATCHES_IN_FLIGHT: usize = 1;

/// Gathers batches of at most `max` items from `rx` whenever fewer than [`BATCHES_IN_FLIGHT`] are in
/// flight, and runs `commit(items, replies)` on each in a task of its own. Returns when every sender is
/// gone and the queue is empty.
pub(crate) async fn run<T, R, F, Fut>(mut rx: mpsc::UnboundedReceiver<(T, R)>, max: usize, mut commit: F)
where
    F: FnMut(Vec<T>, Vec<R>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    let mut buf = Vec::with_capacity(max);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        if rx.recv_many(&mut buf, max).await == 0 {
            return;
        }
        let (items, replies): (Vec<_>, Vec<_>) = buf.drain(..).unzip();
        let batch = commit(items, replies);
        tokio::spawn(async move {
            batch.await;
            drop(slot);
        });
    }
}
