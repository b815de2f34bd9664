//! A deterministic simulation: from a seed (`QIANBAO_SIM_SEED`, else random; printed on failure), ten
//! users (class II and class I accounts) and three merchants run random money journeys for
//! `QIANBAO_SIM_STEPS` steps (default [`STEPS`] on SQLite, [`STEPS_POSTGRES`] on PostgreSQL): payments, transfers, red packets and their claims,
//! top-ups, withdrawals, refunds, abnormal-transaction reports, operator freezes and reviews — with bad
//! input, retries with the same idempotency key, requests sent concurrently, and clock jumps across
//! days, past red-packet expiry and past the session lifetime (re-login or refresh). A model built from
//! the wallet's answers predicts every balance; every cap is checked before (a request over a cap must be
//! refused) and after. Halfway and at the end the wallet is dropped and opened again on the same
//! database (a SQLite file; a PostgreSQL schema when configured): every acknowledged payment is there
//! with its amount and state, every balance is the model's, money is conserved over the whole chart and
//! the journal chain verifies.
//!
//! The journeys a seed picks are deterministic; the interleaving of the concurrent requests is not (a
//! multi-threaded runtime), which the checks do not depend on.

mod journeys;
mod model;
mod others;
mod people;

use std::collections::BTreeSet;
use std::path::PathBuf;

use qianbao::core::{AccountId, CaseId, Money, UserId};
use qianbao::qianbao_identity::{ApplicationId, ContactValue};
use qianbao::qianbao_ledger::payments::MerchantId;
use qianbao::qianbao_token::TokenError;
use qianbao::*;

use self::model::{Caps, Model};
use self::people::Person;
use crate::support::*;

/// xorshift64*: small, deterministic, good enough to pick journeys.
pub struct Rng(u64);

impl Rng {
    /// Seeded through splitmix64 (every seed its own sequence; never the all-zero state).
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Prints the seed when the test fails.
struct SeedGuard(u64, &'static str);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("simulation on {} failed; replay with QIANBAO_SIM_SEED={}", self.1, self.0);
        }
    }
}

fn seed() -> u64 {
    match std::env::var("QIANBAO_SIM_SEED") {
        Ok(s) => s.trim().parse().expect("QIANBAO_SIM_SEED is a u64"),
        Err(_) => {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            t.as_nanos() as u64
        }
    }
}

/// Steps by default on SQLite and on PostgreSQL (each payment there is many more round trips);
/// `QIANBAO_SIM_STEPS` sets another count for both.
const STEPS: usize = 600;
const STEPS_POSTGRES: usize = 150;

fn steps(default: usize) -> usize {
    std::env::var("QIANBAO_SIM_STEPS")
        .ok()
        .map(|s| s.trim().parse().expect("QIANBAO_SIM_STEPS is a count"))
        .unwrap_or(default)
}

/// Ten users: the first seven class II, the last three class I.
const USERS: usize = 10;
const CLASS_TWO: usize = 7;

/// Where the wallet's database lives, to open it again.
enum Opener {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Opener {
    async fn open(&self) -> Database {
        match self {
            Opener::Sqlite(path) => Database::open_sqlite(path).unwrap(),
            Opener::Postgres { url, schema } => {
                let options = qianbao_store::PgOptions::with_schema(schema.clone());
                Database::Postgres(qianbao_store::PgDb::connect(url, options).await.unwrap())
            }
        }
    }
}

/// A user of the simulation and their session.
pub struct SimUser {
    pub id: UserId,
    pub contact: ContactValue,
    pub device: u128,
    pub card: ApplicationId,
    pub class_one: bool,
    pub caller: Caller,
    pub refresh: String,
    pub expires: u64,
}

/// An acknowledged request, for retries.
#[derive(Clone)]
pub struct Done {
    pub user: usize,
    pub req: journeys::Req,
}

/// The simulation's state.
pub struct Sim {
    env: Option<Env>,
    opener: Opener,
    config: WalletConfig,
    people: Vec<Person>,
    generation: u64,
    seed: u64,
    pub rng: Rng,
    pub users: Vec<SimUser>,
    pub merchants: Vec<(MerchantId, AccountId)>,
    /// Each merchant's static QR code.
    pub qr_codes: Vec<String>,
    /// Every abnormal-transaction case opened (user, case).
    pub all_cases: Vec<(usize, CaseId)>,
    pub model: Model,
    pub caps: Caps,
    pub done: Vec<Done>,
    /// The user an operator froze, if any.
    pub frozen: Option<usize>,
    /// Open abnormal-transaction cases (their users' wallets are frozen for debits).
    pub cases: Vec<(usize, CaseId)>,
    pub debit_frozen: BTreeSet<usize>,
    /// Keys are never reused by accident.
    pub counter: u64,
    pub stats: std::collections::BTreeMap<&'static str, (u32, u32)>,
}

/// A merchant's profile for its QR code.
fn shop_profile(account: AccountId, n: u128) -> qianbao::qianbao_ledger::qr::MerchantProfile {
    use qianbao::qianbao_ledger::qr::{CountryCode, Mcc, MerchantProfile};
    MerchantProfile {
        account,
        name: format!("SIM SHOP {n}"),
        city: "BEIJING".into(),
        mcc: Mcc::parse("5814").unwrap(),
        country: CountryCode::CN,
        currency: qianbao::core::Currency::CNY,
        local_name: None,
        store_label: None,
        terminal_label: None,
    }
}

fn config() -> (WalletConfig, Caps) {
    let mut config = test_config();
    let caps = Caps { day: 30_000, class_i_total: 100_000, class_ii_year: 200_000 };
    config.policy.daily_cap_single_factor_minor = caps.day;
    config.policy.daily_cap_two_factors_minor = 2 * caps.day;
    config.identity.class_caps.class_i_total = Money::from_minor(caps.class_i_total, qianbao::core::Currency::CNY);
    config.identity.class_caps.class_ii_yearly = Money::from_minor(caps.class_ii_year, qianbao::core::Currency::CNY);
    config.tokens.access_ttl_secs = 2 * 3600;
    // Payments over CNY 180 are held for review; held payments wait for the simulated operator,
    // however far the clock jumps.
    use qianbao::qianbao_ledger::risk::{RiskAction, RiskCheck, RiskConfig, RiskRule};
    let setup = &mut config.payments.currencies[0];
    let mut risk = setup.risk.fields().clone();
    risk.rules.push(RiskRule::new(
        "sim-review-large",
        RiskAction::Review,
        RiskCheck::AmountAbove { max_minor: 18_000 },
    ));
    setup.risk = RiskConfig::new(risk).unwrap();
    config.payments = config.payments.with_review_hold_secs(0);
    (config, caps)
}

impl Sim {
    pub fn env(&self) -> &Env {
        self.env.as_ref().expect("a wallet is open")
    }

    pub fn now(&self) -> u64 {
        self.env().now().unix_secs()
    }

    pub fn key(&mut self) -> qianbao::qianbao_ledger::payments::IdempotencyKey {
        self.counter += 1;
        key(&format!("sim-{}", self.counter))
    }

    pub fn count(&mut self, what: &'static str, ok: bool) {
        let e = self.stats.entry(what).or_default();
        if ok { e.0 += 1 } else { e.1 += 1 }
    }

    async fn start(seed: u64, opener: Opener) -> Sim {
        let (config, caps) = config();
        let people = people::people(USERS);
        let env = people::open_env(opener.open().await, config.clone(), &people, seed).await;
        let mut model = Model::default();
        let mut users = Vec::new();
        for (i, p) in people.iter().enumerate() {
            env.advance(60);
            let class_one = i >= CLASS_TWO;
            let funding = if class_one { 80_000 } else { 300_000 };
            let device = 100 + i as u128;
            let (id, session, card, paid) = people::onboard(&env, p, !class_one, device, funding).await;
            model.acknowledge(&paid, model::Party::Bank, model::Party::User(id), false);
            if class_one {
                model.class_one.push(id);
            }
            let t = &session.tokens;
            users.push(SimUser {
                id,
                contact: phone(&p.phone),
                device,
                card,
                class_one,
                caller: session.caller(),
                refresh: t.refresh_token.expose().to_string(),
                expires: t.access_expires_at.unix_secs(),
            });
        }
        let (mut merchants, mut qr_codes) = (Vec::new(), Vec::new());
        for n in 0..3 {
            let (m, account) = env.merchant(500 + n).await;
            let code = env.wallet.operator("merchants").merchant_static_code(&shop_profile(account, n)).await.unwrap();
            merchants.push((m, account));
            qr_codes.push(code);
        }
        Sim {
            env: Some(env),
            opener,
            config,
            people,
            generation: 0,
            seed,
            rng: Rng::new(seed),
            users,
            merchants,
            qr_codes,
            all_cases: Vec::new(),
            model,
            caps,
            done: Vec::new(),
            frozen: None,
            cases: Vec::new(),
            debit_frozen: BTreeSet::new(),
            counter: 0,
            stats: Default::default(),
        }
    }

    /// Makes sure user `u` has a live session: past its lifetime the old access token is refused as
    /// expired, and the user refreshes (half the time) or logs in again.
    pub async fn session(&mut self, u: usize) -> Caller {
        let now = self.now();
        let user = &self.users[u];
        if now + 5 < user.expires {
            return user.caller.clone();
        }
        if now > user.expires + 1 {
            let r = self.env().wallet.balance(&user.caller).await;
            assert!(matches!(r, Err(WalletError::Token(TokenError::TokenExpired))), "an expired session: {r:?}");
        }
        self.renew(u).await;
        self.users[u].caller.clone()
    }

    /// A new session for `u`: by the refresh token when the coin says so and it works, else by login
    /// (waiting out the login throttle).
    pub async fn renew(&mut self, u: usize) {
        if self.rng.chance(50) {
            let refreshed = self.env().wallet.refresh(&self.users[u].refresh, None).await;
            if let Ok(t) = refreshed {
                self.count("refresh", true);
                let user = &mut self.users[u];
                user.caller = Caller::of(&t);
                user.refresh = t.refresh_token.expose().to_string();
                user.expires = t.access_expires_at.unix_secs();
                return;
            }
            self.count("refresh", false);
        }
        loop {
            let (contact, device) = (self.users[u].contact.clone(), self.users[u].device);
            match self.env().login(&contact, PASSWORD, device).await {
                Ok(LoginOutcome::Session(s)) => {
                    self.count("login", true);
                    let user = &mut self.users[u];
                    user.caller = s.caller();
                    user.refresh = s.tokens.refresh_token.expose().to_string();
                    user.expires = s.tokens.access_expires_at.unix_secs();
                    return;
                }
                Err(WalletError::Identity(qianbao::qianbao_identity::IdentityError::LoginThrottled {
                    retry_after_secs,
                })) => self.env().advance(retry_after_secs + 1),
                other => panic!("login failed: {other:?}"),
            }
        }
    }

    /// Drops the wallet and opens a new one on the same database, the clock where it was; then every
    /// check against the model.
    pub async fn reopen(&mut self) {
        let env = self.env.take().expect("a wallet is open");
        let now = env.now();
        drop(env);
        self.generation += 1;
        let db = self.opener.open().await;
        let entropy = self.seed ^ (self.generation << 56);
        let env = people::open_env(db, self.config.clone(), &self.people, entropy).await;
        env.clock.set(now);
        self.env = Some(env);
        self.check().await;
    }

    /// The wallet agrees with the model; every case opened is there; the frozen user is frozen.
    pub async fn check(&mut self) {
        let mut model = std::mem::take(&mut self.model);
        model.settle_packets(self.env()).await;
        model.check_caps(self.caps);
        model.check_wallet(self.env(), &self.merchants).await;
        self.model = model;
        for (u, case) in &self.all_cases {
            let c = self.env().wallet.payments().case(*case).await.expect("an opened case is recorded");
            assert_eq!(c.user, self.users[*u].id, "case {case}'s user");
        }
        let ops = self.env().wallet.operator("auditor");
        for (u, user) in self.users.iter().enumerate() {
            let status = ops.user(user.id).await.unwrap().status;
            let frozen = status == qianbao::qianbao_identity::UserStatus::Frozen;
            assert_eq!(frozen, self.frozen == Some(u), "user {u} is {status:?}");
        }
    }

    /// `u`'s balance (and available balance) is the model's.
    pub async fn check_user(&self, u: usize) {
        let id = self.users[u].id;
        let b = self.env().wallet.payments().wallet_balance(id, qianbao::core::Currency::CNY).await.unwrap();
        let expected = self.model.balance.get(&id).copied().unwrap_or(0);
        assert_eq!(b.credit_balance(), Some(i128::from(expected)), "user {u}'s balance");
        let held = self.model.held_out.get(&id).copied().unwrap_or(0);
        assert_eq!(b.available_credit(), Some(i128::from(expected - held)), "user {u}'s available balance");
    }
}

async fn simulate(seed: u64, opener: Opener, steps: usize) {
    let started = std::time::Instant::now();
    let mut sim = Sim::start(seed, opener).await;
    for step in 0..steps {
        journeys::step(&mut sim).await;
        if step == steps / 2 {
            sim.reopen().await;
        } else if step % 150 == 149 {
            sim.check().await;
        }
    }
    // Far past every packet's expiry: the sweeper returns the rest; then the final checks, on this
    // wallet and on one opened again.
    sim.env().advance(3 * 86_400);
    sim.env().wallet.operator("sweeper").expire_red_packets(10_000).await.unwrap();
    sim.check().await;
    others::check_caps_in_store(&sim).await;
    sim.reopen().await;
    journeys::retry_some(&mut sim, 20).await;
    sim.check().await;
    eprintln!(
        "simulation seed {seed}: {} users, {steps} steps, {} payments acknowledged, {} packets, {:?} in {:.1?}",
        sim.users.len(),
        sim.model.payments.len(),
        sim.model.packets.len(),
        sim.stats,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_journeys_on_a_sqlite_file() {
    let seed = seed();
    let _guard = SeedGuard(seed, "sqlite");
    let dir = tempfile::tempdir().unwrap();
    simulate(seed, Opener::Sqlite(dir.path().join("wallet.sqlite")), steps(STEPS)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_journeys_on_postgres() {
    let seed = seed();
    let _guard = SeedGuard(seed, "postgres");
    let Some(t) = qianbao_store::testing::postgres("simulation").await else { return };
    let schema = t.db.as_postgres().and_then(|pg| pg.schema()).expect("a test schema").to_string();
    let url = qianbao_store::testing::postgres_url().expect("the URL the schema came from");
    simulate(seed, Opener::Postgres { url, schema }, steps(STEPS_POSTGRES)).await;
    t.cleanup().await;
}
