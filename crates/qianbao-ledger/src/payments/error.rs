//! [`PaymentError`]: everything a payment product can refuse or fail with.

use qianbao_core::{AccountId, CaseId, Currency, Money, TransferId, UserId};

use super::ids::PaymentId;
use super::model::{PaymentKind, PaymentState};
use crate::bank::BankError;
use crate::fee::FeeError;
use crate::qr::QrError;
use crate::redpacket::{RedPacketError, RedPacketId};
use crate::risk::{FiredRule, RiskError};
use crate::{CreateAccountResult, CreateTransferResult, LedgerError};

/// Everything a payment product can refuse or fail with.
///
/// Groups: refusals of the request by the ledger (insufficient funds, frozen, limit reached — mapped
/// from the engine's result codes), by the building blocks (fees, red packets, QR codes, risk) and by
/// the payments layer itself (over-refund, duplicate claim, unknown merchant); idempotency conflicts;
/// storage and ledger failures; and bank failures. On every refusal nothing moved and the payments
/// store holds what it held before (except the record of the risk decision made on the request).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    // ---- refused by the ledger ----
    /// The debited account does not hold enough money.
    #[error("insufficient funds in account {account}")]
    InsufficientFunds {
        /// The account debited.
        account: AccountId,
    },
    /// The debited account is frozen (an abnormal-transaction report is open).
    #[error("account {account} is frozen for debits")]
    AccountFrozen {
        /// The account.
        account: AccountId,
    },
    /// A debit limit of the account (its class's cap, a daily cap) would be exceeded.
    #[error("account {account} reached a debit limit")]
    LimitReached {
        /// The account.
        account: AccountId,
    },
    /// An account of the payment is closed.
    #[error("account {account} is closed")]
    AccountClosed {
        /// The account.
        account: AccountId,
    },
    /// This request was refused before with the same idempotency key (the ledger remembers refused
    /// transfer ids); send a new request with a new key.
    #[error("this request was refused before; retry with a new idempotency key")]
    AlreadyFailed,
    /// The review hold expired before it was released.
    #[error("payment {payment}: the review hold expired")]
    HoldExpired {
        /// The payment.
        payment: PaymentId,
    },
    /// Another engine result (a bug or a corrupted plan: the ledger refused a transfer the payments
    /// layer built).
    #[error("the ledger refused transfer {transfer}: {result}")]
    LedgerRefused {
        /// The transfer.
        transfer: TransferId,
        /// The engine's result.
        result: CreateTransferResult,
    },
    /// The ledger refused an account of the chart.
    #[error("the ledger refused account {account}: {result}")]
    AccountRefused {
        /// The account.
        account: AccountId,
        /// The engine's result.
        result: CreateAccountResult,
    },

    // ---- refused by the building blocks ----
    /// The fee could not be computed.
    #[error(transparent)]
    Fee(#[from] FeeError),
    /// The red packet request or claim was refused (expired, claimed before, sold out, ...).
    #[error(transparent)]
    RedPacket(#[from] RedPacketError),
    /// The QR code is malformed, tampered with, expired or foreign.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// Risk evaluation could not run.
    #[error(transparent)]
    Risk(#[from] RiskError),
    /// The risk rules blocked the payment.
    #[error("payment blocked by risk rules: {}", rule_names(.fired))]
    Blocked {
        /// The payment it would have been.
        payment: PaymentId,
        /// The rules that fired, with their reasons.
        fired: Vec<FiredRule>,
    },

    // ---- refused by the payments layer ----
    /// The request is malformed (a non-positive amount, a bad key, an empty reason, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The same idempotency key was used before for a different request.
    #[error("idempotency key was used before for a different request ({0})")]
    IdempotencyConflict(String),
    /// The currency is not configured.
    #[error("currency {0} is not configured for payments")]
    UnsupportedCurrency(Currency),
    /// The amount is in another currency than expected.
    #[error("amount is in {found}, expected {expected}")]
    CurrencyMismatch {
        /// Expected.
        expected: Currency,
        /// Given.
        found: Currency,
    },
    /// The user has no wallet in the currency.
    #[error("user {user} has no {currency} wallet")]
    NoWallet {
        /// The user.
        user: UserId,
        /// The currency.
        currency: Currency,
    },
    /// The account is not a merchant account of this wallet.
    #[error("account {0} is not a merchant account of this wallet")]
    UnknownMerchant(AccountId),
    /// The fee would take the whole amount the payee receives.
    #[error("the fee {fee} leaves nothing of {amount} for the payee")]
    FeeExceedsAmount {
        /// The amount.
        amount: Money,
        /// The fee.
        fee: Money,
    },
    /// No payment with this id.
    #[error("no payment {0}")]
    PaymentNotFound(PaymentId),
    /// No red packet with this id.
    #[error("no red packet {0}")]
    RedPacketNotFound(RedPacketId),
    /// No case with this id.
    #[error("no case {0}")]
    CaseNotFound(CaseId),
    /// The refunds would exceed the amount paid.
    #[error("refund of {requested} exceeds the {refundable} still refundable")]
    RefundExceedsPayment {
        /// Asked.
        requested: Money,
        /// Still refundable (amount paid less refunds).
        refundable: Money,
    },
    /// A refund cannot be refunded.
    #[error("payment {0} is a refund; a refund cannot be refunded")]
    RefundOfRefund(PaymentId),
    /// Only completed merchant payments can be refunded.
    #[error("a {kind:?} in state {state} cannot be refunded")]
    NotRefundable {
        /// The payment's kind.
        kind: PaymentKind,
        /// Its state code.
        state: &'static str,
    },
    /// The payment is not in a state that allows the operation.
    #[error("payment {payment} is {state}; {operation} needs {expected}")]
    WrongState {
        /// The payment.
        payment: PaymentId,
        /// Its state code.
        state: &'static str,
        /// What was asked.
        operation: &'static str,
        /// The state it needs.
        expected: &'static str,
    },
    /// The merchant does not own the payment it asked to refund.
    #[error("payment {0} was not paid to this merchant")]
    NotPayee(PaymentId),
    /// The transfer cannot be reported by this user (not theirs, or not a debit of their wallet).
    #[error("transfer {0} is not a payment out of this user's wallet")]
    NotReportable(TransferId),
    /// The case is not open (resolved, or being resolved in another way).
    #[error("case {case} is {state}, not open")]
    CaseNotOpen {
        /// The case.
        case: CaseId,
        /// Its state code.
        state: &'static str,
    },
    /// A concurrent change kept winning; retry the request.
    #[error("the request lost {attempts} races with concurrent changes; retry it")]
    Contended {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The configuration is invalid.
    #[error("invalid payments configuration: {0}")]
    InvalidConfig(String),

    // ---- failures ----
    /// The bank could not be reached or refused the request's form; the payment stays held and
    /// [`reconcile_bank`](super::Payments::reconcile_bank) or a retry finishes it.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// The ledger failed.
    #[error("ledger failed: {0}")]
    Ledger(#[from] LedgerError),
    /// The payments store failed.
    #[error("payments store failed: {0}")]
    Store(#[from] qianbao_store::StoreError),
    /// A stored record broke an invariant (a bug or tampering).
    #[error("payments record is inconsistent: {0}")]
    Corrupt(String),
}

fn rule_names(fired: &[FiredRule]) -> String {
    fired.iter().map(|f| format!("{} ({})", f.rule, f.reason)).collect::<Vec<_>>().join(", ")
}

impl PaymentError {
    /// A refusal for the state of a payment.
    pub(crate) fn wrong_state(
        payment: PaymentId,
        state: &PaymentState,
        operation: &'static str,
        expected: &'static str,
    ) -> Self {
        PaymentError::WrongState { payment, state: state.code(), operation, expected }
    }
}

/// Reads the results of a linked chain: `Ok` when every transfer was created now or before (`ok` /
/// `exists`), else the typed refusal for the first real cause. `accounts[i]` are the debit and credit
/// accounts of transfer `i` (a post or void names them only through its pending transfer).
pub(crate) fn check_results(
    ids: &[TransferId],
    accounts: &[(AccountId, AccountId)],
    results: &[CreateTransferResult],
) -> Result<(), PaymentError> {
    use CreateTransferResult as R;
    if results.len() != ids.len() || accounts.len() != ids.len() {
        return Err(PaymentError::Corrupt(format!(
            "the ledger answered {} results for {} transfers",
            results.len(),
            ids.len()
        )));
    }
    let cause = results
        .iter()
        .position(|r| !r.is_created() && *r != R::LinkedEventFailed)
        .or_else(|| results.iter().position(|r| !r.is_created()));
    match cause {
        None => Ok(()),
        Some(i) => Err(refusal(ids[i], results[i], accounts[i].0, accounts[i].1)),
    }
}

/// The typed refusal for an engine result on a transfer debiting `debit` and crediting `credit`.
pub(crate) fn refusal(
    transfer: TransferId,
    result: CreateTransferResult,
    debit: AccountId,
    credit: AccountId,
) -> PaymentError {
    use CreateTransferResult as R;
    match result {
        R::ExceedsCredits => PaymentError::InsufficientFunds { account: debit },
        R::DebitAccountFrozen => PaymentError::AccountFrozen { account: debit },
        R::ExceedsDebitLimit => PaymentError::LimitReached { account: debit },
        R::DebitAccountAlreadyClosed => PaymentError::AccountClosed { account: debit },
        R::CreditAccountAlreadyClosed => PaymentError::AccountClosed { account: credit },
        R::IdAlreadyFailed => PaymentError::AlreadyFailed,
        result => PaymentError::LedgerRefused { transfer, result },
    }
}
