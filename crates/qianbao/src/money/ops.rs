//! The back office's money actions on [`Operator`]: merchants and their QR codes, bank reconciliation,
//! red-packet and review-hold sweeps, risk reviews, refunds and abnormal-transaction cases.

use qianbao_core::{AccountId, CaseId, Money};
use qianbao_identity::RequestContext;
use qianbao_ledger::PaymentError;
use qianbao_ledger::payments::{
    Case, CaseAction, CaseEvent, IdempotencyKey, MerchantId, Owner, Payment, PaymentId, RedPacketView, RefundRequest,
};
use qianbao_ledger::qr::{MerchantProfile, OrderRef};

use crate::audit::kinds;
use crate::notices::Notice;
use crate::{Operator, WALLET_CURRENCY, WalletError};

/// How many red packets or bank payments one sweep handles at most.
pub const SWEEP_LIMIT_MAX: u32 = 1_000;

impl Operator {
    /// Opens a merchant's receiving account (idempotent: the same account every time).
    #[tracing::instrument(skip_all, fields(operator = %self.name, merchant = %merchant))]
    pub async fn open_merchant(&self, merchant: MerchantId) -> Result<AccountId, WalletError> {
        Ok(self.wallet.inner.payments.open_merchant(merchant, WALLET_CURRENCY).await?)
    }

    /// A static merchant QR code (the payer types the amount), signed with the wallet's QR key so a
    /// forged or swapped code is detected. `profile.account` must be a merchant account of this wallet.
    #[tracing::instrument(skip_all, fields(operator = %self.name, account = %profile.account))]
    pub async fn merchant_static_code(&self, profile: &MerchantProfile) -> Result<String, WalletError> {
        self.wallet.merchant_of(profile.account).await?;
        Ok(self.wallet.inner.qr.static_code(profile).map_err(PaymentError::from)?)
    }

    /// A dynamic merchant QR code for one order and amount, valid for the configured few minutes.
    #[tracing::instrument(skip_all, fields(operator = %self.name, account = %profile.account))]
    pub async fn merchant_dynamic_code(
        &self,
        profile: &MerchantProfile,
        amount: Money,
        order_ref: &OrderRef,
    ) -> Result<String, WalletError> {
        self.wallet.merchant_of(profile.account).await?;
        let now = self.wallet.now();
        Ok(self.wallet.inner.qr.dynamic_code(profile, amount, order_ref, now).map_err(PaymentError::from)?)
    }

    /// Asks the bank about top-ups and withdrawals it has not confirmed (oldest first, at most `limit`)
    /// and posts or voids those it answered. Run it periodically.
    #[tracing::instrument(skip_all, fields(operator = %self.name))]
    pub async fn reconcile_bank(&self, limit: u32) -> Result<Vec<Payment>, WalletError> {
        if !self.wallet.inner.bank_configured {
            return Err(WalletError::BankNotConfigured);
        }
        Ok(self.wallet.inner.payments.reconcile_bank(limit.clamp(1, SWEEP_LIMIT_MAX)).await?)
    }

    /// Returns the unclaimed money of expired red packets to their senders (at most `limit`). Run it
    /// periodically.
    #[tracing::instrument(skip_all, fields(operator = %self.name))]
    pub async fn expire_red_packets(&self, limit: u32) -> Result<Vec<RedPacketView>, WalletError> {
        let now = self.wallet.now();
        Ok(self.wallet.inner.payments.expire_red_packets(now, limit.clamp(1, SWEEP_LIMIT_MAX)).await?)
    }

    /// Cancels payments whose review hold timed out (the ledger voids them). Run it periodically.
    #[tracing::instrument(skip_all, fields(operator = %self.name))]
    pub async fn expire_review_holds(&self) -> Result<Vec<Payment>, WalletError> {
        Ok(self.wallet.inner.payments.expire_holds().await?)
    }

    /// Releases a payment the risk rules held for review: it posts.
    #[tracing::instrument(skip_all, fields(operator = %self.name, payment = %payment))]
    pub async fn release_review(&self, payment: PaymentId) -> Result<Payment, WalletError> {
        Ok(self.wallet.inner.payments.release_review(payment).await?)
    }

    /// Rejects a payment held for review: nothing moves, the payer's money is free again.
    #[tracing::instrument(skip_all, fields(operator = %self.name, payment = %payment))]
    pub async fn reject_review(&self, payment: PaymentId, note: &str) -> Result<Payment, WalletError> {
        Ok(self.wallet.inner.payments.reject_review(payment, note).await?)
    }

    /// Refunds (part of) a completed merchant payment on the merchant's behalf (a dispute settled for
    /// the payer); the merchant's account pays it back.
    #[tracing::instrument(skip_all, fields(operator = %self.name, payment = %payment))]
    pub async fn refund(&self, payment: PaymentId, amount: Money, key: IdempotencyKey) -> Result<Payment, WalletError> {
        let payments = &self.wallet.inner.payments;
        let p = payments.payment(payment).await?;
        let Owner::Merchant(merchant) = p.payee else {
            return Err(PaymentError::NotRefundable { kind: p.kind, state: p.state.code() }.into());
        };
        Ok(payments.refund(RefundRequest { merchant, payment, amount, key }).await?)
    }

    /// The open and past abnormal-transaction cases of a user.
    #[tracing::instrument(skip_all, fields(operator = %self.name, user = %user))]
    pub async fn cases_of(&self, user: qianbao_core::UserId) -> Result<Vec<Case>, WalletError> {
        Ok(self.wallet.inner.payments.cases_of(user).await?)
    }

    /// A case's history (opened, frozen, resolving, resolved, ...).
    #[tracing::instrument(skip_all, fields(operator = %self.name, case = %case))]
    pub async fn case_events(&self, case: CaseId) -> Result<Vec<CaseEvent>, WalletError> {
        Ok(self.wallet.inner.payments.case_events(case).await?)
    }

    /// Resolves an abnormal-transaction case: reverse the transfer, have the merchant refund it, or
    /// just unfreeze. The wallet is unfrozen for debits when no other case on it is open; the user is
    /// told and the trail records it.
    #[tracing::instrument(skip_all, fields(operator = %self.name, case = %case))]
    pub async fn resolve_case(&self, case: CaseId, action: CaseAction) -> Result<Case, WalletError> {
        let resolved = self.wallet.inner.payments.resolve_case(case, action, &self.name).await?;
        let detail = format!("case {case}: {action:?} by operator {}", self.name);
        self.wallet.audit(resolved.user, kinds::of(kinds::CASE_RESOLVED), RequestContext::NONE, detail).await;
        self.wallet.notify_user(resolved.user, Notice::CaseResolved).await;
        Ok(resolved)
    }
}
