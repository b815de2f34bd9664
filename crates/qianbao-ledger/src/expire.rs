//! Pending transfers expire exactly at their deadline: `expire_pending(now)` voids every pending transfer
//! whose `timestamp + timeout` is at or before `now`, in order of expiry, then of creation.

use qianbao_core::Timestamp;

use crate::decide::offset;
use crate::state::ExpiryKey;
use crate::{ExpiryOutcome, LedgerError, LedgerState, PendingStatus};

impl LedgerState {
    /// Voids every pending transfer whose timeout has passed at `now` (a deadline equal to `now` has
    /// passed): the reservation is released, accounts it closed reopen, and its amount goes back to the
    /// debit limits it counted against. Each expiry gets a timestamp like a transfer would.
    ///
    /// At most [`BATCH_EVENTS_MAX`](crate::BATCH_EVENTS_MAX) transfers expire per call (one bounded
    /// database transaction for a store): call again while a full batch expired.
    ///
    /// Posting or voiding a pending transfer at or after its deadline is refused with
    /// `pending_transfer_expired` even before this runs; until it runs, the reservation still shows in
    /// the counters.
    pub fn expire_pending(&mut self, now: Timestamp) -> Result<ExpiryOutcome, LedgerError> {
        let mut out = ExpiryOutcome::default();
        let last = (now, Timestamp::from_unix_nanos(u64::MAX), u32::MAX);
        let due: Vec<ExpiryKey> = self.expiry.range(..=last).take(crate::BATCH_EVENTS_MAX).copied().collect();
        let mut slots = Vec::with_capacity(due.len());
        for key in &due {
            let p = &self.transfers[key.2 as usize];
            match (self.slot(p.debit_account_id), self.slot(p.credit_account_id)) {
                (Some(dr), Some(cr)) => slots.push((dr, cr)),
                _ if !self.complete => {
                    let needs = self.needs_for_expiry(now);
                    return Err(LedgerError::NotLoaded { accounts: needs.accounts.len().max(1), transfers: 0 });
                }
                _ => return Err(LedgerError::Conflict(format!("pending transfer {} names a missing account", p.id))),
            }
        }
        if due.is_empty() {
            out.changes.last_timestamp = self.last_timestamp;
            return Ok(out);
        }
        let base = self.next_timestamps(now, due.len())?;
        self.begin_batch();
        for (i, (key, (dr, cr))) in due.iter().zip(slots).enumerate() {
            let ts = offset(base, i);
            self.release(key.2, dr, cr, 0, PendingStatus::Expired, false, &mut out.changes);
            self.snapshot(dr, ts, &mut out.changes);
            self.snapshot(cr, ts, &mut out.changes);
            out.expired.push(self.transfers[key.2 as usize].id);
        }
        self.finish_batch(&mut out.changes, offset(base, due.len() - 1));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
