//! Payments to merchants (by account or by scanning their QR code) and transfers between users,
//! with risk evaluation first: allow → posted, review → held pending for an operator, block → refused.

use qianbao_core::{AccountId, DeviceId, Money, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::fees::allowance_owner;
use super::ids::{IdempotencyKey, PaymentId};
use super::model::{
    AccountKind, CancelReason, DecisionRecord, FeeBearer, Hold, Owner, Payment, PaymentKind, PaymentState,
};
use super::plan::{Parties, payment_legs, positive};
use super::port::LedgerPort;
use super::store::{Inserted, PaymentsStore};
use super::{PaymentError, Payments};
use crate::CreateTransferResult;
use crate::qr::{CodeKind, ScannedCode};
use crate::risk::{self, RiskContext, RiskOutcome};

/// A payment to a merchant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantPayment {
    /// Who pays.
    pub payer: UserId,
    /// The merchant's account (from its QR code, or the merchant's checkout).
    pub merchant_account: AccountId,
    /// How much.
    pub amount: Money,
    /// The merchant's order reference.
    pub order_ref: Option<String>,
    /// The device the payment comes from.
    pub device: Option<DeviceId>,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// A transfer to another user's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTransfer {
    /// Who sends.
    pub from: UserId,
    /// Who receives.
    pub to: UserId,
    /// How much.
    pub amount: Money,
    /// The device it comes from.
    pub device: Option<DeviceId>,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// Paying by scanning a merchant-presented QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPayment {
    /// Who pays.
    pub payer: UserId,
    /// The scanned payload.
    pub code: String,
    /// The amount the payer entered: required for a static code; for a dynamic code the amount is
    /// the code's (an amount given must equal it).
    pub amount: Option<Money>,
    /// The device.
    pub device: Option<DeviceId>,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// What a payment or transfer request becomes before it is decided.
struct Draft {
    kind: PaymentKind,
    payer: UserId,
    payee: Owner,
    payee_account: AccountId,
    amount: Money,
    bearer: FeeBearer,
    order_ref: Option<String>,
    device: Option<DeviceId>,
    key: IdempotencyKey,
}

impl<L: LedgerPort> Payments<L> {
    /// Pays a merchant. Risk rules run first (their decision is recorded); a blocked payment is
    /// refused with [`PaymentError::Blocked`] and nothing moves; one under review is held pending until
    /// [`release_review`](Self::release_review) or [`reject_review`](Self::reject_review). The fee, if
    /// any, is charged in the same linked chain.
    #[instrument(skip(self, request), fields(payer = %request.payer, key = %request.key), err)]
    pub async fn pay_merchant(&self, request: MerchantPayment) -> Result<Payment, PaymentError> {
        let entry = self.store.account(request.merchant_account).await?;
        let merchant = match entry {
            Some(e) if e.kind == AccountKind::Merchant && e.currency == request.amount.currency() => e.owner,
            _ => return Err(PaymentError::UnknownMerchant(request.merchant_account)),
        };
        if let Some(r) = &request.order_ref
            && (r.is_empty() || r.len() > 64)
        {
            return Err(PaymentError::InvalidRequest("an order reference has 1 to 64 characters".into()));
        }
        self.pay(Draft {
            kind: PaymentKind::MerchantPayment,
            payer: request.payer,
            payee: merchant,
            payee_account: request.merchant_account,
            amount: request.amount,
            bearer: self.config.fee_bearers.payment,
            order_ref: request.order_ref,
            device: request.device,
            key: request.key,
        })
        .await
    }

    /// Transfers money to another user's wallet, with the same risk rules as a payment.
    #[instrument(skip(self, request), fields(from = %request.from, key = %request.key), err)]
    pub async fn transfer(&self, request: UserTransfer) -> Result<Payment, PaymentError> {
        if request.from == request.to {
            return Err(PaymentError::InvalidRequest("a transfer needs two different users".into()));
        }
        let to = self.wallet_of(request.to, request.amount.currency()).await?;
        self.pay(Draft {
            kind: PaymentKind::Transfer,
            payer: request.from,
            payee: Owner::User(request.to),
            payee_account: to,
            amount: request.amount,
            bearer: self.config.fee_bearers.transfer,
            order_ref: None,
            device: request.device,
            key: request.key,
        })
        .await
    }

    /// Pays by a scanned merchant-presented code: the code is checked (CRC, format, our signature,
    /// expiry of a dynamic code) and becomes a merchant payment — for a dynamic code of the amount in
    /// the code, for a static one of the amount the payer entered.
    #[instrument(skip(self, request), fields(payer = %request.payer, key = %request.key), err)]
    pub async fn pay_qr(&self, request: QrPayment) -> Result<Payment, PaymentError> {
        let scanned = self.keys.qr.scan(&request.code, self.now())?;
        let ScannedCode::Qianbao(code) = scanned else {
            return Err(PaymentError::InvalidRequest("the code is not one of this wallet's merchant codes".into()));
        };
        let amount = match (code.kind, code.amount, request.amount) {
            (CodeKind::Dynamic, Some(a), None) => a,
            (CodeKind::Dynamic, Some(a), Some(entered)) if entered == a => a,
            (CodeKind::Dynamic, _, _) => {
                return Err(PaymentError::InvalidRequest("a dynamic code's amount cannot be changed".into()));
            }
            (CodeKind::Static, _, Some(entered)) => entered,
            (CodeKind::Static, _, None) => {
                return Err(PaymentError::InvalidRequest("a static code needs the amount the payer entered".into()));
            }
        };
        if amount.currency() != code.currency {
            return Err(PaymentError::CurrencyMismatch { expected: code.currency, found: amount.currency() });
        }
        self.pay_merchant(MerchantPayment {
            payer: request.payer,
            merchant_account: code.merchant_account,
            amount,
            order_ref: code.order_ref.map(|r| r.as_str().to_owned()),
            device: request.device,
            key: request.key,
        })
        .await
    }

    async fn pay(&self, d: Draft) -> Result<Payment, PaymentError> {
        positive("amount", d.amount)?;
        let currency = d.amount.currency();
        self.config.setup(currency)?;
        let payer = Owner::User(d.payer);
        let id = PaymentId::from_u128(self.keys.ids.subject("payment", &payer.to_bytes(), &d.key));
        if let Some(stored) = self.store.payment(id).await? {
            return self.replay(stored, &d).await;
        }
        let wallet = self.wallet_of(d.payer, currency).await?;
        let now = self.now();
        let outcome = self.assess(id, &d, now).await?;
        let fee = self.quote_fee(d.kind, allowance_owner(payer, d.payee, d.bearer), d.amount, now).await?;
        let parties = Parties {
            payer: wallet,
            payee: d.payee_account,
            fee_income: self.system_account(AccountKind::FeeIncome, currency)?,
        };
        let legs = payment_legs(&self.keys.ids, id.as_u128(), parties, d.amount, fee, d.bearer, d.kind.code())?;
        let review = outcome == RiskOutcome::Review;
        let payment = Payment {
            id,
            kind: d.kind,
            key: d.key.clone(),
            state: PaymentState::Submitting,
            payer,
            payee: d.payee,
            amount: d.amount,
            fee,
            fee_bearer: d.bearer,
            refunded: Money::zero(currency),
            fee_refunded: Money::zero(currency),
            refund_of: None,
            legs,
            pending: review,
            hold_timeout_secs: if review { self.config.review_hold_secs } else { 0 },
            card: None,
            bank_reference: None,
            order_ref: d.order_ref.clone(),
            device: d.device,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_payment(&payment).await? {
            Inserted::New => self.finish_submitting(payment).await,
            Inserted::Existing(stored) => self.replay(stored, &d).await,
        }
    }

    /// A request whose payment exists: the same request finishes or returns it; another is a conflict.
    async fn replay(&self, stored: Payment, d: &Draft) -> Result<Payment, PaymentError> {
        let same = stored.kind == d.kind
            && stored.payee == d.payee
            && stored.amount == d.amount
            && stored.order_ref == d.order_ref
            && stored.legs.first().map(|l| l.credit) == Some(d.payee_account);
        if !same {
            return Err(PaymentError::IdempotencyConflict(format!("payment {}", stored.id)));
        }
        match stored.state {
            PaymentState::Submitting => self.finish_submitting(stored).await,
            _ => Ok(stored),
        }
    }

    /// Evaluates the risk rules on a request from the stored counters, records the decision and
    /// refuses a blocked one.
    async fn assess(
        &self,
        id: PaymentId,
        d: &Draft,
        now: qianbao_core::Timestamp,
    ) -> Result<RiskOutcome, PaymentError> {
        let setup = self.config.setup(d.amount.currency())?;
        let state = self.store.risk_state(d.payer, d.device).await?;
        let mut ctx = RiskContext::new(d.payer, d.amount, now);
        ctx.device = d.device;
        ctx.device_known = state.device_known;
        ctx.payee = Some(d.payee_account);
        ctx.payee_blocked = self.store.payee_blocked(d.payee_account).await?;
        ctx.user_counters = state.user.counters;
        ctx.history = state.user.history;
        ctx.device_counters = state.device.map(|s| s.counters).unwrap_or_default();
        let decision = risk::evaluate(&setup.risk, &ctx)?;
        let record =
            DecisionRecord { payment: id, user: d.payer, at: now, outcome: decision.outcome, fired: decision.fired };
        self.store.record_decision(&record).await?;
        if decision.outcome == RiskOutcome::Block {
            return Err(PaymentError::Blocked { payment: id, fired: record.fired });
        }
        Ok(decision.outcome)
    }

    /// The risk decisions recorded for a payment, oldest first.
    pub async fn decisions(&self, payment: PaymentId) -> Result<Vec<DecisionRecord>, PaymentError> {
        Ok(self.store.decisions(payment).await?)
    }

    /// Puts a payee account on the risk block list.
    #[instrument(skip(self), err)]
    pub async fn block_payee(&self, account: AccountId, reason: &str) -> Result<(), PaymentError> {
        if reason.trim().is_empty() {
            return Err(PaymentError::InvalidRequest("blocking a payee needs a reason".into()));
        }
        Ok(self.store.set_payee_blocked(account, Some(reason.to_owned()), self.now()).await?)
    }

    /// Takes a payee account off the block list.
    #[instrument(skip(self), err)]
    pub async fn unblock_payee(&self, account: AccountId) -> Result<(), PaymentError> {
        Ok(self.store.set_payee_blocked(account, None, self.now()).await?)
    }

    /// An operator releases a payment held for review: its pending transfers are posted. Refused
    /// with [`PaymentError::HoldExpired`] (and the payment cancelled) when the hold expired first.
    #[instrument(skip(self), err)]
    pub async fn release_review(&self, id: PaymentId) -> Result<Payment, PaymentError> {
        let p = self.held_for_review(id, "release").await?;
        match &p.state {
            PaymentState::Completed => return Ok(p),
            PaymentState::Cancelled { cancel: CancelReason::HoldExpired } => {
                return Err(PaymentError::HoldExpired { payment: id });
            }
            PaymentState::Cancelled { .. } => {
                return Err(PaymentError::wrong_state(id, &p.state, "release", "held_review"));
            }
            _ => {}
        }
        match self.resolve_hold(&p, true, PaymentState::Completed, None).await {
            Err(PaymentError::LedgerRefused { result: CreateTransferResult::PendingTransferExpired, .. }) => {
                self.cancel_expired(&p).await?;
                Err(PaymentError::HoldExpired { payment: id })
            }
            other => other,
        }
    }

    /// An operator rejects a payment held for review: its pending transfers are voided.
    #[instrument(skip(self, note), err)]
    pub async fn reject_review(&self, id: PaymentId, note: &str) -> Result<Payment, PaymentError> {
        let p = self.held_for_review(id, "reject").await?;
        match &p.state {
            PaymentState::Cancelled { .. } => return Ok(p),
            PaymentState::Completed => return Err(PaymentError::wrong_state(id, &p.state, "reject", "held_review")),
            _ => {}
        }
        let to = PaymentState::Cancelled { cancel: CancelReason::ReviewRejected { note: note.to_owned() } };
        match self.resolve_hold(&p, false, to, None).await {
            Err(PaymentError::LedgerRefused { result: CreateTransferResult::PendingTransferExpired, .. }) => {
                self.cancel_expired(&p).await
            }
            other => other,
        }
    }

    /// The payment, if it is (or was) held for review; a finished one is returned as is for the
    /// caller to recognise a retry.
    async fn held_for_review(&self, id: PaymentId, operation: &'static str) -> Result<Payment, PaymentError> {
        let p = self.payment(id).await?;
        let reviewable = p.pending && matches!(p.kind, PaymentKind::MerchantPayment | PaymentKind::Transfer);
        match &p.state {
            PaymentState::Held { hold: Hold::Review } => Ok(p),
            PaymentState::Completed | PaymentState::Cancelled { .. } if reviewable => Ok(p),
            state => Err(PaymentError::wrong_state(id, state, operation, "held_review")),
        }
    }

    async fn cancel_expired(&self, p: &Payment) -> Result<Payment, PaymentError> {
        let to = PaymentState::Cancelled { cancel: CancelReason::HoldExpired };
        self.change_state(p, "held_review", to, None, false, Vec::new()).await
    }

    /// Lets the ledger void every pending transfer past its timeout, and cancels the payments held
    /// for review whose hold that voided. Returns them.
    #[instrument(skip(self), err)]
    pub async fn expire_holds(&self) -> Result<Vec<Payment>, PaymentError> {
        let mut cancelled: Vec<Payment> = Vec::new();
        loop {
            let expired = self.ledger.expire_pending().await?;
            for t in &expired {
                let Some(id) = self.store.payment_of_transfer(*t).await? else { continue };
                let p = self.payment(id).await?;
                if p.state == (PaymentState::Held { hold: Hold::Review }) {
                    cancelled.push(self.cancel_expired(&p).await?);
                }
            }
            if expired.len() < crate::BATCH_EVENTS_MAX {
                return Ok(cancelled);
            }
        }
    }
}
