//! Time, always injected: the core never reads the system clock on its own.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time: nanoseconds since the Unix epoch (UTC). Covers 1970 to 2554.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch itself; useful as "never" for optional deadlines.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From nanoseconds since the epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// From whole seconds since the epoch (saturating past year 2554).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000))
    }

    /// From milliseconds since the epoch (saturating).
    pub const fn from_unix_millis(millis: u64) -> Self {
        Timestamp(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Whole seconds since the epoch.
    pub const fn unix_secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// `self + d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: Duration) -> Self {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(nanos))
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// As a `time` date-time in UTC, for formatting and calendar arithmetic.
    pub fn to_datetime(self) -> time::OffsetDateTime {
        // A u64 of nanoseconds is always inside time's range (years 1970..2554).
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// From a `time` date-time; `None` before 1970 or after 2554.
    pub fn from_datetime(dt: time::OffsetDateTime) -> Option<Self> {
        u64::try_from(dt.unix_timestamp_nanos()).ok().map(Timestamp)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-22T15:14:01.5Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime().format(&time::format_description::well_known::Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}ns", self.0),
        }
    }
}

/// A source of the current time. Inject it; tests use [`ManualClock`] and move it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Timestamp(nanos)
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock { nanos: Arc::new(AtomicU64::new(start.0)) }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(add)));
    }

    /// Sets the clock to `t` (it may go backwards: tests of clock jumps need that).
    pub fn set(&self, t: Timestamp) {
        self.nanos.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp::from_unix_secs(10));
        assert_eq!(c.now().unix_secs(), 10);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now().unix_millis(), 11_500);
        let shared = c.clone();
        shared.set(Timestamp::from_unix_secs(5));
        assert_eq!(c.now().unix_secs(), 5);
    }

    #[test]
    fn timestamp_prints_rfc3339_and_saturates() {
        assert_eq!(Timestamp::from_unix_secs(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::ZERO.saturating_sub(Duration::from_secs(1)), Timestamp::ZERO);
        let max = Timestamp::from_unix_nanos(u64::MAX);
        assert_eq!(max.saturating_add(Duration::from_secs(1)), max);
        let dt = Timestamp::from_unix_secs(1_700_000_000).to_datetime();
        assert_eq!(Timestamp::from_datetime(dt), Some(Timestamp::from_unix_secs(1_700_000_000)));
    }
}
