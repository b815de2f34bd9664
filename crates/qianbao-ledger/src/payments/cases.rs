//! Abnormal-transaction reports: a user's report freezes the wallet for debits and opens a case; an
//! operator resolves it by reversing the transfer, refunding the payment, or just unfreezing.
//!
//! Order of writes: the case is recorded first, then the wallet frozen (a retry of the report
//! freezes again); a resolution is recorded as `resolving` first (with the id of the reversal or
//! refund it makes), then the money moves with ids derived from it, then the case is `resolved` and
//! the wallet unfrozen when no other case on it is open. A refused reversal reopens the case.

use qianbao_core::{AccountId, CaseId, Money, TransferId, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::ids::{IdempotencyKey, PaymentId};
use super::model::{
    AccountKind, Case, CaseEvent, CaseState, Leg, Owner, Payment, PaymentKind, PaymentState, Resolution, ReversalSource,
};
use super::plan::leg;
use super::port::LedgerPort;
use super::store::{Inserted, PaymentsStore};
use super::{PaymentError, Payments};
use crate::{Transfer, TransferCode};

/// The most characters of a report's reason.
pub const CASE_REASON_LEN_MAX: usize = 500;

/// A user's report of a transfer out of their wallet they did not make or do not recognise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbnormalReport {
    /// Who reports.
    pub user: UserId,
    /// The transfer (from their transaction history).
    pub transfer: TransferId,
    /// In their words (1 to 500 characters).
    pub reason: String,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// What an operator decides for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
#[non_exhaustive]
pub enum CaseAction {
    /// Give the user the money back: the transfer's amount, less what was refunded already.
    Reverse {
        /// Where the money comes from.
        source: ReversalSource,
    },
    /// Have the merchant refund what is left of the payment (fees by rule).
    Refund,
    /// Move no money and unfreeze the wallet.
    Unfreeze,
}

impl<L: LedgerPort> Payments<L> {
    /// Opens a case for a transfer out of the user's wallet and freezes the wallet for debits. A
    /// retry with the same key returns the case (and freezes again, in case the first call stopped
    /// in between).
    #[instrument(skip(self, report), fields(user = %report.user, transfer = %report.transfer), err)]
    pub async fn report_abnormal(&self, report: AbnormalReport) -> Result<Case, PaymentError> {
        let reason = report.reason.trim();
        if reason.is_empty() || reason.chars().count() > CASE_REASON_LEN_MAX {
            return Err(PaymentError::InvalidRequest(format!("a reason has 1 to {CASE_REASON_LEN_MAX} characters")));
        }
        let user = Owner::User(report.user);
        let id = CaseId::from_u128(self.keys.ids.subject("case", &user.to_bytes(), &report.key));
        if let Some(case) = self.store.case(id).await? {
            if case.transfer != report.transfer {
                return Err(PaymentError::IdempotencyConflict(format!("case {id}")));
            }
            return self.freeze_for(case).await;
        }
        let transfer = self.reportable(report.user, report.transfer).await?;
        let payment_key = if transfer.pending_id.as_u128() == 0 { transfer.id } else { transfer.pending_id };
        let now = self.now();
        let case = Case {
            id,
            user: report.user,
            transfer: report.transfer,
            account: transfer.debit_account_id,
            payment: self.store.payment_of_transfer(payment_key).await?,
            reason: reason.to_owned(),
            state: CaseState::Open,
            opened_at: now,
            updated_at: now,
        };
        let detail = serde_json::json!({ "transfer": report.transfer.to_string(), "reason": reason }).to_string();
        let event = CaseEvent { at: now, kind: "opened".into(), actor: "user".into(), detail };
        let case = match self.store.insert_case(&case, &event).await? {
            Inserted::New => case,
            Inserted::Existing(stored) => stored,
        };
        self.freeze_for(case).await
    }

    /// The transfer, if it debited a wallet of this user.
    async fn reportable(&self, user: UserId, id: TransferId) -> Result<Transfer, PaymentError> {
        let found = self.ledger.lookup_transfers(&[id]).await?;
        let t = found.into_iter().next().ok_or(PaymentError::NotReportable(id))?;
        let debited = self.store.account(t.debit_account_id).await?;
        match debited {
            Some(e) if e.kind == AccountKind::Wallet && e.owner == Owner::User(user) => Ok(t),
            _ => Err(PaymentError::NotReportable(id)),
        }
    }

    async fn freeze_for(&self, case: Case) -> Result<Case, PaymentError> {
        if case.state == CaseState::Open {
            self.ledger.set_frozen(case.account, true).await?;
        }
        Ok(case)
    }

    /// A case.
    pub async fn case(&self, id: CaseId) -> Result<Case, PaymentError> {
        self.store.case(id).await?.ok_or(PaymentError::CaseNotFound(id))
    }

    /// A user's cases, newest first.
    pub async fn cases_of(&self, user: UserId) -> Result<Vec<Case>, PaymentError> {
        Ok(self.store.cases_of(user).await?)
    }

    /// Every recorded change of a case, oldest first.
    pub async fn case_events(&self, id: CaseId) -> Result<Vec<CaseEvent>, PaymentError> {
        Ok(self.store.case_events(id).await?)
    }

    /// An operator resolves an open case (a retry of a resolution under way finishes it).
    #[instrument(skip(self), err)]
    pub async fn resolve_case(&self, id: CaseId, action: CaseAction, operator: &str) -> Result<Case, PaymentError> {
        if operator.trim().is_empty() {
            return Err(PaymentError::InvalidRequest("name the operator resolving the case".into()));
        }
        let case = self.case(id).await?;
        let resolution = match &case.state {
            CaseState::Open => {
                let resolution = self.plan_resolution(&case, action).await?;
                let to = CaseState::Resolving { resolution: resolution.clone() };
                let event = self.event("resolving", operator, &resolution);
                if !self.store.update_case(id, "open", &to, &event).await? {
                    return Err(self.not_open(id).await);
                }
                resolution
            }
            CaseState::Resolving { resolution } if same_action(resolution, action) => resolution.clone(),
            state => return Err(PaymentError::CaseNotOpen { case: id, state: state.code() }),
        };
        if let Err(e) = self.carry_out(&case, &resolution).await {
            if e.is_ledger_refusal() {
                let event = self.event("reopened", operator, &e.to_string());
                self.store.update_case(id, "resolving", &CaseState::Open, &event).await?;
            }
            return Err(e);
        }
        let done = CaseState::Resolved { resolution: resolution.clone() };
        self.store.update_case(id, "resolving", &done, &self.event("resolved", operator, &resolution)).await?;
        if self.store.unresolved_cases_on(case.account).await? == 0 {
            self.ledger.set_frozen(case.account, false).await?;
            self.store.append_case_event(id, &self.event("unfrozen", operator, &case.account.to_string())).await?;
        }
        self.case(id).await
    }

    async fn not_open(&self, id: CaseId) -> PaymentError {
        match self.store.case(id).await {
            Ok(Some(c)) => PaymentError::CaseNotOpen { case: id, state: c.state.code() },
            Ok(None) => PaymentError::CaseNotFound(id),
            Err(e) => e.into(),
        }
    }

    fn event(&self, kind: &str, actor: &str, detail: &impl Serialize) -> CaseEvent {
        let detail = serde_json::to_string(detail).unwrap_or_default();
        CaseEvent { at: self.now(), kind: kind.into(), actor: actor.trim().into(), detail }
    }

    /// Turns an action into a recorded resolution, with a fresh random id for the money it moves
    /// (so a resolution refused once can be tried again).
    async fn plan_resolution(&self, case: &Case, action: CaseAction) -> Result<Resolution, PaymentError> {
        let mut nonce = [0u8; 16];
        self.entropy.fill(&mut nonce);
        let money_id = PaymentId::from_u128(self.keys.ids.derive("case-resolution", &[&case.id.to_bytes(), &nonce]));
        let original = match case.payment {
            Some(p) => Some(self.payment(p).await?),
            None => None,
        };
        Ok(match action {
            CaseAction::Unfreeze => Resolution::Unfrozen,
            CaseAction::Refund => match original {
                Some(p) if p.kind == PaymentKind::MerchantPayment => {
                    Resolution::Refunded { refund: money_id, amount: positive_rest(&p)? }
                }
                _ => return Err(PaymentError::InvalidRequest("only a merchant payment can be refunded".into())),
            },
            CaseAction::Reverse { source } => {
                let amount = match &original {
                    Some(p) => positive_rest(p)?,
                    None => self.transfer_amount(case.transfer).await?,
                };
                Resolution::Reversed { source, reversal: money_id, amount }
            }
        })
    }

    async fn transfer_amount(&self, id: TransferId) -> Result<Money, PaymentError> {
        let t = self.ledger.lookup_transfers(&[id]).await?.into_iter().next().ok_or(PaymentError::NotReportable(id))?;
        let currency = t.ledger.currency().ok_or_else(|| PaymentError::Corrupt(format!("ledger of {id}")))?;
        let minor = i64::try_from(t.amount).map_err(|_| PaymentError::Corrupt(format!("amount of {id}")))?;
        Ok(Money::from_minor(minor, currency))
    }

    /// Moves the money of a resolution (ids derived from the resolution: a retry converges).
    async fn carry_out(&self, case: &Case, resolution: &Resolution) -> Result<(), PaymentError> {
        let key = IdempotencyKey::new(format!("case-{}", case.id))?;
        match resolution {
            Resolution::Unfrozen => Ok(()),
            Resolution::Refunded { refund, amount } => {
                let original = self.case_payment(case).await?;
                self.refund_payment(*refund, key, original, *amount, PaymentKind::Refund, None).await.map(|_| ())
            }
            Resolution::Reversed { source, reversal, amount } => {
                let from = match source {
                    ReversalSource::Suspense => Some(self.system_account(AccountKind::Suspense, amount.currency())?),
                    ReversalSource::Counterparty => None,
                };
                match case.payment {
                    Some(_) => {
                        let original = self.case_payment(case).await?;
                        self.refund_payment(*reversal, key, original, *amount, PaymentKind::Reversal, from)
                            .await
                            .map(|_| ())
                    }
                    None => self.reverse_transfer(case, *reversal, key, *amount, from).await,
                }
            }
        }
    }

    async fn case_payment(&self, case: &Case) -> Result<Payment, PaymentError> {
        let id = case.payment.ok_or_else(|| PaymentError::InvalidRequest("the case names no payment".into()))?;
        self.payment(id).await
    }

    /// Reverses a transfer that belongs to no payment (a red packet, for one): one transfer from the
    /// credited account (or suspense) back to the user's wallet, recorded as a reversal.
    async fn reverse_transfer(
        &self,
        case: &Case,
        id: PaymentId,
        key: IdempotencyKey,
        amount: Money,
        from: Option<AccountId>,
    ) -> Result<(), PaymentError> {
        if let Some(stored) = self.store.payment(id).await? {
            return match stored.state {
                PaymentState::Submitting => self.finish_submitting(stored).await.map(|_| ()),
                _ => Ok(()),
            };
        }
        let t = self.ledger.lookup_transfers(&[case.transfer]).await?.into_iter().next();
        let t = t.ok_or(PaymentError::NotReportable(case.transfer))?;
        let source = from.unwrap_or(t.credit_account_id);
        let legs: Vec<Leg> =
            vec![leg(&self.keys.ids, id.as_u128(), 0, source, case.account, amount, TransferCode::REVERSAL)];
        let now = self.now();
        let payer = self.store.account(source).await?.map_or(Owner::System, |e| e.owner);
        let p = Payment {
            id,
            kind: PaymentKind::Reversal,
            key,
            state: PaymentState::Submitting,
            payer,
            payee: Owner::User(case.user),
            amount,
            fee: Money::zero(amount.currency()),
            fee_bearer: super::model::FeeBearer::Payer,
            refunded: Money::zero(amount.currency()),
            fee_refunded: Money::zero(amount.currency()),
            refund_of: None,
            legs,
            pending: false,
            hold_timeout_secs: 0,
            card: None,
            bank_reference: None,
            order_ref: None,
            device: None,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_payment(&p).await? {
            Inserted::New => self.finish_submitting(p).await.map(|_| ()),
            Inserted::Existing(stored) if stored.state == PaymentState::Submitting => {
                self.finish_submitting(stored).await.map(|_| ())
            }
            Inserted::Existing(_) => Ok(()),
        }
    }
}

fn positive_rest(p: &Payment) -> Result<Money, PaymentError> {
    let rest = p.refundable();
    if rest.is_positive() {
        Ok(rest)
    } else {
        Err(PaymentError::RefundExceedsPayment { requested: rest, refundable: rest })
    }
}

fn same_action(resolution: &Resolution, action: CaseAction) -> bool {
    matches!(
        (resolution, action),
        (Resolution::Unfrozen, CaseAction::Unfreeze)
            | (Resolution::Refunded { .. }, CaseAction::Refund)
            | (Resolution::Reversed { .. }, CaseAction::Reverse { .. })
    )
}
