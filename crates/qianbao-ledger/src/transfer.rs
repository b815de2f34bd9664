//! Transfers: the request, the recorded transfer, and the state of a pending transfer.

use qianbao_core::{AccountId, Timestamp, TransferId};
use serde::{Deserialize, Serialize};

use crate::{Ledger, TransferCode, TransferFlags};

/// On a post: "the whole pending amount". On a balancing transfer: "as much as the accounts allow".
pub const AMOUNT_MAX: u128 = u128::MAX;

/// A request to move money: debit one account, credit another of the same ledger.
///
/// | field | single-phase | pending | post | void |
/// |---|---|---|---|---|
/// | `debit_account_id`, `credit_account_id` | required | required | zero = inherit | zero = inherit |
/// | `amount` | required, nonzero | required, nonzero | nonzero, ≤ pending; [`AMOUNT_MAX`] = all | zero or the pending amount |
/// | `pending_id` | zero | zero | required | required |
/// | `timeout_secs` | zero | optional (zero = none) | zero | zero |
/// | `ledger`, `code` | required | required | zero = inherit | zero = inherit |
/// | `user_data_*` | optional | optional | zero = inherit | zero = inherit |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewTransfer {
    /// Chosen by the client; the idempotency key. Not zero, not `u128::MAX`.
    pub id: TransferId,
    /// The account debited.
    pub debit_account_id: AccountId,
    /// The account credited.
    pub credit_account_id: AccountId,
    /// In minor units of the ledger's currency (fen for CNY).
    pub amount: u128,
    /// The pending transfer a post or void resolves.
    pub pending_id: TransferId,
    /// Free for the embedding service (e.g. the order reference).
    pub user_data_128: u128,
    /// Free for the embedding service.
    pub user_data_64: u64,
    /// Free for the embedding service.
    pub user_data_32: u32,
    /// For a pending transfer: seconds after its timestamp at which it expires (voided); zero = never.
    pub timeout_secs: u32,
    /// The currency.
    pub ledger: Ledger,
    /// Why the money moves.
    pub code: TransferCode,
    /// Behaviour.
    pub flags: TransferFlags,
}

impl NewTransfer {
    /// A single-phase transfer with no flags and no user data.
    pub const fn new(
        id: TransferId,
        debit_account_id: AccountId,
        credit_account_id: AccountId,
        amount: u128,
        ledger: Ledger,
        code: TransferCode,
    ) -> Self {
        NewTransfer {
            id,
            debit_account_id,
            credit_account_id,
            amount,
            pending_id: TransferId::from_u128(0),
            user_data_128: 0,
            user_data_64: 0,
            user_data_32: 0,
            timeout_secs: 0,
            ledger,
            code,
            flags: TransferFlags::NONE,
        }
    }

    /// A post of the pending transfer `pending_id` ([`AMOUNT_MAX`] posts all of it); the other fields
    /// are inherited from the pending transfer.
    pub const fn post(id: TransferId, pending_id: TransferId, amount: u128) -> Self {
        let zero = AccountId::from_u128(0);
        let mut t = NewTransfer::new(id, zero, zero, amount, Ledger::NONE, TransferCode::from_u16(0));
        t.pending_id = pending_id;
        t.flags = TransferFlags::POST_PENDING_TRANSFER;
        t
    }

    /// A void of the pending transfer `pending_id`.
    pub const fn void(id: TransferId, pending_id: TransferId) -> Self {
        let mut t = NewTransfer::post(id, pending_id, 0);
        t.flags = TransferFlags::VOID_PENDING_TRANSFER;
        t
    }

    /// The same request with `flags` added.
    pub const fn with_flags(mut self, flags: TransferFlags) -> Self {
        self.flags = self.flags.with(flags);
        self
    }

    /// The same request with a timeout.
    pub const fn with_timeout_secs(mut self, timeout_secs: u32) -> Self {
        self.timeout_secs = timeout_secs;
        self
    }

    /// The same request with the order reference in `user_data_128`.
    pub const fn with_user_data_128(mut self, user_data_128: u128) -> Self {
        self.user_data_128 = user_data_128;
        self
    }
}

/// A recorded transfer: the request with every inherited field filled in, the amount actually moved and
/// the timestamp the ledger assigned. Immutable once recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    /// The client-chosen id.
    pub id: TransferId,
    /// The account debited.
    pub debit_account_id: AccountId,
    /// The account credited.
    pub credit_account_id: AccountId,
    /// The amount moved (for a balancing transfer, after clamping; for a post, the amount posted).
    pub amount: u128,
    /// For a post or void: the pending transfer it resolved; zero otherwise.
    pub pending_id: TransferId,
    /// Free for the embedding service.
    pub user_data_128: u128,
    /// Free for the embedding service.
    pub user_data_64: u64,
    /// Free for the embedding service.
    pub user_data_32: u32,
    /// For a pending transfer: seconds until it expires; zero = never.
    pub timeout_secs: u32,
    /// The currency.
    pub ledger: Ledger,
    /// Why the money moved.
    pub code: TransferCode,
    /// Behaviour, as requested.
    pub flags: TransferFlags,
    /// When it was decided: unique and strictly increasing across the ledger.
    pub timestamp: Timestamp,
}

/// A value to fill committed capacity with (never read as a transfer).
pub(crate) const PLACEHOLDER: Transfer = Transfer {
    id: TransferId::from_u128(0),
    debit_account_id: AccountId::from_u128(0),
    credit_account_id: AccountId::from_u128(0),
    amount: 0,
    pending_id: TransferId::from_u128(0),
    user_data_128: 0,
    user_data_64: 0,
    user_data_32: 0,
    timeout_secs: 0,
    ledger: Ledger::NONE,
    code: TransferCode::from_u16(0),
    flags: TransferFlags::NONE,
    timestamp: Timestamp::ZERO,
};

impl Transfer {
    /// When a pending transfer with a timeout expires: `timestamp + timeout_secs`. `None` without a
    /// timeout (or if it would pass the end of `Timestamp`, which the decision refuses).
    pub fn expires_at(&self) -> Option<Timestamp> {
        expiry(self.timestamp, self.timeout_secs)
    }

    /// True for a pending (two-phase, first phase) transfer.
    pub const fn is_pending(&self) -> bool {
        self.flags.contains(TransferFlags::PENDING)
    }
}

pub(crate) fn expiry(timestamp: Timestamp, timeout_secs: u32) -> Option<Timestamp> {
    if timeout_secs == 0 {
        return None;
    }
    let nanos = u64::from(timeout_secs).checked_mul(1_000_000_000)?;
    timestamp.unix_nanos().checked_add(nanos).map(Timestamp::from_unix_nanos)
}

/// Where a pending transfer stands. It resolves at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum PendingStatus {
    /// Reserved, not yet resolved.
    Pending = 1,
    /// Posted (fully or partially) by a post transfer.
    Posted = 2,
    /// Voided by a void transfer.
    Voided = 3,
    /// Voided by its timeout.
    Expired = 4,
}

impl PendingStatus {
    /// The stable numeric code (for storage).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// From the numeric code.
    pub const fn from_code(code: u8) -> Option<PendingStatus> {
        match code {
            1 => Some(PendingStatus::Pending),
            2 => Some(PendingStatus::Posted),
            3 => Some(PendingStatus::Voided),
            4 => Some(PendingStatus::Expired),
            _ => None,
        }
    }
}

/// The state of one pending transfer, as a store keeps it beside the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingState {
    /// The pending transfer.
    pub transfer_id: TransferId,
    /// Where it stands.
    pub status: PendingStatus,
    /// When it expires, if it has a timeout (a store indexes this to find what is due).
    pub expires_at: Option<Timestamp>,
    /// Which of the debit account's limit slots counted its amount (bit `n` = slot `n`), so that voiding
    /// or expiry gives the amount back to them.
    pub limit_slots: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_timestamp_plus_timeout() {
        let t = Timestamp::from_unix_secs(100);
        assert_eq!(expiry(t, 0), None);
        assert_eq!(expiry(t, 5), Some(Timestamp::from_unix_secs(105)));
        assert_eq!(expiry(Timestamp::from_unix_nanos(u64::MAX - 10), 1), None);
        for s in [PendingStatus::Pending, PendingStatus::Posted, PendingStatus::Voided, PendingStatus::Expired] {
            assert_eq!(PendingStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(PendingStatus::from_code(0), None);
        let v = NewTransfer::void(TransferId::from_u128(2), TransferId::from_u128(1));
        assert!(
            v.flags.contains(TransferFlags::VOID_PENDING_TRANSFER)
                && !v.flags.contains(TransferFlags::POST_PENDING_TRANSFER)
        );
    }
}
