//! Compact id indexes: open-addressing hash tables (linear probing) of 4-byte entries, each a position
//! into the state's vectors with a fingerprint of the id's hash in the bits the position leaves free. A
//! look-up reads one cache line of the table in the common case (no separate control bytes), and the
//! fingerprint spares reading a record to reject a look-up. Tables stay at most three quarters full.
//! With a million accounts the account index takes 8 MB (it took 16 MB with 8-byte entries), so more
//! of it stays in cache and within the reach of the TLB.
//!
//! The hash is unkeyed (as FxHash was before it): ids are client-chosen, so a client could craft ids
//! that collide and slow its own batches down, never change their outcome.

use qianbao_core::{AccountId, TransferId};

use crate::state::{IdEntry, Slot};
use crate::{FailedTransfer, Transfer};

/// The position of an id in a table is the top bits of this hash (a multiplicative hash, whose top bits
/// depend on every bit of the id).
pub(crate) fn hash_u128(raw: u128) -> u64 {
    let x = (raw as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((raw >> 64) as u64);
    let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 32)
}

/// An empty entry. A full entry holds `value + 1` in its low [`Table::value_bits`] bits (so it is never
/// zero) and a fingerprint of the hash in the bits above.
const EMPTY: u32 = 0;
const MIN_ENTRIES: usize = 16;

/// The table both indexes share: 4-byte entries, a position with a fingerprint. Values are positions
/// below `2^(log2(entries) + extra_bits)` (the caller's vectors hold no more records than the table has
/// entries); the caller knows how to hash the id a value names (needed to grow the table and to remove).
///
/// The position takes as many bits as the table needs (21 for a million accounts) and the fingerprint
/// the rest (11 then): a hash's home position already tells its top bits, so the fingerprint comes
/// from its low bits. A false fingerprint match is caught by the caller's check of the id.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<u32>,
    /// `64 - log2(entries.len())`: a hash's top bits give its home position.
    shift: u32,
    /// Bits of a value beyond `log2(entries.len())`, plus one to spare.
    extra_bits: u32,
    len: usize,
}

impl Clone for Table {
    fn clone(&self) -> Self {
        Table { entries: self.entries.clone(), shift: self.shift, extra_bits: self.extra_bits, len: self.len }
    }

    /// Copies into the existing entries (no allocation when the sizes match).
    fn clone_from(&mut self, source: &Self) {
        self.entries.clone_from(&source.entries);
        self.shift = source.shift;
        self.extra_bits = source.extra_bits;
        self.len = source.len;
    }
}

impl Table {
    /// An empty table whose values may need `extra_bits` bits more than the size of the table.
    fn with_extra_bits(extra_bits: u32) -> Self {
        Table { extra_bits, ..Table::default() }
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// The home position of a hash (where its probe starts). Only for a non-empty table.
    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// How many low bits of an entry hold `value + 1`.
    fn value_bits(&self) -> u32 {
        (64 - self.shift + self.extra_bits + 1).min(32)
    }

    fn pack(&self, hash: u64, value: u32) -> u32 {
        let bits = self.value_bits();
        let stored = u64::from(value) + 1;
        assert!(stored < 1 << bits, "ledger invariant: an index value does not fit its table");
        if bits == 32 { stored as u32 } else { ((hash as u32) << bits) | stored as u32 }
    }

    fn value_of(&self, entry: u32) -> u32 {
        let bits = self.value_bits();
        let mask = if bits == 32 { u32::MAX } else { (1 << bits) - 1 };
        (entry & mask).wrapping_sub(1)
    }

    /// True when `entry` carries the fingerprint of `hash`.
    fn prints_match(&self, entry: u32, hash: u64) -> bool {
        let bits = self.value_bits();
        bits == 32 || (entry >> bits) == ((hash as u32) << bits) >> bits
    }

    /// Reads the table's line where the probe for `hash` starts, so that a later look-up finds it in
    /// cache. Returns the entry (to be folded into a value the optimiser cannot drop).
    pub(crate) fn touch(&self, hash: u64) -> u64 {
        if self.entries.is_empty() { 0 } else { u64::from(self.entries[self.home(hash)]) }
    }

    /// The position and value of the first entry with the fingerprint of `hash` for which `is` holds.
    fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        if self.entries.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut pos = self.home(hash);
        loop {
            let entry = self.entries[pos];
            if entry == EMPTY {
                return None;
            }
            if self.prints_match(entry, hash) && is(self.value_of(entry)) {
                return Some((pos, self.value_of(entry)));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds an entry (the id must not be in the table). `rehash` gives the hash of a value's id.
    fn insert(&mut self, hash: u64, value: u32, rehash: impl Fn(u32) -> u64) {
        self.reserve(1, rehash);
        let entry = self.pack(hash, value);
        self.place(hash, entry);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, entry: u32) {
        let mask = self.mask();
        let mut pos = self.home(hash);
        while self.entries[pos] != EMPTY {
            pos = (pos + 1) & mask;
        }
        self.entries[pos] = entry;
    }

    /// Removes the entry at `pos`, shifting back the entries after it that would no longer be found.
    fn remove_at(&mut self, pos: usize, rehash: impl Fn(u32) -> u64) {
        let mask = self.mask();
        let mut hole = pos;
        self.entries[hole] = EMPTY;
        self.len -= 1;
        let mut next = (hole + 1) & mask;
        while self.entries[next] != EMPTY {
            let home = self.home(rehash(self.value_of(self.entries[next])));
            // The entry at `next` may fill the hole if its home is not in (hole, next] (cyclically).
            let stays = if hole <= next { hole < home && home <= next } else { hole < home || home <= next };
            if !stays {
                self.entries[hole] = self.entries[next];
                self.entries[next] = EMPTY;
                hole = next;
            }
            next = (next + 1) & mask;
        }
    }

    /// Makes room for `additional` more entries without growing. Growing writes the new entries once
    /// (through `black_box`, so not as a lazily zeroed allocation): their memory is committed now rather
    /// than by page faults while deciding.
    fn reserve(&mut self, additional: usize, rehash: impl Fn(u32) -> u64) {
        let needed = self.len.saturating_add(additional);
        // At most three quarters full.
        if needed.saturating_mul(4) <= self.entries.len().saturating_mul(3) {
            return;
        }
        let size = needed.saturating_mul(4).div_ceil(3).next_power_of_two().max(MIN_ENTRIES);
        // Beyond 31 bits a value takes the whole entry and every probe checks the id.
        assert!(size.trailing_zeros() + self.extra_bits <= 32, "more ids than an index can hold");
        let mut entries = Vec::with_capacity(size);
        entries.resize(size, std::hint::black_box(EMPTY));
        let old = std::mem::replace(&mut self.entries, entries);
        let old_values: Vec<u32> = old.iter().filter(|e| **e != EMPTY).map(|e| self.value_of(*e)).collect();
        self.shift = 64 - size.trailing_zeros();
        for value in old_values {
            let hash = rehash(value);
            let entry = self.pack(hash, value);
            self.place(hash, entry);
        }
    }
}

/// Account id → slot in `accounts`, with a fingerprint of the id.
#[derive(Debug, Default)]
pub(crate) struct AccountIndex {
    table: Table,
}

impl Clone for AccountIndex {
    fn clone(&self) -> Self {
        AccountIndex { table: self.table.clone() }
    }

    fn clone_from(&mut self, source: &Self) {
        self.table.clone_from(&source.table);
    }
}

fn account_hash(accounts: &[Slot]) -> impl Fn(u32) -> u64 + '_ {
    |s| hash_u128(accounts[s as usize].account.id.as_u128())
}

impl AccountIndex {
    pub(crate) fn get(&self, id: AccountId, accounts: &[Slot]) -> Option<u32> {
        let raw = id.as_u128();
        self.table.find(hash_u128(raw), |s| accounts[s as usize].account.id.as_u128() == raw).map(|e| e.1)
    }

    /// The slot whose fingerprint matches `id`'s, without reading any account: one cache miss shallower
    /// than [`AccountIndex::get`]. The caller must check the slot's id (and fall back to `get`).
    pub(crate) fn candidate(&self, hash: u64) -> Option<u32> {
        self.table.find(hash, |_| true).map(|e| e.1)
    }

    /// Reads the line of the table where `hash` is looked up (see [`Table::touch`]).
    pub(crate) fn touch(&self, hash: u64) -> u64 {
        self.table.touch(hash)
    }

    /// Adds `slot` (already pushed to `accounts`); the id must be new.
    pub(crate) fn insert(&mut self, slot: u32, accounts: &[Slot]) {
        let raw = accounts[slot as usize].account.id.as_u128();
        self.table.insert(hash_u128(raw), slot, account_hash(accounts));
    }

    pub(crate) fn remove(&mut self, slot: u32, accounts: &[Slot]) {
        let raw = accounts[slot as usize].account.id.as_u128();
        if let Some((pos, _)) = self.table.find(hash_u128(raw), |s| s == slot) {
            self.table.remove_at(pos, account_hash(accounts));
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize, accounts: &[Slot]) {
        self.table.reserve(additional, account_hash(accounts));
    }
}

/// Transfer id → position in `transfers` or in `failed`, with a fingerprint of the id (so that looking
/// up a new id rarely reads a transfer). A value is the position times two, plus one for a failed id.
#[derive(Debug)]
pub(crate) struct IdIndex {
    table: Table,
}

impl Default for IdIndex {
    fn default() -> Self {
        // Values are twice the positions, one bit more than the table's size needs.
        IdIndex { table: Table::with_extra_bits(1) }
    }
}

impl Clone for IdIndex {
    fn clone(&self) -> Self {
        IdIndex { table: self.table.clone() }
    }

    fn clone_from(&mut self, source: &Self) {
        self.table.clone_from(&source.table);
    }
}

fn id_at(e: u32, transfers: &[Transfer], failed: &[FailedTransfer]) -> u128 {
    let i = (e >> 1) as usize;
    if e & 1 == 0 { transfers[i].id.as_u128() } else { failed[i].id.as_u128() }
}

fn id_hash<'a>(transfers: &'a [Transfer], failed: &'a [FailedTransfer]) -> impl Fn(u32) -> u64 + 'a {
    |e| hash_u128(id_at(e, transfers, failed))
}

fn encode(entry: IdEntry) -> u32 {
    let (i, tag) = match entry {
        IdEntry::Transfer(i) => (i, 0),
        IdEntry::Failed(i) => (i, 1),
    };
    assert!(i < (1 << 31) - 1, "more than 2^31 - 2 transfers or failed ids in one ledger state");
    (i << 1) | tag
}

fn decode(e: u32) -> IdEntry {
    if e & 1 == 0 { IdEntry::Transfer(e >> 1) } else { IdEntry::Failed(e >> 1) }
}

impl IdIndex {
    pub(crate) fn get(&self, id: TransferId, transfers: &[Transfer], failed: &[FailedTransfer]) -> Option<IdEntry> {
        self.get_hashed(id, hash_u128(id.as_u128()), transfers, failed)
    }

    /// [`IdIndex::get`] with the id's hash (see [`hash_u128`]) already computed.
    pub(crate) fn get_hashed(
        &self,
        id: TransferId,
        hash: u64,
        transfers: &[Transfer],
        failed: &[FailedTransfer],
    ) -> Option<IdEntry> {
        let raw = id.as_u128();
        self.table.find(hash, |e| id_at(e, transfers, failed) == raw).map(|(_, e)| decode(e))
    }

    /// The entry whose fingerprint matches the id `raw`'s, without reading any transfer: one cache miss
    /// shallower than [`IdIndex::get`]. The caller must check the entry's id.
    pub(crate) fn candidate(&self, hash: u64) -> Option<IdEntry> {
        self.table.find(hash, |_| true).map(|(_, e)| decode(e))
    }

    /// Reads the line of the table where `hash` is looked up (see [`Table::touch`]).
    pub(crate) fn touch(&self, hash: u64) -> u64 {
        self.table.touch(hash)
    }

    /// Adds an entry whose transfer or failure is already pushed; the id must be new.
    pub(crate) fn insert(&mut self, entry: IdEntry, transfers: &[Transfer], failed: &[FailedTransfer]) {
        let e = encode(entry);
        let raw = id_at(e, transfers, failed);
        self.table.insert(hash_u128(raw), e, id_hash(transfers, failed));
    }

    /// Removes the entry of `id`, which must be `entry` and still be pushed.
    pub(crate) fn remove(&mut self, id: TransferId, entry: IdEntry, transfers: &[Transfer], failed: &[FailedTransfer]) {
        let e = encode(entry);
        let raw = id.as_u128();
        if let Some((pos, _)) = self.table.find(hash_u128(raw), |x| x == e) {
            self.table.remove_at(pos, id_hash(transfers, failed));
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize, transfers: &[Transfer], failed: &[FailedTransfer]) {
        self.table.reserve(additional, id_hash(transfers, failed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values 0..n hashed by a table of ids; removing keeps every other value findable.
    #[test]
    fn insert_find_remove_with_collisions() {
        // Ids chosen so that many share a home position in a small table.
        let ids: Vec<u128> = (0..200u128).map(|i| i << 100 | 7).collect();
        let rehash = |v: u32| hash_u128(ids[v as usize]);
        let mut table = Table::default();
        for (v, id) in ids.iter().enumerate() {
            table.insert(hash_u128(*id), v as u32, rehash);
        }
        let find = |t: &Table, v: usize| t.find(hash_u128(ids[v]), |x| ids[x as usize] == ids[v]).map(|e| e.1);
        for v in 0..ids.len() {
            assert_eq!(find(&table, v), Some(v as u32));
        }
        for v in (0..ids.len()).step_by(3) {
            let (pos, _) = table.find(hash_u128(ids[v]), |x| x == v as u32).unwrap();
            table.remove_at(pos, rehash);
        }
        for v in 0..ids.len() {
            let expected = (v % 3 != 0).then_some(v as u32);
            assert_eq!(find(&table, v), expected, "value {v}");
        }
        assert_eq!(table.len, ids.len() - ids.len().div_ceil(3));
    }

    /// Entries are re-packed as the table grows (positions take more bits, fingerprints fewer), values
    /// twice the positions fit (`extra_bits`), and an id never added is not found.
    #[test]
    fn values_and_fingerprints_survive_growth() {
        let ids: Vec<u128> = (0..20_000u128).map(|i| (i * 0x9e37_79b9) << 64 | i).collect();
        let rehash = |v: u32| hash_u128(ids[(v / 2) as usize]);
        let mut table = Table::with_extra_bits(1);
        for (i, id) in ids.iter().enumerate() {
            table.insert(hash_u128(*id), 2 * i as u32 + 1, rehash);
        }
        for (i, id) in ids.iter().enumerate() {
            let found = table.find(hash_u128(*id), |v| ids[(v / 2) as usize] == *id).map(|e| e.1);
            assert_eq!(found, Some(2 * i as u32 + 1), "id {i}");
        }
        let absent = (0..1_000u128).filter(|i| {
            let raw = i << 100 | 5;
            table.find(hash_u128(raw), |v| ids[(v / 2) as usize] == raw).is_none()
        });
        assert_eq!(absent.count(), 1_000);
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let table = Table::default();
        assert_eq!(table.find(1, |_| true), None);
        assert_eq!(table.touch(1), 0);
    }
}
