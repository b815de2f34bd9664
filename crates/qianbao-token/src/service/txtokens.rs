//! Transaction tokens: requested by a logged-in user, delivered by SMS, email or in-app message, scoped
//! (amount, uses, payee, expiry, optional certificate binding), listed, revoked, consumed atomically by
//! payments, and given back when a payment fails.

use qianbao_core::{AccountId, Channel, Destination, Money, NotificationKind, Timestamp, TokenId, TransferId, UserId};
use serde::{Deserialize, Serialize};

use super::Tokens;
use super::sessions::AccessGrant;
use crate::TokenError;
use crate::bearer::{BearerToken, TokenKind};
use crate::binding::{CertThumbprint, check_binding};
use crate::store::run;
use crate::store::txtokens::{self as db, ConsumeArgs, Consumed, Released, TxRow};

/// What a user asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxTokenRequest {
    /// A name the user recognizes ("groceries this month"), at most 64 characters.
    pub label: String,
    /// The most all payments with the token may add up to (positive).
    pub max_amount: Money,
    /// How many payments it may authorize (at least 1).
    pub max_uses: u32,
    /// Only payments to this account, if set.
    pub payee: Option<AccountId>,
    /// When it stops working (within `tx_token_ttl_max`).
    pub expires_at: Timestamp,
    /// Where to deliver it: the user's phone (SMS), email, or in-app inbox.
    pub delivery: Destination,
    /// Bind it to this client certificate: it then only works presented over mTLS with it.
    pub binding: Option<CertThumbprint>,
}

/// The state of a transaction token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxTokenStatus {
    /// Usable.
    Active,
    /// No uses or amount left.
    Exhausted,
    /// Past its expiry.
    Expired,
    /// Revoked by the user.
    Revoked,
}

/// A transaction token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxTokenInfo {
    /// Its id (to revoke it).
    pub id: TokenId,
    /// The user's label.
    pub label: String,
    /// The limit it was issued with.
    pub max_amount: Money,
    /// What is left of it.
    pub remaining: Money,
    /// Uses it was issued with.
    pub max_uses: u32,
    /// Uses left.
    pub remaining_uses: u32,
    /// The only payee, if limited to one.
    pub payee: Option<AccountId>,
    /// The certificate it is bound to, if any.
    pub binding: Option<CertThumbprint>,
    /// How it was delivered.
    pub channel: Channel,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Its state at the time of the call.
    pub status: TxTokenStatus,
}

/// A payment's use of a transaction token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxTokenUse<'a> {
    /// The token as the user presented it (`qbt_…`).
    pub token: &'a str,
    /// The paying user (from the session).
    pub user: UserId,
    /// The payment's amount (positive).
    pub amount: Money,
    /// Who is paid.
    pub payee: AccountId,
    /// The payment's id: the idempotency key of the consumption, and what [`Tokens::release_transaction_token`] takes.
    pub payment: TransferId,
    /// The client certificate presented with the request (mTLS), if any.
    pub presented: Option<&'a CertThumbprint>,
}

/// A consumption that counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxTokenConsumption {
    /// The payment.
    pub payment: TransferId,
    /// The token.
    pub token: TokenId,
    /// The amount consumed.
    pub amount: Money,
    /// What the token has left.
    pub remaining: Money,
    /// Uses left.
    pub remaining_uses: u32,
    /// True when this payment id had consumed the token before (a retry): nothing changed now.
    pub replayed: bool,
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "sms",
        Channel::Email => "email",
        _ => "in_app",
    }
}

fn channel_from(s: &str) -> Channel {
    match s {
        "sms" => Channel::Sms,
        "email" => Channel::Email,
        _ => Channel::InApp,
    }
}

pub(crate) fn info(t: &TxRow, now: Timestamp) -> TxTokenInfo {
    let status = if t.revoked_at.is_some() {
        TxTokenStatus::Revoked
    } else if now >= t.expires_at {
        TxTokenStatus::Expired
    } else if t.remaining_uses == 0 || !t.remaining.is_positive() {
        TxTokenStatus::Exhausted
    } else {
        TxTokenStatus::Active
    };
    TxTokenInfo {
        id: t.id,
        label: t.label.clone(),
        max_amount: t.max_amount,
        remaining: t.remaining,
        max_uses: t.max_uses,
        remaining_uses: t.remaining_uses,
        payee: t.payee,
        binding: t.cnf.map(CertThumbprint::from_bytes),
        channel: channel_from(&t.channel),
        created_at: t.created_at,
        expires_at: t.expires_at,
        status,
    }
}

/// Why a consumption was refused, from the token as found (checked in this order).
pub(crate) fn explain_refusal(t: Option<&TxRow>, u: &TxTokenUse<'_>, now: Timestamp) -> TokenError {
    let Some(t) = t else { return TokenError::TokenUnknown };
    if t.user != u.user {
        TokenError::TxTokenWrongUser
    } else if t.revoked_at.is_some() {
        TokenError::TokenRevoked
    } else if now >= t.expires_at {
        TokenError::TokenExpired
    } else if let Err(e) = check_binding(t.cnf.map(CertThumbprint::from_bytes).as_ref(), u.presented) {
        e
    } else if t.max_amount.currency() != u.amount.currency() {
        TokenError::TxTokenCurrency { expected: t.max_amount.currency(), found: u.amount.currency() }
    } else if t.payee.is_some_and(|p| p != u.payee) {
        TokenError::TxTokenWrongPayee
    } else if t.remaining_uses == 0 {
        TokenError::TxTokenExhausted
    } else if u.amount.minor() > t.remaining.minor() {
        TokenError::TxTokenAmountExceeded { remaining: t.remaining }
    } else {
        TokenError::TxTokenExhausted
    }
}

impl Tokens {
    fn check_tx_request(&self, r: &TxTokenRequest, now: Timestamp) -> Result<(), TokenError> {
        let cfg = &self.inner.config;
        let bad = |s: &str| Err(TokenError::InvalidScope(s.into()));
        if r.label.chars().count() > 64 || r.label.chars().any(char::is_control) {
            return bad("the label is at most 64 printable characters");
        }
        if !r.max_amount.is_positive() {
            return bad("the maximum amount must be positive");
        }
        if r.max_uses == 0 || r.max_uses > cfg.tx_token_uses_max {
            return bad("the number of uses must be at least 1 and within the configured maximum");
        }
        if r.expires_at <= now || r.expires_at > now.saturating_add(cfg.tx_token_ttl_max) {
            return bad("the expiry must be in the future and within the configured maximum lifetime");
        }
        Ok(())
    }

    /// Issues a transaction token to the logged-in user of `grant` and delivers it through the notifier.
    /// The token string is only in that message; the answer describes it.
    #[tracing::instrument(skip_all, fields(user = %grant.user))]
    pub async fn request_transaction_token(
        &self,
        grant: &AccessGrant,
        req: TxTokenRequest,
    ) -> Result<TxTokenInfo, TokenError> {
        let now = self.now();
        self.check_tx_request(&req, now)?;
        let token = BearerToken::generate(TokenKind::Transaction, self.inner.entropy.as_ref());
        let row = TxRow {
            id: self.inner.ids.next(),
            digest: self.inner.hasher.digest(&token).to_bytes(),
            user: grant.user,
            label: req.label.clone(),
            max_amount: req.max_amount,
            remaining: req.max_amount,
            max_uses: req.max_uses,
            remaining_uses: req.max_uses,
            payee: req.payee,
            cnf: req.binding.map(CertThumbprint::to_bytes),
            channel: channel_name(req.delivery.channel()).into(),
            created_at: now,
            expires_at: req.expires_at,
            revoked_at: None,
        };
        let out = info(&row, now);
        run!(write, self.inner.store, |tx| db::insert(tx, row))?;
        let body = format!(
            "[qianbao] Your transaction token \"{}\" (up to {} in {} payments, until {}): {}. Keep it secret.",
            req.label,
            req.max_amount,
            req.max_uses,
            req.expires_at,
            token.expose()
        );
        let sent =
            self.notify(req.delivery, NotificationKind::TransactionToken, "Your transaction token".into(), body).await;
        if let Err(e) = sent {
            let (user, id) = (grant.user, out.id);
            run!(write, self.inner.store, |tx| db::revoke(tx, user, id, now))?;
            return Err(e);
        }
        Ok(out)
    }

    /// The user's transaction tokens, newest first (without the secrets).
    pub async fn list_transaction_tokens(&self, user: UserId) -> Result<Vec<TxTokenInfo>, TokenError> {
        let now = self.now();
        let rows = run!(read, self.inner.store, |tx| db::list(tx, user))?;
        Ok(rows.iter().map(|t| info(t, now)).collect())
    }

    /// Revokes one of the user's transaction tokens (revoking a revoked one again is fine).
    #[tracing::instrument(skip(self))]
    pub async fn revoke_transaction_token(&self, user: UserId, token: TokenId) -> Result<TxTokenInfo, TokenError> {
        let now = self.now();
        let row = run!(write, self.inner.store, |tx| db::revoke(tx, user, token, now))?;
        row.map(|t| info(&t, now)).ok_or(TokenError::TokenUnknown)
    }

    /// Revokes every transaction token of the user (account closure, reported fraud); how many.
    pub async fn revoke_all_transaction_tokens(&self, user: UserId) -> Result<u64, TokenError> {
        let now = self.now();
        Ok(run!(write, self.inner.store, |tx| db::revoke_all(tx, user, now))?)
    }

    /// Consumes one use and `amount` of a transaction token for a payment, atomically: concurrent
    /// payments cannot overspend it. Idempotent by payment id: a retry returns the first outcome.
    #[tracing::instrument(skip_all, fields(payment = %u.payment))]
    pub async fn consume_transaction_token(&self, u: TxTokenUse<'_>) -> Result<TxTokenConsumption, TokenError> {
        if !u.amount.is_positive() {
            return Err(TokenError::malformed("a payment amount", "it must be positive"));
        }
        let token = BearerToken::parse_kind(u.token, TokenKind::Transaction)?;
        let now = self.now();
        let args = ConsumeArgs {
            digest: self.inner.hasher.digest(&token).to_bytes(),
            user: u.user,
            amount: u.amount,
            payee: u.payee,
            presented_cnf: u.presented.map(|c| c.to_bytes()),
            use_id: u.payment,
            now,
        };
        let digest = args.digest;
        let consumption = |t: &TxRow, replayed| TxTokenConsumption {
            payment: u.payment,
            token: t.id,
            amount: u.amount,
            remaining: t.remaining,
            remaining_uses: t.remaining_uses,
            replayed,
        };
        match run!(write, self.inner.store, |tx| db::consume(tx, args))? {
            Consumed::Now(t, _) => Ok(consumption(&t, false)),
            Consumed::Before(Some(t), prior)
                if t.digest == digest && prior.amount_minor == u.amount.minor() && prior.payee == u.payee =>
            {
                Ok(consumption(&t, true))
            }
            Consumed::Before(..) => Err(TokenError::ConsumptionConflict),
            Consumed::Refused(t) => Err(explain_refusal(t.as_ref(), &u, now)),
        }
    }

    /// Gives a payment's consumption back to its token (the payment failed after the token was consumed).
    /// Releasing twice is fine; the token as it is after.
    #[tracing::instrument(skip(self))]
    pub async fn release_transaction_token(&self, payment: TransferId) -> Result<TxTokenInfo, TokenError> {
        let now = self.now();
        match run!(write, self.inner.store, |tx| db::release(tx, payment, now))? {
            Released::Now(t) | Released::Before(Some(t)) => Ok(info(&t, now)),
            Released::Before(None) | Released::NotFound => Err(TokenError::ConsumptionNotFound),
        }
    }
}
