//! [`MerchantDesk`]: the merchant side — charge a consumer's payment code, refund, list payments.

use qianbao_core::Money;
use qianbao_ledger::PaymentError;
use qianbao_ledger::payments::{IdempotencyKey, MerchantId, MerchantPayment, Owner, Payment, PaymentId, RefundRequest};

use super::policy::AuthStrength;
use crate::{WALLET_CURRENCY, Wallet, WalletError};

/// A merchant's till: what a merchant's point of sale or back end does. Get one with
/// [`Wallet::merchant`].
///
/// **It authenticates nobody**: the embedding service authenticates the merchant (an API key, mutual
/// TLS) before handing it a desk for that merchant only.
#[derive(Debug, Clone)]
pub struct MerchantDesk {
    wallet: Wallet,
    merchant: MerchantId,
}

impl Wallet {
    /// The till of `merchant` (its account is opened by [`Operator::open_merchant`](crate::Operator::open_merchant)).
    pub fn merchant(&self, merchant: MerchantId) -> MerchantDesk {
        MerchantDesk { wallet: self.clone(), merchant }
    }
}

impl MerchantDesk {
    /// The merchant.
    pub fn id(&self) -> MerchantId {
        self.merchant
    }

    async fn account(&self) -> Result<qianbao_core::AccountId, WalletError> {
        let payments = &self.wallet.inner.payments;
        let account = payments.merchant_account(self.merchant, WALLET_CURRENCY).await?;
        account.ok_or_else(|| WalletError::Payment(PaymentError::InvalidRequest("the merchant has no account".into())))
    }

    /// Charges a consumer-presented payment code (the dynamic code the payer's device shows): the code
    /// is verified (valid about a minute, usable once) and identifies the payer, who must be active; the
    /// payment counts as authorized by one factor for the daily cap, and the risk rules see the payer's
    /// device. A code that already paid is refused ([`TokenError::PaycodeReplayed`](qianbao_token::TokenError::PaycodeReplayed)):
    /// look the payment up by key instead of charging again.
    #[tracing::instrument(skip_all, fields(merchant = %self.merchant, key = %key))]
    pub async fn charge_payment_code(
        &self,
        code: &str,
        amount: Money,
        order_ref: Option<String>,
        key: IdempotencyKey,
    ) -> Result<Payment, WalletError> {
        let w = &self.wallet;
        Wallet::check_amount(amount)?;
        let merchant_account = self.account().await?;
        let verified = w.inner.tokens.verify_paycode(code).await?;
        let user = w.require_payer(verified.user, false).await?;
        w.ensure_wallet(&user).await?;
        let request =
            MerchantPayment { payer: user.id, merchant_account, amount, order_ref, device: Some(verified.device), key };
        let pay = async {
            w.check_daily_cap(user.id, AuthStrength::SingleFactor, amount).await?;
            Ok(w.inner.payments.pay_merchant(request).await?)
        };
        w.inner.locks.run(user.id, pay).await
    }

    /// Refunds (part of) a completed payment to this merchant; refunds never exceed what was paid.
    #[tracing::instrument(skip_all, fields(merchant = %self.merchant, payment = %payment))]
    pub async fn refund(&self, payment: PaymentId, amount: Money, key: IdempotencyKey) -> Result<Payment, WalletError> {
        let request = RefundRequest { merchant: self.merchant, payment, amount, key };
        Ok(self.wallet.inner.payments.refund(request).await?)
    }

    /// The merchant's payments and refunds, newest first.
    #[tracing::instrument(skip_all, fields(merchant = %self.merchant))]
    pub async fn payments(&self, limit: u32) -> Result<Vec<Payment>, WalletError> {
        let limit = limit.clamp(1, super::records::HISTORY_LIMIT_MAX);
        Ok(self.wallet.inner.payments.payments_of(Owner::Merchant(self.merchant), limit).await?)
    }

    /// The merchant account's balance (posted).
    pub async fn balance(&self) -> Result<Money, WalletError> {
        let account = self.account().await?;
        let ledger = self.wallet.inner.payments.ledger();
        let found = ledger.lookup_accounts(&[account]).await.map_err(PaymentError::from)?;
        let minor = found.first().and_then(|a| a.balance().credit_balance()).and_then(|b| i64::try_from(b).ok());
        minor
            .map(super::policy::money)
            .ok_or_else(|| PaymentError::Corrupt(format!("merchant account {account}")).into())
    }
}
