//! The loop shared by the issuance and nonce batchers: gather what callers queued, commit it as one
//! batch, and gather again — one batch at the store at a time; what callers queue while it commits becomes
//! the next batch.
//!
//! A batcher given its [`Callers`] (the issuance batcher) also waits a little for callers already at work:
//! while its batch holds fewer than half of them, it yields to the runtime once and takes what the tasks
//! that ran meanwhile queued, until a yield brings nothing more. Half, so that the other half keeps the
//! CPU busy signing while the batch commits; no timer, so a caller that stops short (a refused CSR, a
//! dropped future) delays a batch by one yield at most. A lone caller is committed at once. Without it
//! a batch held whatever was queued when the previous one's commit returned: in the bench `ca`,
//! issuance batches averaged 22 in memory (64 callers) and 34 on a file (256 callers; one batch per
//! fsync) against 31 and 111 with it, and each batch costs about 100 µs of CPU in memory and 300 µs on a
//! file whatever its size (the bench `ca_store`).
//!
//! Two batches in flight (the next gathered and queued behind the one committing) was measured and not
//! kept: it made more, smaller commits, and the issuance and order rates were lower in 9 of 12
//! alternated runs (the bench `ca`, 2026-11-24).
//!
//! Nor was yielding once to the runtime before each commit and taking everything queued then: the batch
//! took every caller, so none was left signing while it committed, and by wall clock issuance in memory
//! fell from 0.80–0.91 to 0.70–0.80 of the raw rate (three alternated runs of the whole `ca` bench,
//! 2026-11-24). The wait above stops at half the callers for that reason.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

/// How many callers of a batcher are at work: from entering the operation that will queue an item until
/// it returns (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Callers {
    at_work: AtomicUsize,
}

/// One caller at work, counted until dropped.
#[derive(Debug)]
#[must_use = "the caller is counted only while this is held"]
pub(crate) struct AtWork<'a>(&'a Callers);

impl Callers {
    /// Counts a caller until the returned guard drops.
    pub fn enter(&self) -> AtWork<'_> {
        self.at_work.fetch_add(1, Ordering::Relaxed);
        AtWork(self)
    }

    /// The batch to gather: half the callers at work, rounded up, within `1..=max`.
    fn want(&self, max: usize) -> usize {
        self.at_work.load(Ordering::Relaxed).div_ceil(2).clamp(1, max)
    }
}

impl Drop for AtWork<'_> {
    fn drop(&mut self) {
        self.0.at_work.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Gathers batches of at most `max` items from `rx` and awaits `commit(items, replies)` on each in turn;
/// with `callers`, each batch also waits for callers at work (see the module docs). Returns when every
/// sender is gone and the queue is empty.
pub(crate) async fn run<T, R, F, Fut>(
    mut rx: mpsc::UnboundedReceiver<(T, R)>,
    max: usize,
    callers: Option<Arc<Callers>>,
    mut commit: F,
) where
    F: FnMut(Vec<T>, Vec<R>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut buf = Vec::with_capacity(max);
    loop {
        let want = callers.as_ref().map_or(max, |c| c.want(max));
        if rx.recv_many(&mut buf, want).await == 0 {
            return;
        }
        if let Some(callers) = &callers {
            wait_for_callers(&mut rx, &mut buf, callers, max).await;
        }
        let (items, replies): (Vec<_>, Vec<_>) = buf.drain(..).unzip();
        commit(items, replies).await;
    }
}

/// Adds to `buf` what callers at work queue, up to half of them: yields to the runtime while that brings
/// more.
async fn wait_for_callers<T>(rx: &mut mpsc::UnboundedReceiver<T>, buf: &mut Vec<T>, callers: &Callers, max: usize) {
    let mut before_yield = None;
    loop {
        let want = callers.want(max);
        take_queued(rx, buf, want);
        if buf.len() >= want || before_yield == Some(buf.len()) {
            return;
        }
        before_yield = Some(buf.len());
        tokio::task::yield_now().await;
    }
}

/// Moves queued items into `buf` until it holds `want` or the queue is empty.
fn take_queued<T>(rx: &mut mpsc::UnboundedReceiver<T>, buf: &mut Vec<T>, want: usize) {
    while buf.len() < want {
        match rx.try_recv() {
            Ok(item) => buf.push(item),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::sync::oneshot;

    use super::*;

    type Queue = mpsc::UnboundedSender<(u32, oneshot::Sender<()>)>;

    /// A batcher recording its batch sizes, and its queue.
    fn batcher(callers: Option<Arc<Callers>>, max: usize) -> (Queue, Arc<Mutex<Vec<usize>>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        tokio::spawn(run(rx, max, callers, move |items: Vec<u32>, replies: Vec<oneshot::Sender<()>>| {
            seen.lock().unwrap().push(items.len());
            for r in replies {
                let _ = r.send(());
            }
            std::future::ready(())
        }));
        (tx, sizes)
    }

    /// `n` callers, all counted from the start, each ending its work when the one before it queued (on
    /// the test's one-thread runtime the next is then ready to run, as callers woken by answers are under
    /// load). With `queue` false they leave without queueing anything.
    async fn callers(callers: &Arc<Callers>, tx: &Queue, n: u32, queue: bool) {
        let mut tasks = tokio::task::JoinSet::new();
        let (gos, turns): (Vec<_>, Vec<_>) = (0..=n).map(|_| oneshot::channel::<()>()).unzip();
        let mut gos = gos.into_iter();
        let first = gos.next();
        for ((i, turn), next) in (0..n).zip(turns).zip(gos) {
            let (callers, tx) = (callers.clone(), tx.clone());
            tasks.spawn(async move {
                let _at_work = callers.enter();
                let _ = turn.await;
                if queue {
                    let (reply, answer) = oneshot::channel();
                    tx.send((i, reply)).unwrap();
                    let _ = next.send(());
                    answer.await.unwrap();
                } else {
                    let _ = next.send(());
                }
            });
        }
        // Every caller counted and waiting for its turn before the first one starts.
        tokio::task::yield_now().await;
        let _ = first.map(|go| go.send(()));
        tasks.join_all().await;
    }

    fn sizes(seen: &Mutex<Vec<usize>>) -> Vec<usize> {
        seen.lock().unwrap().clone()
    }

    /// The batch sizes of `n` callers ([`callers`]) of a batcher of at most `max` that counts them; every
    /// caller is answered.
    async fn counted_batches(n: u32, max: usize) -> Vec<usize> {
        let at_work = Arc::new(Callers::default());
        let (tx, seen) = batcher(Some(at_work.clone()), max);
        callers(&at_work, &tx, n, true).await;
        let sizes = sizes(&seen);
        assert_eq!(sizes.iter().sum::<usize>(), n as usize, "{sizes:?}");
        sizes
    }

    /// Eight callers finishing their work one after another: the first batch waits for half of them,
    /// the rest make the next batches.
    #[tokio::test]
    async fn a_batch_waits_for_half_the_callers_at_work() {
        let sizes = counted_batches(8, 256).await;
        assert_eq!(sizes[0], 4, "{sizes:?}");
        assert!(sizes.iter().all(|&n| n <= 4), "{sizes:?}");
    }

    /// The same callers to a batcher that does not count them: each batch is the one caller queued when the
    /// batcher ran.
    #[tokio::test]
    async fn without_callers_a_batch_is_what_was_queued() {
        let at_work = Arc::new(Callers::default());
        let (tx, seen) = batcher(None, 256);
        callers(&at_work, &tx, 8, true).await;
        assert_eq!(sizes(&seen), [1; 8]);
    }

    /// A lone caller is committed at once, and callers that stop short of queueing (a refused request, a
    /// future no longer polled) hold a batch back by one yield at most: nothing hangs.
    #[tokio::test]
    async fn callers_that_stop_short_hold_nothing_back() {
        let at_work = Arc::new(Callers::default());
        let (tx, seen) = batcher(Some(at_work.clone()), 256);
        callers(&at_work, &tx, 1, true).await;
        assert_eq!(sizes(&seen), [1]);
        let stalled = [at_work.enter(), at_work.enter(), at_work.enter()];
        let (reply, answer) = oneshot::channel();
        tx.send((0, reply)).unwrap();
        answer.await.unwrap();
        assert_eq!(sizes(&seen), [1, 1]);
        drop(stalled);
        callers(&at_work, &tx, 4, false).await;
        callers(&at_work, &tx, 1, true).await;
        assert_eq!(sizes(&seen), [1, 1, 1]);
    }

    /// No batch is larger than `max`, however many callers are at work.
    #[tokio::test]
    async fn batches_stay_within_max() {
        let sizes = counted_batches(20, 3).await;
        assert_eq!(sizes[0], 3, "{sizes:?}");
        assert!(sizes.iter().all(|&n| n <= 3), "{sizes:?}");
    }

    /// On a multi-threaded runtime (where callers run in parallel and a yield returns at once), rounds of
    /// callers that queue at random moments, some leaving without queueing, are all answered in batches
    /// within `max`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_caller_is_answered_on_a_multi_threaded_runtime() {
        let at_work = Arc::new(Callers::default());
        let (tx, seen) = batcher(Some(at_work.clone()), 16);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..400u32 {
            let (at_work, tx) = (at_work.clone(), tx.clone());
            tasks.spawn(async move {
                let _at_work = at_work.enter();
                for _ in 0..i % 7 {
                    tokio::task::yield_now().await;
                }
                if i % 5 == 0 {
                    return 0;
                }
                let (reply, answer) = oneshot::channel();
                tx.send((i, reply)).unwrap();
                answer.await.unwrap();
                1
            });
        }
        let answered: usize = tasks.join_all().await.into_iter().sum();
        let sizes = sizes(&seen);
        assert_eq!(answered, 320);
        assert_eq!(sizes.iter().sum::<usize>(), 320, "{sizes:?}");
        assert!(sizes.iter().all(|&n| (1..=16).contains(&n)), "{sizes:?}");
    }
}
