//! The pure decisions of the products: which ledger transfers a request makes. No I/O: amounts,
//! accounts and ids in, legs and transfer batches out.
//!
//! Every product's transfers form one linked chain, so they succeed or fail together, and their ids
//! derive from the product's id ([`IdDeriver`]), so a retry submits exactly the same batch.

use qianbao_core::{AccountId, Money, TransferId};

use super::PaymentError;
use super::ids::{IdDeriver, Role};
use super::model::{FeeBearer, Leg};
use crate::{AMOUNT_MAX, Ledger, NewTransfer, TransferCode, TransferFlags};

/// The accounts a payment-like product moves money between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parties {
    /// Debited.
    pub payer: AccountId,
    /// Credited.
    pub payee: AccountId,
    /// The operator's fee income.
    pub fee_income: AccountId,
}

/// The legs of a payment, transfer, top-up or withdrawal: the principal and, when there is a fee, the
/// fee, both debited from the payer. When the payer bears the fee, the principal is the amount and
/// the fee comes on top; when the payee bears it, the principal is the amount less the fee (refused
/// when nothing would be left).
pub(crate) fn payment_legs(
    ids: &IdDeriver,
    subject: u128,
    parties: Parties,
    amount: Money,
    fee: Money,
    bearer: FeeBearer,
    code: TransferCode,
) -> Result<Vec<Leg>, PaymentError> {
    positive("amount", amount)?;
    if fee.is_negative() || fee.currency() != amount.currency() {
        return Err(PaymentError::InvalidRequest(format!("fee {fee} is not a non-negative {}", amount.currency())));
    }
    let principal = match bearer {
        FeeBearer::Payer => amount,
        FeeBearer::Payee => amount.checked_sub(fee).map_err(|_| PaymentError::FeeExceedsAmount { amount, fee })?,
    };
    if !principal.is_positive() {
        return Err(PaymentError::FeeExceedsAmount { amount, fee });
    }
    let mut legs = vec![leg(ids, subject, 0, parties.payer, parties.payee, principal, code)];
    if fee.is_positive() {
        legs.push(leg(ids, subject, 1, parties.payer, parties.fee_income, fee, TransferCode::FEE));
    }
    Ok(legs)
}

/// The legs of a refund of `amount` returning `fee_refund` of the fee: fee income returns the fee to
/// whoever bore it, and the payee of the original payment pays the payer back. The fee comes first in
/// the chain, so a merchant that bore the fee has it back before it pays the refund (it received the
/// amount less the fee).
pub(crate) fn refund_legs(
    ids: &IdDeriver,
    subject: u128,
    original: Parties,
    bearer: FeeBearer,
    amount: Money,
    fee_refund: Money,
) -> Result<Vec<Leg>, PaymentError> {
    positive("refund", amount)?;
    let mut legs = Vec::with_capacity(2);
    if fee_refund.is_positive() {
        let to = match bearer {
            FeeBearer::Payer => original.payer,
            FeeBearer::Payee => original.payee,
        };
        legs.push(leg(ids, subject, 1, original.fee_income, to, fee_refund, TransferCode::REFUND));
    }
    legs.push(leg(ids, subject, 0, original.payee, original.payer, amount, TransferCode::REFUND));
    Ok(legs)
}

/// One leg with the id of transfer `index` of `subject`.
pub(crate) fn leg(
    ids: &IdDeriver,
    subject: u128,
    index: u32,
    debit: AccountId,
    credit: AccountId,
    amount: Money,
    code: TransferCode,
) -> Leg {
    Leg { transfer_id: ids.transfer(subject, Role::Leg, index), debit, credit, amount, code }
}

/// The legs as one linked chain of transfers; pending (with the timeout, zero = none) when `pending`.
/// Every transfer carries `subject` in `user_data_128`, so the ledger's history points back to it.
pub(crate) fn chain(legs: &[Leg], pending: bool, timeout_secs: u32, subject: u128) -> Vec<NewTransfer> {
    let last = legs.len().saturating_sub(1);
    legs.iter()
        .enumerate()
        .map(|(i, l)| {
            let ledger = Ledger::of(l.amount.currency());
            // Legs hold positive amounts (checked when they were planned).
            let amount = u128::try_from(l.amount.minor()).unwrap_or(0);
            let mut t =
                NewTransfer::new(l.transfer_id, l.debit, l.credit, amount, ledger, l.code).with_user_data_128(subject);
            if pending {
                t = t.with_flags(TransferFlags::PENDING).with_timeout_secs(timeout_secs);
            }
            if i < last {
                t = t.with_flags(TransferFlags::LINKED);
            }
            t
        })
        .collect()
}

/// The posts (`post`) or voids of every pending leg, as one linked chain.
///
/// `attempt` 0 is the first try; a later attempt gets fresh ids (the leg index in the low 16 bits, the
/// attempt above), for when the ledger remembers an earlier attempt's refusal (`id_already_failed`).
pub(crate) fn resolve_chain(
    ids: &IdDeriver,
    subject: u128,
    legs: &[Leg],
    post: bool,
    attempt: u16,
) -> Vec<NewTransfer> {
    let last = legs.len().saturating_sub(1);
    legs.iter()
        .enumerate()
        .map(|(i, l)| {
            // A payment has a handful of legs: the index fits 16 bits.
            let index = (i as u32 & 0xffff) | (u32::from(attempt) << 16);
            let mut t = if post {
                NewTransfer::post(ids.transfer(subject, Role::Post, index), l.transfer_id, AMOUNT_MAX)
            } else {
                NewTransfer::void(ids.transfer(subject, Role::Void, index), l.transfer_id)
            };
            if i < last {
                t = t.with_flags(TransferFlags::LINKED);
            }
            t
        })
        .collect()
}

/// The debit and credit accounts of each leg (for typed refusals of a chain or its resolution).
pub(crate) fn leg_accounts(legs: &[Leg]) -> Vec<(AccountId, AccountId)> {
    legs.iter().map(|l| (l.debit, l.credit)).collect()
}

/// The ids of a batch.
pub(crate) fn ids_of(batch: &[NewTransfer]) -> Vec<TransferId> {
    batch.iter().map(|t| t.id).collect()
}

/// The sum of the legs debiting `account`.
pub(crate) fn debited(legs: &[Leg], account: AccountId) -> Result<Money, PaymentError> {
    let currency = legs.first().map(|l| l.amount.currency()).unwrap_or(qianbao_core::Currency::CNY);
    Money::checked_sum(currency, legs.iter().filter(|l| l.debit == account).map(|l| l.amount))
        .map_err(|_| PaymentError::InvalidRequest("amounts out of range".into()))
}

/// Refuses a non-positive amount.
pub(crate) fn positive(what: &str, amount: Money) -> Result<(), PaymentError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(PaymentError::InvalidRequest(format!("the {what} must be positive, got {amount}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::{Currency, DigestKey};

    fn cny(minor: i64) -> Money {
        Money::from_minor(minor, Currency::CNY)
    }

    fn parties() -> Parties {
        let a = AccountId::from_u128;
        Parties { payer: a(1), payee: a(2), fee_income: a(3) }
    }

    #[test]
    fn the_bearer_decides_where_the_fee_comes_from() {
        let ids = IdDeriver::new(DigestKey::new(&[1; 32]).unwrap());
        let payer =
            payment_legs(&ids, 7, parties(), cny(10_000), cny(60), FeeBearer::Payer, TransferCode::PAYMENT).unwrap();
        assert_eq!((payer[0].amount, payer[1].amount), (cny(10_000), cny(60)));
        assert_eq!(debited(&payer, parties().payer).unwrap(), cny(10_060));
        let payee =
            payment_legs(&ids, 7, parties(), cny(10_000), cny(60), FeeBearer::Payee, TransferCode::PAYMENT).unwrap();
        assert_eq!((payee[0].amount, payee[1].amount), (cny(9_940), cny(60)));
        assert_eq!(debited(&payee, parties().payer).unwrap(), cny(10_000));
        let free = payment_legs(&ids, 7, parties(), cny(5), cny(0), FeeBearer::Payee, TransferCode::PAYMENT).unwrap();
        assert_eq!(free.len(), 1);
        let all_fee = payment_legs(&ids, 7, parties(), cny(5), cny(5), FeeBearer::Payee, TransferCode::PAYMENT);
        assert!(matches!(all_fee, Err(PaymentError::FeeExceedsAmount { .. })));
        assert!(payment_legs(&ids, 7, parties(), cny(0), cny(0), FeeBearer::Payer, TransferCode::PAYMENT).is_err());
    }

    #[test]
    fn chains_link_all_but_the_last_and_resolutions_mirror_them() {
        let ids = IdDeriver::new(DigestKey::new(&[1; 32]).unwrap());
        let legs = payment_legs(&ids, 7, parties(), cny(100), cny(1), FeeBearer::Payer, TransferCode::PAYMENT).unwrap();
        let batch = chain(&legs, true, 60, 7);
        assert!(batch[0].flags.contains(TransferFlags::LINKED | TransferFlags::PENDING));
        assert!(!batch[1].flags.contains(TransferFlags::LINKED) && batch[1].timeout_secs == 60);
        let posts = resolve_chain(&ids, 7, &legs, true, 0);
        assert_eq!(posts[0].pending_id, legs[0].transfer_id);
        assert_eq!(posts, resolve_chain(&ids, 7, &legs, true, 0), "deterministic");
        assert_ne!(ids_of(&posts), ids_of(&resolve_chain(&ids, 7, &legs, false, 0)));
        let again = ids_of(&resolve_chain(&ids, 7, &legs, true, 1));
        assert!(again.iter().all(|id| !ids_of(&posts).contains(id)), "a later attempt has fresh ids");
        let refund = refund_legs(&ids, 8, parties(), FeeBearer::Payee, cny(50), cny(1)).unwrap();
        assert_eq!((refund[0].debit, refund[0].credit), (parties().fee_income, parties().payee));
        assert_eq!((refund[1].debit, refund[1].credit), (parties().payee, parties().payer));
    }
}
