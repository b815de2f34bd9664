//! Sole ownership of one role of an SQLite database — for a component that keeps state in memory
//! which a second writer would silently contradict (the ledger's view of balances).
//!
//! A claim is held twice over: in the handle (so clones of one [`SqliteDb`] and in-memory databases
//! are covered) and, for a file, by an exclusive advisory lock on a side file `<database>-<role>.lock`
//! (so another process, or another handle opened on the same path, is refused too). The operating
//! system releases the file lock when the process dies, so a crash never leaves a stale claim; the side
//! file itself may stay behind and means nothing while unlocked.

use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::{ErrorKind, StoreError};

/// The roles claimed through one handle (shared by its clones).
pub(crate) type Claimed = Arc<Mutex<HashSet<String>>>;

/// An exclusive claim on a role of one SQLite database, released when dropped.
/// See [`SqliteDb::claim`](crate::SqliteDb::claim).
#[derive(Debug)]
pub struct SqliteClaim {
    role: String,
    claimed: Claimed,
    /// Holds the advisory lock while open (file databases).
    _file: Option<File>,
}

impl SqliteClaim {
    /// The role claimed.
    pub fn role(&self) -> &str {
        &self.role
    }
}

impl Drop for SqliteClaim {
    fn drop(&mut self) {
        self.claimed.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.role);
    }
}

/// Claims `role` of the database at `path` (`None`: in memory) for the handle owning `claimed`.
pub(crate) fn claim(claimed: &Claimed, path: Option<&Path>, role: &str) -> Result<SqliteClaim, StoreError> {
    let plain = !role.is_empty() && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain {
        return Err(StoreError::new(ErrorKind::Other, format!("a claim's role is [a-z0-9_]+, not {role:?}")));
    }
    let mut held = claimed.lock().unwrap_or_else(|p| p.into_inner());
    if held.contains(role) {
        return Err(in_use(role, "by this database handle"));
    }
    let file = path.map(|p| lock_side_file(p, role)).transpose()?;
    held.insert(role.to_owned());
    Ok(SqliteClaim { role: role.to_owned(), claimed: claimed.clone(), _file: file })
}

fn lock_side_file(db: &Path, role: &str) -> Result<File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(format!("-{role}.lock"));
    let path = PathBuf::from(name);
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| {
        StoreError::new(ErrorKind::Unavailable, format!("cannot open the lock file {}", path.display())).with_source(e)
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(in_use(role, "by another process or handle on this file")),
        Err(TryLockError::Error(e)) => Err(StoreError::new(
            ErrorKind::Unavailable,
            format!("cannot lock {} (the file system must support file locks)", path.display()),
        )
        .with_source(e)),
    }
}

fn in_use(role: &str, by: &str) -> StoreError {
    StoreError::new(ErrorKind::InUse, format!("the database's {role} is already claimed {by}"))
}

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, SqliteDb, SqliteOptions};

    #[test]
    fn a_role_is_claimed_once_per_database_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let a = SqliteDb::open(&path, SqliteOptions::default()).unwrap();
        let b = SqliteDb::open(&path, SqliteOptions::default()).unwrap();

        let first = a.claim("ledger").unwrap();
        assert_eq!(first.role(), "ledger");
        // The same handle (and its clones) and another handle on the same file are both refused.
        assert_eq!(a.clone().claim("ledger").unwrap_err().kind(), ErrorKind::InUse);
        assert_eq!(b.claim("ledger").unwrap_err().kind(), ErrorKind::InUse);
        // Another role is independent.
        let other = b.claim("ca").unwrap();

        drop(first);
        let again = b.claim("ledger").unwrap();
        assert_eq!(a.claim("ledger").unwrap_err().kind(), ErrorKind::InUse);
        drop((again, other));
        a.claim("ledger").unwrap();
    }

    #[test]
    fn in_memory_databases_are_claimed_per_handle() {
        let a = SqliteDb::open_in_memory(SqliteOptions::default()).unwrap();
        let b = SqliteDb::open_in_memory(SqliteOptions::default()).unwrap();
        let held = a.claim("ledger").unwrap();
        assert_eq!(a.claim("ledger").unwrap_err().kind(), ErrorKind::InUse);
        b.claim("ledger").unwrap();
        drop(held);
        a.claim("ledger").unwrap();
    }

    #[test]
    fn roles_are_plain_names() {
        let a = SqliteDb::open_in_memory(SqliteOptions::default()).unwrap();
        for bad in ["", "../x", "Ledger", "a b", "a/b"] {
            assert_eq!(a.claim(bad).unwrap_err().kind(), ErrorKind::Other, "{bad:?}");
        }
    }
}
