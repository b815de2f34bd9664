//! The narrow interface the payment products use to reach the ledger: [`LedgerPort`], and
//! [`MemoryLedger`], its implementation over an in-memory engine.
//!
//! The port says exactly what the engine's results say — one result code per account or transfer,
//! looked-up rows, and the ids a sweep expired — and nothing an in-memory ledger alone could promise.
//! Timestamps are the ledger's business: it stamps requests from its own clock.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use qianbao_core::{AccountId, Clock, TransferId};

use crate::{
    Account, CreateAccountResult, CreateTransferResult, DebitLimit, LedgerConfig, LedgerError, LedgerState, NewAccount,
    NewTransfer, Transfer,
};

/// What the payment products need from a ledger. Every method is one request to the ledger; a batch is
/// decided as a whole (linked chains all-or-nothing) and, for a durable ledger, durable when the call
/// returns. Batches hold at most [`BATCH_EVENTS_MAX`](crate::BATCH_EVENTS_MAX) events.
pub trait LedgerPort: Send + Sync {
    /// Creates accounts: one result per request, in order (`exists` for an identical account).
    fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> impl Future<Output = Result<Vec<CreateAccountResult>, LedgerError>> + Send;

    /// Creates transfers: one result per request, in order (`exists` for an identical retry). Results
    /// are the engine's: an `exists` fails the rest of its linked chain, so a chain applied before
    /// answers `exists` for its first event and `linked_event_failed` for the others.
    fn create_transfers(
        &self,
        transfers: &[NewTransfer],
    ) -> impl Future<Output = Result<Vec<CreateTransferResult>, LedgerError>> + Send;

    /// The accounts with these ids that exist, in the order asked (missing ids are left out).
    fn lookup_accounts(&self, ids: &[AccountId]) -> impl Future<Output = Result<Vec<Account>, LedgerError>> + Send;

    /// The transfers with these ids that exist, in the order asked (missing ids are left out).
    fn lookup_transfers(&self, ids: &[TransferId]) -> impl Future<Output = Result<Vec<Transfer>, LedgerError>> + Send;

    /// Freezes an account for debits, or unfreezes it ([`LedgerError::AccountNotFound`] if missing).
    fn set_frozen(&self, id: AccountId, frozen: bool) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Replaces an account's debit limits ([`LedgerError::AccountNotFound`] if missing).
    fn set_debit_limits(
        &self,
        id: AccountId,
        limits: Vec<DebitLimit>,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Voids pending transfers whose timeout has passed (at most one batch per call) and returns
    /// their ids; call again while a full batch came back.
    fn expire_pending(&self) -> impl Future<Output = Result<Vec<TransferId>, LedgerError>> + Send;
}

/// A [`LedgerPort`] over a complete in-memory [`LedgerState`] behind a mutex, stamped by an injected
/// clock. Nothing survives the process: for tests, examples and embedding where the ledger lives
/// elsewhere in memory. Clones share the ledger.
#[derive(Debug, Clone)]
pub struct MemoryLedger {
    state: Arc<Mutex<LedgerState>>,
    clock: Arc<dyn Clock>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new(config: LedgerConfig, clock: Arc<dyn Clock>) -> Self {
        MemoryLedger { state: Arc::new(Mutex::new(LedgerState::new(config))), clock }
    }

    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        // A panic inside the engine is an invariant failure that already stopped the batch; the state
        // it left is the last consistent one (decisions roll back through their undo log).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the state (reads for tests and reports: every account, every transfer).
    pub fn with_state<R>(&self, f: impl FnOnce(&LedgerState) -> R) -> R {
        f(&self.lock())
    }
}

impl LedgerPort for MemoryLedger {
    async fn create_accounts(&self, accounts: &[NewAccount]) -> Result<Vec<CreateAccountResult>, LedgerError> {
        let now = self.clock.now();
        Ok(self.lock().create_accounts(accounts, now)?.results)
    }

    async fn create_transfers(&self, transfers: &[NewTransfer]) -> Result<Vec<CreateTransferResult>, LedgerError> {
        let now = self.clock.now();
        Ok(self.lock().create_transfers(transfers, now)?.results)
    }

    async fn lookup_accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, LedgerError> {
        let state = self.lock();
        Ok(ids.iter().filter_map(|id| state.account(*id).copied()).collect())
    }

    async fn lookup_transfers(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, LedgerError> {
        let state = self.lock();
        Ok(ids.iter().filter_map(|id| state.transfer(*id).copied()).collect())
    }

    async fn set_frozen(&self, id: AccountId, frozen: bool) -> Result<(), LedgerError> {
        self.lock().set_frozen(id, frozen).map(|_| ())
    }

    async fn set_debit_limits(&self, id: AccountId, limits: Vec<DebitLimit>) -> Result<(), LedgerError> {
        self.lock().set_debit_limits(id, limits).map(|_| ())
    }

    async fn expire_pending(&self) -> Result<Vec<TransferId>, LedgerError> {
        let now = self.clock.now();
        Ok(self.lock().expire_pending(now)?.expired)
    }
}
