//! Column values of the ledger's tables, shared by both backends: ids and `u128` counters as 16-byte
//! big-endian blobs, timestamps as `BIGINT` nanoseconds, small unsigned fields as integers, and
//! `user_data_64` bit-cast to a signed `BIGINT` (every `u64` round-trips).

use qianbao_core::{AccountId, Timestamp, TransferId};
use qianbao_store::StoreError;
use qianbao_store::sql::{ts_from_sql, ts_to_sql};

use crate::{
    Account, AccountCode, AccountFlags, AccountLimit, CreateTransferResult, DebitLimit, FailedTransfer, Ledger,
    LimitUsage, LimitWindow, PendingState, PendingStatus, Transfer, TransferCode, TransferFlags,
};

/// Direction of a transfer as seen from one account (`ledger_account_transfers.dir`).
pub(crate) const DIR_DEBIT: i32 = 1;
pub(crate) const DIR_CREDIT: i32 = 2;

pub(crate) fn b16(v: u128) -> [u8; 16] {
    v.to_be_bytes()
}

pub(crate) fn u128_of(bytes: &[u8]) -> Result<u128, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(u128::from_be_bytes)
        .map_err(|_| StoreError::corrupt(format!("a 128-bit value is 16 bytes, found {}", bytes.len())))
}

pub(crate) fn ts(t: Timestamp) -> i64 {
    ts_to_sql(t)
}

pub(crate) fn ts_of(v: i64) -> Result<Timestamp, StoreError> {
    ts_from_sql(v)
}

pub(crate) fn small<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::corrupt(format!("{what} {v} is out of range")))
}

/// The length of a transfer's body on SQLite: the journal's canonical bytes of the transfer without
/// its timestamp (the row's key).
pub(crate) const TRANSFER_BODY: usize = 120;

/// A transfer's body on SQLite.
pub(crate) fn transfer_body(t: &Transfer) -> [u8; TRANSFER_BODY] {
    let mut b = [0u8; TRANSFER_BODY];
    b.copy_from_slice(&super::journal::transfer_bytes(t)[..TRANSFER_BODY]);
    b
}

/// The `N` bytes of `b` at `at` (the caller has checked the length).
pub(crate) fn be<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

/// The transfer of a SQLite row: its timestamp and body.
pub(crate) fn transfer_of_body(ts: i64, b: &[u8]) -> Result<Transfer, StoreError> {
    if b.len() != TRANSFER_BODY {
        return Err(StoreError::corrupt(format!("a transfer body is {TRANSFER_BODY} bytes, found {}", b.len())));
    }
    Ok(Transfer {
        id: TransferId::from_u128(u128::from_be_bytes(be(b, 0))),
        debit_account_id: AccountId::from_u128(u128::from_be_bytes(be(b, 16))),
        credit_account_id: AccountId::from_u128(u128::from_be_bytes(be(b, 32))),
        amount: u128::from_be_bytes(be(b, 48)),
        pending_id: TransferId::from_u128(u128::from_be_bytes(be(b, 64))),
        user_data_128: u128::from_be_bytes(be(b, 80)),
        user_data_64: u64::from_be_bytes(be(b, 96)),
        user_data_32: u32::from_be_bytes(be(b, 104)),
        timeout_secs: u32::from_be_bytes(be(b, 108)),
        ledger: Ledger::from_u32(u32::from_be_bytes(be(b, 112))),
        code: TransferCode::from_u16(u16::from_be_bytes(be(b, 116))),
        flags: TransferFlags::from_bits_retain(u16::from_be_bytes(be(b, 118))),
        timestamp: ts_of(ts)?,
    })
}

/// The columns of a PostgreSQL `ledger_transfers` row, in table order.
#[cfg(feature = "postgres")]
pub(crate) struct TransferCols<'a> {
    pub ts: i64,
    pub id: &'a [u8],
    pub dr: &'a [u8],
    pub cr: &'a [u8],
    pub amount: &'a [u8],
    pub pending_id: &'a [u8],
    pub ud128: &'a [u8],
    pub ud64: i64,
    pub ud32: i64,
    pub timeout: i64,
    pub ledger: i64,
    pub code: i64,
    pub flags: i64,
}

#[cfg(feature = "postgres")]
impl TransferCols<'_> {
    pub(crate) fn decode(&self) -> Result<Transfer, StoreError> {
        Ok(Transfer {
            id: TransferId::from_u128(u128_of(self.id)?),
            debit_account_id: AccountId::from_u128(u128_of(self.dr)?),
            credit_account_id: AccountId::from_u128(u128_of(self.cr)?),
            amount: u128_of(self.amount)?,
            pending_id: TransferId::from_u128(u128_of(self.pending_id)?),
            user_data_128: u128_of(self.ud128)?,
            user_data_64: self.ud64 as u64,
            user_data_32: small(self.ud32, "user_data_32")?,
            timeout_secs: small(self.timeout, "timeout")?,
            ledger: Ledger::from_u32(small(self.ledger, "ledger")?),
            code: TransferCode::from_u16(small(self.code, "transfer code")?),
            flags: TransferFlags::from_bits_retain(small(self.flags, "transfer flags")?),
            timestamp: ts_of(self.ts)?,
        })
    }
}

/// The columns of a `ledger_accounts` row.
pub(crate) struct AccountCols<'a> {
    pub id: &'a [u8],
    pub dp: &'a [u8],
    pub dpo: &'a [u8],
    pub cp: &'a [u8],
    pub cpo: &'a [u8],
    pub flags: i64,
    pub ledger: i64,
    pub code: i64,
    pub ud128: &'a [u8],
    pub ud64: i64,
    pub ud32: i64,
    pub ts: i64,
}

impl AccountCols<'_> {
    pub(crate) fn decode(&self) -> Result<Account, StoreError> {
        Ok(Account {
            id: AccountId::from_u128(u128_of(self.id)?),
            debits_pending: u128_of(self.dp)?,
            debits_posted: u128_of(self.dpo)?,
            credits_pending: u128_of(self.cp)?,
            credits_posted: u128_of(self.cpo)?,
            ledger: Ledger::from_u32(small(self.ledger, "ledger")?),
            flags: AccountFlags::from_bits_retain(small(self.flags, "account flags")?),
            code: AccountCode::from_u16(small(self.code, "account code")?),
            user_data_32: small(self.ud32, "user_data_32")?,
            timestamp: ts_of(self.ts)?,
            user_data_64: self.ud64 as u64,
            user_data_128: u128_of(self.ud128)?,
        })
    }
}

pub(crate) fn pending_of(
    id: TransferId,
    status: i64,
    expires_at: Option<i64>,
    limit_slots: i64,
) -> Result<PendingState, StoreError> {
    let status = small::<u8>(status, "pending status")?;
    Ok(PendingState {
        transfer_id: id,
        status: PendingStatus::from_code(status)
            .ok_or_else(|| StoreError::corrupt(format!("pending status {status} is unknown")))?,
        expires_at: expires_at.map(ts_of).transpose()?,
        limit_slots: small(limit_slots, "limit slots")?,
    })
}

pub(crate) fn failed_of(id: &[u8], result: i64, at: i64) -> Result<FailedTransfer, StoreError> {
    let code = small::<u8>(result, "result")?;
    Ok(FailedTransfer {
        id: TransferId::from_u128(u128_of(id)?),
        result: CreateTransferResult::from_code(code)
            .ok_or_else(|| StoreError::corrupt(format!("transfer result {code} is unknown")))?,
        timestamp: ts_of(at)?,
    })
}

pub(crate) fn window_code(w: LimitWindow) -> i64 {
    match w {
        LimitWindow::Lifetime => 0,
        LimitWindow::Year => 1,
        LimitWindow::Day => 2,
    }
}

pub(crate) fn codes_blob(codes: &[TransferCode]) -> Vec<u8> {
    codes.iter().flat_map(|c| c.as_u16().to_be_bytes()).collect()
}

/// The columns of a `ledger_limits` row (account aside).
pub(crate) struct LimitCols<'a> {
    pub slot: i64,
    pub window: i64,
    pub codes: &'a [u8],
    pub amount_max: &'a [u8],
    pub window_start: i64,
    pub used: &'a [u8],
}

impl LimitCols<'_> {
    pub(crate) fn decode(&self) -> Result<AccountLimit, StoreError> {
        let window = match self.window {
            0 => LimitWindow::Lifetime,
            1 => LimitWindow::Year,
            2 => LimitWindow::Day,
            w => return Err(StoreError::corrupt(format!("limit window {w} is unknown"))),
        };
        if !self.codes.len().is_multiple_of(2) {
            return Err(StoreError::corrupt("limit codes are pairs of bytes"));
        }
        let codes = self.codes.chunks(2).map(|c| TransferCode::from_u16(u16::from_be_bytes([c[0], c[1]]))).collect();
        Ok(AccountLimit {
            limit: DebitLimit {
                slot: small(self.slot, "limit slot")?,
                window,
                codes,
                amount_max: u128_of(self.amount_max)?,
            },
            usage: LimitUsage { window_start: ts_of(self.window_start)?, used_amount: u128_of(self.used)? },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_corrupt_ones_are_refused() {
        assert_eq!(u128_of(&b16(u128::MAX)).unwrap(), u128::MAX);
        assert!(u128_of(&[1, 2]).is_err());
        assert!(small::<u8>(300, "x").is_err());
        let codes = [TransferCode::PAYMENT, TransferCode::TRANSFER];
        let blob = codes_blob(&codes);
        let cols = LimitCols { slot: 1, window: 2, codes: &blob, amount_max: &b16(5), window_start: 0, used: &b16(1) };
        let l = cols.decode().unwrap();
        assert_eq!((l.limit.codes, l.limit.window, l.usage.used_amount), (codes.to_vec(), LimitWindow::Day, 1));
        assert!(LimitCols { window: 9, ..cols }.decode().is_err());
        assert!(pending_of(TransferId::from_u128(1), 9, None, 0).is_err());
        assert!(failed_of(&b16(1), 200, 0).is_err());
    }
}
