//! Refunds: several partial refunds per merchant payment, their total capped at the amount paid,
//! fees returned by the schedule's rule, a refund of a refund refused.
//!
//! Order of writes: the refund is recorded and its amount reserved on the payment first, in one
//! transaction that checks the totals read (so two refunds racing cannot both pass the cap); then
//! its transfers go to the ledger with ids derived from the refund; then the refund is marked
//! completed. A crash after the reservation leaves less refundable, never more; a retry (or
//! [`recover`](Payments::recover)) submits the same transfers and converges; a refusal by the ledger
//! removes the refund and gives the reservation back.

use qianbao_core::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::fees::fee_product;
use super::ids::{IdempotencyKey, MerchantId, PaymentId};
use super::model::{AccountKind, Owner, Payment, PaymentKind, PaymentState};
use super::plan::{Parties, positive, refund_legs};
use super::port::LedgerPort;
use super::service::RACE_ATTEMPTS_MAX;
use super::store::{PaymentsStore, ReserveOutcome};
use super::{PaymentError, Payments};
use crate::fee::{FeeProduct, FeeRefund};

/// A merchant's refund of (part of) a payment it received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The merchant refunding.
    pub merchant: MerchantId,
    /// The payment refunded.
    pub payment: PaymentId,
    /// How much of it.
    pub amount: Money,
    /// The merchant's idempotency key.
    pub key: IdempotencyKey,
}

impl<L: LedgerPort> Payments<L> {
    /// Refunds part or all of a completed merchant payment to its payer. The refunds of a payment
    /// never add up to more than it; the fee comes back by the schedule's rule (pro rata by default)
    /// to whoever bore it. A refund of a refund is refused.
    #[instrument(skip(self, request), fields(merchant = %request.merchant, payment = %request.payment), err)]
    pub async fn refund(&self, request: RefundRequest) -> Result<Payment, PaymentError> {
        positive("refund", request.amount)?;
        let requester = Owner::Merchant(request.merchant);
        let id = PaymentId::from_u128(self.keys.ids.subject("refund", &requester.to_bytes(), &request.key));
        let original = self.payment(request.payment).await?;
        if matches!(original.kind, PaymentKind::Refund | PaymentKind::Reversal) {
            return Err(PaymentError::RefundOfRefund(original.id));
        }
        if original.payee != requester {
            return Err(PaymentError::NotPayee(original.id));
        }
        self.refund_payment(id, request.key, original, request.amount, PaymentKind::Refund, None).await
    }

    /// Records, reserves and carries out a refund (or a reversal) of `original` with id `id`.
    /// `source` replaces the payee as the account the money comes from (a reversal from suspense).
    pub(crate) async fn refund_payment(
        &self,
        id: PaymentId,
        key: IdempotencyKey,
        mut original: Payment,
        amount: Money,
        kind: PaymentKind,
        source: Option<qianbao_core::AccountId>,
    ) -> Result<Payment, PaymentError> {
        check_refundable(&original, kind)?;
        for _ in 0..RACE_ATTEMPTS_MAX {
            if let Some(stored) = self.store.payment(id).await? {
                return self.replay_refund(stored, original.id, amount).await;
            }
            let refund = self.plan_refund(id, key.clone(), &original, amount, kind, source, self.now())?;
            match self.store.reserve_refund(&refund, original.refunded, original.fee_refunded).await? {
                ReserveOutcome::Reserved => return self.finish_submitting(refund).await,
                ReserveOutcome::Existing(stored) => return self.replay_refund(*stored, original.id, amount).await,
                ReserveOutcome::Stale => {
                    original = self.payment(original.id).await?;
                    check_refundable(&original, kind)?;
                }
            }
        }
        Err(PaymentError::Contended { attempts: RACE_ATTEMPTS_MAX })
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_refund(
        &self,
        id: PaymentId,
        key: IdempotencyKey,
        original: &Payment,
        amount: Money,
        kind: PaymentKind,
        source: Option<qianbao_core::AccountId>,
        now: Timestamp,
    ) -> Result<Payment, PaymentError> {
        let currency = original.amount.currency();
        if amount.currency() != currency {
            return Err(PaymentError::CurrencyMismatch { expected: currency, found: amount.currency() });
        }
        if amount.minor() > original.refundable().minor() {
            return Err(PaymentError::RefundExceedsPayment { requested: amount, refundable: original.refundable() });
        }
        let principal =
            original.legs.first().ok_or_else(|| PaymentError::Corrupt(format!("{} has no legs", original.id)))?;
        let parties = Parties {
            payer: principal.debit,
            payee: source.unwrap_or(principal.credit),
            fee_income: self.system_account(AccountKind::FeeIncome, currency)?,
        };
        // The fee comes back by the schedule's rule to whoever bore it — unless the money comes from
        // suspense (the operator advances it and the counterparty keeps what it received).
        let fee_refund = match source {
            None => self.config.setup(currency)?.fees.fee_refund(
                fee_product(original.kind).unwrap_or(FeeProduct::Payment),
                &FeeRefund {
                    amount_paid: original.amount,
                    fee_charged: original.fee,
                    refunded_before: original.refunded,
                    fee_refunded_before: original.fee_refunded,
                    refund: amount,
                },
            )?,
            Some(_) => Money::zero(currency),
        };
        let legs = refund_legs(&self.keys.ids, id.as_u128(), parties, original.fee_bearer, amount, fee_refund)?;
        let legs = legs.into_iter().map(|mut l| {
            l.code = if l.code == crate::TransferCode::REFUND { kind.code() } else { l.code };
            l
        });
        Ok(Payment {
            id,
            kind,
            key,
            state: PaymentState::Submitting,
            payer: original.payee,
            payee: original.payer,
            amount,
            fee: fee_refund,
            fee_bearer: original.fee_bearer,
            refunded: Money::zero(currency),
            fee_refunded: Money::zero(currency),
            refund_of: Some(original.id),
            legs: legs.collect(),
            pending: false,
            hold_timeout_secs: 0,
            card: None,
            bank_reference: None,
            order_ref: original.order_ref.clone(),
            device: None,
            created_at: now,
            updated_at: now,
        })
    }

    async fn replay_refund(
        &self,
        stored: Payment,
        original: PaymentId,
        amount: Money,
    ) -> Result<Payment, PaymentError> {
        if stored.refund_of != Some(original) || stored.amount != amount {
            return Err(PaymentError::IdempotencyConflict(format!("refund {}", stored.id)));
        }
        match stored.state {
            PaymentState::Submitting => self.finish_submitting(stored).await,
            _ => Ok(stored),
        }
    }
}

/// Refunds go to completed merchant payments; reversals also to completed transfers.
fn check_refundable(p: &Payment, kind: PaymentKind) -> Result<(), PaymentError> {
    if matches!(p.kind, PaymentKind::Refund | PaymentKind::Reversal) {
        return Err(PaymentError::RefundOfRefund(p.id));
    }
    let kind_ok = match kind {
        PaymentKind::Refund => p.kind == PaymentKind::MerchantPayment,
        _ => matches!(p.kind, PaymentKind::MerchantPayment | PaymentKind::Transfer),
    };
    if !kind_ok || p.state != PaymentState::Completed {
        return Err(PaymentError::NotRefundable { kind: p.kind, state: p.state.code() });
    }
    Ok(())
}
