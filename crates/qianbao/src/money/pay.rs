//! Paying: a merchant by its account or by scanning its QR code, a friend by transfer; and enrolling
//! the device for consumer payment codes (the merchant side is [`MerchantDesk`](crate::MerchantDesk)).

use qianbao_core::{AccountId, Money, UserId};
use qianbao_identity::{AuditKind, PaymentPassword};
use qianbao_ledger::payments::{
    AccountKind, IdempotencyKey, MerchantPayment, Payment, PaymentKind, PaymentsStore, QrPayment, UserTransfer,
};

/// Merchant payments and transfers share one key space.
const KIND: PaymentKind = PaymentKind::MerchantPayment;
use qianbao_ledger::PaymentError;
use qianbao_ledger::qr::{CodeKind, ScannedCode};
use qianbao_token::PaycodeEnrollment;
use serde::{Deserialize, Serialize};

use super::{Authorization, Target};
use crate::{Caller, WALLET_CURRENCY, Wallet, WalletError};

/// A payment to a merchant's account (from its checkout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayMerchant {
    /// The merchant's account.
    pub merchant_account: AccountId,
    /// How much.
    pub amount: Money,
    /// The merchant's order reference (1 to 64 characters).
    pub order_ref: Option<String>,
    /// The client's idempotency key: a retry with it returns the first outcome.
    pub key: IdempotencyKey,
}

/// A payment by a scanned merchant-presented QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayByQr {
    /// The scanned text.
    pub code: String,
    /// The amount the payer typed: required for a static code; a dynamic code carries its own.
    pub amount: Option<Money>,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// A transfer to another user (a friend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferTo {
    /// The receiving user.
    pub to: UserId,
    /// How much.
    pub amount: Money,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

impl Wallet {
    /// Pays a merchant. Needs an active account (a frozen or banned one cannot pay); an account not yet
    /// real-name verified pays within class I's limits only. Authorized by the payment password, a
    /// certificate-signed order (no password) or a transaction token, or several; the day's payments
    /// must stay within the cap of that authorization ([`WalletError::DailyCapReached`]). Risk rules
    /// may hold the payment for review or block it. A retry with the same key returns the payment.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn pay_merchant(
        &self,
        caller: &Caller,
        req: PayMerchant,
        auth: &Authorization,
    ) -> Result<Payment, WalletError> {
        let a = self.authenticate(caller).await?;
        Self::check_amount(req.amount)?;
        let request = MerchantPayment {
            payer: a.user(),
            merchant_account: req.merchant_account,
            amount: req.amount,
            order_ref: req.order_ref,
            device: Some(a.device()),
            key: req.key,
        };
        if self.payment_exists(a.user(), KIND, &request.key).await? {
            return Ok(self.inner.payments.pay_merchant(request).await?);
        }
        let user = self.require_payer(a.user(), false).await?;
        self.ensure_wallet(&user).await?;
        self.merchant_of(req.merchant_account).await?;
        let payment = self.payment_id(a.user(), KIND, &request.key)?.as_u128();
        let target = Target { payee: req.merchant_account, amount: req.amount, payment, capped: true };
        let payments = &self.inner.payments;
        self.debit(&a, caller, auth, target, || payments.pay_merchant(request)).await
    }

    /// Pays by a scanned merchant QR code: the code is checked (format, CRC, the wallet's signature, a
    /// dynamic code's expiry) and becomes a payment to the merchant, with the same policy as
    /// [`pay_merchant`](Self::pay_merchant). A forged or edited code is refused
    /// ([`PaymentError::Qr`]).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn pay_qr(&self, caller: &Caller, req: PayByQr, auth: &Authorization) -> Result<Payment, WalletError> {
        let a = self.authenticate(caller).await?;
        let request =
            QrPayment { payer: a.user(), code: req.code, amount: req.amount, device: Some(a.device()), key: req.key };
        if self.payment_exists(a.user(), KIND, &request.key).await? {
            return Ok(self.inner.payments.pay_qr(request).await?);
        }
        let (merchant_account, amount) = self.scan(&request.code, request.amount)?;
        Self::check_amount(amount)?;
        let user = self.require_payer(a.user(), false).await?;
        self.ensure_wallet(&user).await?;
        let payment = self.payment_id(a.user(), KIND, &request.key)?.as_u128();
        let target = Target { payee: merchant_account, amount, payment, capped: true };
        let payments = &self.inner.payments;
        self.debit(&a, caller, auth, target, || payments.pay_qr(request)).await
    }

    /// The merchant account and amount of a scanned code (the payments layer checks it again).
    fn scan(&self, code: &str, entered: Option<Money>) -> Result<(AccountId, Money), WalletError> {
        let scanned = self.inner.qr.scan(code, self.now()).map_err(PaymentError::from)?;
        let ScannedCode::Qianbao(code) = scanned else {
            return Err(
                PaymentError::InvalidRequest("the code is not one of this wallet's merchant codes".into()).into()
            );
        };
        let amount = match (code.kind, code.amount, entered) {
            (CodeKind::Dynamic, Some(a), None) => a,
            (CodeKind::Dynamic, Some(a), Some(e)) if a == e => a,
            (CodeKind::Static, _, Some(e)) => e,
            _ => {
                let why = "a static code needs the amount typed; a dynamic code's amount cannot be changed";
                return Err(PaymentError::InvalidRequest(why.into()).into());
            }
        };
        Ok((code.merchant_account, amount))
    }

    /// Transfers money to another user. Both must be real-name verified and active (the sender not
    /// frozen); the receiver's wallet is opened on first use. Authorized and capped as a payment.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn transfer(
        &self,
        caller: &Caller,
        req: TransferTo,
        auth: &Authorization,
    ) -> Result<Payment, WalletError> {
        let a = self.authenticate(caller).await?;
        Self::check_amount(req.amount)?;
        let request =
            UserTransfer { from: a.user(), to: req.to, amount: req.amount, device: Some(a.device()), key: req.key };
        if self.payment_exists(a.user(), KIND, &request.key).await? {
            return Ok(self.inner.payments.transfer(request).await?);
        }
        let user = self.require_payer(a.user(), true).await?;
        let receiver = self.receiver(req.to).await?;
        self.ensure_wallet(&user).await?;
        let to_account = self.ensure_wallet(&receiver).await?;
        let payment = self.payment_id(a.user(), KIND, &request.key)?.as_u128();
        let target = Target { payee: to_account, amount: req.amount, payment, capped: true };
        let payments = &self.inner.payments;
        self.debit(&a, caller, auth, target, || payments.transfer(request)).await
    }

    /// A user who may receive money: active or frozen (a frozen wallet still receives), and real-name
    /// verified.
    pub(crate) async fn receiver(&self, user: UserId) -> Result<qianbao_identity::User, WalletError> {
        let u = match self.inner.identity.user(user).await {
            Ok(u) => u,
            Err(qianbao_identity::IdentityError::UserNotFound(_)) => return Err(WalletError::RecipientUnavailable),
            Err(e) => return Err(e.into()),
        };
        if !u.status.can_log_in() || u.real_name.is_none() {
            return Err(WalletError::RecipientUnavailable);
        }
        Ok(u)
    }

    /// The merchant owning `account`, which must be a merchant account of this wallet.
    pub(crate) async fn merchant_of(&self, account: AccountId) -> Result<(), WalletError> {
        let entry = self.inner.payments.store().account(account).await?;
        match entry {
            Some(e) if e.kind == AccountKind::Merchant && e.currency == WALLET_CURRENCY => Ok(()),
            _ => Err(PaymentError::UnknownMerchant(account).into()),
        }
    }

    /// Enrolls the caller's device for consumer payment codes (the dynamic code a merchant scans),
    /// after the payment password. The secret is returned once: the device keeps it in secure storage
    /// and generates codes offline. Needs an active, real-name verified account.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn enroll_payment_code(
        &self,
        caller: &Caller,
        password: &PaymentPassword,
    ) -> Result<PaycodeEnrollment, WalletError> {
        let a = self.authenticate(caller).await?;
        let user = self.require_verified(a.user()).await?;
        self.check_payment_password(a.user(), password, a.ctx).await?;
        self.ensure_wallet(&user).await?;
        let enrollment = self.inner.tokens.enroll_paycode(a.user(), a.device()).await?;
        let detail = format!("payment-code enrollment {} on device {}", enrollment.index.get(), a.device());
        self.audit(a.user(), AuditKind::TOKEN_ISSUED, a.ctx, detail).await;
        Ok(enrollment)
    }
}
