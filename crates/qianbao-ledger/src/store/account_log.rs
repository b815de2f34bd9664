//! SQLite: the counters of touched accounts as an append-only log. A group does not update the
//! `ledger_accounts` rows of the accounts it touched (thousands of B-tree updates per batch); it
//! appends one `ledger_account_log` row holding their new counters and flags, packed, in the same
//! transaction as its transfers. Every few groups the log is *merged*: the latest state of each
//! account named in it is written to its row (once, in key order) and the log is emptied, in one
//! transaction. An account's state is its row overridden by the latest log entry naming it: the
//! writer's view holds it, readers find it in the published overlay ([`super::service::Tail`]), and
//! reopening reads the (short) log back.

use qianbao_core::AccountId;
use qianbao_store::StoreError;
use qianbao_store::drivers::rusqlite::{Connection, params};
use rustc_hash::FxHashMap;

use super::codec::{b16, be};
use crate::AccountFlags;

/// A log entry: id (16 bytes), the four counters (16 bytes each) and the flags (2 bytes), big-endian.
const ENTRY: usize = 82;

/// The mutable part of an account, as the log keeps it: what a decision changes.
pub(crate) use crate::AccountUpdate as State;

fn u128_at(e: &[u8], at: usize) -> u128 {
    u128::from_be_bytes(be(e, at))
}

/// The packed entries of `accounts`.
pub(crate) fn encode(accounts: &[State]) -> Vec<u8> {
    let mut data = Vec::with_capacity(accounts.len() * ENTRY);
    for a in accounts {
        data.extend_from_slice(&a.id.to_bytes());
        data.extend_from_slice(&b16(a.debits_pending));
        data.extend_from_slice(&b16(a.debits_posted));
        data.extend_from_slice(&b16(a.credits_pending));
        data.extend_from_slice(&b16(a.credits_posted));
        data.extend_from_slice(&a.flags.bits().to_be_bytes());
    }
    data
}

/// Decodes packed entries.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<State>, StoreError> {
    if !data.len().is_multiple_of(ENTRY) {
        return Err(StoreError::corrupt("an account log entry of the ledger has a wrong length"));
    }
    Ok(data
        .chunks_exact(ENTRY)
        .map(|e| State {
            id: AccountId::from_u128(u128_at(e, 0)),
            debits_pending: u128_at(e, 16),
            debits_posted: u128_at(e, 32),
            credits_pending: u128_at(e, 48),
            credits_posted: u128_at(e, 64),
            flags: AccountFlags::from_bits_retain(u16::from_be_bytes(be(e, 80))),
        })
        .collect())
}

/// Appends the states of `accounts` as the log row of journal sequence `seq`.
pub(crate) fn append(conn: &Connection, seq: i64, accounts: &[State]) -> Result<(), StoreError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let data = encode(accounts);
    conn.prepare_cached("INSERT INTO ledger_account_log (seq, data) VALUES (?1, ?2)")?.execute(params![seq, data])?;
    Ok(())
}

/// The latest logged state of each account named in the log, and how many log rows there are.
pub(crate) fn read(conn: &Connection) -> Result<(FxHashMap<AccountId, State>, usize), StoreError> {
    let mut stmt = conn.prepare("SELECT data FROM ledger_account_log ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut out = FxHashMap::default();
    let mut count = 0;
    while let Some(r) = rows.next()? {
        count += 1;
        for s in decode(super::sqlite::blob(r, 0)?)? {
            out.insert(s.id, s);
        }
    }
    Ok((out, count))
}

/// Writes the state of `accounts` (every account named in the log) to their rows, once each in key
/// order, and empties the log.
pub(crate) fn merge(conn: &Connection, accounts: &mut [State]) -> Result<(), StoreError> {
    accounts.sort_unstable_by_key(|s| s.id.to_bytes());
    // Single-row updates by key: unlike a multi-row statement, they need no statement journal.
    let mut update = conn
        .prepare_cached("UPDATE ledger_accounts SET dp = ?2, dpo = ?3, cp = ?4, cpo = ?5, flags = ?6 WHERE id = ?1")?;
    for s in accounts.iter() {
        let n = update.execute(params![
            s.id.to_bytes(),
            b16(s.debits_pending),
            b16(s.debits_posted),
            b16(s.credits_pending),
            b16(s.credits_posted),
            i64::from(s.flags.bits())
        ])?;
        if n != 1 {
            return Err(StoreError::corrupt(format!("the account log names account {}, which is not stored", s.id)));
        }
    }
    conn.execute("DELETE FROM ledger_account_log", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Account;

    fn account(id: u128, n: u128) -> Account {
        Account {
            id: AccountId::from_u128(id),
            debits_pending: 1,
            debits_posted: n,
            credits_pending: u128::MAX - n,
            credits_posted: 3,
            ledger: crate::Ledger::CNY,
            flags: AccountFlags::HISTORY,
            code: crate::AccountCode::WALLET,
            user_data_32: 9,
            timestamp: qianbao_core::Timestamp::from_unix_nanos(11),
            user_data_64: 10,
            user_data_128: 12,
        }
    }

    #[test]
    fn entries_round_trip_and_a_bad_length_is_corrupt() {
        let accounts = [account(1, 5), account(u128::MAX, 7)];
        let expected: Vec<State> = accounts.iter().map(State::from).collect();
        let states = decode(&encode(&expected)).unwrap();
        assert_eq!(states, expected);
        let mut stored = account(1, 0);
        stored.flags = AccountFlags::NONE;
        stored.debits_pending = 0;
        states[0].apply_to(&mut stored);
        assert_eq!(stored, accounts[0]);
        assert!(decode(&[0u8; ENTRY + 1]).is_err());
    }
}
