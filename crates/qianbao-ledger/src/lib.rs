//! The double-entry ledger of qianbao: accounts, transfers decided in batches in memory, two-phase
//! holds, linked chains, exact idempotency and debit limits. The model and its precision follow
//! TigerBeetle; storage (SQLite, PostgreSQL) is [`DurableLedger`], which persists what the engine
//! decided.
//!
//! # The model
//!
//! - An [`Account`] lives on one [`Ledger`] (one per currency: [`Ledger::CNY`]) and has four `u128`
//!   counters: `debits_pending`, `debits_posted`, `credits_pending`, `credits_posted`. Every balance
//!   derives from them ([`Balance`]): a user's wallet is credit-normal, its balance is
//!   `credits_posted - debits_posted` and `debits_pending` of it is reserved. Its [`AccountCode`] says
//!   what it is for (wallet, merchant, fee income, bank settlement, red-packet escrow, suspense) and its
//!   [`AccountFlags`] how it behaves (debits must not exceed credits, credits must not exceed debits,
//!   history, closed, frozen).
//! - A [`Transfer`] debits one account and credits another of the same ledger by `amount` (minor
//!   units: fen), for a [`TransferCode`] (top-up, payment, transfer, refund, fee, withdrawal, red
//!   packet, ...). Its id is chosen by the client and is the idempotency key. [`TransferFlags`] make it
//!   linked to the next one, pending (a hold), the post or void of a pending transfer, balancing (move
//!   at most `amount`, as much as the accounts allow) or closing (close an account, undone by a void).
//! - Money is never a float and never a bare sum: every counter addition is checked, and an overflow is
//!   a result code (`overflows_*`), not a panic.
//!
//! # Deciding
//!
//! A [`LedgerState`] holds accounts, transfer ids, pending transfers and limits. Three decisions run on
//! it, each for a whole batch (at most [`BATCH_EVENTS_MAX`] events) and each returning per-request results
//! plus the [`Changes`] a store must write in one database transaction:
//!
//! - [`LedgerState::create_accounts`] → [`AccountsOutcome`] with a [`CreateAccountResult`] per account;
//! - [`LedgerState::create_transfers`] → [`TransfersOutcome`] with a [`CreateTransferResult`] per
//!   transfer ([`create_transfers_into`](LedgerState::create_transfers_into) reuses buffers);
//! - [`LedgerState::expire_pending`] → [`ExpiryOutcome`]: every pending transfer whose
//!   `timestamp + timeout_secs` is at or before `now` is voided, exactly at its deadline.
//!
//! Plus [`set_frozen`](LedgerState::set_frozen), [`set_debit_limits`](LedgerState::set_debit_limits)
//! and reads: [`account`](LedgerState::account), [`transfer`](LedgerState::transfer),
//! [`pending_state`](LedgerState::pending_state), [`limit_status`](LedgerState::limit_status).
//!
//! Time is an argument: `now` comes from the caller's injected clock. Request `i` of a batch gets the
//! timestamp `max(now, last + 1) + i` nanoseconds, so timestamps are unique and strictly increase even if
//! the clock steps back.
//!
//! ## Results, in precedence order
//!
//! When several results apply, the first in [`CreateTransferResult::ALL`] is returned (TigerBeetle's
//! order). Idempotency comes early: a request whose id exists gets `exists` if every field matches, or
//! `exists_with_different_<field>` for the first field that differs. A request whose id first failed for a
//! state-dependent ([`transient`](CreateTransferResult::is_transient)) reason, such as `exceeds_credits`,
//! gets `id_already_failed` forever after, so that a retry can never flip an outcome the client saw.
//! Every rejection leaves accounts, transfers and limits as they were.
//!
//! ## Linked chains
//!
//! Requests with `LINKED` set form a chain with the next request; the chain's last request has it
//! clear. A chain is all-or-nothing: if one request fails, it keeps its own result and every other
//! request of the chain gets `linked_event_failed`; what the earlier ones did is undone through an undo
//! log (no copy of the state is made). A chain still open at the end of the batch fails with
//! `linked_event_chain_open`.
//!
//! ## Two-phase transfers
//!
//! A `PENDING` transfer reserves its amount (`debits_pending`, `credits_pending`) and, with a timeout,
//! expires at `timestamp + timeout_secs`. A `POST_PENDING_TRANSFER` posts all of it ([`AMOUNT_MAX`]) or
//! part of it (the rest is released); a `VOID_PENDING_TRANSFER` releases it. A pending transfer resolves
//! at most once; posting or voiding it at or after its deadline gets `pending_transfer_expired`.
//!
//! ## Limits
//!
//! [`DebitLimit`]s cap an account's debits with the transfer codes they name over a [`LimitWindow`]:
//! lifetime, calendar year or calendar day, with days starting at midnight in the configured UTC offset
//! ([`LedgerConfig`], default +08:00). This is how the facade applies the PBOC account-class caps
//! (class I: CNY 1,000 lifetime; class II: CNY 100,000 a year; class III: CNY 200,000 a year) and daily
//! caps. A pending debit counts when created; a void, an expiry or the unposted part of a post gives it
//! back to the window it was counted in. Exceeding a limit is `exceeds_debit_limit`; a balancing debit
//! is clamped to what the limits allow.
//!
//! # Storage: views
//!
//! A complete state ([`LedgerState::new`]) is the whole ledger in memory: the in-memory backend, tests
//! and benches use it directly. A store instead builds a *view* per request
//! ([`LedgerState::view`]) holding only what that request touches, all inside one database transaction:
//!
//! 1. ask the view what it [`Needs`] ([`needs_for_transfers`](LedgerState::needs_for_transfers),
//!    [`needs_for_accounts`](LedgerState::needs_for_accounts),
//!    [`needs_for_expiry`](LedgerState::needs_for_expiry)): account ids, and transfer ids to look up
//!    among transfers (with their [`PendingState`]) and remembered failures;
//! 2. load those rows ([`insert_account`](LedgerState::insert_account) with its limits,
//!    [`insert_transfer`](LedgerState::insert_transfer), [`insert_failed`](LedgerState::insert_failed)),
//!    then [`resolve`](LedgerState::resolve) the needs (what was not found does not exist), and ask
//!    again until nothing is needed (at most two rounds: the accounts of pending transfers come second);
//! 3. decide, write the [`Changes`], commit, and drop the view.
//!
//! A view refuses to decide while something it needs is missing ([`LedgerError::NotLoaded`]), and
//! decides exactly as the complete ledger would.
//!
//! # Invariants checked at run time
//!
//! Assertions that stay on in release builds: the counter changes of every batch balance (Σ debits
//! posted = Σ credits posted, and the same for pending), no pending counter goes negative, a counter
//! never overflows after the checks passed, a pending transfer never resolves twice. Breaking one is a
//! bug; the process stops rather than persist it.
//!
//! # Example
//!
//! ```
//! use qianbao_core::{AccountId, Currency, Timestamp, TransferId};
//! use qianbao_ledger::*;
//!
//! let (bank, alice, shop) = (AccountId::from_u128(1), AccountId::from_u128(2), AccountId::from_u128(3));
//! let now = Timestamp::from_unix_secs(1_780_000_000);
//! let mut ledger = LedgerState::new(LedgerConfig::default());
//!
//! let wallet = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
//! let accounts = [
//!     NewAccount::new(bank, Ledger::CNY, AccountCode::BANK_SETTLEMENT),
//!     NewAccount::new(alice, Ledger::CNY, AccountCode::WALLET).with_flags(wallet),
//!     NewAccount::new(shop, Ledger::CNY, AccountCode::MERCHANT).with_flags(wallet),
//! ];
//! assert!(ledger.create_accounts(&accounts, now)?.results.iter().all(|r| r.is_ok()));
//!
//! // Top up CNY 100, then hold CNY 30 for a payment that must complete within a minute.
//! let id = TransferId::from_u128;
//! let top_up = NewTransfer::new(id(1), bank, alice, 100_00, Ledger::CNY, TransferCode::TOP_UP);
//! let hold = NewTransfer::new(id(2), alice, shop, 30_00, Ledger::CNY, TransferCode::PAYMENT)
//!     .with_flags(TransferFlags::PENDING)
//!     .with_timeout_secs(60);
//! let out = ledger.create_transfers(&[top_up, hold], now)?;
//! assert_eq!(out.results, [CreateTransferResult::Ok, CreateTransferResult::Ok]);
//! // `out.changes` is what a store writes: two new transfers, a pending state, three accounts.
//! assert_eq!((out.changes.transfers.len(), out.changes.accounts_updated.len()), (2, 3));
//!
//! let balance = ledger.account(alice).unwrap().balance();
//! assert_eq!(balance.available_credit_money(Currency::CNY).unwrap().to_string(), "70.00 CNY");
//!
//! // Post CNY 25 of the hold; the other CNY 5 goes back. A retry of the post is recognised.
//! let post = NewTransfer::post(id(3), id(2), 25_00);
//! assert_eq!(ledger.create_transfers(&[post], now)?.results, [CreateTransferResult::Ok]);
//! assert_eq!(ledger.create_transfers(&[post], now)?.results, [CreateTransferResult::Exists]);
//! assert_eq!(ledger.account(alice).unwrap().balance().credit_balance(), Some(75_00));
//!
//! // Spending more than the balance is refused, and the id stays spent.
//! let greedy = NewTransfer::new(id(4), alice, shop, 1_000_00, Ledger::CNY, TransferCode::PAYMENT);
//! assert_eq!(ledger.create_transfers(&[greedy], now)?.results, [CreateTransferResult::ExceedsCredits]);
//! assert_eq!(ledger.create_transfers(&[greedy], now)?.results, [CreateTransferResult::IdAlreadyFailed]);
//!
//! // A class I account may spend CNY 1,000 in its lifetime.
//! let cap = DebitLimit {
//!     slot: 0,
//!     window: LimitWindow::Lifetime,
//!     codes: vec![TransferCode::PAYMENT, TransferCode::TRANSFER],
//!     amount_max: 1_000_00,
//! };
//! ledger.set_debit_limits(alice, vec![cap])?;
//! assert_eq!(ledger.limit_status(alice, now)[0].remaining_amount, 1_000_00);
//! # Ok::<(), LedgerError>(())
//! ```
//!
//! # Payments
//!
//! [`payments`] builds the wallet's products on the engine: top-up and withdrawal through a
//! [`BankAdapter`], payments to merchants (by account or scanned QR code), transfers, refunds, red
//! packets, fees, risk review and abnormal-transaction cases. Each product turns a request into one
//! linked chain of transfers whose ids derive from the client's idempotency key, so a retry moves
//! nothing twice. [`Payments`] reaches the ledger through [`LedgerPort`] ([`MemoryLedger`] in memory)
//! and keeps what the engine does not hold in [`PaymentsDb`] (SQLite or PostgreSQL).
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_core::{Currency, DigestKey, ManualClock, Money, SeededEntropy, Timestamp, UserId};
//! use qianbao_ledger::payments::*;
//! use qianbao_ledger::{bank::{CardToken, ScriptedBank}, qr::*, LedgerConfig};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let key = || DigestKey::new(&[7; 32]).unwrap();
//! let keys = PaymentsKeys::new(key(), QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("1")?, key()))?);
//! let payments = Payments::open(
//!     MemoryLedger::new(LedgerConfig::default(), clock.clone()),
//!     PaymentsDb::open(qianbao_store::Database::open_in_memory()?).await?,
//!     PaymentsConfig::default_for(Currency::CNY),
//!     keys,
//!     Arc::new(ScriptedBank::new()),
//!     clock,
//!     Arc::new(SeededEntropy::new(1)),
//! )
//! .await?;
//! let (alice, bob) = (UserId::from_u128(1), UserId::from_u128(2));
//! payments.open_wallet(alice, Currency::CNY).await?;
//! payments.open_wallet(bob, Currency::CNY).await?;
//! let cny = |s| Money::parse(s, Currency::CNY);
//! let card = CardToken::new("tok_1");
//! payments.top_up(BankTransfer { user: alice, card, amount: cny("50.00")?, key: IdempotencyKey::new("t1")? }).await?;
//! let gift = UserTransfer { from: alice, to: bob, amount: cny("8.88")?, device: None, key: IdempotencyKey::new("g1")? };
//! payments.transfer(gift.clone()).await?;
//! payments.transfer(gift).await?; // a retry: recognised, nothing moves twice
//! assert_eq!(payments.wallet_balance(bob, Currency::CNY).await?.credit_balance(), Some(888));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is deliberately absent
//!
//! Imported (back-dated) events and TigerBeetle's history queries: history and look-ups by account are
//! the store's job.
//!
//! # Durable storage
//!
//! [`DurableLedger`] runs the engine on a `qianbao_store::Database` (SQLite or PostgreSQL): concurrent
//! requests are gathered into groups, decided on one view and written in one transaction each (group
//! commit); every call returns after the commit. Each committed group is a link of a SHA-256 chain
//! ([`DurableLedger::verify_journal`]). It implements [`LedgerPort`], and answers history queries
//! ([`DurableLedger::account_transfers`], [`DurableLedger::balance_history`],
//! [`DurableLedger::spending`]). On SQLite one ledger owns the database (a second open, in this or
//! another process, is refused with `ErrorKind::InUse`); on PostgreSQL many instances share it. See
//! [`store`].
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_core::{AccountId, ManualClock, Timestamp, TransferId};
//! use qianbao_ledger::*;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let db = qianbao_store::Database::open_in_memory()?;
//! let ledger = DurableLedger::open(db, LedgerConfig::default(), clock).await?;
//! let (bank, alice) = (AccountId::from_u128(1), AccountId::from_u128(2));
//! ledger.create_accounts(&[
//!     NewAccount::new(bank, Ledger::CNY, AccountCode::BANK_SETTLEMENT),
//!     NewAccount::new(alice, Ledger::CNY, AccountCode::WALLET),
//! ]).await?;
//! let top_up = NewTransfer::new(TransferId::from_u128(9), bank, alice, 100_00, Ledger::CNY, TransferCode::TOP_UP);
//! assert_eq!(ledger.create_transfers(&[top_up]).await?, [CreateTransferResult::Ok]);
//! assert_eq!(ledger.create_transfers(&[top_up]).await?, [CreateTransferResult::Exists]);
//! assert!(ledger.verify_journal().await?.is_intact());
//! let page = ledger.account_transfers(alice, &TransferFilter::default(), None, 20).await?;
//! assert_eq!(page.transfers.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod accounts;
mod codes;
mod decide;
mod error;
mod expire;
mod flags;
mod index;
mod limit;
mod outcome;
mod result;
mod state;
pub mod store;
mod transfer;
mod view;

pub use account::{Account, AccountBalance, AccountUpdate, Balance, NewAccount};
pub use codes::{AccountCode, Ledger, TransferCode};
pub use error::LedgerError;
pub use flags::{AccountFlags, TransferFlags};
pub use limit::{
    AccountLimit, DebitLimit, LIMIT_CODES_MAX, LIMIT_SLOTS_MAX, LedgerConfig, LimitStatus, LimitUsage, LimitWindow,
};
pub use outcome::{
    AccountLimitSet, AccountsOutcome, Changes, ExpiryOutcome, FailedTransfer, LimitUsageChange, TransfersOutcome,
};
pub use result::{CreateAccountResult, CreateTransferResult};
pub use state::{BATCH_EVENTS_MAX, LedgerState, Needs};
pub use store::{
    BalancePage, Cursor, Direction, DurableLedger, JournalCheck, JournalHead, LedgerOptions, LedgerStore,
    SpendingReport, Total, TransferFilter, TransferPage,
};
pub use transfer::{AMOUNT_MAX, NewTransfer, PendingState, PendingStatus, Transfer};

#[cfg(test)]
mod test_support;

// payments building blocks
pub mod bank;
pub mod fee;
pub mod payments;
pub mod qr;
pub mod redpacket;
pub mod risk;

pub use bank::{BankAdapter, BankError, ScriptedBank};
pub use fee::{FeeError, FeeSchedule};
pub use payments::{LedgerPort, MemoryLedger, PaymentError, Payments, PaymentsDb};
pub use qr::{QrCodec, QrError};
pub use redpacket::{RedPacket, RedPacketError};
pub use risk::{RiskConfig, RiskDecision, RiskError};
