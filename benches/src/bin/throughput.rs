//! The throughput harness: `cargo run --release -p qianbao-bench --bin throughput -- ledger` prints one
//! JSON object per line per scenario and backend: `scenario`, `backend`, `accounts`, `batch`,
//! `transfers`, `transfers_per_sec`, `p50_ms`, `p99_ms` (per batch), `created`, and
//! `cpu_transfers_per_sec` (by the thread's CPU time, which waiting for a busy core does not inflate).
//!
//! Options: `--quick` (fewer batches), `--backend NAME` (only that backend), `--accounts N` (only that
//! account count), `--scenario NAME` (only that scenario), `--batches N` (timed batches per run).

use std::time::{Duration, Instant};

use qianbao_bench::ledger::{BATCH, BackendError, LedgerBackend, MemoryBackend, Scenario, Workload, set_up};

/// Batches timed per run.
const BATCHES: usize = 100;
/// Batches timed per run with `--quick`.
const BATCHES_QUICK: usize = 20;

fn main() -> Result<(), BackendError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let filter =
        Filter { backend: option("--backend"), accounts: option("--accounts"), scenario: option("--scenario") };
    match args.first().map(String::as_str) {
        Some("ledger") => {
            let default = if quick { BATCHES_QUICK } else { BATCHES };
            let batches =
                option("--batches").map_or(Ok(default), |n| n.parse()).map_err(|e| format!("--batches: {e}"))?;
            ledger(batches, &filter)
        }
        other => Err(format!(
            "usage: throughput ledger [--quick] [--backend NAME] [--accounts N] [--scenario NAME]; got {other:?}"
        )
        .into()),
    }
}

/// Which runs to do (all when empty).
struct Filter {
    backend: Option<String>,
    accounts: Option<String>,
    scenario: Option<String>,
}

impl Filter {
    fn allows(&self, backend: &str, accounts: usize, scenario: Scenario) -> bool {
        self.backend.as_deref().is_none_or(|b| b == backend)
            && self.accounts.as_deref().is_none_or(|a| a == accounts.to_string())
            && self.scenario.as_deref().is_none_or(|s| s == scenario.name())
    }
}

/// The backends the harness knows, by name.
const BACKENDS: &[&str] = &["memory"];

/// A fresh backend for a run over `accounts` wallets and `batches` timed batches.
fn backend(name: &str, accounts: usize, batches: usize) -> Result<Box<dyn LedgerBackend>, BackendError> {
    match name {
        "memory" => Ok(Box::new(MemoryBackend::new(accounts + 1, accounts + batches * BATCH))),
        other => Err(format!("unknown backend {other:?}; known: {BACKENDS:?}").into()),
    }
}

fn ledger(batches: usize, filter: &Filter) -> Result<(), BackendError> {
    for accounts in [10_000usize, 1_000_000] {
        for scenario in [Scenario::Payments, Scenario::TwoPhase] {
            for name in BACKENDS {
                if filter.allows(name, accounts, scenario) {
                    run(backend(name, accounts, batches)?.as_mut(), scenario, accounts, batches)?;
                }
            }
        }
    }
    Ok(())
}

fn run(
    backend: &mut dyn LedgerBackend,
    scenario: Scenario,
    accounts: usize,
    batches: usize,
) -> Result<(), BackendError> {
    let mut workload = Workload::new(accounts as u64, 42);
    set_up(backend, &mut workload)?;
    let work: Vec<_> = (0..batches).map(|_| workload.batch(scenario, BATCH)).collect();
    let mut times = Vec::with_capacity(batches);
    let mut created = 0;
    let cpu_start = thread_cpu_time();
    for batch in &work {
        let start = Instant::now();
        created += backend.create_transfers(batch)?;
        times.push(start.elapsed());
    }
    let cpu = thread_cpu_time().zip(cpu_start).map(|(end, start)| end.saturating_sub(start));
    let total: Duration = times.iter().sum();
    times.sort();
    let transfers = batches * BATCH;
    let line = serde_json::json!({
        "scenario": scenario.name(),
        "backend": backend.name(),
        "accounts": accounts,
        "batch": BATCH,
        "transfers": transfers,
        "created": created,
        "transfers_per_sec": (transfers as f64 / total.as_secs_f64()).round(),
        "p50_ms": millis(percentile(&times, 50)),
        "p99_ms": millis(percentile(&times, 99)),
        // On a shared machine wall time includes waiting for a core; CPU time of this thread does not.
        "cpu_transfers_per_sec": cpu.map(|c| (transfers as f64 / c.as_secs_f64()).round()),
    });
    println!("{line}");
    Ok(())
}

/// CPU time of the calling thread (Linux: `/proc/thread-self/schedstat`), `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted.get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
