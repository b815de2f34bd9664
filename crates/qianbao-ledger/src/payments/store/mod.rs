//! Storage of the payments layer: what the ledger engine does not hold. The [`PaymentsStore`] trait,
//! the records it moves, and [`PaymentsDb`], the store over a [`qianbao_store::Database`] (SQLite by
//! default, PostgreSQL with the `postgres` feature).
//!
//! Tables (component `payments`, see `schema.rs`): `pay_accounts` (the chart of accounts),
//! `pay_payments` (payments and refunds, with refund totals), `pay_transfers` (transfer id → payment),
//! `pay_fee_usage` (free allowances used), `pay_risk_subjects` (velocity counters and amount history,
//! versioned), `pay_known_devices`, `pay_blocked_payees`, `pay_risk_decisions`, `pay_red_packets` and
//! `pay_red_packet_claims` (a unique constraint per packet and receiver: claimed once), `pay_cases`
//! and `pay_case_events`.
//!
//! Every write is one transaction. Writes that must agree with the ledger are conditional (a state,
//! a version or an expected total in the `WHERE` clause), so a racing or repeated writer changes
//! nothing and learns it ([`UpdateOutcome`], [`ReserveOutcome`], [`ClaimOutcome`]). Each operation's
//! SQL is written once for both backends (`exec.rs`); `sqlite.rs` and `postgres.rs` run it.

mod cases;
mod exec;
mod packets;
mod payments;
#[cfg(feature = "postgres")]
mod postgres;
mod risk;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;

use qianbao_core::{AccountId, CaseId, Currency, DeviceId, Money, Timestamp, TransferId, UserId};
use qianbao_store::{Database, StoreError};
use serde::{Deserialize, Serialize};

use super::ids::{IdempotencyKey, PaymentId};
use super::model::{
    AccountKind, Case, CaseEvent, CaseState, ChartEntry, DecisionRecord, Owner, PacketStatus, Payment, PaymentState,
};
use crate::fee::{AllowanceUsage, FeeProduct};
use crate::redpacket::{Claim, RedPacketId, SplitMode};
use crate::risk::{AmountHistory, RecordedPayment, VelocityCounters};

pub(crate) use schema::MIGRATIONS;

/// Whether an insert created the record or found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted<T> {
    /// Created now.
    New,
    /// It existed (a retry, or a concurrent request won); the stored record.
    Existing(T),
}

/// How a conditional update came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Applied.
    Updated,
    /// The record was not in the expected state (another writer changed it first); nothing written.
    StateChanged,
    /// The risk counters were changed by a concurrent payment; nothing written: reload and retry.
    RiskStale,
}

/// A state change of a payment, with what is recorded with it in the same transaction.
#[derive(Debug, Clone)]
pub struct PaymentUpdate {
    /// The payment.
    pub id: PaymentId,
    /// The state code it must be in (e.g. `"submitting"`).
    pub from: &'static str,
    /// The new state.
    pub to: PaymentState,
    /// When.
    pub at: Timestamp,
    /// The bank's reference, when it answered.
    pub bank_reference: Option<String>,
    /// The risk counters after the payment was accepted.
    pub risk: Option<RiskWrite>,
    /// Fee allowance used by the payment.
    pub fee_usage: Option<FeeUsageWrite>,
    /// Transfer ids that now belong to the payment (its posts or voids).
    pub transfers: Vec<TransferId>,
}

/// The velocity counters and history of one risk subject (a user or a device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectState {
    /// Bumped by every write; 0 when nothing is stored yet.
    pub version: i64,
    /// The counters.
    pub counters: VelocityCounters,
    /// The history (empty for devices).
    pub history: AmountHistory,
}

/// What risk evaluation reads about a user and a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskState {
    /// The user's.
    pub user: SubjectState,
    /// The device's, when there is a device.
    pub device: Option<SubjectState>,
    /// Whether the user paid from this device before (true without a device).
    pub device_known: bool,
}

/// The risk state to write after an accepted payment, against the versions read.
#[derive(Debug, Clone)]
pub struct RiskWrite {
    /// The user.
    pub user: UserId,
    /// The user's version read.
    pub user_version: i64,
    /// The device and its version read.
    pub device: Option<(DeviceId, i64)>,
    /// The new counters and history ([`record_payment`](crate::risk::record_payment)).
    pub recorded: RecordedPayment,
    /// When.
    pub at: Timestamp,
}

/// Fee allowance used by one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeUsageWrite {
    /// Whose allowance.
    pub owner: Owner,
    /// The product.
    pub product: FeeProduct,
    /// The period (a day, month or year number, 0 for lifetime).
    pub period: i64,
    /// The transaction's amount, minor units.
    pub amount_minor: i64,
}

/// How reserving a refund came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// The refund is recorded and its amount reserved on the payment.
    Reserved,
    /// A refund with this id exists (a retry); the stored refund.
    Existing(Box<Payment>),
    /// The payment's refund totals or state changed since they were read; nothing written.
    Stale,
}

/// The immutable part of a stored red packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketBody {
    /// The id.
    pub id: RedPacketId,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
    /// The sender.
    pub sender: UserId,
    /// The whole amount.
    pub total: Money,
    /// The fee the sender paid on top.
    pub fee: Money,
    /// Equal or random.
    pub mode: SplitMode,
    /// The shares, in claim order (never shown to users before they are claimed).
    pub shares: Vec<Money>,
    /// Whether the sender may claim.
    pub sender_may_claim: bool,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at.
    pub expires_at: Timestamp,
}

/// Where a claim's money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// The share is the receiver's; its transfer is being submitted.
    Reserved,
    /// The money reached the receiver.
    Paid,
    /// The ledger refused the transfer (the receiver's wallet closed); the share goes back to the
    /// sender at expiry.
    Failed,
}

impl ClaimState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClaimState::Reserved => "reserved",
            ClaimState::Paid => "paid",
            ClaimState::Failed => "failed",
        }
    }
}

/// A claim with its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClaim {
    /// The claim.
    pub claim: Claim,
    /// Its state.
    pub state: ClaimState,
}

/// A stored red packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPacket {
    /// What does not change.
    pub body: PacketBody,
    /// Where it stands.
    pub status: PacketStatus,
    /// The claims, in share order.
    pub claims: Vec<StoredClaim>,
}

/// How reserving a claim came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The share is the receiver's.
    Reserved,
    /// The receiver claimed before; their claim.
    Existing(StoredClaim),
    /// The packet changed since it was read (another claim, expiry); nothing written.
    Stale,
}

/// What the payments layer stores beside the ledger. Every method is one transaction.
pub trait PaymentsStore: Send + Sync {
    /// Creates or upgrades the tables.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records an account of the chart unless (owner, kind, currency) has one; returns the stored entry.
    fn open_account(&self, entry: ChartEntry) -> impl Future<Output = Result<ChartEntry, StoreError>> + Send;
    /// The account of (owner, kind, currency).
    fn account_of(
        &self,
        owner: Owner,
        kind: AccountKind,
        currency: Currency,
    ) -> impl Future<Output = Result<Option<ChartEntry>, StoreError>> + Send;
    /// The chart entry of a ledger account.
    fn account(&self, id: AccountId) -> impl Future<Output = Result<Option<ChartEntry>, StoreError>> + Send;
    /// Every account of the chart in a currency.
    fn accounts(&self, currency: Currency) -> impl Future<Output = Result<Vec<ChartEntry>, StoreError>> + Send;

    /// Records a payment (state `submitting`) and its legs' transfer ids.
    fn insert_payment(&self, p: &Payment) -> impl Future<Output = Result<Inserted<Payment>, StoreError>> + Send;
    /// A payment.
    fn payment(&self, id: PaymentId) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;
    /// Changes a payment's state if it is in `update.from`, with what goes with it.
    fn update_payment(&self, update: PaymentUpdate) -> impl Future<Output = Result<UpdateOutcome, StoreError>> + Send;
    /// Removes a payment still `submitting` whose transfers the ledger refused (nothing of it exists).
    fn delete_submitting(&self, id: PaymentId) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records a refund (state `submitting`) and reserves its amount and fee on the original payment,
    /// if the payment is completed and its totals are still `(refunded, fee_refunded)`.
    fn reserve_refund(
        &self,
        refund: &Payment,
        refunded: Money,
        fee_refunded: Money,
    ) -> impl Future<Output = Result<ReserveOutcome, StoreError>> + Send;
    /// Removes a refund still `submitting` whose transfers the ledger refused, and gives its
    /// reservation back to the payment.
    fn release_refund(&self, refund: &Payment) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Payments in a state (oldest first).
    fn payments_in_state(
        &self,
        state: &'static str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;
    /// Payments where `owner` pays or is paid (newest first).
    fn payments_of(&self, owner: Owner, limit: u32) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;
    /// The refunds of a payment (oldest first).
    fn refunds_of(&self, id: PaymentId) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;
    /// The payment a transfer belongs to.
    fn payment_of_transfer(&self, id: TransferId)
    -> impl Future<Output = Result<Option<PaymentId>, StoreError>> + Send;
    /// Free allowance used in a period.
    fn fee_usage(
        &self,
        owner: Owner,
        product: FeeProduct,
        period: i64,
    ) -> impl Future<Output = Result<AllowanceUsage, StoreError>> + Send;

    /// The risk state of a user and a device.
    fn risk_state(
        &self,
        user: UserId,
        device: Option<DeviceId>,
    ) -> impl Future<Output = Result<RiskState, StoreError>> + Send;
    /// Appends a risk decision.
    fn record_decision(&self, d: &DecisionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The decisions made for a payment, oldest first.
    fn decisions(&self, payment: PaymentId) -> impl Future<Output = Result<Vec<DecisionRecord>, StoreError>> + Send;
    /// Puts a payee account on the block list (`Some(reason)`) or takes it off (`None`).
    fn set_payee_blocked(
        &self,
        account: AccountId,
        reason: Option<String>,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether a payee account is on the block list.
    fn payee_blocked(&self, account: AccountId) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that `user` uses `device` (the risk rules then treat it as known); idempotent.
    fn mark_device_known(
        &self,
        user: UserId,
        device: DeviceId,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a red packet (status `funding`).
    fn insert_packet(
        &self,
        body: &PacketBody,
    ) -> impl Future<Output = Result<Inserted<StoredPacket>, StoreError>> + Send;
    /// A red packet with its claims.
    fn packet(&self, id: RedPacketId) -> impl Future<Output = Result<Option<StoredPacket>, StoreError>> + Send;
    /// `funding` → `open` once the escrow holds the money, recording the fee allowance used.
    fn mark_funded(
        &self,
        id: RedPacketId,
        fee_usage: Option<FeeUsageWrite>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes a packet still `funding` whose funding the ledger refused.
    fn delete_funding(&self, id: RedPacketId) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives share `claim.share_index` to `claim.receiver` if the packet is open, unexpired at
    /// `claim.claimed_at` and still has `claim.share_index` claims; the receiver's uniqueness is a
    /// constraint of the table.
    fn reserve_claim(
        &self,
        id: RedPacketId,
        claim: &Claim,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;
    /// Moves a claim from `reserved` to `to`.
    fn settle_claim(
        &self,
        id: RedPacketId,
        share_index: u32,
        to: ClaimState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Packets to expire at `now`: open (or exhausted with refused claims) past their deadline, and
    /// those whose return is under way.
    /// The red packets `sender` created at or after `since`, newest first, at most `limit`.
    fn packets_sent_since(
        &self,
        sender: UserId,
        since: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RedPacketId>, StoreError>> + Send;
    /// The red packets due for a sweep (see `packets_due` of the store).
    fn packets_due(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RedPacketId>, StoreError>> + Send;
    /// `open`/`exhausted` → `returning` at `now` (at or after the deadline): no claim gets in after.
    fn begin_return(&self, id: RedPacketId, now: Timestamp) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// `returning` → `expired` with what went back.
    fn finish_return(&self, id: RedPacketId, returned: Money) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a case (state open) with its first event.
    fn insert_case(
        &self,
        case: &Case,
        event: &CaseEvent,
    ) -> impl Future<Output = Result<Inserted<Case>, StoreError>> + Send;
    /// A case.
    fn case(&self, id: CaseId) -> impl Future<Output = Result<Option<Case>, StoreError>> + Send;
    /// A user's cases, newest first.
    fn cases_of(&self, user: UserId) -> impl Future<Output = Result<Vec<Case>, StoreError>> + Send;
    /// Changes a case's state if it is in state code `from`, recording `event`.
    fn update_case(
        &self,
        id: CaseId,
        from: &'static str,
        to: &CaseState,
        event: &CaseEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Appends an event to a case.
    fn append_case_event(&self, id: CaseId, event: &CaseEvent) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A case's events, oldest first.
    fn case_events(&self, id: CaseId) -> impl Future<Output = Result<Vec<CaseEvent>, StoreError>> + Send;
    /// How many cases on an account are not resolved.
    fn unresolved_cases_on(&self, account: AccountId) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The payments store over the shared database.
#[derive(Debug, Clone)]
pub struct PaymentsDb {
    db: Database,
}

impl PaymentsDb {
    /// Wraps `db` and applies the payments migrations (component `payments`).
    pub async fn open(db: Database) -> Result<PaymentsDb, StoreError> {
        let store = PaymentsDb { db };
        store.migrate().await?;
        Ok(store)
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::corrupt(format!("encoding a payments record: {e}")))
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("decoding a payments record: {e}")))
}

pub(crate) fn limit_sql(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 10_000))
}

impl PaymentsStore for PaymentsDb {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.db.migrate(MIGRATIONS).await
    }

    async fn open_account(&self, entry: ChartEntry) -> Result<ChartEntry, StoreError> {
        payments::open_account(&self.db, entry).await
    }

    async fn account_of(
        &self,
        owner: Owner,
        kind: AccountKind,
        currency: Currency,
    ) -> Result<Option<ChartEntry>, StoreError> {
        payments::account_of(&self.db, owner, kind, currency).await
    }

    async fn account(&self, id: AccountId) -> Result<Option<ChartEntry>, StoreError> {
        payments::account(&self.db, id).await
    }

    async fn accounts(&self, currency: Currency) -> Result<Vec<ChartEntry>, StoreError> {
        payments::accounts(&self.db, currency).await
    }

    async fn insert_payment(&self, p: &Payment) -> Result<Inserted<Payment>, StoreError> {
        payments::insert_payment(&self.db, p).await
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        payments::payment(&self.db, id).await
    }

    async fn update_payment(&self, update: PaymentUpdate) -> Result<UpdateOutcome, StoreError> {
        payments::update_payment(&self.db, update).await
    }

    async fn delete_submitting(&self, id: PaymentId) -> Result<bool, StoreError> {
        payments::delete_submitting(&self.db, id).await
    }

    async fn reserve_refund(
        &self,
        refund: &Payment,
        refunded: Money,
        fee_refunded: Money,
    ) -> Result<ReserveOutcome, StoreError> {
        payments::reserve_refund(&self.db, refund, refunded, fee_refunded).await
    }

    async fn release_refund(&self, refund: &Payment) -> Result<bool, StoreError> {
        payments::release_refund(&self.db, refund).await
    }

    async fn payments_in_state(&self, state: &'static str, limit: u32) -> Result<Vec<Payment>, StoreError> {
        payments::payments_in_state(&self.db, state, limit).await
    }

    async fn payments_of(&self, owner: Owner, limit: u32) -> Result<Vec<Payment>, StoreError> {
        payments::payments_of(&self.db, owner, limit).await
    }

    async fn refunds_of(&self, id: PaymentId) -> Result<Vec<Payment>, StoreError> {
        payments::refunds_of(&self.db, id).await
    }

    async fn payment_of_transfer(&self, id: TransferId) -> Result<Option<PaymentId>, StoreError> {
        payments::payment_of_transfer(&self.db, id).await
    }

    async fn fee_usage(&self, owner: Owner, product: FeeProduct, period: i64) -> Result<AllowanceUsage, StoreError> {
        payments::fee_usage(&self.db, owner, product, period).await
    }

    async fn risk_state(&self, user: UserId, device: Option<DeviceId>) -> Result<RiskState, StoreError> {
        risk::risk_state(&self.db, user, device).await
    }

    async fn record_decision(&self, d: &DecisionRecord) -> Result<(), StoreError> {
        risk::record_decision(&self.db, d).await
    }

    async fn decisions(&self, payment: PaymentId) -> Result<Vec<DecisionRecord>, StoreError> {
        risk::decisions(&self.db, payment).await
    }

    async fn set_payee_blocked(
        &self,
        account: AccountId,
        reason: Option<String>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        risk::set_payee_blocked(&self.db, account, reason, at).await
    }

    async fn payee_blocked(&self, account: AccountId) -> Result<bool, StoreError> {
        risk::payee_blocked(&self.db, account).await
    }

    async fn mark_device_known(&self, user: UserId, device: DeviceId, at: Timestamp) -> Result<(), StoreError> {
        risk::mark_device_known(&self.db, user, device, at).await
    }

    async fn insert_packet(&self, body: &PacketBody) -> Result<Inserted<StoredPacket>, StoreError> {
        packets::insert_packet(&self.db, body).await
    }

    async fn packet(&self, id: RedPacketId) -> Result<Option<StoredPacket>, StoreError> {
        packets::packet(&self.db, id).await
    }

    async fn mark_funded(&self, id: RedPacketId, fee_usage: Option<FeeUsageWrite>) -> Result<bool, StoreError> {
        packets::mark_funded(&self.db, id, fee_usage).await
    }

    async fn delete_funding(&self, id: RedPacketId) -> Result<bool, StoreError> {
        packets::delete_funding(&self.db, id).await
    }

    async fn reserve_claim(&self, id: RedPacketId, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        packets::reserve_claim(&self.db, id, claim).await
    }

    async fn settle_claim(&self, id: RedPacketId, share_index: u32, to: ClaimState) -> Result<bool, StoreError> {
        packets::settle_claim(&self.db, id, share_index, to).await
    }

    async fn packets_sent_since(
        &self,
        sender: UserId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RedPacketId>, StoreError> {
        packets::packets_sent_since(&self.db, sender, since, limit).await
    }

    async fn packets_due(&self, now: Timestamp, limit: u32) -> Result<Vec<RedPacketId>, StoreError> {
        packets::packets_due(&self.db, now, limit).await
    }

    async fn begin_return(&self, id: RedPacketId, now: Timestamp) -> Result<bool, StoreError> {
        packets::begin_return(&self.db, id, now).await
    }

    async fn finish_return(&self, id: RedPacketId, returned: Money) -> Result<bool, StoreError> {
        packets::finish_return(&self.db, id, returned).await
    }

    async fn insert_case(&self, case: &Case, event: &CaseEvent) -> Result<Inserted<Case>, StoreError> {
        cases::insert_case(&self.db, case, event).await
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        cases::case(&self.db, id).await
    }

    async fn cases_of(&self, user: UserId) -> Result<Vec<Case>, StoreError> {
        cases::cases_of(&self.db, user).await
    }

    async fn update_case(
        &self,
        id: CaseId,
        from: &'static str,
        to: &CaseState,
        event: &CaseEvent,
    ) -> Result<bool, StoreError> {
        cases::update_case(&self.db, id, from, to, event).await
    }

    async fn append_case_event(&self, id: CaseId, event: &CaseEvent) -> Result<(), StoreError> {
        cases::append_case_event(&self.db, id, event).await
    }

    async fn case_events(&self, id: CaseId) -> Result<Vec<CaseEvent>, StoreError> {
        cases::case_events(&self.db, id).await
    }

    async fn unresolved_cases_on(&self, account: AccountId) -> Result<u64, StoreError> {
        cases::unresolved_cases_on(&self.db, account).await
    }
}
