//! The money journeys: the user's wallet, its balance and history, top-up and withdrawal, payments to
//! merchants (by account, QR code or payment code), transfers, red packets, abnormal-transaction
//! reports — and the policy only the facade can apply to them (account class → ledger limits, daily
//! caps by authentication strength, real name, frozen accounts, new devices).
//!
//! Every debit runs the same steps ([`Wallet::debit`]): the payer's status, their wallet opened with
//! their class's limits, the authorization checked (password, certificate-signed order, transaction
//! token), the day's payments counted under the user's lock (shared by service instances on PostgreSQL), the token consumed last, then the
//! payments layer; a failed payment gives the token's use back.

use std::fmt;
use std::future::Future;

use qianbao_ca::SignedOrder;
use qianbao_core::{AccountId, Money, SecretString, TransferId, UserId};
use qianbao_identity::{PaymentPassword, User};
use qianbao_ledger::PaymentError;
use qianbao_ledger::payments::{IdempotencyKey, Owner, PaymentId, PaymentKind};
use qianbao_token::TxTokenUse;
use rustls_pki_types::CertificateDer;

use crate::caller::Authed;
use crate::money::policy::{AuthStrength, money};
use crate::{Caller, WALLET_CURRENCY, Wallet, WalletError};

pub(crate) mod bank;
pub(crate) mod errors;
pub(crate) mod locks;
pub(crate) mod merchant;
pub(crate) mod ops;
pub(crate) mod packets;
pub(crate) mod pay;
pub(crate) mod policy;
pub(crate) mod records;

/// How many of a user's newest payments are read to add up the day's spending. A user with more
/// payments than this in one day is refused further ones (counted as at the cap).
const DAY_SCAN_MAX: u32 = 1_000;

/// How a user authorizes a payment: the payment password, a transaction token, a payment order signed
/// by the device's certificate key — or several (each is one factor; the client certificate of a
/// mutual-TLS request counts as one more). See [`AuthStrength`] for the daily cap each earns.
///
/// ```
/// use qianbao::Authorization;
/// use qianbao::qianbao_identity::PaymentPassword;
/// let auth = Authorization::password(PaymentPassword::parse("815926")?).and_token("qbt_...");
/// assert_eq!(format!("{auth:?}"), "Authorization { password: true, token: true, signed_order: false }");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Authorization {
    password: Option<PaymentPassword>,
    token: Option<SecretString>,
    signed: Option<(CertificateDer<'static>, SignedOrder)>,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("password", &self.password.is_some())
            .field("token", &self.token.is_some())
            .field("signed_order", &self.signed.is_some())
            .finish()
    }
}

impl Authorization {
    /// By the payment password.
    pub fn password(password: PaymentPassword) -> Self {
        Authorization { password: Some(password), ..Authorization::default() }
    }

    /// By a transaction token (`qbt_…`), consumed within its scope.
    pub fn token(token: impl Into<String>) -> Self {
        Authorization { token: Some(SecretString::new(token.into())), ..Authorization::default() }
    }

    /// By a payment order the device signed with the key of `certificate` (no password needed). The
    /// order must name the payer, the payee's account and the amount of the payment.
    pub fn signed_order(certificate: CertificateDer<'static>, order: SignedOrder) -> Self {
        Authorization { signed: Some((certificate, order)), ..Authorization::default() }
    }

    /// With the payment password too.
    pub fn and_password(mut self, password: PaymentPassword) -> Self {
        self.password = Some(password);
        self
    }

    /// With a transaction token too.
    pub fn and_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::new(token.into()));
        self
    }

    fn is_empty(&self) -> bool {
        self.password.is_none() && self.token.is_none() && self.signed.is_none()
    }
}

/// What a debit pays and to whom: what the authorization must cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    /// The account credited (a merchant, another wallet, the red-packet escrow, bank settlement).
    pub(crate) payee: AccountId,
    /// The amount.
    pub(crate) amount: Money,
    /// The id of the payment (a token's consumption is keyed by it).
    pub(crate) payment: u128,
    /// Whether it counts toward the daily caps.
    pub(crate) capped: bool,
}

/// An authorization that passed, before the token (if any) is consumed.
struct Granted {
    strength: AuthStrength,
}

impl Wallet {
    /// Money in the wallet's currency, positive.
    pub(crate) fn check_amount(amount: Money) -> Result<(), WalletError> {
        if amount.currency() != WALLET_CURRENCY {
            return Err(WalletError::WrongCurrency { expected: WALLET_CURRENCY, found: amount.currency() });
        }
        if !amount.is_positive() {
            return Err(PaymentError::InvalidRequest(format!("the amount must be positive, got {amount}")).into());
        }
        Ok(())
    }

    /// The id of the payment of `kind` `user` asks for under `key`.
    pub(crate) fn payment_id(
        &self,
        user: UserId,
        kind: PaymentKind,
        key: &IdempotencyKey,
    ) -> Result<PaymentId, WalletError> {
        let id = self.inner.payments.payment_id(user, kind, key);
        id.ok_or_else(|| PaymentError::InvalidRequest(format!("a user does not ask for a {}", kind.as_str())).into())
    }

    /// Whether a payment of `kind` of `user` under `key` exists already (a retry): the payments layer
    /// answers it without a second authorization.
    pub(crate) async fn payment_exists(
        &self,
        user: UserId,
        kind: PaymentKind,
        key: &IdempotencyKey,
    ) -> Result<bool, WalletError> {
        match self.inner.payments.payment(self.payment_id(user, kind, key)?).await {
            Ok(_) => Ok(true),
            Err(PaymentError::PaymentNotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens `user`'s wallet if needed and sets its debit limits from the account class (idempotent:
    /// a slot set again keeps its usage). Every debit journey calls it first, so no wallet ever pays
    /// without its class's limits.
    pub(crate) async fn ensure_wallet(&self, user: &User) -> Result<AccountId, WalletError> {
        let payments = &self.inner.payments;
        let account = payments.open_wallet(user.id, WALLET_CURRENCY).await?;
        let limits =
            policy::wallet_limits(user.class, &self.inner.config.identity.class_caps, &self.inner.config.policy);
        payments.set_wallet_limits(user.id, WALLET_CURRENCY, limits).await?;
        Ok(account)
    }

    /// The payer must be active (not frozen, banned, pending or closed) and, when `real_name`, verified.
    pub(crate) async fn require_payer(&self, user: UserId, real_name: bool) -> Result<User, WalletError> {
        if real_name { self.require_verified(user).await } else { self.require_active(user).await }
    }

    /// Runs a debit of the caller's wallet: authorization, daily cap and token under the user's lock,
    /// then `pay`. A transaction token consumed for it is given back when `pay` fails.
    pub(crate) async fn debit<F, Fut, T>(
        &self,
        a: &Authed,
        caller: &Caller,
        auth: &Authorization,
        target: Target,
        pay: F,
    ) -> Result<T, WalletError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, PaymentError>>,
    {
        let locked = async {
            if self.already_made(target.payment).await? {
                // The same request, sent again while the first was deciding (a client retrying at once):
                // the payments layer answers it; it is neither authorized nor counted a second time.
                return Ok(pay().await?);
            }
            let granted = self.authorize(a, caller, auth, target).await?;
            if target.capped {
                self.check_daily_cap(a.user(), granted.strength, target.amount).await?;
            }
            let token = self.consume_token(a, caller, auth, target).await?;
            match pay().await {
                Ok(t) => Ok(t),
                Err(e) => {
                    // Only a refusal is sure to have moved nothing; after a failure the payment may still
                    // complete (a retry or recovery finishes it), so its token use stays counted.
                    if let Some(payment) = token.filter(|_| errors::is_rejection(&e)) {
                        self.release_token(payment).await;
                    }
                    Err(e.into())
                }
            }
        };
        self.inner.locks.run(a.user(), locked).await
    }

    /// Whether the payment or red packet with id `id` exists (ids of both derive from the payer and
    /// the idempotency key, under different labels, so they never collide).
    async fn already_made(&self, id: u128) -> Result<bool, WalletError> {
        let payments = &self.inner.payments;
        match payments.payment(PaymentId::from_u128(id)).await {
            Ok(_) => return Ok(true),
            Err(PaymentError::PaymentNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        match payments.red_packet(qianbao_ledger::redpacket::RedPacketId::from_u128(id)).await {
            Ok(_) => Ok(true),
            Err(PaymentError::RedPacketNotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks every factor given except the token (consumed last); returns the strength.
    async fn authorize(
        &self,
        a: &Authed,
        caller: &Caller,
        auth: &Authorization,
        target: Target,
    ) -> Result<Granted, WalletError> {
        if auth.is_empty() {
            return Err(WalletError::AuthorizationRequired);
        }
        let (mut factors, mut certificate) = (0u32, false);
        if let Some((der, signed)) = &auth.signed {
            let o = &signed.order;
            let mismatch = [
                (o.payer != a.user(), "payer"),
                (o.payee != target.payee, "payee"),
                (o.amount != target.amount, "amount"),
            ];
            if let Some((_, what)) = mismatch.iter().find(|(differs, _)| *differs) {
                return Err(WalletError::OrderMismatch(what));
            }
            let verified = self.verify_payment_order(der, signed, a.ctx).await?;
            if verified.certificate.user != a.user() {
                return Err(WalletError::CertificateNotYours);
            }
            factors += 1;
            certificate = true;
        }
        if let Some(password) = &auth.password {
            self.check_payment_password(a.user(), password, a.ctx).await?;
            factors += 1;
        }
        if auth.signed.is_none() && self.connection_certificate_is_own(a, caller).await {
            factors += 1;
            certificate = true;
        }
        factors += u32::from(auth.token.is_some());
        Ok(Granted { strength: AuthStrength::of(factors, certificate) })
    }

    /// True when the request came over mutual TLS with a valid certificate of the caller's own device.
    async fn connection_certificate_is_own(&self, a: &Authed, caller: &Caller) -> bool {
        let Some(der) = &caller.client_certificate else { return false };
        match self.inner.ca.verify_certificate(der).await {
            Ok(v) => v.user == a.user() && v.device == a.device(),
            Err(_) => false,
        }
    }

    /// The day's payments plus this one must stay within the cap of `strength`.
    pub(crate) async fn check_daily_cap(
        &self,
        user: UserId,
        strength: AuthStrength,
        amount: Money,
    ) -> Result<(), WalletError> {
        let since = policy::day_start(self.now());
        let payments = self.inner.payments.payments_of(Owner::User(user), DAY_SCAN_MAX).await?;
        let packets = self.inner.payments.red_packets_sent(user, since, DAY_SCAN_MAX).await?;
        let cap = strength.daily_cap_minor(&self.inner.config.policy);
        let truncated = payments.len() >= DAY_SCAN_MAX as usize
            && payments.last().is_some_and(|p| p.created_at >= since)
            || packets.len() >= DAY_SCAN_MAX as usize;
        let spent = if truncated { Some(cap) } else { policy::spent_since(&payments, &packets, user, since) };
        let spent = spent.unwrap_or(i64::MAX);
        if spent.checked_add(amount.minor()).is_none_or(|total| total > cap) {
            return Err(WalletError::DailyCapReached { strength, cap: money(cap), spent: money(spent.min(cap)) });
        }
        Ok(())
    }

    /// Consumes the token's use for this payment (atomic in the token store; a retry replays).
    async fn consume_token(
        &self,
        a: &Authed,
        caller: &Caller,
        auth: &Authorization,
        target: Target,
    ) -> Result<Option<TransferId>, WalletError> {
        let Some(token) = &auth.token else { return Ok(None) };
        let payment = TransferId::from_u128(target.payment);
        let thumbprint = caller.thumbprint();
        let u = TxTokenUse {
            token: token.expose(),
            user: a.user(),
            amount: target.amount,
            payee: target.payee,
            payment,
            presented: thumbprint.as_ref(),
        };
        self.inner.tokens.consume_transaction_token(u).await?;
        Ok(Some(payment))
    }

    async fn release_token(&self, payment: TransferId) {
        if let Err(e) = self.inner.tokens.release_transaction_token(payment).await {
            tracing::error!(%payment, error = %e, "a transaction token's use could not be given back");
        }
    }
}
