//! Compact id indexes: hash tables of 4-byte positions into the state's vectors, each with a 4-byte
//! fingerprint of the id. An index costs 9 bytes per id (a control byte, the position, the fingerprint),
//! so the index of a million accounts or transfers stays in cache far better than a map holding 16-byte
//! keys; the fingerprint spares reading a record to reject a look-up.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use qianbao_core::{AccountId, TransferId};
use rustc_hash::FxBuildHasher;

use crate::state::{IdEntry, Slot};
use crate::{FailedTransfer, Transfer};

fn hash_u128(raw: u128) -> u64 {
    FxBuildHasher.hash_one(raw)
}

/// 32 bits of an id besides its hash, stored beside the position so that a look-up can tell a match
/// without reading the account (a false match has odds of 2^-32 and is caught by the caller's check).
fn fingerprint(raw: u128) -> u32 {
    (raw as u32) ^ ((raw >> 32) as u32) ^ ((raw >> 64) as u32) ^ ((raw >> 96) as u32)
}

/// Account id → slot in `accounts`, with a fingerprint of the id.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountIndex {
    table: HashTable<(u32, u32)>,
}

impl AccountIndex {
    pub(crate) fn get(&self, id: AccountId, accounts: &[Slot]) -> Option<u32> {
        let raw = id.as_u128();
        self.table.find(hash_u128(raw), |&(s, _)| accounts[s as usize].account.id.as_u128() == raw).map(|e| e.0)
    }

    /// The slot whose fingerprint matches `id`'s, without reading any account: one cache miss shallower
    /// than [`AccountIndex::get`]. The caller must check the slot's id (and fall back to `get`).
    pub(crate) fn candidate(&self, id: AccountId) -> Option<u32> {
        let raw = id.as_u128();
        let print = fingerprint(raw);
        self.table.find(hash_u128(raw), |&(_, f)| f == print).map(|e| e.0)
    }

    /// Adds `slot` (already pushed to `accounts`); the id must be new.
    pub(crate) fn insert(&mut self, slot: u32, accounts: &[Slot]) {
        let raw = accounts[slot as usize].account.id.as_u128();
        let rehash = |&(s, _): &(u32, u32)| hash_u128(accounts[s as usize].account.id.as_u128());
        self.table.insert_unique(hash_u128(raw), (slot, fingerprint(raw)), rehash);
    }

    pub(crate) fn remove(&mut self, slot: u32, accounts: &[Slot]) {
        let raw = accounts[slot as usize].account.id.as_u128();
        if let Ok(entry) = self.table.find_entry(hash_u128(raw), |&(s, _)| s == slot) {
            entry.remove();
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize, accounts: &[Slot]) {
        self.table.reserve(additional, |&(s, _)| hash_u128(accounts[s as usize].account.id.as_u128()));
    }
}

/// Bit set in a position that names a failed id rather than a transfer.
const FAILED: u32 = 1 << 31;

/// Transfer id → position in `transfers` or in `failed`, with a fingerprint of the id (so that looking
/// up a new id rarely reads a transfer).
#[derive(Debug, Clone, Default)]
pub(crate) struct IdIndex {
    table: HashTable<(u32, u32)>,
}

fn id_at(e: u32, transfers: &[Transfer], failed: &[FailedTransfer]) -> u128 {
    if e & FAILED == 0 { transfers[e as usize].id.as_u128() } else { failed[(e & !FAILED) as usize].id.as_u128() }
}

fn encode(entry: IdEntry) -> u32 {
    let (raw, tag) = match entry {
        IdEntry::Transfer(i) => (i, 0),
        IdEntry::Failed(i) => (i, FAILED),
    };
    assert!(raw < FAILED, "more than 2^31 transfers or failed ids in one ledger state");
    raw | tag
}

fn decode(e: u32) -> IdEntry {
    if e & FAILED == 0 { IdEntry::Transfer(e) } else { IdEntry::Failed(e & !FAILED) }
}

impl IdIndex {
    pub(crate) fn get(&self, id: TransferId, transfers: &[Transfer], failed: &[FailedTransfer]) -> Option<IdEntry> {
        let raw = id.as_u128();
        let print = fingerprint(raw);
        self.table
            .find(hash_u128(raw), |&(e, f)| f == print && id_at(e, transfers, failed) == raw)
            .map(|&(e, _)| decode(e))
    }

    /// Adds an entry whose transfer or failure is already pushed; the id must be new.
    pub(crate) fn insert(&mut self, entry: IdEntry, transfers: &[Transfer], failed: &[FailedTransfer]) {
        let e = encode(entry);
        let raw = id_at(e, transfers, failed);
        self.table
            .insert_unique(hash_u128(raw), (e, fingerprint(raw)), |&(x, _)| hash_u128(id_at(x, transfers, failed)));
    }

    /// Removes the entry of `id`, which must be `entry`.
    pub(crate) fn remove(&mut self, id: TransferId, entry: IdEntry) {
        let e = encode(entry);
        if let Ok(found) = self.table.find_entry(hash_u128(id.as_u128()), |&(x, _)| x == e) {
            found.remove();
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize, transfers: &[Transfer], failed: &[FailedTransfer]) {
        self.table.reserve(additional, |&(x, _)| hash_u128(id_at(x, transfers, failed)));
    }
}
