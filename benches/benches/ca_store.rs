//! The certificate authority's store write paths alone, without the crypto around them: what one
//! issuance and one accepted payment-order nonce cost the SQLite writer, in memory and on a durable file
//! (WAL, synchronous=FULL), in batches of the size the CA's batchers form under load.
//!
//! - `ca_store/issue_*`: [`CaStore::insert_certificates`] with batches of 40 new certificates (a 560-byte
//!   DER each, the issuance usage event with it), into a store already holding 50,000 certificates;
//! - `ca_store/nonces_*`: [`CaStore::accept_nonces`] with batches of 64 claims spread over 64 active
//!   certificates of 64 users, each accepted with its usage event.
//!
//! The time criterion reports is **CPU time of the whole process** (every thread, the SQLite writer's
//! included, from `/proc/self/task/*/schedstat` in nanoseconds) per row, not wall time: on a file the wall
//! time is mostly the fsync, which the CA's batchers share among callers, while the CPU time is what each
//! row costs the machine. The figures isolate the writer's per-row cost, which the `ca` bench only shows
//! mixed with the signatures. Off Linux it falls back to wall time. Run:
//! `cargo bench -p qianbao-bench --bench ca_store`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qianbao::Database;
use qianbao::core::{DeviceId, Entropy, OsEntropy, Timestamp, UserId};
use qianbao::qianbao_ca::store::{DevicePlan, NewCertificate};
use qianbao::qianbao_ca::{
    CaDb, CaStore, CertSerial, CertStatus, CertificateRecord, Fingerprint, NonceClaim, OrderNonce, RevocationReason,
    SERIAL_RANDOM_LEN, SerialCipher, UsageEvent, UsageKind,
};
use qianbao_bench::cpu::live_threads_time;
use tokio::runtime::Runtime;

/// Issuances per batch: about what the issuance batcher gathers with 64 requests in flight.
const ISSUE_BATCH: u64 = 40;
/// Nonce claims per batch.
const NONCE_BATCH: u64 = 64;
/// Certificates in the store before the issuance bench starts.
const PREFILL: u64 = 50_000;
/// The DER size of a device certificate as the CA makes it.
const DER_LEN: usize = 560;

static NEXT_DEVICE: AtomicU64 = AtomicU64::new(1);
static NEXT_NONCE: AtomicU64 = AtomicU64::new(1);

/// Times `f`: process CPU time where known, else wall time.
async fn timed<F: std::future::Future>(f: F) -> Duration {
    let (cpu, wall) = (live_threads_time(), Instant::now());
    black_box(f.await);
    match (cpu, live_threads_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall.elapsed(),
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A store with its serial key, handing out new certificates the way the CA does.
struct Fixture {
    store: CaDb,
    cipher: SerialCipher,
    user: UserId,
}

impl Fixture {
    fn open(rt: &Runtime, db: Database) -> Self {
        rt.block_on(async {
            let store = CaDb::open(db).await.unwrap();
            let mut candidate = [0u8; 16];
            OsEntropy.fill(&mut candidate);
            let key = store.serial_key(candidate).await.unwrap();
            Fixture { store, cipher: SerialCipher::new(&key), user: UserId::from_u128(7) }
        })
    }

    /// `n` new certificates, each for a new device of `user`, numbered from the store.
    async fn news(&self, n: u64, user: UserId) -> Vec<NewCertificate> {
        let first = self.store.reserve_certificate_ids(n as u32).await.unwrap();
        let now = Timestamp::from_unix_secs(1_800_000_000);
        (first..first + n)
            .map(|id| {
                let mut random = [0u8; SERIAL_RANDOM_LEN];
                OsEntropy.fill(&mut random);
                random[0] = random[0].clamp(1, 0x7f);
                let serial = self.cipher.serial(id, random).unwrap();
                let mut der = vec![0u8; DER_LEN];
                OsEntropy.fill(&mut der);
                let device = DeviceId::from_u128(u128::from(NEXT_DEVICE.fetch_add(1, Ordering::Relaxed)));
                let record = CertificateRecord {
                    serial,
                    user,
                    device,
                    fingerprint: Fingerprint::of(&der),
                    issuer_generation: 1,
                    not_before: now,
                    not_after: Timestamp::from_unix_secs(1_900_000_000),
                    issued_at: now,
                    status: CertStatus::Active,
                    replaces: None,
                    der,
                };
                let event = UsageEvent {
                    at: now,
                    kind: UsageKind::Issued,
                    serial: Some(serial),
                    user: Some(user),
                    failure: None,
                    detail: "identity proof sms_code_and_password".into(),
                };
                NewCertificate {
                    record,
                    id: Some(id),
                    plan: DevicePlan::Issue,
                    supersede: Vec::new(),
                    revoke: Vec::new(),
                    revoke_reason: RevocationReason::KeyCompromise,
                    events: vec![event],
                }
            })
            .collect()
    }

    async fn issue(&self, n: u64, user: UserId) -> Vec<CertSerial> {
        let news = self.news(n, user).await;
        let serials = news.iter().map(|c| c.record.serial).collect();
        for r in self.store.insert_certificates(news).await.unwrap() {
            r.unwrap();
        }
        serials
    }
}

fn open(on_file: bool, dir: &tempfile::TempDir, name: &str) -> Database {
    if on_file {
        Database::open_sqlite(dir.path().join(format!("{name}.sqlite"))).unwrap()
    } else {
        Database::open_in_memory().unwrap()
    }
}

/// The bench group: per row, 20 samples.
fn group(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("ca_store");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g
}

fn issuance(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = group(c);
    for (name, on_file) in [("issue_memory", false), ("issue_file", true)] {
        let rt = runtime();
        let f = Fixture::open(&rt, open(on_file, &dir, name));
        rt.block_on(async {
            for _ in 0..PREFILL / 256 {
                f.issue(256, f.user).await;
            }
        });
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut batches = Vec::new();
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(ISSUE_BATCH);
                        batches.push(f.news(n, f.user).await);
                        left -= n;
                    }
                    timed(async {
                        for news in batches {
                            black_box(f.store.insert_certificates(news).await.unwrap());
                        }
                    })
                    .await
                })
            })
        });
    }
    g.finish();
}

fn nonces(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = group(c);
    for (name, on_file) in [("nonces_memory", false), ("nonces_file", true)] {
        let rt = runtime();
        let f = Fixture::open(&rt, open(on_file, &dir, name));
        let payers: Vec<(UserId, CertSerial)> = rt.block_on(async {
            let mut payers = Vec::new();
            for u in 0..NONCE_BATCH {
                let user = UserId::from_u128(1_000 + u128::from(u));
                payers.push((user, f.issue(1, user).await[0]));
            }
            payers
        });
        let signed_at = Timestamp::from_unix_secs(1_800_000_000);
        let claims = |n: u64| -> Vec<NonceClaim> {
            (0..n)
                .map(|i| {
                    let (user, serial) = payers[(i % NONCE_BATCH) as usize];
                    let mut nonce = [0u8; 16];
                    nonce[..8].copy_from_slice(&NEXT_NONCE.fetch_add(1, Ordering::Relaxed).to_be_bytes());
                    NonceClaim {
                        user,
                        nonce: OrderNonce(nonce),
                        signed_at,
                        serial,
                        at: signed_at,
                        grace: Duration::from_secs(3600),
                        event: UsageEvent {
                            at: signed_at,
                            kind: UsageKind::OrderSigned,
                            serial: Some(serial),
                            user: Some(user),
                            failure: None,
                            detail: format!("order {i}"),
                        },
                    }
                })
                .collect()
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let batches: Vec<Vec<NonceClaim>> = (0..iters.div_ceil(NONCE_BATCH))
                    .map(|b| claims(NONCE_BATCH.min(iters - b * NONCE_BATCH)))
                    .collect();
                rt.block_on(timed(async {
                    for batch in batches {
                        black_box(f.store.accept_nonces(batch).await.unwrap());
                    }
                }))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, issuance, nonces);
criterion_main!(benches);
