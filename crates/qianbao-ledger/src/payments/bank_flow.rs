//! Top-up from a bound bank card and withdrawal to it: the money is held as pending transfers while
//! the bank works, then posted (confirmed) or voided (failed).

use qianbao_core::{Money, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::fees::allowance_owner;
use super::ids::{IdempotencyKey, PaymentId};
use super::model::{AccountKind, CancelReason, Hold, Owner, Payment, PaymentKind, PaymentState};
use super::plan::{Parties, debited, payment_legs, positive};
use super::port::LedgerPort;
use super::store::{Inserted, PaymentsStore};
use super::{PaymentError, Payments};
use crate::bank::{BankError, BankRequest, BankStatus, CardToken};

/// Money in from a bound card, or out to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransfer {
    /// Whose wallet.
    pub user: UserId,
    /// The bound card (the token the bank gave when it was bound).
    pub card: CardToken,
    /// How much reaches the wallet (top-up) or leaves it (withdrawal), before fees.
    pub amount: Money,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

impl<L: LedgerPort> Payments<L> {
    /// Tops up a wallet from a bound card: the transfer from bank settlement (and its fee) is held
    /// pending while the bank debits the card, then posted when it confirms or voided when it fails.
    /// A bank that answers later leaves the payment held: [`reconcile_bank`](Self::reconcile_bank)
    /// (or the same request again) finishes it. The fee, if any, is taken by the configured bearer:
    /// deducted from what reaches the wallet, or charged on the card on top.
    #[instrument(skip(self, request), fields(user = %request.user, key = %request.key), err)]
    pub async fn top_up(&self, request: BankTransfer) -> Result<Payment, PaymentError> {
        self.bank_movement(PaymentKind::TopUp, request).await
    }

    /// Withdraws from a wallet to a bound card: the transfer to bank settlement (and its fee) is held
    /// pending while the bank credits the card, then posted or voided, as for a top-up.
    #[instrument(skip(self, request), fields(user = %request.user, key = %request.key), err)]
    pub async fn withdraw(&self, request: BankTransfer) -> Result<Payment, PaymentError> {
        self.bank_movement(PaymentKind::Withdrawal, request).await
    }

    async fn bank_movement(&self, kind: PaymentKind, r: BankTransfer) -> Result<Payment, PaymentError> {
        positive("amount", r.amount)?;
        let user = Owner::User(r.user);
        let id = PaymentId::from_u128(self.keys.ids.subject(kind.as_str(), &user.to_bytes(), &r.key));
        let now = self.now();
        let currency = r.amount.currency();
        let wallet = self.wallet_of(r.user, currency).await?;
        let bank = self.system_account(AccountKind::BankSettlement, currency)?;
        let (payer, payee, parties, bearer) = match kind {
            PaymentKind::TopUp => (Owner::System, user, (bank, wallet), self.config.fee_bearers.top_up),
            _ => (user, Owner::System, (wallet, bank), self.config.fee_bearers.withdrawal),
        };
        let fee = self.quote_fee(kind, allowance_owner(payer, payee, bearer), r.amount, now).await?;
        let parties = Parties {
            payer: parties.0,
            payee: parties.1,
            fee_income: self.system_account(AccountKind::FeeIncome, currency)?,
        };
        let legs = payment_legs(&self.keys.ids, id.as_u128(), parties, r.amount, fee, bearer, kind.code())?;
        let payment = Payment {
            id,
            kind,
            key: r.key,
            state: PaymentState::Submitting,
            payer,
            payee,
            amount: r.amount,
            fee,
            fee_bearer: bearer,
            refunded: Money::zero(currency),
            fee_refunded: Money::zero(currency),
            refund_of: None,
            legs,
            pending: true,
            hold_timeout_secs: 0,
            card: Some(r.card),
            bank_reference: None,
            order_ref: None,
            device: None,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_payment(&payment).await? {
            Inserted::New => self.continue_bank(payment).await,
            Inserted::Existing(stored) if stored.same_request(&payment) => self.continue_bank(stored).await,
            Inserted::Existing(_) => Err(PaymentError::IdempotencyConflict(format!("{} {}", kind.as_str(), id))),
        }
    }

    /// Takes a bank payment one step further: submit the hold, ask the bank, post or void.
    pub(crate) async fn continue_bank(&self, p: Payment) -> Result<Payment, PaymentError> {
        let p = match p.state {
            PaymentState::Submitting => self.finish_submitting(p).await?,
            _ => p,
        };
        if p.state != (PaymentState::Held { hold: Hold::Bank }) {
            return Ok(p);
        }
        let request = self.bank_request(&p)?;
        let status = match p.kind {
            PaymentKind::TopUp => self.bank.start_top_up(&request).await,
            _ => self.bank.start_withdrawal(&request).await,
        };
        match status {
            Ok(status) => self.settle_bank(p, status).await,
            // Held: the hold stays, reconciliation asks again.
            Err(BankError::Unavailable(reason)) => {
                tracing::warn!(payment = %p.id, %reason, "bank unavailable; the payment stays held");
                Ok(p)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn bank_request(&self, p: &Payment) -> Result<BankRequest, PaymentError> {
        let (user, card) = match (p.kind, p.payer, p.payee, &p.card) {
            (PaymentKind::TopUp, _, Owner::User(u), Some(c))
            | (PaymentKind::Withdrawal, Owner::User(u), _, Some(c)) => (u, c.clone()),
            _ => return Err(PaymentError::Corrupt(format!("payment {} is not a bank movement", p.id))),
        };
        let first = p.legs.first().ok_or_else(|| PaymentError::Corrupt(format!("payment {} has no legs", p.id)))?;
        // A top-up charges the card what bank settlement pays out (principal and fee); a
        // withdrawal credits it the principal.
        let amount = match p.kind {
            PaymentKind::TopUp => debited(&p.legs, first.debit)?,
            _ => first.amount,
        };
        Ok(BankRequest { request_id: first.transfer_id, user, card, amount })
    }

    async fn settle_bank(&self, p: Payment, status: BankStatus) -> Result<Payment, PaymentError> {
        match status {
            BankStatus::Pending { .. } => Ok(p),
            BankStatus::Confirmed { bank_reference } => {
                self.resolve_hold(&p, true, PaymentState::Completed, Some(bank_reference)).await
            }
            BankStatus::Failed { reason } => {
                let to = PaymentState::Cancelled { cancel: CancelReason::BankFailed { failure: reason } };
                self.resolve_hold(&p, false, to, None).await
            }
        }
    }

    /// Asks the bank about every payment held for it (oldest first, at most `limit`) and posts or
    /// voids those it has answered; a movement the bank never recorded (its start was lost) is
    /// started again with the same request id. Returns the payments that changed.
    #[instrument(skip(self), err)]
    pub async fn reconcile_bank(&self, limit: u32) -> Result<Vec<Payment>, PaymentError> {
        let mut changed = Vec::new();
        for p in self.store.payments_in_state("held_bank", limit).await? {
            let request_id = self.bank_request(&p)?.request_id;
            let before = p.state.clone();
            let after = match self.bank.status(request_id).await {
                Ok(status) => self.settle_bank(p, status).await,
                Err(BankError::UnknownRequest { .. }) => self.continue_bank(p).await,
                Err(e) => {
                    tracing::warn!(payment = %p.id, error = %e, "bank status unavailable");
                    continue;
                }
            };
            match after {
                Ok(after) if after.state != before => changed.push(after),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconciling a bank payment failed"),
            }
        }
        Ok(changed)
    }
}
