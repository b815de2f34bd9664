//! The data the payments layer records and returns: owners and kinds of accounts (the chart of
//! accounts), payments with their legs and states, red packets, risk decisions and cases.

use qianbao_core::{AccountId, CaseId, Currency, DeviceId, Money, Timestamp, TransferId, UserId};
use serde::{Deserialize, Serialize};

use super::ids::{IdempotencyKey, MerchantId, PaymentId};
use crate::bank::{BankFailure, CardToken};
use crate::redpacket::{Claim, RedPacketId, SplitMode};
use crate::risk::{FiredRule, RiskOutcome};
use crate::{AccountCode, AccountFlags, TransferCode};

/// Who owns an account, or who is on one side of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "owner", content = "id")]
pub enum Owner {
    /// The operator of the wallet (fee income, bank settlement, escrow, suspense).
    System,
    /// A wallet user.
    User(UserId),
    /// A merchant.
    Merchant(MerchantId),
}

impl Owner {
    /// 17 bytes: a tag and the id (how it is stored and hashed).
    pub fn to_bytes(self) -> [u8; 17] {
        let (tag, id) = match self {
            Owner::System => (0u8, [0u8; 16]),
            Owner::User(u) => (1, u.to_bytes()),
            Owner::Merchant(m) => (2, m.to_bytes()),
        };
        let mut out = [0u8; 17];
        out[0] = tag;
        out[1..].copy_from_slice(&id);
        out
    }

    /// From the stored bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Owner> {
        let id: [u8; 16] = b.get(1..17)?.try_into().ok()?;
        match (b.len(), b[0]) {
            (17, 0) if id == [0; 16] => Some(Owner::System),
            (17, 1) => Some(Owner::User(UserId::from_bytes(id))),
            (17, 2) => Some(Owner::Merchant(MerchantId::from_u128(u128::from_be_bytes(id)))),
            _ => None,
        }
    }
}

/// What an account of the chart is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A user's balance: may not go negative, keeps history.
    Wallet,
    /// A merchant's receiving account: may not go negative, keeps history.
    Merchant,
    /// The operator's fee income: may not go negative (fee refunds come out of it).
    FeeIncome,
    /// Money at the bank: debited by top-ups, credited by withdrawals (debit-normal).
    BankSettlement,
    /// Money of red packets until claimed or returned: may not go negative.
    RedPacketEscrow,
    /// Money advanced by the operator while a dispute is settled (may go either way).
    Suspense,
}

impl AccountKind {
    /// Every kind.
    pub const ALL: [AccountKind; 6] = [
        AccountKind::Wallet,
        AccountKind::Merchant,
        AccountKind::FeeIncome,
        AccountKind::BankSettlement,
        AccountKind::RedPacketEscrow,
        AccountKind::Suspense,
    ];

    /// The kinds the operator holds one of per currency.
    pub const SYSTEM: [AccountKind; 4] =
        [AccountKind::FeeIncome, AccountKind::BankSettlement, AccountKind::RedPacketEscrow, AccountKind::Suspense];

    /// The ledger account code.
    pub const fn code(self) -> AccountCode {
        match self {
            AccountKind::Wallet => AccountCode::WALLET,
            AccountKind::Merchant => AccountCode::MERCHANT,
            AccountKind::FeeIncome => AccountCode::FEE_INCOME,
            AccountKind::BankSettlement => AccountCode::BANK_SETTLEMENT,
            AccountKind::RedPacketEscrow => AccountCode::RED_PACKET_ESCROW,
            AccountKind::Suspense => AccountCode::SUSPENSE,
        }
    }

    /// The ledger account flags.
    pub const fn flags(self) -> AccountFlags {
        let no_overdraft = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
        match self {
            AccountKind::Wallet | AccountKind::Merchant => no_overdraft.with(AccountFlags::HISTORY),
            AccountKind::FeeIncome | AccountKind::RedPacketEscrow => no_overdraft,
            AccountKind::BankSettlement | AccountKind::Suspense => AccountFlags::NONE,
        }
    }

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccountKind::Wallet => "wallet",
            AccountKind::Merchant => "merchant",
            AccountKind::FeeIncome => "fee_income",
            AccountKind::BankSettlement => "bank_settlement",
            AccountKind::RedPacketEscrow => "red_packet_escrow",
            AccountKind::Suspense => "suspense",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The owner kind this account kind belongs to: wallets to users, merchant accounts to merchants,
    /// the rest to the operator.
    pub fn fits(self, owner: Owner) -> bool {
        match (self, owner) {
            (AccountKind::Wallet, Owner::User(_)) | (AccountKind::Merchant, Owner::Merchant(_)) => true,
            (AccountKind::Wallet | AccountKind::Merchant, _) => false,
            (_, owner) => owner == Owner::System,
        }
    }
}

/// One account of the chart: the stable mapping (owner, kind, currency) → ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartEntry {
    /// The ledger account.
    pub account: AccountId,
    /// Its owner.
    pub owner: Owner,
    /// What it is for.
    pub kind: AccountKind,
    /// Its currency.
    pub currency: Currency,
    /// When it was recorded.
    pub opened_at: Timestamp,
}

/// Which product a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Money in from a bound bank card.
    TopUp,
    /// Money out to a bound bank card.
    Withdrawal,
    /// A payment to a merchant.
    MerchantPayment,
    /// A transfer to another user.
    Transfer,
    /// A merchant's (or an operator's) refund of a merchant payment.
    Refund,
    /// An operator's reversal of a reported transfer (resolving a case).
    Reversal,
}

impl PaymentKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentKind::TopUp => "top_up",
            PaymentKind::Withdrawal => "withdrawal",
            PaymentKind::MerchantPayment => "merchant_payment",
            PaymentKind::Transfer => "transfer",
            PaymentKind::Refund => "refund",
            PaymentKind::Reversal => "reversal",
        }
    }

    /// The transfer code of the principal leg.
    pub const fn code(self) -> TransferCode {
        match self {
            PaymentKind::TopUp => TransferCode::TOP_UP,
            PaymentKind::Withdrawal => TransferCode::WITHDRAWAL,
            PaymentKind::MerchantPayment => TransferCode::PAYMENT,
            PaymentKind::Transfer => TransferCode::TRANSFER,
            PaymentKind::Refund => TransferCode::REFUND,
            PaymentKind::Reversal => TransferCode::REVERSAL,
        }
    }
}

/// Who bears a product's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeBearer {
    /// The payer pays the fee on top of the amount.
    Payer,
    /// The payee receives the amount less the fee (a merchant's service fee; a top-up fee deducted
    /// from what reaches the wallet).
    Payee,
}

/// Why money is held as pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// Until the bank confirms or fails the movement.
    Bank,
    /// Until an operator releases or rejects the payment (a risk review).
    Review,
}

/// Why a payment was cancelled (its pending transfers voided).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum CancelReason {
    /// The bank refused the movement.
    BankFailed {
        /// What the bank said.
        failure: BankFailure,
    },
    /// An operator rejected the payment under review.
    ReviewRejected {
        /// The operator's note.
        note: String,
    },
    /// The review hold expired before anyone released it.
    HoldExpired,
}

/// Where a payment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
#[non_exhaustive]
pub enum PaymentState {
    /// Recorded, its transfers being submitted (a retry or [`recover`](super::Payments::recover)
    /// finishes it). For a refund: the refunded amount is reserved on the payment.
    Submitting,
    /// Its transfers are pending.
    Held {
        /// Why.
        hold: Hold,
    },
    /// Done: the money moved.
    Completed,
    /// Cancelled: the pending transfers were voided, nothing moved.
    Cancelled {
        /// Why.
        cancel: CancelReason,
    },
}

impl PaymentState {
    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            PaymentState::Submitting => "submitting",
            PaymentState::Held { hold: Hold::Bank } => "held_bank",
            PaymentState::Held { hold: Hold::Review } => "held_review",
            PaymentState::Completed => "completed",
            PaymentState::Cancelled { .. } => "cancelled",
        }
    }
}

/// One ledger transfer a payment makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The transfer's id (derived from the payment's id).
    pub transfer_id: TransferId,
    /// The account debited.
    pub debit: AccountId,
    /// The account credited.
    pub credit: AccountId,
    /// How much.
    pub amount: Money,
    /// Why.
    pub code: TransferCode,
}

/// A payment: what was asked, the transfers it makes, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payment {
    /// Its id, derived from the requester and the idempotency key.
    pub id: PaymentId,
    /// The product.
    pub kind: PaymentKind,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
    /// Where it stands.
    pub state: PaymentState,
    /// Who pays (the operator's bank settlement for a top-up).
    pub payer: Owner,
    /// Who is paid (the operator's bank settlement for a withdrawal).
    pub payee: Owner,
    /// The amount of the payment (of the refund, for a refund).
    pub amount: Money,
    /// The fee charged (for a refund: the fee it returns).
    pub fee: Money,
    /// Who bore the fee.
    pub fee_bearer: FeeBearer,
    /// Refunded so far, reservations of refunds in flight included (payments only).
    pub refunded: Money,
    /// Fee returned by those refunds.
    pub fee_refunded: Money,
    /// For a refund: the payment it refunds.
    pub refund_of: Option<PaymentId>,
    /// The transfers, in order (a linked chain).
    pub legs: Vec<Leg>,
    /// Whether the legs are pending transfers (held for the bank or a review).
    pub pending: bool,
    /// For pending legs: seconds until the ledger voids them (zero = never).
    pub hold_timeout_secs: u32,
    /// The bank card of a top-up or withdrawal.
    pub card: Option<CardToken>,
    /// The bank's reference, once the bank answered.
    pub bank_reference: Option<String>,
    /// The merchant's order reference.
    pub order_ref: Option<String>,
    /// The device the payment came from.
    pub device: Option<DeviceId>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// When its state last changed.
    pub updated_at: Timestamp,
}

impl Payment {
    /// The legs' transfer ids.
    pub fn transfer_ids(&self) -> Vec<TransferId> {
        self.legs.iter().map(|l| l.transfer_id).collect()
    }

    /// What may still be refunded.
    pub fn refundable(&self) -> Money {
        Money::from_minor(self.amount.minor().saturating_sub(self.refunded.minor()), self.amount.currency())
    }

    /// True when the request fields of `other` are those of this payment (the idempotency check).
    pub(crate) fn same_request(&self, other: &Payment) -> bool {
        self.kind == other.kind
            && self.payer == other.payer
            && self.payee == other.payee
            && self.amount == other.amount
            && self.refund_of == other.refund_of
            && self.card == other.card
            && self.order_ref == other.order_ref
    }
}

/// One recorded risk decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The payment it was made for (the payment may not exist when it was blocked).
    pub payment: PaymentId,
    /// The paying user.
    pub user: UserId,
    /// When.
    pub at: Timestamp,
    /// Allow, review or block.
    pub outcome: RiskOutcome,
    /// Every rule that fired, with its reason.
    pub fired: Vec<FiredRule>,
}

/// Where a red packet stands in the payments store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum PacketStatus {
    /// Recorded, its funding being submitted.
    Funding,
    /// Funded; shares left to claim.
    Open,
    /// Every share claimed.
    Exhausted,
    /// Expired; the unclaimed rest being returned.
    Returning,
    /// Expired; `returned` went back to the sender.
    Expired {
        /// What went back.
        returned: Money,
    },
}

impl PacketStatus {
    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            PacketStatus::Funding => "funding",
            PacketStatus::Open => "open",
            PacketStatus::Exhausted => "exhausted",
            PacketStatus::Returning => "returning",
            PacketStatus::Expired { .. } => "expired",
        }
    }
}

/// A red packet as its sender and receivers see it (unclaimed shares are never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedPacketView {
    /// Its id.
    pub id: RedPacketId,
    /// The sender.
    pub sender: UserId,
    /// The whole amount.
    pub total: Money,
    /// The fee the sender paid on top.
    pub fee: Money,
    /// How many shares.
    pub count: u32,
    /// Equal or random.
    pub mode: SplitMode,
    /// The claims so far, in order.
    pub claims: Vec<Claim>,
    /// Where it stands.
    pub status: PacketStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The transfers that funded it (the amount into escrow, then the fee if any).
    pub funding: Vec<TransferId>,
}

/// A user's report of an abnormal transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Case {
    /// Its id, derived from the reporting user and the idempotency key.
    pub id: CaseId,
    /// Who reported.
    pub user: UserId,
    /// The transfer reported.
    pub transfer: TransferId,
    /// The wallet frozen for debits while the case is open.
    pub account: AccountId,
    /// The payment the transfer belongs to, when it is one.
    pub payment: Option<PaymentId>,
    /// The user's words.
    pub reason: String,
    /// Where it stands.
    pub state: CaseState,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Where a case stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CaseState {
    /// Open: the wallet is frozen for debits.
    Open,
    /// An operator's resolution is being carried out (a retry of it finishes it).
    Resolving {
        /// The resolution.
        resolution: Resolution,
    },
    /// Resolved.
    Resolved {
        /// How.
        resolution: Resolution,
    },
}

impl CaseState {
    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Resolving { .. } => "resolving",
            CaseState::Resolved { .. } => "resolved",
        }
    }
}

/// Where the money of a reversal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReversalSource {
    /// From the account the transfer credited (the merchant or the other user): refused if it no
    /// longer holds the money.
    Counterparty,
    /// From the operator's suspense account: the user is made whole now, the operator recovers the
    /// money from the counterparty outside the ledger's automatic flows.
    Suspense,
}

/// How an operator resolves a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum Resolution {
    /// The transfer is reversed: its amount (less what was refunded already) goes back to the user.
    Reversed {
        /// Where the money comes from.
        source: ReversalSource,
        /// The reversal's record (a payment of kind reversal).
        reversal: PaymentId,
        /// The amount returned.
        amount: Money,
    },
    /// The payment is refunded by the merchant (what is left of it, fees by rule).
    Refunded {
        /// The refund.
        refund: PaymentId,
        /// Its amount.
        amount: Money,
    },
    /// No money moves: the report was unfounded or settled elsewhere.
    Unfrozen,
}

/// One recorded change of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// When.
    pub at: Timestamp,
    /// What happened: `opened`, `frozen`, `resolving`, `resolved`, `unfrozen`, `reopened`.
    pub kind: String,
    /// Who: `user` or the operator's name.
    pub actor: String,
    /// Details (JSON).
    pub detail: String,
}
