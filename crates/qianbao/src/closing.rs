//! Where closing an account meets the ledger: [`ClosingCheck`], and the wallet's own check that every
//! ledger account of the user is at zero.
//!
//! A wallet checks its users' wallets on the ledger by default (no money, nothing pending: withdraw
//! first, wait for a top-up to settle). An embedding service that keeps money elsewhere too can give
//! its own check to [`WalletBuilder::closing_check`](crate::WalletBuilder::closing_check).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use qianbao_core::{Clock, UserId};
use qianbao_identity::ZeroBalanceConfirmed;
use qianbao_ledger::payments::Payments;

use crate::ledger::WalletLedger;
use crate::money::policy::money;
use crate::{WALLET_CURRENCY, WalletError};

/// The future a [`ClosingCheck`] returns.
pub type ClosingFuture<'a> = Pin<Box<dyn Future<Output = Result<ZeroBalanceConfirmed, WalletError>> + Send + 'a>>;

/// Confirms that a user's balances allow closing the account.
///
/// An implementation reads every account of `user` and answers
/// `Ok(ZeroBalanceConfirmed { checked_at })` with the time it read them only when all are zero; otherwise
/// a rejection saying what is left. Identity accepts the confirmation only while it is fresh.
pub trait ClosingCheck: Send + Sync + fmt::Debug {
    /// Checks `user`'s balances now.
    fn confirm_zero_balance(&self, user: UserId) -> ClosingFuture<'_>;
}

/// The default check: the user's wallet on the ledger has no balance and nothing pending (or was never
/// opened).
#[derive(Debug)]
pub(crate) struct LedgerZeroBalance {
    pub(crate) payments: Payments<WalletLedger>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl ClosingCheck for LedgerZeroBalance {
    fn confirm_zero_balance(&self, user: UserId) -> ClosingFuture<'_> {
        Box::pin(async move {
            // The time is read before the balance: the confirmation is never younger than the read.
            let checked_at = self.clock.now();
            if self.payments.wallet(user, WALLET_CURRENCY).await?.is_none() {
                return Ok(ZeroBalanceConfirmed { checked_at });
            }
            let b = self.payments.wallet_balance(user, WALLET_CURRENCY).await?;
            let pending = b.debits_pending != 0 || b.credits_pending != 0;
            let balance = b.credit_balance().and_then(|v| i64::try_from(v).ok());
            match balance {
                Some(0) if !pending => Ok(ZeroBalanceConfirmed { checked_at }),
                Some(minor) => Err(WalletError::BalanceNotZero { balance: money(minor), pending }),
                None => {
                    Err(qianbao_ledger::PaymentError::Corrupt(format!("the wallet of {user} is out of range")).into())
                }
            }
        })
    }
}
