//! What the risk rules read about the past: velocity counters per calendar window and a bounded
//! history of a user's payment amounts. The store persists these values; the functions here update them.

use std::time::Duration;

use qianbao_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::RiskError;

/// A calendar window for velocity rules, aligned to the configured UTC offset (Beijing time by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The current clock hour.
    Hour,
    /// The current calendar day.
    Day,
}

impl Window {
    /// The window's length in seconds.
    pub const fn secs(self) -> i64 {
        match self {
            Window::Hour => 3_600,
            Window::Day => 86_400,
        }
    }

    /// The start of the window holding `now`, as Unix seconds, for a local time `utc_offset_secs` ahead
    /// of UTC.
    pub fn start(self, now: Timestamp, utc_offset_secs: i32) -> i64 {
        let local = now.unix_secs() as i64 + i64::from(utc_offset_secs);
        local.div_euclid(self.secs()) * self.secs() - i64::from(utc_offset_secs)
    }
}

/// Count and volume of payments in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowCounter {
    /// The window's start (Unix seconds); a counter from an earlier window reads as zero.
    pub window_start: i64,
    /// Payments in the window.
    pub count: u32,
    /// Their volume in minor units.
    pub amount_minor: i64,
}

/// Velocity counters of one subject (a user or a device).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VelocityCounters {
    /// This hour.
    pub hour: WindowCounter,
    /// Today.
    pub day: WindowCounter,
}

impl VelocityCounters {
    /// Count and volume in the window holding `now`.
    pub fn current(&self, window: Window, now: Timestamp, utc_offset_secs: i32) -> (u32, i64) {
        let c = self.counter(window);
        if c.window_start == window.start(now, utc_offset_secs) { (c.count, c.amount_minor) } else { (0, 0) }
    }

    fn counter(&self, window: Window) -> &WindowCounter {
        match window {
            Window::Hour => &self.hour,
            Window::Day => &self.day,
        }
    }

    /// The counters after one more payment of `amount_minor` at `now` (a new window starts from zero).
    pub fn recorded(&self, amount_minor: i64, now: Timestamp, utc_offset_secs: i32) -> Result<Self, RiskError> {
        let bump = |window: Window| -> Result<WindowCounter, RiskError> {
            let (count, amount) = self.current(window, now, utc_offset_secs);
            Ok(WindowCounter {
                window_start: window.start(now, utc_offset_secs),
                count: count.saturating_add(1),
                amount_minor: amount.checked_add(amount_minor).ok_or(RiskError::Overflow)?,
            })
        };
        Ok(VelocityCounters { hour: bump(Window::Hour)?, day: bump(Window::Day)? })
    }
}

/// How much history the unusual-amount rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistoryConfig {
    /// Payments older than this are forgotten. Default 90 days.
    pub window: Duration,
    /// At most this many recent payments are kept. Default 200.
    pub capacity: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig { window: Duration::from_secs(90 * 86_400), capacity: 200 }
    }
}

/// One past payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// How much, minor units.
    pub amount_minor: i64,
}

/// A user's recent payment amounts, oldest first, bounded by [`HistoryConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AmountHistory {
    /// The entries, oldest first.
    pub entries: Vec<HistoryEntry>,
}

/// Statistics over the history inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySummary {
    /// Payments counted.
    pub count: u32,
    /// Their mean, rounded down (0 when none).
    pub mean_minor: i64,
    /// Their 95th percentile by nearest rank (0 when none).
    pub p95_minor: i64,
}

impl AmountHistory {
    /// The history after one more payment: older-than-window entries and the oldest beyond capacity
    /// are dropped.
    pub fn recorded(&self, amount_minor: i64, now: Timestamp, config: &HistoryConfig) -> Self {
        let since = now.saturating_sub(config.window);
        let mut entries: Vec<HistoryEntry> = self.entries.iter().copied().filter(|e| e.at >= since).collect();
        entries.push(HistoryEntry { at: now, amount_minor });
        let excess = entries.len().saturating_sub(config.capacity);
        entries.drain(..excess);
        AmountHistory { entries }
    }

    /// Count, mean and p95 of the payments inside the window before `now`.
    pub fn summary(&self, now: Timestamp, config: &HistoryConfig) -> HistorySummary {
        let since = now.saturating_sub(config.window);
        let mut amounts: Vec<i64> = self.entries.iter().filter(|e| e.at >= since).map(|e| e.amount_minor).collect();
        if amounts.is_empty() {
            return HistorySummary { count: 0, mean_minor: 0, p95_minor: 0 };
        }
        amounts.sort_unstable();
        let n = amounts.len();
        let sum: i128 = amounts.iter().map(|a| i128::from(*a)).sum();
        let rank = (n * 95).div_ceil(100).max(1);
        HistorySummary {
            count: u32::try_from(n).unwrap_or(u32::MAX),
            // The mean of i64 values is an i64.
            mean_minor: i64::try_from(sum / n as i128).unwrap_or(i64::MAX),
            p95_minor: amounts[rank - 1],
        }
    }
}
