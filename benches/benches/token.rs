//! Token-service benches: cached access-token introspection (DESIGN.md §6 target: ≥ 1,000,000/s on one
//! core), uncached authentication and one-time-code verification on SQLite, and TOTP verification.
//!
//! Run: `cargo bench -p qianbao-bench --bench token`. Throughput is reported per element (1 token or code).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use qianbao::Database;
use qianbao::core::{Destination, DeviceId, DigestKey, OsEntropy, Outbox, PhoneNumber, SystemClock, Timestamp, UserId};
use qianbao::qianbao_token::{
    BearerToken, CodeCheck, CodeRequest, CodeSubject, DeviceInfo, OtpAlgorithm, OtpDigits, Purpose, SessionRequest,
    TokenConfig, TokenDb, Tokens, TotpParams, otp,
};

/// Polls a future that is expected to finish without waiting (a cache hit never touches the store).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected a cache hit that completes without waiting"),
    }
}

fn service(rt: &tokio::runtime::Runtime, outbox: &Outbox) -> Tokens {
    let mut config = TokenConfig::default();
    config.code_resend_interval = std::time::Duration::ZERO;
    config.code_daily_cap = u32::MAX;
    config.introspection_cache_ttl = std::time::Duration::from_secs(3600);
    rt.block_on(async {
        let store = TokenDb::open(Database::open_in_memory().unwrap()).await.unwrap();
        Tokens::new(
            store,
            config,
            DigestKey::new(&[9; 32]).unwrap(),
            Arc::new(SystemClock),
            Arc::new(OsEntropy),
            Arc::new(outbox.clone()),
        )
        .unwrap()
    })
}

fn login(rt: &tokio::runtime::Runtime, tokens: &Tokens, n: u128) -> BearerToken {
    let req = SessionRequest {
        user: UserId::from_u128(n),
        device: DeviceInfo { id: DeviceId::from_u128(n), name: "bench".into(), address: None },
        scope: "wallet pay".into(),
        client_id: None,
        binding: None,
    };
    rt.block_on(tokens.create_session(req)).unwrap().access_token
}

fn introspection(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outbox = Outbox::new();
    let tokens = service(&rt, &outbox);
    // 10,000 live sessions, all cached; the bench cycles through them.
    let access: Vec<BearerToken> = (0..10_000).map(|n| login(&rt, &tokens, n)).collect();
    for t in &access {
        rt.block_on(tokens.authenticate(t.expose(), None)).unwrap();
    }
    let mut g = c.benchmark_group("token");
    g.throughput(Throughput::Elements(1));
    // Reference in the same run: one keyed digest (HMAC-SHA-256 with key set-up) of a token string, the
    // primitive every uncached look-up needs.
    let key = DigestKey::new(&[9; 32]).unwrap();
    g.bench_function("reference_digest_key_hmac", |b| {
        b.iter(|| black_box(key.digest("bench", black_box(access[0].expose().as_bytes()))))
    });
    let mut i = 0usize;
    g.bench_function("authenticate_cached", |b| {
        b.iter(|| {
            i = (i + 1) % access.len();
            black_box(ready(tokens.authenticate(black_box(access[i].expose()), None)).unwrap())
        })
    });
    // The same with a working set that stays in the CPU caches (100 live tokens).
    g.bench_function("authenticate_cached_hot100", |b| {
        b.iter(|| {
            i = (i + 1) % 100;
            black_box(ready(tokens.authenticate(black_box(access[i].expose()), None)).unwrap())
        })
    });
    g.bench_function("introspect_cached_rfc7662", |b| {
        b.iter(|| {
            i = (i + 1) % access.len();
            black_box(ready(tokens.introspect(black_box(access[i].expose()))).unwrap())
        })
    });
    let uncached = {
        let mut config = TokenConfig::default();
        config.introspection_cache_ttl = std::time::Duration::ZERO;
        let store = tokens.store().clone();
        Tokens::new(
            store,
            config,
            DigestKey::new(&[9; 32]).unwrap(),
            Arc::new(SystemClock),
            Arc::new(OsEntropy),
            Arc::new(outbox.clone()),
        )
        .unwrap()
    };
    g.bench_function("authenticate_uncached_sqlite", |b| {
        b.iter(|| {
            i = (i + 1) % access.len();
            black_box(rt.block_on(uncached.authenticate(access[i].expose(), None)).unwrap())
        })
    });
    g.finish();
}

fn codes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outbox = Outbox::new();
    let tokens = service(&rt, &outbox);
    let mut g = c.benchmark_group("token");
    g.throughput(Throughput::Elements(1));
    let mut n = 0u32;
    g.bench_function("verify_code_sqlite", |b| {
        b.iter_batched(
            || {
                n += 1;
                let to = Destination::Phone(PhoneNumber::parse(&format!("139{:08}", n % 100_000_000)).unwrap());
                let subject = CodeSubject::User(UserId::from_u128(u128::from(n)));
                let req = CodeRequest { purpose: Purpose::Login, subject, destination: to.clone() };
                let ticket = rt.block_on(tokens.send_code(req)).unwrap();
                let body = outbox.drain().pop().unwrap().body;
                let at = body.find(" is ").unwrap() + 4;
                (ticket.id, subject, body[at..at + 6].to_string())
            },
            |(id, subject, code)| {
                let check = CodeCheck { id, purpose: Purpose::Login, subject, code: &code };
                black_box(rt.block_on(tokens.verify_code(check)).unwrap())
            },
            BatchSize::SmallInput,
        )
    });
    let params = TotpParams { algorithm: OtpAlgorithm::Sha1, digits: OtpDigits::SIX, step_secs: 30 };
    let secret = [7u8; 20];
    let at = Timestamp::from_unix_secs(1_800_000_000);
    let code = otp::totp(&secret, &params, at);
    g.bench_function("totp_match_window_1", |b| {
        b.iter(|| black_box(otp::totp_match(&secret, &params, at, 1, black_box(code.as_str()))))
    });
    g.finish();
}

criterion_group!(benches, introspection, codes);
criterion_main!(benches);
