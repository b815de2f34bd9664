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

/// A fixed-size log entry (rows written before migration 5): id (16 bytes), the four counters
/// (16 bytes each) and the flags (2 bytes), big-endian.
const ENTRY: usize = 82;

/// The `format` of a row of fixed-size entries (before migration 5).
const FIXED: i64 = 0;
/// The `format` of a row of compact entries: the id (16 bytes, big-endian), a byte whose bits 0–3 say
/// which counters (`debits_pending`, `debits_posted`, `credits_pending`, `credits_posted`) are not zero
/// and bit 4 whether the flags are not zero, then those counters as unsigned LEB128 and the flags
/// (2 bytes, big-endian). A payment's account entry is ~30 bytes instead of 82, so a group's log row and
/// the WAL frames and checkpoints it costs are under half the size.
const COMPACT: i64 = 1;

/// The mutable part of an account, as the log keeps it: what a decision changes.
pub(crate) use crate::AccountUpdate as State;

fn u128_at(e: &[u8], at: usize) -> u128 {
    u128::from_be_bytes(be(e, at))
}

fn corrupt() -> StoreError {
    StoreError::corrupt("an account log entry of the ledger is malformed")
}

fn counters(s: &State) -> [u128; 4] {
    [s.debits_pending, s.debits_posted, s.credits_pending, s.credits_posted]
}

fn put_leb128(data: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        data.push((v as u8) | 0x80);
        v >>= 7;
    }
    data.push(v as u8);
}

/// An unsigned LEB128 value at `*at`, which moves past it; an overlong or truncated one is corrupt.
fn leb128_at(data: &[u8], at: &mut usize) -> Result<u128, StoreError> {
    let mut v = 0u128;
    for shift in (0..128).step_by(7) {
        let b = *data.get(*at).ok_or_else(corrupt)?;
        *at += 1;
        let bits = u128::from(b & 0x7f);
        if shift == 126 && bits > 3 {
            return Err(corrupt());
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(corrupt())
}

/// The compact entries of `accounts` (format [`COMPACT`]).
pub(crate) fn encode(accounts: &[State]) -> Vec<u8> {
    let mut data = Vec::with_capacity(accounts.len() * 40);
    for a in accounts {
        data.extend_from_slice(&a.id.to_bytes());
        let values = counters(a);
        let mut mask = 0u8;
        for (i, v) in values.iter().enumerate() {
            if *v != 0 {
                mask |= 1 << i;
            }
        }
        let flags = a.flags.bits();
        if flags != 0 {
            mask |= 1 << 4;
        }
        data.push(mask);
        for v in values.into_iter().filter(|v| *v != 0) {
            put_leb128(&mut data, v);
        }
        if flags != 0 {
            data.extend_from_slice(&flags.to_be_bytes());
        }
    }
    data
}

/// Decodes a log row's entries, written in `format`.
pub(crate) fn decode(data: &[u8], format: i64) -> Result<Vec<State>, StoreError> {
    match format {
        FIXED => decode_fixed(data),
        COMPACT => decode_compact(data),
        _ => Err(StoreError::corrupt(format!("an account log row of the ledger has the unknown format {format}"))),
    }
}

fn decode_compact(data: &[u8]) -> Result<Vec<State>, StoreError> {
    let mut out = Vec::with_capacity(data.len() / 30);
    let mut at = 0;
    while at < data.len() {
        let id = data.get(at..at + 16).ok_or_else(corrupt)?;
        let id = AccountId::from_u128(u128_at(id, 0));
        let mask = *data.get(at + 16).ok_or_else(corrupt)?;
        at += 17;
        if mask >> 5 != 0 {
            return Err(corrupt());
        }
        let mut values = [0u128; 4];
        for (i, v) in values.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *v = leb128_at(data, &mut at)?;
            }
        }
        let mut flags = 0u16;
        if mask & (1 << 4) != 0 {
            let b = data.get(at..at + 2).ok_or_else(corrupt)?;
            flags = u16::from_be_bytes(be(b, 0));
            at += 2;
        }
        out.push(State {
            id,
            debits_pending: values[0],
            debits_posted: values[1],
            credits_pending: values[2],
            credits_posted: values[3],
            flags: AccountFlags::from_bits_retain(flags),
        });
    }
    Ok(out)
}

fn decode_fixed(data: &[u8]) -> Result<Vec<State>, StoreError> {
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
    conn.prepare_cached("INSERT INTO ledger_account_log (seq, data, format) VALUES (?1, ?2, ?3)")?
        .execute(params![seq, data, COMPACT])?;
    Ok(())
}

/// The latest logged state of each account named in the log, and how many log rows there are.
pub(crate) fn read(conn: &Connection) -> Result<(FxHashMap<AccountId, State>, usize), StoreError> {
    let mut stmt = conn.prepare("SELECT data, format FROM ledger_account_log ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut out = FxHashMap::default();
    let mut count = 0;
    while let Some(r) = rows.next()? {
        count += 1;
        for s in decode(super::sqlite::blob(r, 0)?, r.get(1)?)? {
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
pub(crate) mod tests {
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

    /// Entries as rows written before migration 5 hold them.
    pub(crate) fn encode_fixed(accounts: &[State]) -> Vec<u8> {
        let mut data = Vec::new();
        for a in accounts {
            data.extend_from_slice(&a.id.to_bytes());
            for v in counters(a) {
                data.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(&a.flags.bits().to_be_bytes());
        }
        data
    }

    fn state(id: u128, c: [u128; 4], flags: u16) -> State {
        State {
            id: AccountId::from_u128(id),
            debits_pending: c[0],
            debits_posted: c[1],
            credits_pending: c[2],
            credits_posted: c[3],
            flags: AccountFlags::from_bits_retain(flags),
        }
    }

    #[test]
    fn entries_round_trip_in_both_formats_and_apply_to_accounts() {
        let accounts = [account(1, 5), account(u128::MAX, 7)];
        let expected: Vec<State> = accounts.iter().map(State::from).collect();
        assert_eq!(decode(&encode(&expected), COMPACT).unwrap(), expected);
        let states = decode(&encode_fixed(&expected), FIXED).unwrap();
        assert_eq!(states, expected);
        let mut stored = account(1, 0);
        stored.flags = AccountFlags::NONE;
        stored.debits_pending = 0;
        states[0].apply_to(&mut stored);
        assert_eq!(stored, accounts[0]);
        assert!(decode(&[0u8; ENTRY + 1], FIXED).is_err());
        assert!(decode(&encode(&expected), 2).is_err());
    }

    #[test]
    fn compact_entries_keep_every_counter_value_and_flag() {
        let values = [0, 1, 127, 128, 16_383, 16_384, u128::from(u64::MAX), 1 << 126, u128::MAX - 1, u128::MAX];
        let mut all = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let w = values[(i + 3) % values.len()];
            all.push(state(i as u128, [*v, w, 0, *v], if i % 2 == 0 { 0 } else { 0xffff }));
            all.push(state(u128::MAX - i as u128, [w, 0, *v, w], 1));
        }
        let data = encode(&all);
        assert!(data.len() < all.len() * ENTRY);
        assert_eq!(decode(&data, COMPACT).unwrap(), all);
    }

    #[test]
    fn malformed_compact_entries_are_corrupt_not_a_panic() {
        let all = vec![state(7, [300, 0, u128::MAX, 1], 0x0102), state(8, [0, 5, 0, 0], 0)];
        let data = encode(&all);
        let first = encode(&all[..1]).len();
        for len in 0..data.len() {
            // Only a cut between entries decodes (to the entries before it).
            match decode(&data[..len], COMPACT) {
                Ok(states) => assert!(
                    (len == 0 && states.is_empty()) || (len == first && states == all[..1]),
                    "a cut at {len} decoded"
                ),
                Err(_) => assert!(len != 0 && len != first),
            }
        }
        // A counter longer than 128 bits, and a mask with unknown bits.
        let mut long = vec![0u8; 16];
        long.push(1);
        long.extend_from_slice(&[0xff; 18]);
        long.push(0x04);
        assert!(decode(&long, COMPACT).is_err());
        long.truncate(17);
        long.extend_from_slice(&[0xff; 20]);
        assert!(decode(&long, COMPACT).is_err());
        let mut unknown = vec![0u8; 16];
        unknown.push(1 << 5);
        assert!(decode(&unknown, COMPACT).is_err());
    }
}
