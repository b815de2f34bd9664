//! Money in and out through the user's verified bank cards: top-up and withdrawal. The bank answers at
//! once or later; a movement it has not confirmed stays held (pending on the ledger) until it does —
//! [`Operator::reconcile_bank`](crate::Operator::reconcile_bank) asks it again.

use qianbao_core::Money;
use qianbao_identity::{ApplicationId, BankCardView};
use qianbao_ledger::bank::CardToken;
use qianbao_ledger::payments::{AccountKind, BankTransfer, IdempotencyKey, Payment, PaymentKind};
use serde::{Deserialize, Serialize};

use super::{Authorization, Target};
use crate::{Caller, WALLET_CURRENCY, Wallet, WalletError};

/// Money between the wallet and one of the user's verified bank cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardMovement {
    /// The card: the reference of the real-name application that verified it
    /// ([`Wallet::bank_cards`]).
    pub card: ApplicationId,
    /// How much reaches the wallet (top-up) or leaves it (withdrawal), before fees.
    pub amount: Money,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

/// The token the bank adapter receives for a verified card: the verifying application's id. A
/// [`BankAdapter`](qianbao_ledger::BankAdapter) resolves it to the card with
/// [`Identity::bank_card_number`](qianbao_identity::Identity::bank_card_number) (the user is in the
/// request); the card number itself never enters the payments records.
pub fn card_token(card: ApplicationId) -> CardToken {
    CardToken::new(format!("app_{card}"))
}

impl Wallet {
    /// The caller's verified bank cards (masked), bound by real-name verification by bank card.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn bank_cards(&self, caller: &Caller) -> Result<Vec<BankCardView>, WalletError> {
        let a = self.authenticate(caller).await?;
        Ok(self.inner.identity.bank_cards(a.user()).await?)
    }

    /// Tops up the caller's wallet from one of their verified bank cards, authorized like a payment
    /// (money in is not counted toward the daily caps). Pending until the bank confirms: the payment
    /// comes back `held` when the bank answers later.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn top_up(
        &self,
        caller: &Caller,
        req: CardMovement,
        auth: &Authorization,
    ) -> Result<Payment, WalletError> {
        self.card_movement(caller, req, auth, true).await
    }

    /// Withdraws from the caller's wallet to one of their verified bank cards (a frozen account cannot).
    /// Pending until the bank confirms; the money is reserved meanwhile and returned if the bank fails.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn withdraw(
        &self,
        caller: &Caller,
        req: CardMovement,
        auth: &Authorization,
    ) -> Result<Payment, WalletError> {
        self.card_movement(caller, req, auth, false).await
    }

    async fn card_movement(
        &self,
        caller: &Caller,
        req: CardMovement,
        auth: &Authorization,
        top_up: bool,
    ) -> Result<Payment, WalletError> {
        let a = self.authenticate(caller).await?;
        Self::check_amount(req.amount)?;
        if !self.inner.bank_configured {
            return Err(WalletError::BankNotConfigured);
        }
        let request = BankTransfer { user: a.user(), card: card_token(req.card), amount: req.amount, key: req.key };
        let payments = &self.inner.payments;
        let kind = if top_up { PaymentKind::TopUp } else { PaymentKind::Withdrawal };
        if self.payment_exists(a.user(), kind, &request.key).await? {
            return Ok(if top_up { payments.top_up(request).await? } else { payments.withdraw(request).await? });
        }
        let user = self.require_payer(a.user(), true).await?;
        if !self.inner.identity.bank_cards(a.user()).await?.iter().any(|c| c.application == req.card) {
            return Err(WalletError::BankCardNotFound(req.card));
        }
        self.ensure_wallet(&user).await?;
        let payee = payments.system_account(AccountKind::BankSettlement, WALLET_CURRENCY)?;
        let payment = self.payment_id(a.user(), kind, &request.key)?.as_u128();
        let target = Target { payee, amount: req.amount, payment, capped: false };
        if top_up {
            self.debit(&a, caller, auth, target, || payments.top_up(request)).await
        } else {
            self.debit(&a, caller, auth, target, || payments.withdraw(request)).await
        }
    }
}
