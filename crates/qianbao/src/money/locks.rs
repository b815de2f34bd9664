//! The per-user lock under which a debit's day cap is counted and its payment made: the day's total
//! read before a payment is still the total when it posts.
//!
//! In one process the lock is one of a few async mutexes users are spread over by id. On PostgreSQL,
//! where several service instances may share the database, the holder of that mutex also takes the
//! user's advisory lock on the database ([`qianbao_store::PgDb::lock`]), so two instances paying for
//! one user at once are decided one after the other too.

use std::future::Future;

use qianbao_core::UserId;
use qianbao_store::Database;

use crate::WalletError;

/// Advisory lock keys of users' debits: the user id folded to 64 bits, under this label (so they do
/// not meet the keys of another purpose by accident; a collision would only serialize two users).
#[cfg(feature = "postgres")]
const DEBIT_LOCK_LABEL: u64 = 0x7162_6465_6269_7400; // "qbdebit\0"

/// Per-user debit locks (see the module docs).
pub(crate) struct UserLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
    /// The database when other instances may share it.
    #[cfg(feature = "postgres")]
    shared: Option<qianbao_store::PgDb>,
}

impl UserLocks {
    const STRIPES: usize = 64;

    pub(crate) fn new(db: &Database) -> Self {
        #[cfg(not(feature = "postgres"))]
        let _ = db;
        UserLocks {
            stripes: (0..Self::STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            #[cfg(feature = "postgres")]
            shared: db.as_postgres().cloned(),
        }
    }

    /// Runs `body` holding `user`'s lock.
    pub(crate) async fn run<T>(
        &self,
        user: UserId,
        body: impl Future<Output = Result<T, WalletError>>,
    ) -> Result<T, WalletError> {
        // On the heap: a debit's future is large, and callers' futures hold it across awaits.
        let body = Box::pin(body);
        let n = (user.as_u128() % Self::STRIPES as u128) as usize;
        let _local = self.stripes[n].lock().await;
        #[cfg(feature = "postgres")]
        if let Some(db) = &self.shared {
            let shared = db.lock(lock_key(user)).await?;
            let result = body.await;
            if let Err(e) = shared.release().await {
                // The connection was closed instead, which releases the lock too; the result stands.
                tracing::warn!(%user, error = %e, "a user's debit lock was released by closing its connection");
            }
            return result;
        }
        body.await
    }
}

/// The advisory lock key of `user`'s debits.
#[cfg(feature = "postgres")]
fn lock_key(user: UserId) -> i64 {
    let id = user.as_u128();
    i64::from_ne_bytes(((id as u64) ^ ((id >> 64) as u64) ^ DEBIT_LOCK_LABEL).to_ne_bytes())
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_depend_on_both_halves_of_the_id() {
        let a = lock_key(UserId::from_u128(1));
        assert_ne!(a, lock_key(UserId::from_u128(2)));
        assert_ne!(a, lock_key(UserId::from_u128(1 | (1 << 64))));
    }
}
