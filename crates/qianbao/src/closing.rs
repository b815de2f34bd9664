//! The seam where closing an account meets the ledger.
//!
//! Closing needs every ledger account of the user at zero balance (withdraw first). That check belongs to
//! the ledger, which a later part of the facade wires in as the default [`ClosingCheck`]. Until a check is
//! installed, [`Wallet::close_account`](crate::Wallet::close_account) refuses with
//! [`WalletError::ClosingUnavailable`]: the facade never assumes a balance it has not read.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use qianbao_core::UserId;
use qianbao_identity::ZeroBalanceConfirmed;

use crate::WalletError;

/// The future a [`ClosingCheck`] returns.
pub type ClosingFuture<'a> = Pin<Box<dyn Future<Output = Result<ZeroBalanceConfirmed, WalletError>> + Send + 'a>>;

/// Confirms that a user's balances allow closing the account.
///
/// An implementation reads every ledger account of `user` and answers
/// `Ok(ZeroBalanceConfirmed { checked_at })` with the time it read them only when all are zero; otherwise
/// a rejection saying what is left. Identity accepts the confirmation only while it is fresh.
pub trait ClosingCheck: Send + Sync + fmt::Debug {
    /// Checks `user`'s balances now.
    fn confirm_zero_balance(&self, user: UserId) -> ClosingFuture<'_>;
}
