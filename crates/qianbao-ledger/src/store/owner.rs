//! One ledger per SQLite database: the ledger decides on a view of balances kept in memory, so a
//! second ledger writing the same file (another process, or another `DurableLedger` in this one)
//! would decide on stale balances and could spend the same money twice. Opening claims the
//! database's `ledger` role ([`qianbao_store::SqliteDb::claim`]); a second open is refused with
//! [`qianbao_store::ErrorKind::InUse`]. PostgreSQL needs no claim: every group locks what it reads.

use std::time::Duration;
#[cfg(feature = "sqlite")]
use std::time::Instant;

use qianbao_store::Database;
#[cfg(feature = "sqlite")]
use qianbao_store::ErrorKind;

use crate::LedgerError;

/// Held while the ledger is open; dropping it lets the database be opened again.
#[derive(Debug)]
pub(crate) struct Owner {
    #[cfg(feature = "sqlite")]
    _claim: Option<qianbao_store::SqliteClaim>,
}

/// Claims `db` for one ledger, waiting up to `wait` for a ledger of this process that is closing
/// (its last handle dropped, its task still finishing) to let go.
pub(crate) async fn claim(db: &Database, wait: Duration) -> Result<Owner, LedgerError> {
    #[cfg(feature = "sqlite")]
    if let Some(sqlite) = db.as_sqlite() {
        let deadline = Instant::now() + wait;
        loop {
            match sqlite.claim("ledger") {
                Ok(claim) => return Ok(Owner { _claim: Some(claim) }),
                Err(e) if e.kind() == ErrorKind::InUse && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    #[cfg(not(feature = "sqlite"))]
    let _ = (db, wait);
    Ok(Owner {
        #[cfg(feature = "sqlite")]
        _claim: None,
    })
}
