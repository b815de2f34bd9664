//! Queries of a [`DurableLedger`](crate::DurableLedger): an account's transfers with filters and
//! cursor pagination (newest first), balance history of accounts with the `HISTORY` flag, and
//! spending analysis (totals by month, code and counter-party).

use std::collections::BTreeMap;

use qianbao_core::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{AccountBalance, LedgerConfig, Transfer, TransferCode, TransferFlags};

/// The most rows one page may hold.
pub const PAGE_ROWS_MAX: usize = 1_000;

/// Which side of an account's transfers to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Debits and credits.
    #[default]
    Both,
    /// Transfers debiting the account (money out of a wallet).
    Debits,
    /// Transfers crediting the account (money into a wallet).
    Credits,
}

impl Direction {
    pub(crate) fn code(self) -> i32 {
        match self {
            Direction::Both => 0,
            Direction::Debits => super::codec::DIR_DEBIT,
            Direction::Credits => super::codec::DIR_CREDIT,
        }
    }
}

/// Which transfers of an account to list: a time range (`from` inclusive, `until` exclusive), a
/// transfer code, a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransferFilter {
    /// The earliest timestamp (inclusive).
    pub from: Option<Timestamp>,
    /// The end of the range (exclusive).
    pub until: Option<Timestamp>,
    /// Only transfers with this code.
    pub code: Option<TransferCode>,
    /// Debits, credits or both.
    pub direction: Direction,
}

/// Where the next page starts: before this timestamp. Opaque to callers; serializable so it can be
/// handed to a client and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor(Timestamp);

/// One page of an account's transfers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferPage {
    /// The transfers.
    pub transfers: Vec<Transfer>,
    /// The cursor of the next (older) page; `None` when this was the last.
    pub next: Option<Cursor>,
}

/// One page of an account's balance history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancePage {
    /// The balances after each change.
    pub balances: Vec<AccountBalance>,
    /// The cursor of the next (older) page; `None` when this was the last.
    pub next: Option<Cursor>,
}

/// A total and how many transfers make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Total {
    /// Sum of the amounts, in minor units.
    pub amount: u128,
    /// How many transfers.
    pub count: u64,
}

impl Total {
    fn add(&mut self, amount: u128) {
        self.amount = self.amount.saturating_add(amount);
        self.count += 1;
    }
}

/// An account's spending over a range: posted debits (single-phase transfers and posts of pending
/// ones; holds and voids are not spending), by calendar month in the ledger's UTC offset, by transfer
/// code and by the account credited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpendingReport {
    /// Everything in the range.
    pub total: Total,
    /// By `(year, month)`, oldest first.
    pub by_month: Vec<((i32, u8), Total)>,
    /// By transfer code.
    pub by_code: Vec<(TransferCode, Total)>,
    /// By the account credited (merchant, friend, fee income, ...), largest first.
    pub by_counterparty: Vec<(AccountId, Total)>,
}

/// The SQL of an account's transfers: the unmerged tail, then the look-up table up to `merged_ts`.
/// (SQLite: the account, direction and code are matched on the decoded rows.)
pub(crate) const TAIL_SQL: &str =
    "SELECT {cols} FROM ledger_transfers t WHERE t.ts > $1 AND t.ts >= $2 AND t.ts < $3 ORDER BY t.ts DESC";
#[cfg(feature = "postgres")]
pub(crate) const MERGED_SQL: &str =
    "SELECT {cols} FROM ledger_account_transfers x JOIN ledger_transfers t ON t.ts = x.ts
    WHERE x.account = $1 AND x.ts >= $2 AND x.ts < $3 AND x.ts <= $4 AND ($5 = 0 OR x.dir = $5)
    AND ($6 < 0 OR x.code = $6) ORDER BY x.ts DESC LIMIT $7";
pub(crate) const BALANCES_SQL: &str = "SELECT ts, dp, dpo, cp, cpo FROM ledger_balances
    WHERE account = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4";

/// The bounds of a page: `[lo, hi)` in stored timestamps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub lo: i64,
    pub hi: i64,
    pub limit: i64,
}

impl Bounds {
    pub(crate) fn new(from: Option<Timestamp>, until: Option<Timestamp>, cursor: Option<Cursor>, limit: usize) -> Self {
        let hi = match (until, cursor) {
            (Some(u), Some(c)) => u.min(c.0),
            (Some(u), None) => u,
            (None, Some(c)) => c.0,
            (None, None) => Timestamp::from_unix_nanos(u64::MAX),
        };
        Bounds {
            lo: from.map_or(0, super::codec::ts),
            hi: super::codec::ts(hi),
            limit: limit.clamp(1, PAGE_ROWS_MAX) as i64,
        }
    }

    /// The cursor after a page of `len` rows whose oldest has `oldest`.
    pub(crate) fn next(&self, len: usize, oldest: Option<Timestamp>) -> Option<Cursor> {
        if len as i64 >= self.limit { oldest.map(Cursor) } else { None }
    }
}

/// Adds transfers into a report.
pub(crate) fn tally(report: &mut Accumulator, config: &LedgerConfig, transfers: &[Transfer]) {
    for t in transfers {
        if t.flags.intersects(TransferFlags::PENDING.with(TransferFlags::VOID_PENDING_TRANSFER)) {
            continue;
        }
        report.total.add(t.amount);
        report.by_month.entry(month_of(config, t.timestamp)).or_default().add(t.amount);
        report.by_code.entry(t.code.as_u16()).or_default().add(t.amount);
        report.by_counterparty.entry(t.credit_account_id).or_default().add(t.amount);
    }
}

/// A report being summed.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    total: Total,
    by_month: BTreeMap<(i32, u8), Total>,
    by_code: BTreeMap<u16, Total>,
    by_counterparty: BTreeMap<AccountId, Total>,
}

impl Accumulator {
    pub(crate) fn finish(self) -> SpendingReport {
        let mut by_counterparty: Vec<_> = self.by_counterparty.into_iter().collect();
        by_counterparty.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.0.cmp(&b.0)));
        SpendingReport {
            total: self.total,
            by_month: self.by_month.into_iter().collect(),
            by_code: self.by_code.into_iter().map(|(c, t)| (TransferCode::from_u16(c), t)).collect(),
            by_counterparty,
        }
    }
}

/// The calendar month of `at` in the ledger's UTC offset.
fn month_of(config: &LedgerConfig, at: Timestamp) -> (i32, u8) {
    let (year, month, _) =
        qianbao_core::calendar::civil_from_days(qianbao_core::calendar::local_day(at, config.utc_offset_secs()));
    // Years of u64 nanoseconds fit an i32.
    (year as i32, month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_utc_offset() {
        let config = LedgerConfig::default(); // +08:00
        // 2026-01-31T16:30:00Z is 2026-02-01 00:30 in Beijing.
        assert_eq!(month_of(&config, Timestamp::from_unix_secs(1_769_877_000)), (2026, 2));
        let utc = LedgerConfig::with_utc_offset_secs(0).unwrap();
        assert_eq!(month_of(&utc, Timestamp::from_unix_secs(1_769_877_000)), (2026, 1));
        assert_eq!(month_of(&utc, Timestamp::from_unix_secs(951_782_400)), (2000, 2), "2000-02-29");
    }

    #[test]
    fn pages_end_when_short() {
        let b =
            Bounds::new(None, Some(Timestamp::from_unix_nanos(50)), Some(Cursor(Timestamp::from_unix_nanos(40))), 2);
        assert_eq!((b.lo, b.hi, b.limit), (0, 40, 2));
        assert_eq!(b.next(1, Some(Timestamp::from_unix_nanos(30))), None);
        assert!(b.next(2, Some(Timestamp::from_unix_nanos(30))).is_some());
        assert_eq!(Bounds::new(None, None, None, 0).limit, 1);
    }
}
