//! The payment products of the wallet on top of the ledger engine: top-up and withdrawal through a
//! bank, payments to merchants (by account or QR code), transfers between users, refunds, red
//! packets, fees, risk review, and abnormal-transaction cases. [`Payments`] is the service.
//!
//! # The model
//!
//! - **The ledger behind a port.** The products reach the ledger only through [`LedgerPort`]: create
//!   accounts and transfers (one result code per event, linked chains all-or-nothing), look up
//!   accounts and transfers, freeze, set debit limits, expire pending transfers. [`MemoryLedger`]
//!   implements it over an in-memory [`LedgerState`](crate::LedgerState) (tests, examples);
//!   [`DurableLedger`](crate::DurableLedger) implements the same calls on SQLite or PostgreSQL (what the
//!   `qianbao` facade runs on).
//! - **A chart of accounts per currency.** Users' wallets and merchants' accounts (may not go
//!   negative, keep history), and the operator's fee income, bank settlement, red-packet escrow and
//!   suspense ([`AccountKind`]). The mapping (owner, kind, currency) → account is recorded in the
//!   payments store; account ids are derived from it, so opening a wallet twice opens it once.
//! - **Each product is a pure decision** (`plan.rs`) that turns a request into one linked chain of
//!   transfers — pending where money is held (the bank working, a risk review) — whose ids derive
//!   from the client's [`IdempotencyKey`] with a keyed hash ([`IdDeriver`]). A retry maps to the same
//!   payment and the same transfers, and the ledger answers `exists`: money never moves twice.
//! - **Fees** come from the [`FeeSchedule`](crate::FeeSchedule) of the currency, in the same chain,
//!   borne by the payer (on top) or the payee (deducted) as [`FeeBearers`] configure. Refunds return
//!   them by the schedule's rule.
//! - **Risk** ([`crate::risk`]) runs before every payment and transfer with the counters and history
//!   the store holds; every decision is recorded with its reasons. Allow → posted; review → held
//!   pending until an operator releases or rejects it (or its hold times out); block →
//!   [`PaymentError::Blocked`] and nothing moves. The counters are updated once the payment is accepted.
//! - **Engine results become typed refusals**: `exceeds_credits` → [`PaymentError::InsufficientFunds`],
//!   `debit_account_frozen` → [`PaymentError::AccountFrozen`], `exceeds_debit_limit` →
//!   [`PaymentError::LimitReached`], `id_already_failed` → [`PaymentError::AlreadyFailed`].
//!
//! # Crash safety: the order of writes
//!
//! The payments store and the ledger are written in an order that never loses money nor lets more go
//! out than allowed, whatever the point a process stops at:
//!
//! 1. **Record first.** A payment is recorded as `submitting` (with every transfer it will make) before
//!    its transfers are submitted. A refund is recorded *and its amount reserved on the payment* in one
//!    conditional update (the totals read must be unchanged, the total stays within the amount paid)
//!    before its transfers are submitted: two racing refunds cannot both pass the cap, and a refund
//!    that stops half-way reserves more than moved, never less. A red packet's claim takes its share
//!    in the store (the share index advances only if nobody took it; a receiver is unique per packet)
//!    before the share moves.
//! 2. **Then the ledger**, with ids derived from the record: a second submission gets `exists`.
//! 3. **Then the state** (`completed`, `held`, ...), conditional on the state read.
//!
//! A retry of the same request — or [`Payments::recover`] for payments, and a retried claim, send or
//! resolution for the others — picks up a record left in between and submits the same transfers, so
//! it converges. When the ledger *refuses* a recorded payment, the record is removed (a refund gives
//! its reservation back): a refusal leaves the payments store as it was.
//!
//! # Known limits
//!
//! - A free fee allowance is read when a request is quoted and counted when it completes: two
//!   requests of one user at the same moment can both use its last free part.
//! - A claim whose transfer the ledger refuses (the receiver's wallet closed) gives its share back to
//!   the sender at expiry; if the packet had already been returned, that share stays in escrow for an
//!   operator.
//! - A bank movement confirmed by the bank whose post the ledger then refuses (the wallet was
//!   closed meanwhile) stays held; reconciliation logs it at every pass until an operator acts.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_core::{Currency, DigestKey, ManualClock, Money, SeededEntropy, Timestamp, UserId};
//! use qianbao_ledger::bank::{CardToken, ScriptedBank};
//! use qianbao_ledger::payments::*;
//! use qianbao_ledger::qr::{KeyId, QrCodec, QrConfig, QrKeyring};
//! use qianbao_ledger::LedgerConfig;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let ledger = MemoryLedger::new(LedgerConfig::default(), clock.clone());
//! let store = PaymentsDb::open(qianbao_store::Database::open_in_memory()?).await?;
//! let key = || DigestKey::new(&[7; 32]).unwrap();
//! let qr = QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("1")?, key()))?;
//! let bank = Arc::new(ScriptedBank::new()); // confirms everything
//! let config = PaymentsConfig::default_for(Currency::CNY);
//! let payments = Payments::open(ledger, store, config, PaymentsKeys::new(key(), qr), bank, clock,
//!     Arc::new(SeededEntropy::new(1))).await?;
//!
//! let (alice, shop) = (UserId::from_u128(1), MerchantId::from_u128(2));
//! payments.open_wallet(alice, Currency::CNY).await?;
//! let shop_account = payments.open_merchant(shop, Currency::CNY).await?;
//! let cny = |s| Money::parse(s, Currency::CNY);
//!
//! let top_up = BankTransfer { user: alice, card: CardToken::new("tok_1"), amount: cny("100.00")?,
//!     key: IdempotencyKey::new("t-1")? };
//! assert_eq!(payments.top_up(top_up).await?.state, PaymentState::Completed);
//!
//! let pay = MerchantPayment { payer: alice, merchant_account: shop_account, amount: cny("30.00")?,
//!     order_ref: Some("A-1".into()), device: None, key: IdempotencyKey::new("p-1")? };
//! let paid = payments.pay_merchant(pay.clone()).await?;
//! // The same request again is recognised: the same payment, nothing moves twice.
//! assert_eq!(payments.pay_merchant(pay).await?.id, paid.id);
//! assert_eq!(payments.wallet_balance(alice, Currency::CNY).await?.credit_balance(), Some(70_00));
//!
//! // Two partial refunds; a third beyond the amount paid is refused.
//! let refund = |amount, key| RefundRequest { merchant: shop, payment: paid.id, amount, key };
//! payments.refund(refund(cny("10.00")?, IdempotencyKey::new("r-1")?)).await?;
//! payments.refund(refund(cny("15.00")?, IdempotencyKey::new("r-2")?)).await?;
//! let over = payments.refund(refund(cny("5.01")?, IdempotencyKey::new("r-3")?)).await;
//! assert!(matches!(over, Err(PaymentError::RefundExceedsPayment { .. })));
//! assert_eq!(payments.wallet_balance(alice, Currency::CNY).await?.credit_balance(), Some(95_00));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bank_flow;
mod cases;
mod config;
mod error;
mod fees;
mod ids;
mod model;
mod pay;
mod plan;
mod port;
mod red_packets;
mod refund;
mod service;
pub mod store;

pub use bank_flow::BankTransfer;
pub use cases::{AbnormalReport, CASE_REASON_LEN_MAX, CaseAction};
pub use config::{CurrencySetup, FeeBearers, PaymentsConfig, PaymentsKeys};
pub use error::PaymentError;
pub use ids::{IDEMPOTENCY_KEY_LEN_MAX, IdDeriver, IdempotencyKey, MerchantId, PaymentId};
pub use model::{
    AccountKind, CancelReason, Case, CaseEvent, CaseState, ChartEntry, DecisionRecord, FeeBearer, Hold, Leg, Owner,
    PacketStatus, Payment, PaymentKind, PaymentState, RedPacketView, Resolution, ReversalSource,
};
pub use pay::{MerchantPayment, QrPayment, UserTransfer};
pub use port::{LedgerPort, MemoryLedger};
pub use red_packets::SendRedPacket;
pub use refund::RefundRequest;
pub use service::Payments;
pub use store::{PaymentsDb, PaymentsStore};
