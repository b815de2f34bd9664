//! The loop shared by the issuance and nonce batchers: gather what callers queued, commit it as one
//! batch, and gather again — one batch at the store at a time; what callers queue while it commits becomes
//! the next batch.
//!
//! Before committing, the loop yields once to the runtime and then takes what was queued meanwhile: the
//! tasks that were ready to run (on a busy runtime, requests whose signatures are being checked) queue
//! their items first, so a batch holds what the CPU was about to produce rather than only what had
//! arrived. On an idle runtime the yield returns at once. Larger batches share each commit's fixed cost
//! (thread hand-over, transaction, fsync), at the price of a commit waiting for one round of the ready
//! tasks. Measured with the `ca` bench (2026-11-24), rates per CPU second as a share of the raw rate:
//! in three alternated runs against the run's raw rate, issuance went 0.74–0.76 → 0.77–0.84 in memory
//! and 0.70–0.73 → 0.77–0.83 on a file; in four more against the raw rate measured beside each bench
//! ("paired", medians), issuance 0.745 → 0.735 in memory and 0.700 → 0.725 on a file, signed orders
//! 0.735 → 0.765 and 0.755 → 0.755. A small gain on a file, none to speak of in memory.
//!
//! Two batches in flight (the next gathered and queued behind the one committing) was measured and not
//! kept: it made more, smaller commits, and the issuance and order rates were lower in 9 of 12
//! alternated runs (the bench `ca`, 2026-11-24).

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
        // Let the tasks that are ready to run queue what they are about to, then take it too.
        tokio::task::yield_now().await;
        while buf.len() < max {
            match rx.try_recv() {
                Ok(item) => buf.push(item),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<_>, Vec<_>) = buf.drain(..).unzip();
        commit(items, replies).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::mpsc;

    /// What tasks ready to run queue while the loop yields joins the batch that woke it.
    #[tokio::test]
    async fn a_batch_takes_what_ready_tasks_queue() {
        let (tx, rx) = mpsc::unbounded_channel::<(u32, ())>();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = tokio::spawn(super::run(rx, 16, move |items, _| {
            seen.lock().unwrap().push(items.len());
            async {}
        }));
        tx.send((0, ())).unwrap();
        let ready: Vec<_> = (1..6)
            .map(|i| {
                let tx = tx.clone();
                tokio::spawn(async move { tx.send((i, ())).unwrap() })
            })
            .collect();
        for task in ready {
            task.await.unwrap();
        }
        drop(tx);
        batcher.await.unwrap();
        assert_eq!(*sizes.lock().unwrap(), [6]);
    }
}
