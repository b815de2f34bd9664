//! How the facade classifies the payments layer's errors: the caller's fault or the service's, and a
//! stable code for an API answer.

use qianbao_ledger::PaymentError;

/// True for refusals (the request or the account's state), false for failures of the service.
pub(crate) fn is_rejection(e: &PaymentError) -> bool {
    !matches!(
        e,
        PaymentError::Bank(_)
            | PaymentError::Ledger(_)
            | PaymentError::Store(_)
            | PaymentError::Corrupt(_)
            | PaymentError::Contended { .. }
            | PaymentError::InvalidConfig(_)
            | PaymentError::LedgerRefused { .. }
            | PaymentError::AccountRefused { .. }
    )
}

/// A stable snake-case code.
pub(crate) fn code(e: &PaymentError) -> &'static str {
    match e {
        PaymentError::InsufficientFunds { .. } => "insufficient_funds",
        PaymentError::AccountFrozen { .. } => "wallet_frozen",
        PaymentError::LimitReached { .. } => "limit_reached",
        PaymentError::AccountClosed { .. } => "wallet_closed",
        PaymentError::AlreadyFailed => "already_failed",
        PaymentError::HoldExpired { .. } => "hold_expired",
        PaymentError::Fee(_) => "fee",
        PaymentError::RedPacket(_) => "red_packet",
        PaymentError::Qr(_) => "qr_code",
        PaymentError::Risk(_) => "risk",
        PaymentError::Blocked { .. } => "risk_blocked",
        PaymentError::InvalidRequest(_) => "invalid_request",
        PaymentError::IdempotencyConflict(_) => "idempotency_conflict",
        PaymentError::UnsupportedCurrency(_) | PaymentError::CurrencyMismatch { .. } => "wrong_currency",
        PaymentError::NoWallet { .. } => "no_wallet",
        PaymentError::UnknownMerchant(_) => "unknown_merchant",
        PaymentError::FeeExceedsAmount { .. } => "fee_exceeds_amount",
        PaymentError::PaymentNotFound(_) => "payment_not_found",
        PaymentError::RedPacketNotFound(_) => "red_packet_not_found",
        PaymentError::CaseNotFound(_) => "case_not_found",
        PaymentError::RefundExceedsPayment { .. } => "refund_exceeds_payment",
        PaymentError::RefundOfRefund(_) | PaymentError::NotRefundable { .. } => "not_refundable",
        PaymentError::WrongState { .. } => "wrong_state",
        PaymentError::NotPayee(_) => "not_payee",
        PaymentError::NotReportable(_) => "not_reportable",
        PaymentError::CaseNotOpen { .. } => "case_not_open",
        PaymentError::Contended { .. } => "contended",
        PaymentError::Bank(_) => "bank",
        PaymentError::Ledger(_) | PaymentError::LedgerRefused { .. } | PaymentError::AccountRefused { .. } => "ledger",
        PaymentError::Store(_) => "store",
        PaymentError::Corrupt(_) => "corrupt",
        PaymentError::InvalidConfig(_) => "config",
        _ => "payment",
    }
}
