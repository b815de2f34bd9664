//! The crash test: a child process (this test binary, re-invoked with [`CHILD_ENV`]) submits transfers
//! as fast as it can from several tasks and appends the id of every acknowledged transfer to a file.
//! The parent kills it with SIGKILL after a random number of further acknowledgements, at least 20
//! times; after each kill it reopens the ledger and checks that every acknowledged transfer is there,
//! that money is conserved and that the journal verifies.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qianbao_ledger::{CreateTransferResult as R, LedgerOptions, TransferFlags};
use qianbao_store::Database;

use super::*;

const CHILD_ENV: &str = "QIANBAO_LEDGER_CRASH_CHILD";
const WALLETS: u128 = 8;
const KILLS: usize = 20;

fn options() -> LedgerOptions {
    let mut o = LedgerOptions::default();
    o.merge_transfers_min = 2_000;
    o.merge_transfers_max = 2_000;
    o.view_transfers_max = 5_000;
    o.account_log_groups_max = 4;
    o
}

/// Not a test on its own: the child's body, run only when the parent sets [`CHILD_ENV`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = std::path::PathBuf::from(dir);
    let run: u128 = std::env::var("QIANBAO_LEDGER_CRASH_RUN").unwrap().parse().unwrap();
    let db = Database::open_sqlite(dir.join("ledger.sqlite")).unwrap();
    let ledger = open(&db, &clock(), options()).await;
    ledger.create_accounts(&chart(WALLETS)).await.unwrap();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join("acked")).unwrap(),
    ));
    let mut tasks = Vec::new();
    for task in 0..4u128 {
        let (ledger, acked) = (ledger.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0u128.. {
                let base = (run << 64) | (task << 48) | (n << 8);
                let batch: Vec<_> = (0..16u128)
                    .map(|i| {
                        let (dr, cr) = if i % 4 == 0 {
                            (1, 2 + (n + i) % WALLETS)
                        } else {
                            (2 + i % WALLETS, 2 + (i + n) % WALLETS)
                        };
                        let cr = if cr == dr { 1 } else { cr };
                        let t = pay(base + i, dr, cr, 1 + (n + i) % 50);
                        if i % 8 == 6 { t.with_flags(TransferFlags::LINKED) } else { t }
                    })
                    .collect();
                let results = ledger.create_transfers(&batch).await.unwrap();
                let mut line = String::new();
                for (t, r) in batch.iter().zip(&results) {
                    if *r == R::Ok {
                        line.push_str(&format!("{}\n", t.id.as_u128()));
                    }
                }
                acked.lock().unwrap().write_all(line.as_bytes()).unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn acked_ids(path: &std::path::Path) -> Vec<TransferId> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The last line may be cut by the kill: only complete lines count.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().filter(|l| !l.is_empty()).map(|l| tid(l.parse().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transfers_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let acked_path = dir.path().join("acked");
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash test seed {seed}");
    let started = Instant::now();
    for run in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let before = acked_ids(&acked_path).len();
        let wait_for = before + 1 + (seed % 3_000) as usize;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "durable::crash::crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("QIANBAO_LEDGER_CRASH_RUN", run.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked_ids(&acked_path).len() < wait_for && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                panic!("the crash child exited on its own in run {run}");
            }
            std::thread::yield_now();
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = acked_ids(&acked_path);
        assert!(acked.len() > before, "run {run}: the child acknowledged nothing");

        let db = Database::open_sqlite(dir.path().join("ledger.sqlite")).unwrap();
        let ledger = open(&db, &clock(), options()).await;
        for chunk in acked.chunks(4_096) {
            let found = ledger.lookup_transfers(chunk).await.unwrap();
            assert_eq!(found.len(), chunk.len(), "run {run}: an acknowledged transfer was lost");
        }
        let accounts = ledger.lookup_accounts(&(1..2 + WALLETS).map(aid).collect::<Vec<_>>()).await.unwrap();
        assert_balanced(&accounts);
        assert!(accounts[1..].iter().all(|a| a.debits_posted <= a.credits_posted), "no wallet below zero");
        assert!(ledger.verify_journal().await.unwrap().is_intact(), "run {run}: the journal is broken");
        drop(ledger);
    }
    eprintln!("{KILLS} kills, {} acknowledged transfers, {:?}", acked_ids(&acked_path).len(), started.elapsed());
}
