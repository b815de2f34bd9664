//! The wallet's records: its balance, the payment history (newest first), spending by month, kind and
//! payee, and abnormal-transaction reports (the wallet is frozen for debits and a case opened).

use std::collections::BTreeMap;

use qianbao_core::{AccountId, CaseId, Money, Timestamp, TransferId, UserId};
use qianbao_ledger::Balance;
use qianbao_ledger::payments::{AbnormalReport, Case, IdempotencyKey, Owner, Payment, PaymentKind, PaymentState};
use serde::{Deserialize, Serialize};

use super::policy::money;
use crate::audit::kinds;
use crate::notices::Notice;
use crate::{Caller, WALLET_CURRENCY, Wallet, WalletError};

/// How many payments a history or spending analysis reads at most.
pub const HISTORY_LIMIT_MAX: u32 = 1_000;

/// A wallet's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletBalance {
    /// The ledger account of the wallet.
    pub account: AccountId,
    /// Posted credits less posted debits.
    pub balance: Money,
    /// What may be spent now: the balance less what pending debits (withdrawals, held payments)
    /// reserve.
    pub available: Money,
    /// Money on its way in (a top-up the bank has not confirmed).
    pub incoming: Money,
}

impl WalletBalance {
    fn of(account: AccountId, b: &Balance) -> Result<Self, WalletError> {
        let m = |v: Option<i128>| -> Result<Money, WalletError> {
            let minor = v.and_then(|v| i64::try_from(v).ok()).ok_or_else(|| {
                WalletError::Payment(qianbao_ledger::PaymentError::Corrupt(format!("wallet {account} out of range")))
            })?;
            Ok(money(minor))
        };
        Ok(WalletBalance {
            account,
            balance: m(b.credit_balance())?,
            available: m(b.available_credit())?,
            incoming: m(i128::try_from(b.credits_pending).ok())?,
        })
    }
}

/// One line of a spending analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendingLine {
    /// The month (`2027-01`, Beijing time), the kind (`merchant_payment`, `transfer`) or the payee.
    pub key: String,
    /// How many payments.
    pub count: u32,
    /// Their sum.
    pub amount: Money,
}

/// Where the money went: completed and held payments out of the wallet (merchant payments and
/// transfers), and refunds that came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendingSummary {
    /// Every payment out.
    pub total: Money,
    /// Refunds received.
    pub refunded: Money,
    /// By calendar month, oldest first.
    pub by_month: Vec<SpendingLine>,
    /// By kind of payment.
    pub by_kind: Vec<SpendingLine>,
    /// By payee (`merchant:<id>` or `user:<id>`), largest first.
    pub by_payee: Vec<SpendingLine>,
}

fn month(at: Timestamp) -> String {
    let t = at.to_datetime().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

fn payee_key(o: Owner) -> String {
    match o {
        Owner::Merchant(m) => format!("merchant:{m}"),
        Owner::User(u) => format!("user:{u}"),
        Owner::System => "wallet".into(),
    }
}

fn add(map: &mut BTreeMap<String, (u32, i64)>, key: String, amount: i64) {
    let e = map.entry(key).or_insert((0, 0));
    e.0 = e.0.saturating_add(1);
    e.1 = e.1.saturating_add(amount);
}

fn lines(map: BTreeMap<String, (u32, i64)>) -> Vec<SpendingLine> {
    map.into_iter().map(|(key, (count, amount))| SpendingLine { key, count, amount: money(amount) }).collect()
}

/// The spending of `user` in `payments` (pure, for tests and the journey).
pub(crate) fn summarize(user: UserId, payments: &[Payment]) -> SpendingSummary {
    let (mut by_month, mut by_kind, mut by_payee) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut total, mut refunded) = (0i64, 0i64);
    for p in payments {
        let live = matches!(p.state, PaymentState::Completed | PaymentState::Held { .. });
        let out = matches!(p.kind, PaymentKind::MerchantPayment | PaymentKind::Transfer);
        if live && out && p.payer == Owner::User(user) {
            let amount = p.amount.minor();
            total = total.saturating_add(amount);
            add(&mut by_month, month(p.created_at), amount);
            add(&mut by_kind, p.kind.as_str().to_string(), amount);
            add(&mut by_payee, payee_key(p.payee), amount);
        } else if p.state == PaymentState::Completed && p.kind == PaymentKind::Refund && p.payee == Owner::User(user) {
            refunded = refunded.saturating_add(p.amount.minor());
        }
    }
    let mut by_payee = lines(by_payee);
    by_payee.sort_by(|a, b| b.amount.minor().cmp(&a.amount.minor()).then_with(|| a.key.cmp(&b.key)));
    SpendingSummary {
        total: money(total),
        refunded: money(refunded),
        by_month: lines(by_month),
        by_kind: lines(by_kind),
        by_payee,
    }
}

impl Wallet {
    /// Opens the caller's wallet (idempotent; real-name approval and the first payment open it too) with
    /// the limits of the account's class. Returns its ledger account.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn open_wallet(&self, caller: &Caller) -> Result<AccountId, WalletError> {
        let a = self.authenticate(caller).await?;
        let user = self.require_can_log_in(a.user()).await?;
        self.ensure_wallet(&user).await
    }

    /// The caller's balance (their wallet is opened on first use).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn balance(&self, caller: &Caller) -> Result<WalletBalance, WalletError> {
        let a = self.authenticate(caller).await?;
        let payments = &self.inner.payments;
        let account = match payments.wallet(a.user(), WALLET_CURRENCY).await? {
            Some(account) => account,
            None => self.ensure_wallet(&self.require_can_log_in(a.user()).await?).await?,
        };
        WalletBalance::of(account, &payments.wallet_balance(a.user(), WALLET_CURRENCY).await?)
    }

    /// The caller's payments (paid and received, top-ups, withdrawals, refunds), newest first, at most
    /// `limit` (≤ [`HISTORY_LIMIT_MAX`]).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn payment_history(&self, caller: &Caller, limit: u32) -> Result<Vec<Payment>, WalletError> {
        let a = self.authenticate(caller).await?;
        let limit = limit.clamp(1, HISTORY_LIMIT_MAX);
        Ok(self.inner.payments.payments_of(Owner::User(a.user()), limit).await?)
    }

    /// Spending analysis over the caller's last [`HISTORY_LIMIT_MAX`] payments: by month, kind and
    /// payee, with refunds received.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn spending(&self, caller: &Caller) -> Result<SpendingSummary, WalletError> {
        let a = self.authenticate(caller).await?;
        let payments = self.inner.payments.payments_of(Owner::User(a.user()), HISTORY_LIMIT_MAX).await?;
        Ok(summarize(a.user(), &payments))
    }

    /// Reports a transfer out of the caller's wallet they did not make: the wallet is frozen for debits
    /// at once and a case opened for an operator ([`Operator::resolve_case`](crate::Operator::resolve_case)).
    /// The user is notified; a retry with the same key returns the case.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, transfer = %transfer))]
    pub async fn report_abnormal_transaction(
        &self,
        caller: &Caller,
        transfer: TransferId,
        reason: &str,
        key: IdempotencyKey,
    ) -> Result<Case, WalletError> {
        let a = self.authenticate(caller).await?;
        let report = AbnormalReport { user: a.user(), transfer, reason: reason.to_string(), key };
        let case = self.inner.payments.report_abnormal(report).await?;
        let detail = format!("case {} for transfer {transfer}; wallet frozen for debits", case.id);
        self.audit(a.user(), kinds::of(kinds::ABNORMAL_REPORTED), a.ctx, detail).await;
        self.notify_user(a.user(), Notice::AccountFrozen).await;
        Ok(case)
    }

    /// The caller's abnormal-transaction cases.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn cases(&self, caller: &Caller) -> Result<Vec<Case>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.payments.cases_of(a.user()).await?)
    }

    /// One of the caller's cases.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, case = %case))]
    pub async fn case(&self, caller: &Caller, case: CaseId) -> Result<Case, WalletError> {
        let a = self.authenticate(caller).await?;
        let c = self.inner.payments.case(case).await?;
        if c.user != a.user() {
            return Err(qianbao_ledger::PaymentError::CaseNotFound(case).into());
        }
        Ok(c)
    }
}
