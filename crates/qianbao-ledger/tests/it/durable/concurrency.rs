//! Two processes on one PostgreSQL database (this test binary re-invoked with [`WORKER_ENV`]), several
//! tasks each, transfer among a few hot accounts; half the ids are tried by both processes. Afterwards
//! every account's counters equal the sums of the accepted transfers, each id was accepted once, and
//! the journal verifies.

use std::process::Command;

use qianbao_ledger::CreateTransferResult as R;

use super::*;

const WORKER_ENV: &str = "QIANBAO_LEDGER_PG_WORKER";
const HOT: u128 = 4;
const TASKS: u128 = 4;
const ROUNDS: u128 = 25;

/// Not a test on its own: a worker's body, run only when the parent sets [`WORKER_ENV`].
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let mut parts = spec.splitn(4, ' ');
    let (schema, worker, out, url) =
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let worker: u128 = worker.parse().unwrap();
    let pg = qianbao_store::PgDb::connect(url, qianbao_store::PgOptions::with_schema(schema)).await.unwrap();
    let ledger = open(&Database::Postgres(pg), &clock(), Default::default()).await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            for round in 0..ROUNDS {
                // Even rounds: ids both workers try; odd rounds: ids of this worker alone.
                let owner = if round % 2 == 0 { 0 } else { worker + 1 };
                let id = (1 << 40) | (owner << 32) | (task << 16) | round;
                let (dr, cr) = (2 + (task + round) % HOT, 2 + (task + round + 1) % HOT);
                let t = pay(id, dr, cr, 1 + round % 7);
                if ledger.create_transfers(&[t]).await.unwrap() == [R::Ok] {
                    accepted.push(format!("{id} {dr} {cr} {}", t.amount));
                }
            }
            accepted
        }));
    }
    let mut lines = Vec::new();
    for t in tasks {
        lines.extend(t.await.unwrap());
    }
    std::fs::write(out, lines.join("\n")).unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_hot_accounts_post_each_id_once() {
    if std::env::var(WORKER_ENV).is_ok() {
        return;
    }
    let Some(test_db) = qianbao_store::testing::postgres("two_processes_on_hot_accounts_post_each_id_once").await
    else {
        return;
    };
    let Database::Postgres(pg) = &test_db.db else { unreachable!("a PostgreSQL test database") };
    let schema = pg.schema().unwrap().to_string();
    let url = qianbao_store::testing::postgres_url().unwrap();
    let ledger = open(&test_db.db, &clock(), Default::default()).await;
    ledger.create_accounts(&chart(HOT)).await.unwrap();
    let funding: Vec<_> = (2..2 + HOT).map(|w| pay(900_000 + w, 1, w, 1_000_000)).collect();
    assert!(ledger.create_transfers(&funding).await.unwrap().iter().all(|r| *r == R::Ok));

    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..2)
        .map(|w| {
            let out = dir.path().join(format!("worker{w}"));
            let child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "durable::concurrency::pg_worker", "--nocapture", "--test-threads=1"])
                .env(WORKER_ENV, format!("{schema} {w} {} {url}", out.display()))
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let mut accepted: Vec<(u128, u128, u128, u128)> = Vec::new();
    for (mut child, out) in children {
        assert!(child.wait().unwrap().success(), "a worker failed");
        for line in std::fs::read_to_string(out).unwrap().lines() {
            let v: Vec<u128> = line.split(' ').map(|x| x.parse().unwrap()).collect();
            accepted.push((v[0], v[1], v[2], v[3]));
        }
    }
    let mut ids: Vec<u128> = accepted.iter().map(|a| a.0).collect();
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), total, "an id was accepted twice");
    let (shared, own) = (ROUNDS.div_ceil(2), ROUNDS / 2);
    assert_eq!(total as u128, TASKS * (shared + 2 * own), "every id accepted exactly once");
    let accounts = ledger.lookup_accounts(&(2..2 + HOT).map(aid).collect::<Vec<_>>()).await.unwrap();
    for a in &accounts {
        let w = a.id.as_u128();
        let out: u128 = accepted.iter().filter(|t| t.1 == w).map(|t| t.3).sum();
        let inn: u128 = accepted.iter().filter(|t| t.2 == w).map(|t| t.3).sum();
        assert_eq!((a.debits_posted, a.credits_posted), (out, inn + 1_000_000), "account {w}");
    }
    let found = ledger.lookup_transfers(&ids.iter().map(|i| tid(*i)).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(found.len(), total);
    assert!(ledger.verify_journal().await.unwrap().is_intact());
    drop(ledger);
    test_db.cleanup().await;
}
