//! Criterion bench of the ledger engine deciding batches of 8,189 transfers in memory, over 10,000 and
//! over 1,000,000 accounts (DESIGN.md §6: ≥ 2,000,000 transfers/s on one core with 10,000 accounts, at
//! most 20% slower with 1,000,000). `cargo bench -p qianbao-bench --bench ledger_decide`.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qianbao_bench::ledger::{BATCH, LedgerBackend, MemoryBackend, Scenario, Workload, set_up};

/// The ledger is reset to its funded start after this many batches, so that memory stays bounded
/// however many iterations criterion runs.
const BATCHES_BEFORE_RESET: usize = 64;

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("ledger_decide");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for accounts in [10_000usize, 1_000_000] {
        let mut workload = Workload::new(accounts as u64, 7);
        let capacity = accounts + BATCHES_BEFORE_RESET * BATCH;
        let mut start = MemoryBackend::new(accounts + 1, capacity);
        if let Err(e) = set_up(&mut start, &mut workload) {
            panic!("set-up failed: {e}");
        }
        for scenario in [Scenario::Payments, Scenario::TwoPhase] {
            let mut backend = MemoryBackend::new(accounts + 1, capacity);
            backend.reset_to(&start);
            let mut since_reset = 0;
            group.bench_function(BenchmarkId::new(scenario.name(), accounts), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        if since_reset == BATCHES_BEFORE_RESET {
                            backend.reset_to(&start);
                            workload.forget_pending();
                            since_reset = 0;
                        }
                        let batch = workload.batch(scenario, BATCH);
                        let began = Instant::now();
                        let created = backend.create_transfers(&batch);
                        total += began.elapsed();
                        assert!(created.is_ok_and(|n| n > 0));
                        since_reset += 1;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
