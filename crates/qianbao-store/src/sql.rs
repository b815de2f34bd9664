//! Conversions between domain values and the column types every store uses, so each crate stores them
//! the same way: ids as 16-byte big-endian blobs (`BLOB` / `BYTEA`), timestamps as `BIGINT` Unix
//! nanoseconds, amounts as `BIGINT` minor units (or decimal text where `u128` counters need it).

use qianbao_core::{Id128, Timestamp};

use crate::StoreError;

/// A timestamp as a signed 64-bit column value (valid until 2262).
pub fn ts_to_sql(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

/// A timestamp back from a column value; negative values are corrupt.
pub fn ts_from_sql(v: i64) -> Result<Timestamp, StoreError> {
    u64::try_from(v).map(Timestamp::from_unix_nanos).map_err(|_| StoreError::corrupt(format!("negative timestamp {v}")))
}

/// An id back from a 16-byte column value.
pub fn id_from_sql(bytes: &[u8]) -> Result<Id128, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(Id128::from_bytes)
        .map_err(|_| StoreError::corrupt(format!("an id is 16 bytes, found {}", bytes.len())))
}

/// A `u128` counter as decimal text (SQLite and PostgreSQL `NUMERIC` both hold it exactly).
pub fn u128_to_sql(v: u128) -> String {
    v.to_string()
}

/// A `u128` counter back from decimal text.
pub fn u128_from_sql(s: &str) -> Result<u128, StoreError> {
    s.parse().map_err(|_| StoreError::corrupt(format!("{s:?} is not a u128 counter")))
}

/// A `u64` (amounts, counts) as a signed column value, refusing values past `i64::MAX`.
pub fn u64_to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::corrupt(format!("{v} does not fit a BIGINT column")))
}

/// A `u64` back from a signed column value.
pub fn u64_from_sql(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::corrupt(format!("negative value {v} in an unsigned column")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_and_refuse_corrupt_values() {
        let t = Timestamp::from_unix_secs(1_800_000_000);
        assert_eq!(ts_from_sql(ts_to_sql(t)).unwrap(), t);
        assert!(ts_from_sql(-1).is_err());
        let id = Id128::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(id_from_sql(&id.to_bytes()).unwrap(), id);
        assert!(id_from_sql(&[1, 2, 3]).is_err());
        assert_eq!(u128_from_sql(&u128_to_sql(u128::MAX)).unwrap(), u128::MAX);
        assert!(u128_from_sql("-1").is_err());
        assert!(u64_to_sql(u64::MAX).is_err());
        assert!(u64_from_sql(-5).is_err());
    }
}
