//! `create_transfers`: a batch decided in memory, with linked chains undone through an undo log.

mod resolve;
mod single;

use qianbao_core::{Timestamp, TransferId};

use crate::index::hash_u128;
use crate::state::{ExpiryKey, IdEntry, PendingInfo};
use crate::{
    Account, AccountBalance, AccountUpdate, Changes, CreateTransferResult, FailedTransfer, LedgerError, LedgerState,
    LimitUsage, LimitUsageChange, NewTransfer, TransferFlags, TransfersOutcome,
};

/// Reusable buffers of a decision (kept in the state so a batch allocates nothing per transfer).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    /// Undo entries of the open linked chain, applied in reverse to roll it back.
    pub(crate) undo: Vec<Undo>,
    /// Each account the current batch touched, in first-flush order, as of the last flush of a chunk
    /// that touched it.
    pub(crate) after: Vec<AccountUpdate>,
    /// What the batch changed in debits minus credits, posted and pending ([`imbalance`]), summed over
    /// the accounts it touched (wrapping), for the check that postings balance (both end at zero): an
    /// account's imbalance is subtracted when a chunk first touches it and added when the chunk is
    /// flushed, so over the batch the differences telescope to each account's total change.
    pub(crate) sums: [u128; 2],
    /// Account slots touched by the current chunk, whose `after` copy is stale.
    pub(crate) chunk_touched: Vec<u32>,
    /// Account slots whose limit usage the batch changed (may repeat).
    pub(crate) limits_touched: Vec<u32>,
    /// The debit and credit account slots of the current chunk's requests (`NOT_FOUND` if unknown).
    pub(crate) slots: Vec<(u32, u32)>,
    /// The hashes of the debit account, credit account and transfer ids of the current chunk's requests.
    pub(crate) hashes: Vec<[u64; 3]>,
    /// The posts and voids of the current chunk whose pending transfer was found: its id, its candidate
    /// position in `transfers` and the hashes of its debit and credit account ids (zero until known).
    pub(crate) resolving: Vec<(TransferId, u32, [u64; 2])>,
}

/// An account's debits minus its credits (wrapping): posted, then pending.
fn imbalance(a: &crate::Account) -> [u128; 2] {
    [a.debits_posted.wrapping_sub(a.credits_posted), a.debits_pending.wrapping_sub(a.credits_pending)]
}

/// A slot that names no account.
pub(crate) const NOT_FOUND: u32 = u32::MAX;

/// Requests are decided in chunks: first every lookup of a chunk (independent of each other, so the
/// processor overlaps their cache misses), then the decisions, which find what they need in cache.
/// 64 requests touch at most 128 accounts (256 cache lines on up to 128 pages): few enough that what
/// the look-ups loaded is still in the first-level cache and TLB when the decisions read it, many
/// enough to keep the processor's misses in flight. In alternated runs on a shared two-core machine,
/// with a million accounts 64 beat 128 by up to about 12% in some sessions and tied in others, 256 was
/// slower, and 16, 32 and 48 no better; with ten thousand accounts the size made no measurable difference.
const CHUNK: usize = 64;

/// One step to undo.
#[derive(Debug, Clone)]
pub(crate) enum Undo {
    Account { slot: u32, before: Account },
    Limit { set: u32, position: u8, before: LimitUsage },
    TransferPushed,
    PendingInserted { index: u32, expiry: Option<ExpiryKey> },
    PendingChanged { index: u32, before: PendingInfo, expiry: Option<ExpiryKey> },
}

/// Where a linked chain started, to roll it back.
struct ChainMark {
    start: usize,
    transfers: usize,
    pending: usize,
    balances: usize,
}

impl LedgerState {
    /// Decides a batch of transfers: one result per request (see [`CreateTransferResult`] for the codes and
    /// their precedence) and the [`Changes`] to persist. The state is updated in place: a complete state
    /// is then the new ledger; a view is discarded after its store wrote the changes.
    ///
    /// `now` comes from the injected clock; the `i`-th request gets the timestamp
    /// `max(now, last_timestamp + 1) + i` nanoseconds, so timestamps strictly increase.
    pub fn create_transfers(&mut self, batch: &[NewTransfer], now: Timestamp) -> Result<TransfersOutcome, LedgerError> {
        let mut out = TransfersOutcome::default();
        self.create_transfers_into(batch, now, &mut out)?;
        Ok(out)
    }

    /// [`LedgerState::create_transfers`] into a reused outcome (cleared first), so that a hot loop does
    /// not allocate.
    pub fn create_transfers_into(
        &mut self,
        batch: &[NewTransfer],
        now: Timestamp,
        out: &mut TransfersOutcome,
    ) -> Result<(), LedgerError> {
        out.results.clear();
        out.changes.clear();
        self.check_batch(batch.len())?;
        if !self.complete {
            let needs = self.needs_for_transfers(batch);
            if !needs.is_empty() {
                return Err(LedgerError::NotLoaded {
                    accounts: needs.accounts.len(),
                    transfers: needs.transfers.len(),
                });
            }
        }
        let base = self.next_timestamps(now, batch.len())?;
        self.begin_batch();
        let open_from = open_chain_start(batch.iter().map(|t| t.flags.contains(TransferFlags::LINKED)));
        let mut chain: Option<ChainMark> = None;
        let mut chain_failed = false;
        for (i, t) in batch.iter().enumerate() {
            if i % CHUNK == 0 {
                self.flush_chunk();
                self.prefetch(&batch[i..batch.len().min(i + CHUNK)]);
            }
            let slots = self.scratch.slots[i % CHUNK];
            let id_hash = self.scratch.hashes[i % CHUNK][2];
            let ts = offset(base, i);
            let linked = t.flags.contains(TransferFlags::LINKED);
            let result = if i >= open_from {
                if i + 1 == batch.len() {
                    CreateTransferResult::LinkedEventChainOpen
                } else {
                    CreateTransferResult::LinkedEventFailed
                }
            } else {
                if linked && chain.is_none() {
                    chain = Some(self.chain_mark(i, &out.changes));
                }
                if chain_failed {
                    CreateTransferResult::LinkedEventFailed
                } else {
                    let r = self.create_transfer(t, slots, id_hash, ts, chain.is_some(), &mut out.changes);
                    if !r.is_ok() {
                        if let Some(mark) = &chain {
                            self.rollback(mark, &mut out.changes);
                            out.results[mark.start..i].fill(CreateTransferResult::LinkedEventFailed);
                            chain_failed = true;
                        }
                        if r.is_transient() {
                            self.remember_failed(t.id, r, ts, &mut out.changes);
                        }
                    }
                    r
                }
            };
            out.results.push(result);
            if !linked {
                chain = None;
                chain_failed = false;
            }
        }
        let last = if batch.is_empty() { self.last_timestamp } else { offset(base, batch.len() - 1) };
        self.finish_batch(&mut out.changes, last);
        Ok(())
    }

    /// Resolves the account slots of a chunk of requests and pulls into cache what deciding them reads:
    /// the accounts and the id index entries of the transfer and pending ids. Each stage's loads are
    /// independent of each other, so the processor overlaps their cache misses; each stage finds in
    /// cache what the stage before it loaded.
    fn prefetch(&mut self, chunk: &[NewTransfer]) {
        let mut sink = 0u64;
        // Stage 1: hash every id, then read the index lines where the look-ups start. The reading loop
        // is kept tiny so that the processor has many of its cache (and TLB) misses in flight at once.
        self.scratch.hashes.clear();
        for t in chunk {
            self.scratch.hashes.push([
                hash_u128(t.debit_account_id.as_u128()),
                hash_u128(t.credit_account_id.as_u128()),
                hash_u128(t.id.as_u128()),
            ]);
        }
        for h in &self.scratch.hashes {
            sink ^= self.account_index.touch(h[0]) ^ self.account_index.touch(h[1]) ^ self.ids.touch(h[2]);
        }
        for t in chunk.iter().filter(|t| t.pending_id.as_u128() != 0) {
            sink ^= self.ids.touch(hash_u128(t.pending_id.as_u128()));
        }
        // Stage 2: candidate slots by fingerprint, then the slots' first two lines (bookkeeping and id,
        // then counters and flags).
        self.scratch.slots.clear();
        for hashes in &self.scratch.hashes {
            let dr = self.account_index.candidate(hashes[0]).unwrap_or(NOT_FOUND);
            let cr = self.account_index.candidate(hashes[1]).unwrap_or(NOT_FOUND);
            self.scratch.slots.push((dr, cr));
        }
        for &(dr, cr) in &self.scratch.slots {
            for slot in [dr, cr] {
                if let Some(s) = self.accounts.get(slot as usize) {
                    sink ^= (s.account.id.as_u128() as u64) ^ u64::from(s.account.flags.bits());
                }
            }
        }
        // Stage 3: confirm each candidate by its id (a fingerprint can match by chance).
        for (i, t) in chunk.iter().enumerate() {
            let (dr, cr) = self.scratch.slots[i];
            self.scratch.slots[i] = (self.confirm(dr, t.debit_account_id), self.confirm(cr, t.credit_account_id));
        }
        // Stages 4 to 6 pull in what posts and voids read: the pending transfer with its state, then the
        // index lines of its accounts, then the accounts. Each is a tight loop of independent loads.
        self.scratch.resolving.clear();
        for t in chunk.iter().filter(|t| t.pending_id.as_u128() != 0) {
            let raw = t.pending_id.as_u128();
            if let Some(IdEntry::Transfer(p)) = self.ids.candidate(hash_u128(raw)) {
                let pending = &self.transfers[p as usize];
                sink ^=
                    (pending.id.as_u128() as u64) ^ self.pending[p as usize].map_or(0, |i| u64::from(i.limit_slots));
                self.scratch.resolving.push((t.pending_id, p, [0; 2]));
            }
        }
        for (id, p, hashes) in &mut self.scratch.resolving {
            let pending = &self.transfers[*p as usize];
            if pending.id == *id {
                *hashes =
                    [hash_u128(pending.debit_account_id.as_u128()), hash_u128(pending.credit_account_id.as_u128())];
                sink ^= self.account_index.touch(hashes[0]) ^ self.account_index.touch(hashes[1]);
            }
        }
        for (id, p, hashes) in &self.scratch.resolving {
            let pending = &self.transfers[*p as usize];
            if pending.id == *id {
                for hash in hashes {
                    if let Some(s) = self.account_index.candidate(*hash).and_then(|s| self.accounts.get(s as usize)) {
                        sink ^= (s.account.id.as_u128() as u64) ^ u64::from(s.account.flags.bits());
                    }
                }
            }
        }
        std::hint::black_box(sink);
    }

    /// `candidate` if it is the slot of `id`, else the slot found by a full look-up.
    fn confirm(&self, candidate: u32, id: qianbao_core::AccountId) -> u32 {
        match self.accounts.get(candidate as usize) {
            Some(s) if s.account.id == id => candidate,
            _ if candidate == NOT_FOUND => NOT_FOUND,
            _ => self.slot(id).unwrap_or(NOT_FOUND),
        }
    }

    pub(crate) fn check_batch(&self, len: usize) -> Result<(), LedgerError> {
        if len > crate::BATCH_EVENTS_MAX {
            return Err(LedgerError::BatchTooLarge { len, max: crate::BATCH_EVENTS_MAX });
        }
        Ok(())
    }

    /// The first timestamp of a batch of `len` events: `max(now, last + 1)`, checked so that the whole
    /// batch fits.
    pub(crate) fn next_timestamps(&self, now: Timestamp, len: usize) -> Result<Timestamp, LedgerError> {
        let after_last = self.last_timestamp.unix_nanos().checked_add(1).ok_or(LedgerError::TimestampOverflow)?;
        let base = now.unix_nanos().max(after_last);
        let len = u64::try_from(len).map_err(|_| LedgerError::TimestampOverflow)?;
        base.checked_add(len).ok_or(LedgerError::TimestampOverflow)?;
        Ok(Timestamp::from_unix_nanos(base))
    }

    /// Starts a batch: a new epoch marks which accounts it touches.
    pub(crate) fn begin_batch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // After 2^32 batches the marks could collide with an old epoch: clear them once.
            self.accounts.iter_mut().for_each(|s| s.epoch = 0);
            self.epoch = 1;
        }
        self.scratch.after.clear();
        self.scratch.sums = [0; 2];
        self.scratch.chunk_touched.clear();
        self.scratch.limits_touched.clear();
        self.scratch.undo.clear();
        self.next_chunk();
    }

    /// Marks an account as about to change: on its first change in the chunk it is listed for the
    /// chunk's flush and its counters (as of the last flush, since every change touches first) are
    /// subtracted from the batch's sums. Nothing is copied: the account is in cache, about to change.
    pub(crate) fn touch(&mut self, slot: u32) {
        let s = &mut self.accounts[slot as usize];
        if s.chunk != self.chunk {
            s.chunk = self.chunk;
            self.scratch.chunk_touched.push(slot);
            let [posted, pending] = imbalance(&s.account);
            let sums = &mut self.scratch.sums;
            sums[0] = sums[0].wrapping_sub(posted);
            sums[1] = sums[1].wrapping_sub(pending);
        }
    }

    /// Copies the accounts the current chunk changed into `after` while they are still in cache (listing
    /// an account on its first flush in the batch), adds their counters to the batch's sums, and starts
    /// a new chunk.
    pub(crate) fn flush_chunk(&mut self) {
        // Summed in a local (registers), not through memory at every step.
        let mut sums = self.scratch.sums;
        for slot in self.scratch.chunk_touched.drain(..) {
            let s = &mut self.accounts[slot as usize];
            let [posted, pending] = imbalance(&s.account);
            sums[0] = sums[0].wrapping_add(posted);
            sums[1] = sums[1].wrapping_add(pending);
            let update = AccountUpdate::from(&s.account);
            if s.epoch == self.epoch {
                self.scratch.after[s.pos as usize] = update;
            } else {
                s.epoch = self.epoch;
                s.pos = self.scratch.after.len() as u32;
                self.scratch.after.push(update);
            }
        }
        self.scratch.sums = sums;
        self.next_chunk();
    }

    fn next_chunk(&mut self) {
        self.chunk = self.chunk.wrapping_add(1);
        if self.chunk == 0 {
            // After 2^32 chunks the marks could collide with an old chunk: clear them once.
            self.accounts.iter_mut().for_each(|s| s.chunk = 0);
            self.chunk = 1;
        }
    }

    /// Ends a batch: lists the touched accounts and limit usages, checks that the batch's postings balance
    /// and records the last timestamp.
    pub(crate) fn finish_batch(&mut self, changes: &mut Changes, last: Timestamp) {
        self.flush_chunk();
        let sums = self.scratch.sums;
        // Hand the list over without copying; the outcome's old buffer becomes the next `after`.
        changes.accounts_updated.clear();
        std::mem::swap(&mut changes.accounts_updated, &mut self.scratch.after);
        self.scratch.limits_touched.sort_unstable();
        self.scratch.limits_touched.dedup();
        for slot in &self.scratch.limits_touched {
            let Some(set) = self.limits_of_slot(*slot) else { continue };
            let account_id = self.accounts[*slot as usize].account.id;
            for l in &self.limit_sets[set as usize] {
                changes.limit_usages.push(LimitUsageChange { account_id, slot: l.limit.slot, usage: l.usage });
            }
        }
        assert!(sums[0] == 0, "ledger invariant: the batch's posted debits and credits do not balance");
        assert!(sums[1] == 0, "ledger invariant: the batch's pending debits and credits do not balance");
        self.last_timestamp = self.last_timestamp.max(last);
        changes.last_timestamp = self.last_timestamp;
    }

    fn chain_mark(&mut self, start: usize, changes: &Changes) -> ChainMark {
        self.scratch.undo.clear();
        ChainMark {
            start,
            transfers: changes.transfers.len(),
            pending: changes.pending.len(),
            balances: changes.balances.len(),
        }
    }

    fn rollback(&mut self, mark: &ChainMark, changes: &mut Changes) {
        while let Some(step) = self.scratch.undo.pop() {
            self.undo(step);
        }
        changes.transfers.truncate(mark.transfers);
        changes.pending.truncate(mark.pending);
        changes.balances.truncate(mark.balances);
    }

    fn undo(&mut self, step: Undo) {
        match step {
            Undo::Account { slot, before } => {
                self.touch(slot);
                self.accounts[slot as usize].account = before;
            }
            Undo::Limit { set, position, before } => {
                self.limit_sets[set as usize][usize::from(position)].usage = before;
            }
            Undo::TransferPushed => {
                if let Some(t) = self.transfers.last() {
                    let entry = IdEntry::Transfer(self.transfers.len() as u32 - 1);
                    self.ids.remove(t.id, entry, &self.transfers, &self.failed);
                    self.transfers.pop();
                    self.pending.pop();
                }
            }
            Undo::PendingInserted { index, expiry } => {
                self.pending[index as usize] = None;
                if let Some(key) = expiry {
                    self.expiry.remove(&key);
                }
            }
            Undo::PendingChanged { index, before, expiry } => {
                self.pending[index as usize] = Some(before);
                if let Some(key) = expiry {
                    self.expiry.insert(key);
                }
            }
        }
    }

    fn remember_failed(&mut self, id: TransferId, result: CreateTransferResult, ts: Timestamp, changes: &mut Changes) {
        let failed = FailedTransfer { id, result, timestamp: ts };
        self.push_failed(failed);
        changes.failed.push(failed);
    }

    /// Records a balance snapshot if the account keeps history.
    pub(crate) fn snapshot(&self, slot: u32, ts: Timestamp, changes: &mut Changes) {
        let a = &self.accounts[slot as usize].account;
        if a.flags.contains(crate::AccountFlags::HISTORY) {
            changes.balances.push(AccountBalance { account_id: a.id, timestamp: ts, balance: a.balance() });
        }
    }
}

/// The index from which the batch's last chain is open (its last event has `LINKED`), or `usize::MAX`.
pub(crate) fn open_chain_start(linked: impl DoubleEndedIterator<Item = bool> + ExactSizeIterator) -> usize {
    let len = linked.len();
    let mut flags = linked.rev();
    if flags.next() != Some(true) {
        return usize::MAX;
    }
    let mut start = len - 1;
    for l in flags {
        if !l {
            break;
        }
        start -= 1;
    }
    start
}

/// `base + i` nanoseconds (the caller checked the batch fits).
pub(crate) fn offset(base: Timestamp, i: usize) -> Timestamp {
    Timestamp::from_unix_nanos(base.unix_nanos() + i as u64)
}

/// `a + b` after the checks proved it cannot overflow; a failure is a bug, and crashing beats persisting it.
pub(crate) fn add(a: u128, b: u128) -> u128 {
    match a.checked_add(b) {
        Some(v) => v,
        None => panic!("ledger invariant: a counter overflowed after the overflow checks passed"),
    }
}

/// `a - b` where `a >= b` is an invariant (pending amounts never go negative).
pub(crate) fn sub(a: u128, b: u128) -> u128 {
    match a.checked_sub(b) {
        Some(v) => v,
        None => panic!("ledger invariant: a pending counter would go negative"),
    }
}

#[cfg(test)]
mod tests;
