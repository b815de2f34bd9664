//! Ledger workloads (deterministic, from a seed) and the backends that run them.
//!
//! A backend is anything that can create accounts and decide batches of transfers; the throughput
//! harness times each batch. The in-memory backend runs the engine directly; storage backends (SQLite,
//! PostgreSQL, a one-transaction-per-transfer baseline) implement [`LedgerBackend`] the same way.

use std::error::Error;

use qianbao_core::{AccountId, Timestamp, TransferId};
use qianbao_ledger::{
    AccountCode, AccountFlags, Ledger, LedgerConfig, LedgerState, NewAccount, NewTransfer, TransferCode, TransferFlags,
    TransfersOutcome,
};

/// TigerBeetle's batch size, the one DESIGN.md §6 measures.
pub const BATCH: usize = 8_189;
/// The id of the bank settlement account that funds every wallet.
pub const BANK: u128 = 1;
/// What each wallet is funded with before the timed batches (minor units).
pub const FUNDING: u128 = 1_000_000_000_000;

/// An error from a backend.
pub type BackendError = Box<dyn Error + Send + Sync>;

/// Something that decides ledger batches.
pub trait LedgerBackend {
    /// Its name in the harness output (`memory`, `sqlite`, ...).
    fn name(&self) -> &'static str;
    /// Creates accounts; all must be created.
    fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<(), BackendError>;
    /// Decides a batch of transfers; returns how many were created.
    fn create_transfers(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError>;
    /// Applies the untimed funding transfers (a baseline may do it in bulk).
    fn fund(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        self.create_transfers(batch)
    }
    /// True for a baseline that only runs single-phase payments.
    fn payments_only(&self) -> bool {
        false
    }
}

/// The engine in memory: a complete [`LedgerState`] and a clock that advances 1 ms per batch.
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    state: LedgerState,
    now: Timestamp,
    out: TransfersOutcome,
}

impl MemoryBackend {
    /// An empty ledger with room for `accounts` accounts and `transfers` transfers.
    pub fn new(accounts: usize, transfers: usize) -> Self {
        MemoryBackend {
            state: LedgerState::with_capacity(LedgerConfig::default(), accounts, transfers),
            now: Timestamp::from_unix_secs(1_780_000_000),
            out: TransfersOutcome::default(),
        }
    }

    /// The ledger.
    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    /// Makes this backend a copy of `start` in its own memory (whose committed capacity it keeps, as
    /// `clone` would not).
    pub fn reset_to(&mut self, start: &MemoryBackend) {
        self.state.clone_from(&start.state);
        self.now = start.now;
    }

    fn tick(&mut self) -> Timestamp {
        self.now = self.now.saturating_add(std::time::Duration::from_millis(1));
        self.now
    }
}

impl LedgerBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<(), BackendError> {
        let now = self.tick();
        let out = self.state.create_accounts(batch, now)?;
        match out.results.iter().find(|r| !r.is_ok()) {
            Some(r) => Err(format!("account creation failed: {r}").into()),
            None => Ok(()),
        }
    }

    fn create_transfers(&mut self, batch: &[NewTransfer]) -> Result<usize, BackendError> {
        let now = self.tick();
        self.state.create_transfers_into(batch, now, &mut self.out)?;
        Ok(self.out.created())
    }
}

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// 128 random bits (never 0 or `u128::MAX` in practice).
    pub fn id(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }
}

/// The kinds of batches the harness times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Single-phase payments between random wallets.
    Payments,
    /// Two-phase: each batch holds pending payments and posts or voids those of the previous batch.
    TwoPhase,
}

impl Scenario {
    /// Its name in the harness output.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Payments => "payments",
            Scenario::TwoPhase => "two_phase",
        }
    }
}

/// Generates the batches of a scenario over wallets `2..2 + accounts`.
#[derive(Debug, Clone)]
pub struct Workload {
    accounts: u64,
    rng: Rng,
    previous_pending: Vec<TransferId>,
}

impl Workload {
    /// A workload over `accounts` wallets.
    pub fn new(accounts: u64, seed: u64) -> Self {
        Workload { accounts, rng: Rng::new(seed), previous_pending: Vec::new() }
    }

    /// The account requests: the bank, then the wallets.
    pub fn accounts(&self) -> Vec<NewAccount> {
        let bank = NewAccount::new(AccountId::from_u128(BANK), Ledger::CNY, AccountCode::BANK_SETTLEMENT);
        let wallets = (0..self.accounts).map(|i| {
            NewAccount::new(AccountId::from_u128(2 + u128::from(i)), Ledger::CNY, AccountCode::WALLET)
                .with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        });
        std::iter::once(bank).chain(wallets).collect()
    }

    /// Top-ups funding every wallet from the bank.
    pub fn funding(&mut self) -> Vec<NewTransfer> {
        (0..self.accounts)
            .map(|i| {
                let id = TransferId::from_u128(self.rng.id());
                let wallet = AccountId::from_u128(2 + u128::from(i));
                NewTransfer::new(id, AccountId::from_u128(BANK), wallet, FUNDING, Ledger::CNY, TransferCode::TOP_UP)
            })
            .collect()
    }

    fn wallet(&mut self) -> AccountId {
        AccountId::from_u128(2 + u128::from(self.rng.below(self.accounts)))
    }

    fn payment(&mut self) -> NewTransfer {
        let dr = self.wallet();
        let mut cr = self.wallet();
        while cr == dr {
            cr = self.wallet();
        }
        let amount = 1 + u128::from(self.rng.below(10_000));
        NewTransfer::new(TransferId::from_u128(self.rng.id()), dr, cr, amount, Ledger::CNY, TransferCode::PAYMENT)
    }

    /// Forgets the holds the next two-phase batch would resolve (after the ledger was reset).
    pub fn forget_pending(&mut self) {
        self.previous_pending.clear();
    }

    /// The next batch of `len` transfers of `scenario`.
    pub fn batch(&mut self, scenario: Scenario, len: usize) -> Vec<NewTransfer> {
        match scenario {
            Scenario::Payments => (0..len).map(|_| self.payment()).collect(),
            Scenario::TwoPhase => self.two_phase(len),
        }
    }

    /// Half new holds, half posts (3 in 4) or voids of the previous batch's holds.
    fn two_phase(&mut self, len: usize) -> Vec<NewTransfer> {
        let previous = std::mem::take(&mut self.previous_pending);
        let mut batch = Vec::with_capacity(len);
        for pending in previous.iter().take(len / 2) {
            let id = TransferId::from_u128(self.rng.id());
            batch.push(if self.rng.below(4) == 0 {
                NewTransfer::void(id, *pending)
            } else {
                NewTransfer::post(id, *pending, qianbao_ledger::AMOUNT_MAX)
            });
        }
        while batch.len() < len {
            let hold = self.payment().with_flags(TransferFlags::PENDING).with_timeout_secs(3_600);
            self.previous_pending.push(hold.id);
            batch.push(hold);
        }
        batch
    }
}

/// Creates the workload's accounts and funds them on a backend (untimed set-up).
pub fn set_up(backend: &mut dyn LedgerBackend, workload: &mut Workload) -> Result<(), BackendError> {
    for chunk in workload.accounts().chunks(BATCH) {
        backend.create_accounts(chunk)?;
    }
    for chunk in workload.funding().chunks(BATCH) {
        let created = backend.fund(chunk)?;
        if created != chunk.len() {
            return Err(format!("funding created {created} of {}", chunk.len()).into());
        }
    }
    Ok(())
}
