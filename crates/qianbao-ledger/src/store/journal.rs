//! The tamper-evident journal: every committed batch is one link, `digest = SHA-256(previous digest ||
//! canonical bytes of the batch)`, starting from 32 zero bytes.
//!
//! A batch covers the timestamps `(from_ts, to_ts]`: its canonical bytes are a header (sequence number
//! and range), every transfer, account and failed id with a timestamp in that range (read back from
//! their tables, in timestamp order, in fixed-width big-endian fields), and the batch's other events
//! (expiries, freezes, limit changes) kept in the journal row itself. Changing, adding or removing any
//! of these rows breaks the chain at that batch. Account counters are state, not events: they follow
//! from the transfers.

use qianbao_core::{AccountId, Timestamp, TransferId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Account, AccountFlags, DebitLimit, FailedTransfer, Transfer};

/// The head of the journal: the last committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHead {
    /// How many batches were committed (the last one's sequence number; 0 for an empty ledger).
    pub seq: u64,
    /// The chain digest after that batch (32 zero bytes for an empty ledger). Publishing it elsewhere
    /// (an anchor) makes even a rewrite of the whole chain detectable.
    pub digest: [u8; 32],
    /// The last timestamp the ledger assigned.
    pub last_timestamp: Timestamp,
}

/// What [`DurableLedger::verify_journal`](crate::DurableLedger::verify_journal) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JournalCheck {
    /// Every link recomputes; the head matches the last link.
    Intact {
        /// The head that was verified.
        head: JournalHead,
    },
    /// The first link that does not recompute, and why.
    Broken {
        /// Its sequence number.
        seq: u64,
        /// What does not match.
        reason: String,
    },
}

impl JournalCheck {
    /// True when the journal is intact.
    pub fn is_intact(&self) -> bool {
        matches!(self, JournalCheck::Intact { .. })
    }
}

/// The events of a batch that no table keeps as they happened.
#[derive(Debug, Default, Clone)]
pub(crate) struct Events {
    bytes: Vec<u8>,
}

impl Events {
    pub(crate) fn expired(&mut self, ids: &[TransferId]) {
        if ids.is_empty() {
            return;
        }
        self.bytes.push(1);
        self.bytes.extend_from_slice(&(ids.len() as u32).to_be_bytes());
        for id in ids {
            self.bytes.extend_from_slice(&id.to_bytes());
        }
    }

    pub(crate) fn frozen(&mut self, id: AccountId, frozen: bool) {
        self.bytes.push(2);
        self.bytes.extend_from_slice(&id.to_bytes());
        self.bytes.push(u8::from(frozen));
    }

    pub(crate) fn limits(&mut self, id: AccountId, limits: &[DebitLimit]) {
        self.bytes.push(3);
        self.bytes.extend_from_slice(&id.to_bytes());
        self.bytes.push(limits.len() as u8);
        for l in limits {
            self.bytes.push(l.slot);
            self.bytes.push(super::codec::window_code(l.window) as u8);
            self.bytes.push(l.codes.len() as u8);
            self.bytes.extend_from_slice(&super::codec::codes_blob(&l.codes));
            self.bytes.extend_from_slice(&l.amount_max.to_be_bytes());
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// One link's content, every list in timestamp order.
pub(crate) struct Link<'a> {
    pub seq: u64,
    pub from_ts: i64,
    pub to_ts: i64,
    pub transfers: &'a [Transfer],
    pub accounts: &'a [Account],
    pub failed: &'a [FailedTransfer],
    pub events: &'a [u8],
}

/// A transfer's canonical bytes: its SQLite row body ([`super::codec::TRANSFER_BODY`] bytes), then its
/// timestamp.
pub(crate) fn transfer_bytes(t: &Transfer) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[0..16].copy_from_slice(&t.id.to_bytes());
    b[16..32].copy_from_slice(&t.debit_account_id.to_bytes());
    b[32..48].copy_from_slice(&t.credit_account_id.to_bytes());
    b[48..64].copy_from_slice(&t.amount.to_be_bytes());
    b[64..80].copy_from_slice(&t.pending_id.to_bytes());
    b[80..96].copy_from_slice(&t.user_data_128.to_be_bytes());
    b[96..104].copy_from_slice(&t.user_data_64.to_be_bytes());
    b[104..108].copy_from_slice(&t.user_data_32.to_be_bytes());
    b[108..112].copy_from_slice(&t.timeout_secs.to_be_bytes());
    b[112..116].copy_from_slice(&t.ledger.as_u32().to_be_bytes());
    b[116..118].copy_from_slice(&t.code.as_u16().to_be_bytes());
    b[118..120].copy_from_slice(&t.flags.bits().to_be_bytes());
    b[120..128].copy_from_slice(&t.timestamp.unix_nanos().to_be_bytes());
    b
}

fn account_bytes(a: &Account) -> [u8; 60] {
    let mut b = [0u8; 60];
    b[0..16].copy_from_slice(&a.id.to_bytes());
    b[16..32].copy_from_slice(&a.user_data_128.to_be_bytes());
    b[32..40].copy_from_slice(&a.user_data_64.to_be_bytes());
    b[40..44].copy_from_slice(&a.user_data_32.to_be_bytes());
    b[44..48].copy_from_slice(&a.ledger.as_u32().to_be_bytes());
    b[48..50].copy_from_slice(&a.code.as_u16().to_be_bytes());
    // Creation flags only: closing and freezing change the row later and are events of their own.
    b[50..52].copy_from_slice(&a.flags.without(AccountFlags::STATE).bits().to_be_bytes());
    b[52..60].copy_from_slice(&a.timestamp.unix_nanos().to_be_bytes());
    b
}

/// The digest of a link after `prev`.
pub(crate) fn digest(prev: &[u8; 32], link: &Link<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(b"qianbao-ledger-journal-v1");
    h.update(link.seq.to_be_bytes());
    h.update(link.from_ts.to_be_bytes());
    h.update(link.to_ts.to_be_bytes());
    h.update((link.transfers.len() as u64).to_be_bytes());
    for t in link.transfers {
        h.update(transfer_bytes(t));
    }
    h.update((link.accounts.len() as u64).to_be_bytes());
    for a in link.accounts {
        h.update(account_bytes(a));
    }
    h.update((link.failed.len() as u64).to_be_bytes());
    for f in link.failed {
        h.update(f.id.to_bytes());
        h.update([f.result.code()]);
        h.update(f.timestamp.unix_nanos().to_be_bytes());
    }
    h.update((link.events.len() as u64).to_be_bytes());
    h.update(link.events);
    h.finalize().into()
}

/// Walks the chain link by link, in sequence order.
#[derive(Debug)]
pub(crate) struct Verifier {
    prev: [u8; 32],
    seq: u64,
    to_ts: i64,
}

impl Verifier {
    pub(crate) fn new() -> Self {
        Verifier { prev: [0; 32], seq: 0, to_ts: 0 }
    }

    /// Checks the next link; `Err` says why it is broken.
    pub(crate) fn step(&mut self, link: &Link<'_>, stored: &[u8]) -> Result<(), String> {
        if link.seq != self.seq + 1 {
            return Err(format!("expected batch {} but found {}", self.seq + 1, link.seq));
        }
        if link.from_ts != self.to_ts || link.to_ts < link.from_ts {
            return Err(format!(
                "covers ({}, {}] but the previous batch ended at {}",
                link.from_ts, link.to_ts, self.to_ts
            ));
        }
        let d = digest(&self.prev, link);
        if d.as_slice() != stored {
            return Err("the digest does not match the batch's rows".into());
        }
        self.prev = d;
        self.seq = link.seq;
        self.to_ts = link.to_ts;
        Ok(())
    }

    /// The last link checked: (seq, digest, end of its range).
    pub(crate) fn position(&self) -> (u64, [u8; 32], i64) {
        (self.seq, self.prev, self.to_ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ledger, NewTransfer, TransferCode};

    fn transfer(n: u128, amount: u128) -> Transfer {
        let t = NewTransfer::new(
            TransferId::from_u128(n),
            AccountId::from_u128(1),
            AccountId::from_u128(2),
            amount,
            Ledger::CNY,
            TransferCode::PAYMENT,
        );
        Transfer {
            id: t.id,
            debit_account_id: t.debit_account_id,
            credit_account_id: t.credit_account_id,
            amount,
            pending_id: t.pending_id,
            user_data_128: 0,
            user_data_64: 0,
            user_data_32: 0,
            timeout_secs: 0,
            ledger: t.ledger,
            code: t.code,
            flags: t.flags,
            timestamp: Timestamp::from_unix_nanos(10 + n as u64),
        }
    }

    #[test]
    fn a_changed_row_or_event_breaks_the_link() {
        let ts = [transfer(1, 5), transfer(2, 7)];
        let link = |t: &'static [u8], transfers| Link {
            seq: 1,
            from_ts: 0,
            to_ts: 20,
            transfers,
            accounts: &[],
            failed: &[],
            events: t,
        };
        let good = digest(&[0; 32], &link(b"", &ts));
        let mut v = Verifier::new();
        assert!(v.step(&link(b"", &ts), &good).is_ok());
        assert_eq!(v.position().0, 1);
        let tampered = [transfer(1, 5), transfer(2, 8)];
        assert!(Verifier::new().step(&link(b"", &tampered), &good).is_err());
        assert!(Verifier::new().step(&link(b"x", &ts), &good).is_err());
        assert!(Verifier::new().step(&link(b"", &ts[..1]), &good).is_err());
        let mut gap = link(b"", &ts);
        gap.seq = 2;
        assert!(Verifier::new().step(&gap, &good).unwrap_err().contains("expected batch 1"));
    }
}
