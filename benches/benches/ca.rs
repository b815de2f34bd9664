//! Certificate-authority benches, with the raw P-256 baselines measured in the same run (DESIGN.md §6):
//!
//! - `raw/*`: one ECDSA P-256 / SHA-256 verification with ring and with p256, one signing with ring; the
//!   ring ones again as `raw_mid/*` (after issuance) and `raw_end/*` (at the end), all three counted
//!   into one raw rate, so the ratios do not depend on the minute the raw rate was measured in;
//! - `issue/*`: issuance from a device CSR (CSR signature check, CA signature, the record and its usage
//!   event written), one at a time on in-memory SQLite, 64 at a time in memory and 256 at a time on a
//!   durable SQLite file (WAL, synchronous=FULL);
//! - `verify/*`: a cached certificate alone, and a cached certificate plus a signed payment order (status,
//!   freshness, signature, the nonce made durable with its usage event), one at a time and many at a
//!   time (64 in memory, 256 on a file).
//!
//! After every criterion call of an issuance or order bench, a quarter as many raw operations of its
//! baseline (one verification plus one signing, or one verification) run on the bench thread, timed by
//! the wall clock while nothing else of the process runs (as the raw benches are): the "paired" ratio
//! compares each rate with the raw rate of the same seconds, which on a shared machine moves by ±10%
//! from one minute to the next. (A thread's CPU clock read from `/proc/thread-self/schedstat` is not
//! used: it is brought up to date only when the thread is switched or at a tick, so a short run read
//! just after the thread woke up is undercounted by up to a tick — measured, it made the raw rates
//! paired with the one-at-a-time benches up to 40% too fast.)
//!
//! At the end it prints each rate against its target: issuance ≥ 0.8 × the raw rate of one verification
//! plus one signing; signed-order verification ≥ 0.8 × the raw verification rate — both with ring, the
//! fastest backend in the tree. Each rate is shown by wall clock and by CPU time of the whole process
//! (every thread, the SQLite writer's included), so a figure taken on a busy shared machine can still
//! be compared with its baseline. The async benches run on a current-thread tokio runtime (one core; the
//! SQLite writer is its own thread). Run: `cargo bench -p qianbao-bench --bench ca`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qianbao::Database;
use qianbao::core::{AccountId, Clock, Currency, DeviceId, Money, OsEntropy, SystemClock, TransferId, UserId};
use qianbao::qianbao_ca::{
    CaConfig, CaDb, CertificateAuthority, DeviceKey, IdentityProof, IdentityProofMethod, IssuedCertificate,
    KeyEncryptionKey, LocalKeyCustody, OrderNonce, PaymentOrder, SignedOrder,
};
use qianbao_bench::cpu::process_time;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use tokio::runtime::Runtime;

/// How many requests are in flight at once in the concurrent in-memory benches.
const CONCURRENCY: u64 = 64;
/// In flight at once on a durable file: a commit (fsync) takes milliseconds here, so keeping the CPU busy
/// while one batch is being made durable takes more requests in flight (Little's law).
const CONCURRENCY_FILE: u64 = 256;

/// Wall time, process CPU time and elements of each bench over every criterion call (warm-up included),
/// for the summary.
static TOTALS: Mutex<BTreeMap<String, (Duration, Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Measures one criterion call: wall time from `start`, CPU time of the whole process (every thread:
/// the bench thread, the SQLite writer, tokio's blocking pool; [`process_time`], in ticks of 10 ms).
///
/// On a shared machine the wall-clock rate of a bench depends on what else runs at that moment, the
/// CPU-time rate much less: the summary shows both, and the CPU ratio is the stricter one for the
/// issuance and order benches, whose SQLite writer thread works in parallel with the bench thread.
struct Meter {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Meter {
    fn start() -> Self {
        Meter { cpu: process_time(), wall: Instant::now() }
    }

    /// Ends the measurement: notes `n` elements under `name` and returns the wall time (or `wall` when
    /// the caller timed the wall clock itself).
    fn stop(self, name: &str, n: u64, wall: Option<Duration>) -> Duration {
        let wall = wall.unwrap_or_else(|| self.wall.elapsed());
        let cpu = match (self.cpu, process_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        };
        let mut t = TOTALS.lock().unwrap();
        let e = t.entry(name.to_string()).or_default();
        e.0 += wall;
        e.1 += cpu;
        e.2 += n;
        wall
    }
}

/// The raw ring work of the baselines: ECDSA P-256 / SHA-256 over a fixed message.
struct Raw {
    rng: SystemRandom,
    key: EcdsaKeyPair,
    public: signature::UnparsedPublicKey<Vec<u8>>,
    sig: Vec<u8>,
}

impl Raw {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = key.public_key().as_ref().to_vec();
        let sig = key.sign(&rng, MESSAGE).unwrap().as_ref().to_vec();
        let public = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public);
        Raw { rng, key, public, sig }
    }

    fn verify(&self) {
        self.public.verify(black_box(MESSAGE), black_box(&self.sig)).unwrap();
    }

    fn sign(&self) {
        black_box(self.key.sign(&self.rng, black_box(MESSAGE)).unwrap());
    }

    /// Runs `n` raw operations of the baseline of bench `name` on this thread (one verification plus,
    /// with `sign`, one signing each) and notes them under `paired/<name>`.
    fn paired(&self, name: &str, n: u64, sign: bool) {
        let meter = Meter::start();
        for _ in 0..n {
            self.verify();
            if sign {
                self.sign();
            }
        }
        meter.stop(&format!("paired/{name}"), n, None);
    }
}

/// Raw operations per second paired with bench `name`, by the wall clock.
fn paired_rate(name: &str) -> Option<f64> {
    rate(&format!("paired/{name}")).map(|(wall, _)| wall)
}

/// Elements per second of a bench from the totals: (by wall time, by process CPU time).
fn rate(name: &str) -> Option<(f64, Option<f64>)> {
    let t = TOTALS.lock().unwrap();
    let (wall, cpu, n) = *t.get(name)?;
    if n == 0 || wall.is_zero() {
        return None;
    }
    let per = |d: Duration| n as f64 / d.as_secs_f64();
    Some((per(wall), (!cpu.is_zero()).then(|| per(cpu))))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn authority(rt: &Runtime, db: Database) -> CertificateAuthority {
    rt.block_on(async {
        let store = CaDb::open(db).await.unwrap();
        let custody = Arc::new(LocalKeyCustody::new(KeyEncryptionKey::new(&[7; 32]).unwrap()));
        CertificateAuthority::open(store, custody, CaConfig::default(), Arc::new(SystemClock), Arc::new(OsEntropy))
            .await
            .unwrap()
    })
}

const MESSAGE: &[u8; 88] = &[0x5a; 88];

/// The raw baselines, measured three times in a run (before issuance, between issuance and verification,
/// at the end) into the same totals: on this kind of machine the raw rate moves by ±7% between minutes of
/// one quiet hour, and a ratio to one early measurement moved with it.
fn raw(c: &mut Criterion) {
    raw_group(c, "raw", true);
}

/// The raw ring baselines again (see [`raw`]); p256, which no ratio uses, only once.
fn raw_mid(c: &mut Criterion) {
    raw_group(c, "raw_mid", false);
}

/// The raw ring baselines at the end (see [`raw`]).
fn raw_end(c: &mut Criterion) {
    raw_group(c, "raw_end", false);
}

fn raw_group(c: &mut Criterion, group: &str, with_p256: bool) {
    let raw = Raw::new();
    let p256_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(raw.public.as_ref()).unwrap();
    let p256_sig = p256::ecdsa::DerSignature::try_from(raw.sig.as_slice()).unwrap();

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("ring_p256_verify", |b| {
        b.iter_custom(|iters| {
            let meter = Meter::start();
            for _ in 0..iters {
                raw.verify();
            }
            meter.stop("raw/ring_p256_verify", iters, None)
        })
    });
    g.bench_function("ring_p256_sign", |b| {
        b.iter_custom(|iters| {
            let meter = Meter::start();
            for _ in 0..iters {
                raw.sign();
            }
            meter.stop("raw/ring_p256_sign", iters, None)
        })
    });
    if !with_p256 {
        g.finish();
        return;
    }
    g.bench_function("p256_verify", |b| {
        use p256::ecdsa::signature::Verifier;
        b.iter_custom(|iters| {
            let meter = Meter::start();
            for _ in 0..iters {
                p256_key.verify(black_box(MESSAGE), black_box(&p256_sig)).unwrap();
            }
            meter.stop("raw/p256_verify", iters, None)
        })
    });
    g.finish();
}

/// Runs `iters` calls of `one(i)` on `rt`, `CONCURRENCY` at a time (or one at a time), and times them.
fn drive<F, Fut>(rt: &Runtime, iters: u64, concurrency: u64, one: F) -> Duration
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let one = Arc::new(one);
    rt.block_on(async move {
        let start = Instant::now();
        if concurrency <= 1 {
            for i in 0..iters {
                one(i).await;
            }
            return start.elapsed();
        }
        let next = Arc::new(AtomicU64::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency.min(iters.max(1)) {
            let (next, one) = (next.clone(), one.clone());
            workers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= iters {
                        return;
                    }
                    one(i).await;
                }
            });
        }
        while let Some(r) = workers.join_next().await {
            r.unwrap();
        }
        start.elapsed()
    })
}

static DEVICE: AtomicU64 = AtomicU64::new(1);

fn issuance(c: &mut Criterion) {
    let entropy = OsEntropy;
    // Shared, not copied per request: the harness's own work is not the CA's.
    let csr = Arc::new(DeviceKey::generate(&entropy).csr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let raw = Raw::new();
    let mut g = c.benchmark_group("issue");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    let cases: [(&'static str, &'static str, bool, u64); 3] = [
        ("memory_sequential", "issue/memory_sequential", false, 1),
        ("memory_64", "issue/memory_64", false, CONCURRENCY),
        ("file_256", "issue/file_256", true, CONCURRENCY_FILE),
    ];
    for (name, key, on_file, concurrency) in cases {
        let rt = runtime();
        let db = if on_file {
            Database::open_sqlite(dir.path().join(format!("{name}.sqlite"))).unwrap()
        } else {
            Database::open_in_memory().unwrap()
        };
        let ca = authority(&rt, db);
        let user = UserId::from_u128(1);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (ca, csr) = (ca.clone(), csr.clone());
                let meter = Meter::start();
                let elapsed = drive(&rt, iters, concurrency, move |_| {
                    let (ca, csr) = (ca.clone(), csr.clone());
                    async move {
                        let device = DeviceId::from_u128(u128::from(DEVICE.fetch_add(1, Ordering::Relaxed)));
                        let proof =
                            IdentityProof::new(user, SystemClock.now(), IdentityProofMethod::SmsCodeAndPassword);
                        black_box(ca.issue(&proof, device, &csr).await.unwrap());
                    }
                });
                let wall = meter.stop(key, iters, Some(elapsed));
                raw.paired(key, iters.div_ceil(4), true);
                wall
            })
        });
    }
    g.finish();
}

/// Signs orders for the device key with ring (the device side is not what is measured, and p256 signing
/// is five times slower).
struct OrderSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    user: UserId,
    next: AtomicU64,
}

impl OrderSigner {
    fn new(device: &DeviceKey, user: UserId) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = device.to_pkcs8_der().unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.secret_der(), &rng).unwrap();
        OrderSigner { key, rng, user, next: AtomicU64::new(1) }
    }

    fn orders(&self, n: u64) -> Arc<Vec<SignedOrder>> {
        let now = SystemClock.now();
        let orders = (0..n)
            .map(|_| {
                let k = self.next.fetch_add(1, Ordering::Relaxed);
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&k.to_be_bytes());
                let order = PaymentOrder {
                    payer: self.user,
                    payee: AccountId::from_u128(99),
                    amount: Money::from_minor(100, Currency::CNY),
                    order_id: TransferId::from_u128(u128::from(k)),
                    nonce: OrderNonce(nonce),
                    signed_at: now,
                };
                let signature = self.key.sign(&self.rng, &order.encode().unwrap()).unwrap().as_ref().to_vec();
                SignedOrder { order, signature }
            })
            .collect();
        Arc::new(orders)
    }
}

fn issued(rt: &Runtime, ca: &CertificateAuthority, device: &DeviceKey, user: UserId) -> IssuedCertificate {
    let proof = IdentityProof::new(user, SystemClock.now(), IdentityProofMethod::SmsCodeAndPassword);
    let d = DeviceId::from_u128(u128::from(DEVICE.fetch_add(1, Ordering::Relaxed)));
    rt.block_on(ca.issue(&proof, d, &device.csr().unwrap())).unwrap()
}

fn verification(c: &mut Criterion) {
    let entropy = OsEntropy;
    let dir = tempfile::tempdir().unwrap();
    let raw = Raw::new();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);

    // A cached certificate alone (chain verified once; status from the book).
    {
        let rt = runtime();
        let ca = authority(&rt, Database::open_in_memory().unwrap());
        let device = DeviceKey::generate(&entropy);
        let cert = issued(&rt, &ca, &device, UserId::from_u128(2)).certificate();
        rt.block_on(ca.verify_certificate(&cert)).unwrap();
        g.bench_function("cached_certificate", |b| {
            b.iter_custom(|iters| {
                let meter = Meter::start();
                let elapsed = rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(ca.verify_certificate(&cert).await.unwrap());
                    }
                    start.elapsed()
                });
                meter.stop("verify/cached_certificate", iters, Some(elapsed))
            })
        });
    }

    let cases: [(&'static str, &'static str, bool, u64); 4] = [
        ("order_memory_sequential", "verify/order_memory_sequential", false, 1),
        ("order_memory_64", "verify/order_memory_64", false, CONCURRENCY),
        ("order_file_sequential", "verify/order_file_sequential", true, 1),
        ("order_file_256", "verify/order_file_256", true, CONCURRENCY_FILE),
    ];
    for (name, key, on_file, concurrency) in cases {
        let rt = runtime();
        let db = if on_file {
            Database::open_sqlite(dir.path().join(format!("{name}.sqlite"))).unwrap()
        } else {
            Database::open_in_memory().unwrap()
        };
        let ca = authority(&rt, db);
        let user = UserId::from_u128(3);
        let device = DeviceKey::generate(&entropy);
        let cert = Arc::new(issued(&rt, &ca, &device, user).certificate());
        rt.block_on(ca.verify_certificate(&cert)).unwrap(); // cached from here on
        let signer = OrderSigner::new(&device, user);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let orders = signer.orders(iters);
                let (ca, cert) = (ca.clone(), cert.clone());
                let meter = Meter::start();
                let elapsed = drive(&rt, iters, concurrency, move |i| {
                    let (ca, cert, orders) = (ca.clone(), cert.clone(), orders.clone());
                    async move {
                        black_box(ca.verify_order(&cert, &orders[i as usize]).await.unwrap());
                    }
                });
                let wall = meter.stop(key, iters, Some(elapsed));
                raw.paired(key, iters.div_ceil(4), false);
                wall
            })
        });
    }
    g.finish();
}

fn summary(_: &mut Criterion) {
    let (Some((verify, verify_cpu)), Some((sign, sign_cpu))) =
        (rate("raw/ring_p256_verify"), rate("raw/ring_p256_sign"))
    else {
        println!("ca summary: run the raw benches too (no filter, or a filter matching `raw`) to see the ratios");
        return;
    };
    let both = |a: f64, b: f64| 1.0 / (1.0 / a + 1.0 / b);
    let issue_raw = both(verify, sign);
    let issue_raw_cpu = verify_cpu.zip(sign_cpu).map(|(v, s)| both(v, s));
    let cpu_col = |r: Option<f64>| r.map_or_else(|| "         -".to_string(), |r| format!("{r:>10.0}"));
    println!();
    println!("ca summary (mean over every criterion call of this run; wall clock, then process CPU time):");
    println!("                                        wall/s      cpu/s");
    println!("  raw ring P-256 verify             {verify:>10.0} {}", cpu_col(verify_cpu));
    println!("  raw ring P-256 sign               {sign:>10.0} {}", cpu_col(sign_cpu));
    if let Some((p, p_cpu)) = rate("raw/p256_verify") {
        println!("  raw p256 verify                   {p:>10.0} {}  ({:.2}x ring)", cpu_col(p_cpu), p / verify);
    }
    println!("  raw verify + sign (baseline)      {issue_raw:>10.0} {}", cpu_col(issue_raw_cpu));
    let verdict = |ratio: f64| if ratio >= 0.8 { "meets" } else { "MISSES" };
    let line = |name: &str, base: f64, base_cpu: Option<f64>| {
        let Some((r, r_cpu)) = rate(name) else { return };
        let mut out =
            format!("  {name:<32}  {r:>10.0} {}  wall {:.2}x {}", cpu_col(r_cpu), r / base, verdict(r / base));
        if let (Some(c), Some(b)) = (r_cpu, base_cpu) {
            out.push_str(&format!(", cpu {:.2}x {}", c / b, verdict(c / b)));
        }
        if let (Some(c), Some(p)) = (r_cpu, paired_rate(name)) {
            out.push_str(&format!(", paired {:.2}x {} (raw {p:.0}/s)", c / p, verdict(c / p)));
        }
        println!("{out}  (target 0.80x)");
    };
    for name in ["issue/memory_sequential", "issue/memory_64", "issue/file_256"] {
        line(name, issue_raw, issue_raw_cpu);
    }
    if let Some((r, r_cpu)) = rate("verify/cached_certificate") {
        println!("  verify/cached_certificate         {r:>10.0} {}  (no signature: status only)", cpu_col(r_cpu));
    }
    for name in [
        "verify/order_memory_sequential",
        "verify/order_memory_64",
        "verify/order_file_sequential",
        "verify/order_file_256",
    ] {
        line(name, verify, verify_cpu);
    }
}

criterion_group!(benches, raw, issuance, raw_mid, verification, raw_end, summary);
criterion_main!(benches);
