//! Money in and out through a bank: the [`BankAdapter`] trait the payments layer calls to start a
//! top-up (debit a bound card) or a withdrawal (credit it), and [`ScriptedBank`], a deterministic test
//! double. A bank answers at once or later: a request may stay [`BankStatus::Pending`] until the bank
//! confirms or fails it (the service learns it by polling [`BankAdapter::status`] or from the bank's
//! callback). The ledger holds the money as a pending transfer meanwhile, posted or voided at the end.
//!
//! **Idempotency.** Every request carries a `request_id` — the id of the pending transfer it backs.
//! Starting the same request again returns its current status and moves no money twice; the same id
//! with different fields is [`BankError::RequestMismatch`]. A transport failure
//! ([`BankError::Unavailable`]) is safe to retry with the same id.
//!
//! ```
//! use qianbao_core::{Currency, Money, TransferId, UserId};
//! use qianbao_ledger::bank::*;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let bank = ScriptedBank::new();
//! bank.push(BankScript::StayPending);
//! let request = BankRequest {
//!     request_id: TransferId::from_u128(1),
//!     user: UserId::from_u128(7),
//!     card: CardToken::new("tok_6222"),
//!     amount: Money::parse("100.00", Currency::CNY)?,
//! };
//! let adapter: &dyn BankAdapter = &bank;
//! assert!(matches!(adapter.start_top_up(&request).await?, BankStatus::Pending { .. }));
//! // Later the bank confirms; polling sees it.
//! bank.settle(request.request_id, Settlement::Confirm)?;
//! assert!(matches!(adapter.status(request.request_id).await?, BankStatus::Confirmed { .. }));
//! // A retry of the same request moves nothing twice.
//! assert!(matches!(adapter.start_top_up(&request).await?, BankStatus::Confirmed { .. }));
//! assert_eq!(bank.confirmed_total(BankDirection::TopUp, Currency::CNY), request.amount);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use qianbao_core::{Currency, Money, TransferId, UserId};
use serde::{Deserialize, Serialize};

/// The opaque token a bank gave when the card was bound. Never a card number; printed masked.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardToken(String);

impl CardToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        CardToken(token.into())
    }

    /// The token, for the bank call.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String = self.0.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        write!(f, "CardToken(…{tail})")
    }
}

/// One money movement asked of the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankRequest {
    /// The idempotency key: the id of the pending transfer this movement backs.
    pub request_id: TransferId,
    /// Whose card.
    pub user: UserId,
    /// The bound card.
    pub card: CardToken,
    /// How much (positive).
    pub amount: Money,
}

/// Which way money moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankDirection {
    /// From the card into the wallet.
    TopUp,
    /// From the wallet to the card.
    Withdrawal,
}

/// Why the bank refused a movement (a final answer; the ledger voids the pending transfer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BankFailure {
    /// Not enough money on the card's account.
    InsufficientFunds,
    /// The card is closed, expired or unknown.
    CardInvalid,
    /// A bank-side limit was reached.
    LimitExceeded,
    /// Declined for another reason the bank gave.
    Declined(String),
}

/// Where a movement stands at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum BankStatus {
    /// Accepted, not final yet.
    Pending {
        /// The bank's reference.
        bank_reference: String,
    },
    /// Done: the money moved.
    Confirmed {
        /// The bank's reference.
        bank_reference: String,
    },
    /// Refused: no money moved.
    Failed {
        /// Why.
        reason: BankFailure,
    },
}

/// Why a bank call did not produce a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BankError {
    /// The bank could not be reached or timed out; retry with the same request id.
    #[error("bank unavailable: {0}; retry with the same request id")]
    Unavailable(String),
    /// The request id was used before with other fields or the other direction.
    #[error("request {request_id} was already used for a different movement")]
    RequestMismatch {
        /// The id.
        request_id: TransferId,
    },
    /// No movement with this id.
    #[error("no bank movement with request id {request_id}")]
    UnknownRequest {
        /// The id.
        request_id: TransferId,
    },
    /// The request is malformed (e.g. a non-positive amount) or the operation does not apply.
    #[error("invalid bank request: {0}")]
    InvalidRequest(String),
}

/// The future a [`BankAdapter`] returns.
pub type BankFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BankError>> + Send + 'a>>;

/// Moves money between bound bank cards and the wallet. Implementations talk to a bank or a payment
/// network; every method is idempotent by request id.
pub trait BankAdapter: Send + Sync + fmt::Debug {
    /// Starts debiting the card for a top-up.
    fn start_top_up<'a>(&'a self, request: &'a BankRequest) -> BankFuture<'a, BankStatus>;
    /// Starts crediting the card for a withdrawal.
    fn start_withdrawal<'a>(&'a self, request: &'a BankRequest) -> BankFuture<'a, BankStatus>;
    /// The current status of a movement started before.
    fn status(&self, request_id: TransferId) -> BankFuture<'_, BankStatus>;
}

/// What [`ScriptedBank`] does with the next new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankScript {
    /// Confirm at once.
    Confirm,
    /// Fail at once.
    Fail(BankFailure),
    /// Accept as pending; resolve later with [`ScriptedBank::settle`].
    StayPending,
    /// Answer [`BankError::Unavailable`] without recording the request (a retry is a new attempt).
    Unavailable,
}

/// How [`ScriptedBank::settle`] resolves a pending movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The money moved.
    Confirm,
    /// It did not.
    Fail(BankFailure),
}

/// One call the double received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCall {
    /// Which way (`None` for a status query).
    pub direction: Option<BankDirection>,
    /// The request id.
    pub request_id: TransferId,
}

#[derive(Debug)]
struct Movement {
    direction: BankDirection,
    request: BankRequest,
    status: BankStatus,
}

#[derive(Debug)]
struct State {
    script: VecDeque<BankScript>,
    default: BankScript,
    movements: BTreeMap<TransferId, Movement>,
    calls: Vec<BankCall>,
    next_reference: u64,
}

/// A deterministic bank for tests and examples: each new request takes the next scripted outcome
/// ([`push`](ScriptedBank::push)), or the default (confirm). Clones share state.
#[derive(Debug, Clone)]
pub struct ScriptedBank {
    state: Arc<Mutex<State>>,
}

impl Default for ScriptedBank {
    fn default() -> Self {
        Self::with_default(BankScript::Confirm)
    }
}

impl ScriptedBank {
    /// A bank that confirms everything unless scripted otherwise.
    pub fn new() -> Self {
        Self::default()
    }

    /// A bank whose unscripted requests get `default`.
    pub fn with_default(default: BankScript) -> Self {
        let state = State {
            script: VecDeque::new(),
            default,
            movements: BTreeMap::new(),
            calls: Vec::new(),
            next_reference: 1,
        };
        ScriptedBank { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues the outcome of the next new request.
    pub fn push(&self, script: BankScript) {
        self.lock().script.push_back(script);
    }

    /// Resolves a pending movement (the bank's later answer) and returns its new status.
    pub fn settle(&self, request_id: TransferId, settlement: Settlement) -> Result<BankStatus, BankError> {
        let mut state = self.lock();
        let m = state.movements.get_mut(&request_id).ok_or(BankError::UnknownRequest { request_id })?;
        let BankStatus::Pending { bank_reference } = &m.status else {
            return Err(BankError::InvalidRequest(format!("request {request_id} is not pending")));
        };
        m.status = match settlement {
            Settlement::Confirm => BankStatus::Confirmed { bank_reference: bank_reference.clone() },
            Settlement::Fail(reason) => BankStatus::Failed { reason },
        };
        Ok(m.status.clone())
    }

    /// Every call received, in order (retries included).
    pub fn calls(&self) -> Vec<BankCall> {
        self.lock().calls.clone()
    }

    /// How many distinct movements were recorded.
    pub fn movement_count(&self) -> usize {
        self.lock().movements.len()
    }

    /// The sum of confirmed movements one way in one currency.
    pub fn confirmed_total(&self, direction: BankDirection, currency: Currency) -> Money {
        let state = self.lock();
        let minor = state
            .movements
            .values()
            .filter(|m| m.direction == direction && m.request.amount.currency() == currency)
            .filter(|m| matches!(m.status, BankStatus::Confirmed { .. }))
            .map(|m| m.request.amount.minor())
            .fold(0i64, i64::saturating_add);
        Money::from_minor(minor, currency)
    }

    fn start(&self, direction: BankDirection, request: &BankRequest) -> Result<BankStatus, BankError> {
        let mut state = self.lock();
        let request_id = request.request_id;
        state.calls.push(BankCall { direction: Some(direction), request_id });
        if let Some(m) = state.movements.get(&request_id) {
            return if m.direction == direction && m.request == *request {
                Ok(m.status.clone())
            } else {
                Err(BankError::RequestMismatch { request_id })
            };
        }
        if !request.amount.is_positive() {
            return Err(BankError::InvalidRequest(format!("amount {} is not positive", request.amount)));
        }
        let script = state.script.pop_front().unwrap_or_else(|| state.default.clone());
        let bank_reference = format!("SB{:08}", state.next_reference);
        let status = match script {
            BankScript::Confirm => BankStatus::Confirmed { bank_reference },
            BankScript::Fail(reason) => BankStatus::Failed { reason },
            BankScript::StayPending => BankStatus::Pending { bank_reference },
            BankScript::Unavailable => return Err(BankError::Unavailable("scripted outage".into())),
        };
        state.next_reference += 1;
        state.movements.insert(request_id, Movement { direction, request: request.clone(), status: status.clone() });
        Ok(status)
    }
}

impl BankAdapter for ScriptedBank {
    fn start_top_up<'a>(&'a self, request: &'a BankRequest) -> BankFuture<'a, BankStatus> {
        let result = self.start(BankDirection::TopUp, request);
        Box::pin(async move { result })
    }

    fn start_withdrawal<'a>(&'a self, request: &'a BankRequest) -> BankFuture<'a, BankStatus> {
        let result = self.start(BankDirection::Withdrawal, request);
        Box::pin(async move { result })
    }

    fn status(&self, request_id: TransferId) -> BankFuture<'_, BankStatus> {
        let mut state = self.lock();
        state.calls.push(BankCall { direction: None, request_id });
        let result =
            state.movements.get(&request_id).map(|m| m.status.clone()).ok_or(BankError::UnknownRequest { request_id });
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests;
