//! Civil (proleptic Gregorian) calendar arithmetic on day numbers, for the windows of limits, fee
//! allowances and reports that start at local midnight, the first of a month or New Year's Day.
//!
//! Days are counted from 1970-01-01 (day 0); the algorithms are Howard Hinnant's `civil_from_days` and
//! `days_from_civil`, exact over the whole `i64`-seconds range of [`Timestamp`].
//!
//! ```
//! use qianbao_core::calendar::{civil_from_days, days_from_civil, local_day};
//! use qianbao_core::Timestamp;
//!
//! assert_eq!(civil_from_days(11_016), (2000, 2, 29));
//! assert_eq!(days_from_civil(2000, 2, 29), 11_016);
//! // 2026-01-31T23:30:00+08:00 is already day 20_485 in Beijing but still day 20_484 in UTC.
//! let at = Timestamp::from_unix_secs(1_769_873_400 + 1_800);
//! assert_eq!(local_day(at, 8 * 3_600), 20_485);
//! assert_eq!(local_day(at, 0), 20_484);
//! ```

use crate::Timestamp;

/// Seconds in a civil day.
pub const SECS_PER_DAY: i64 = 86_400;

/// The local day number (days since 1970-01-01) holding `at`, in local time `utc_offset_secs` ahead of
/// UTC.
pub fn local_day(at: Timestamp, utc_offset_secs: i32) -> i64 {
    // Unix seconds of a u64 of nanoseconds always fit an i64.
    let local_secs = (at.unix_nanos() / 1_000_000_000) as i64 + i64::from(utc_offset_secs);
    local_secs.div_euclid(SECS_PER_DAY)
}

/// The civil date `(year, month 1–12, day 1–31)` of a day number.
pub fn civil_from_days(day: i64) -> (i64, u8, u8) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    // month is 1..=12 and d 1..=31 by construction.
    (yoe + era * 400 + i64::from(month <= 2), month as u8, d as u8)
}

/// The day number of a civil date (`month` 1–12, `day` 1–31; out-of-range values extrapolate).
pub fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_time_crate_both_ways() {
        for day in (-800_000..800_000).step_by(997) {
            let date = time::Date::from_julian_day(2_440_588 + day as i32).unwrap();
            let civil = (i64::from(date.year()), u8::from(date.month()), date.day());
            assert_eq!(civil_from_days(day), civil, "day {day}");
            assert_eq!(days_from_civil(civil.0, civil.1, civil.2), day);
        }
    }

    #[test]
    fn local_days_follow_the_offset() {
        assert_eq!(local_day(Timestamp::from_unix_secs(0), 0), 0);
        assert_eq!(local_day(Timestamp::from_unix_secs(0), -1), -1, "23:59:59 on 1969-12-31 west of UTC");
        assert_eq!(local_day(Timestamp::from_unix_secs(86_399), 1), 1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
