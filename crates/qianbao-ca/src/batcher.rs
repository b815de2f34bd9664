//! The loop shared by the issuance and nonce batchers: gather what callers queued, commit it as one batch
//! in a task of its own, with at most [`BATCHES_IN_FLIGHT`] batches at the store at once.
//!
//! While one batch is being committed the next is gathered and queued behind it, so the callers released
//! by one commit never all wait for the same next one (with a single batch in flight every caller would
//! end up in one batch, and the CPU would idle while it is made durable).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

/// The most batches handed to the store and not yet answered (two: one being committed, one queued).
pub const BATCHES_IN_FLIGHT: usize = 2;

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
