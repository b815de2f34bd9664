//! The throughput harness: `cargo run --release -p qianbao-bench --bin throughput -- ledger` prints one
//! JSON object per line per scenario and backend: `scenario`, `backend`, `accounts`, `batch`,
//! `transfers`, `transfers_per_sec`, `p50_ms`, `p99_ms` (per batch), `created`, and
//! `cpu_transfers_per_sec` (by the thread's CPU time, which waiting for a busy core does not inflate),
//! `process_cpu_transfers_per_sec` (by the CPU time of every thread, the storage writer included).
//!
//! Backends: `memory` (the engine), `sqlite` (the durable ledger, WAL, `synchronous=FULL`),
//! `baseline-sqlite` (one transaction per transfer), and — when `--postgres-url URL` or
//! `QIANBAO_TEST_POSTGRES_URL` names a server — `postgres` and `baseline-postgres`. Storage backends run
//! with 10,000 accounts unless `--accounts` asks otherwise; baselines run single-phase payments only and
//! `--baseline-batches` batches (default 1). After the runs, one line per ratio durable/baseline.
//!
//! Options: `--quick` (fewer batches), `--backend NAME[,NAME…]` (only those backends), `--accounts N` (only that
//! account count), `--scenario NAME` (only that scenario), `--batches N` (timed batches per run),
//! `--storage-batches N` (timed batches per durable run, default 100; 40 on PostgreSQL).
//!
//! With a million accounts the engine's look-ups miss the TLB; run under
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (glibc ≥ 2.35, transparent huge pages in `madvise` mode)
//! to give its big vectors huge pages. Each line's `hugepages` says whether that was asked for.

use std::time::{Duration, Instant};

use qianbao_bench::cpu;
use qianbao_bench::durable::{BaselinePostgres, BaselineSqlite, DurableBackend};
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
    let number = |name: &str, default: usize| -> Result<usize, BackendError> {
        option(name).map_or(Ok(default), |n| n.parse()).map_err(|e| format!("{name}: {e}").into())
    };
    match args.first().map(String::as_str) {
        Some("ledger") => {
            let batches = number("--batches", if quick { BATCHES_QUICK } else { BATCHES })?;
            let plan = Plan {
                batches,
                storage_batches: number("--storage-batches", if quick { BATCHES_QUICK } else { BATCHES })?,
                baseline_batches: number("--baseline-batches", 1)?,
                postgres_url: option("--postgres-url")
                    .or_else(|| std::env::var("QIANBAO_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())),
            };
            ledger(&plan, &filter)
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
        self.backend.as_deref().is_none_or(|b| b.split(',').any(|b| b == backend))
            && self.accounts.as_deref().is_none_or(|a| a == accounts.to_string())
            && self.scenario.as_deref().is_none_or(|s| s == scenario.name())
    }
}

/// The backends the harness knows, by name.
const BACKENDS: &[&str] = &["memory", "sqlite", "baseline-sqlite", "postgres", "baseline-postgres"];

/// How much each run does.
struct Plan {
    batches: usize,
    storage_batches: usize,
    baseline_batches: usize,
    postgres_url: Option<String>,
}

impl Plan {
    fn batches(&self, backend: &str) -> usize {
        match backend {
            "memory" => self.batches,
            "postgres" => self.storage_batches.min(40),
            b if b.starts_with("baseline") => self.baseline_batches,
            _ => self.storage_batches,
        }
    }
}

/// A fresh backend for a run over `accounts` wallets and `batches` timed batches; `None` when it
/// cannot run here (PostgreSQL without a URL).
fn backend(
    name: &str,
    accounts: usize,
    batches: usize,
    plan: &Plan,
) -> Result<Option<Box<dyn LedgerBackend>>, BackendError> {
    let url = plan.postgres_url.as_deref();
    Ok(match (name, url) {
        ("memory", _) => Some(Box::new(MemoryBackend::new(accounts + 1, accounts + batches * BATCH))),
        ("sqlite", _) => Some(Box::new(DurableBackend::sqlite()?)),
        ("baseline-sqlite", _) => Some(Box::new(BaselineSqlite::new()?)),
        ("postgres", Some(url)) => Some(Box::new(DurableBackend::postgres(url)?)),
        ("baseline-postgres", Some(url)) => Some(Box::new(BaselinePostgres::new(url)?)),
        ("postgres" | "baseline-postgres", None) => {
            eprintln!("{name}: skipped (no --postgres-url and QIANBAO_TEST_POSTGRES_URL is not set)");
            None
        }
        (other, _) => return Err(format!("unknown backend {other:?}; known: {BACKENDS:?}").into()),
    })
}

fn ledger(plan: &Plan, filter: &Filter) -> Result<(), BackendError> {
    let mut rates: Vec<(String, Scenario, usize, f64)> = Vec::new();
    for accounts in [10_000usize, 1_000_000] {
        for scenario in [Scenario::Payments, Scenario::TwoPhase] {
            for name in BACKENDS {
                // Storage backends set up a million accounts only when asked to.
                let storage = *name != "memory";
                if !filter.allows(name, accounts, scenario)
                    || (storage && accounts > 10_000 && filter.accounts.is_none())
                {
                    continue;
                }
                let batches = plan.batches(name);
                let Some(mut b) = backend(name, accounts, batches, plan)? else { continue };
                if b.payments_only() && scenario != Scenario::Payments {
                    continue;
                }
                let rate = run(b.as_mut(), scenario, accounts, batches)?;
                rates.push((name.to_string(), scenario, accounts, rate));
            }
        }
    }
    for (durable, baseline) in [("sqlite", "baseline-sqlite"), ("postgres", "baseline-postgres")] {
        let find =
            |n: &str, s: Scenario, a: usize| rates.iter().find(|r| r.0 == n && r.1 == s && r.2 == a).map(|r| r.3);
        for (_, scenario, accounts, rate) in rates.iter().filter(|r| r.0 == durable) {
            if let Some(base) = find(baseline, Scenario::Payments, *accounts) {
                let line = serde_json::json!({
                    "ratio": format!("{durable}/{baseline}"),
                    "scenario": scenario.name(),
                    "accounts": accounts,
                    "value": (rate / base * 10.0).round() / 10.0,
                });
                println!("{line}");
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
) -> Result<f64, BackendError> {
    let mut workload = Workload::new(accounts as u64, 42);
    set_up(backend, &mut workload)?;
    let work: Vec<_> = (0..batches).map(|_| workload.batch(scenario, BATCH)).collect();
    let mut times = Vec::with_capacity(batches);
    let mut created = 0;
    let cpu_start = cpu::thread_time();
    let process_start = cpu::process_time();
    for batch in &work {
        let start = Instant::now();
        created += backend.create_transfers(batch)?;
        times.push(start.elapsed());
    }
    let cpu = cpu::thread_time().zip(cpu_start).map(|(end, start)| end.saturating_sub(start));
    let process_cpu = cpu::process_time().zip(process_start).map(|(end, start)| end.saturating_sub(start));
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
        // CPU time of every thread of the process (the storage writer included), 10 ms resolution.
        "process_cpu_transfers_per_sec": process_cpu.filter(|c| !c.is_zero()).map(|c| (transfers as f64 / c.as_secs_f64()).round()),
        "hugepages": hugepages_asked(),
    });
    println!("{line}");
    Ok(transfers as f64 / total.as_secs_f64())
}

/// True when glibc's allocator was asked for transparent huge pages (`glibc.malloc.hugetlb=1` or `=2`
/// in `GLIBC_TUNABLES`).
fn hugepages_asked() -> bool {
    std::env::var("GLIBC_TUNABLES")
        .is_ok_and(|t| t.split(':').any(|kv| matches!(kv, "glibc.malloc.hugetlb=1" | "glibc.malloc.hugetlb=2")))
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted.get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
