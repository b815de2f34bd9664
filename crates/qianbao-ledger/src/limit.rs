//! Debit limits over windows (lifetime, calendar year, calendar day) and the ledger's configuration.
//!
//! A limit caps the sum of an account's debits with the transfer codes it names, inside a window. Calendar
//! windows start at midnight in the configured UTC offset (default +08:00, China Standard Time). A pending
//! debit counts when it is created; voiding or expiry gives its amount back to the window it was counted
//! in (if that window is still current), and a partial post gives back the part not posted.

use qianbao_core::Timestamp;
use qianbao_core::calendar::{self, SECS_PER_DAY};
use serde::{Deserialize, Serialize};

use crate::{LedgerError, TransferCode};

/// How many limits one account can have; limit slots are `0..LIMIT_SLOTS_MAX`.
pub const LIMIT_SLOTS_MAX: u8 = 8;
/// How many transfer codes one limit can name.
pub const LIMIT_CODES_MAX: usize = 32;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The ledger's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LedgerConfig {
    utc_offset_secs: i32,
}

impl LedgerConfig {
    /// China Standard Time: UTC+08:00.
    pub const CHINA_UTC_OFFSET_SECS: i32 = 8 * 3600;

    /// The configuration with calendar windows in the given UTC offset (seconds east of UTC, at most
    /// ±18 hours).
    pub fn with_utc_offset_secs(utc_offset_secs: i32) -> Result<Self, LedgerError> {
        if utc_offset_secs.unsigned_abs() > 18 * 3600 {
            return Err(LedgerError::InvalidConfig {
                reason: format!("UTC offset {utc_offset_secs} s is outside ±18 hours"),
            });
        }
        Ok(LedgerConfig { utc_offset_secs })
    }

    /// Seconds east of UTC at which calendar days and years start.
    pub const fn utc_offset_secs(&self) -> i32 {
        self.utc_offset_secs
    }

    /// Where the window of kind `window` that contains `at` starts.
    pub fn window_start(&self, window: LimitWindow, at: Timestamp) -> Timestamp {
        let offset = i64::from(self.utc_offset_secs);
        let day = calendar::local_day(at, self.utc_offset_secs);
        let start_day = match window {
            LimitWindow::Lifetime => return Timestamp::ZERO,
            LimitWindow::Day => day,
            LimitWindow::Year => calendar::days_from_civil(calendar::civil_from_days(day).0, 1, 1),
        };
        let start_secs = start_day * SECS_PER_DAY - offset;
        u64::try_from(start_secs.saturating_mul(NANOS_PER_SEC))
            .map(Timestamp::from_unix_nanos)
            .unwrap_or(Timestamp::ZERO)
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig { utc_offset_secs: LedgerConfig::CHINA_UTC_OFFSET_SECS }
    }
}

/// The window a limit counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitWindow {
    /// Since the account was opened (e.g. the PBOC class I cap of CNY 1,000).
    Lifetime,
    /// A calendar year in the configured offset (class II: CNY 100,000; class III: CNY 200,000).
    Year,
    /// A calendar day in the configured offset (daily caps by authentication strength).
    Day,
}

/// A cap on the debits of one account with the named transfer codes, inside a window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DebitLimit {
    /// Which of the account's limit slots (`0..LIMIT_SLOTS_MAX`); setting a slot again replaces it.
    pub slot: u8,
    /// The window.
    pub window: LimitWindow,
    /// The transfer codes that count (at least one, at most [`LIMIT_CODES_MAX`]).
    pub codes: Vec<TransferCode>,
    /// The most the counted debits may sum to inside one window, in minor units.
    pub amount_max: u128,
}

impl DebitLimit {
    /// Checks the slot and the codes.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let invalid = |reason: String| Err(LedgerError::InvalidLimit { slot: self.slot, reason });
        if self.slot >= LIMIT_SLOTS_MAX {
            return invalid(format!("slot must be below {LIMIT_SLOTS_MAX}"));
        }
        if self.codes.is_empty() || self.codes.len() > LIMIT_CODES_MAX {
            return invalid(format!("a limit names 1 to {LIMIT_CODES_MAX} transfer codes"));
        }
        if self.codes.iter().any(|c| c.as_u16() == 0) {
            return invalid("transfer code 0 is not a code".into());
        }
        Ok(())
    }

    /// True when debits with `code` count against this limit.
    pub fn counts(&self, code: TransferCode) -> bool {
        self.codes.contains(&code)
    }
}

/// How much of a limit is used in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct LimitUsage {
    /// The start of the window `used_amount` belongs to.
    pub window_start: Timestamp,
    /// The counted debits in that window.
    pub used_amount: u128,
}

/// A limit with its usage, as a store keeps it per account and slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountLimit {
    /// The rule.
    pub limit: DebitLimit,
    /// Its usage.
    pub usage: LimitUsage,
}

impl AccountLimit {
    /// What is used in the window containing `at` (zero if the recorded usage is from an older window).
    pub fn used_at(&self, config: &LedgerConfig, at: Timestamp) -> u128 {
        if self.usage.window_start == config.window_start(self.limit.window, at) { self.usage.used_amount } else { 0 }
    }

    /// What may still be debited in the window containing `at`.
    pub fn remaining_at(&self, config: &LedgerConfig, at: Timestamp) -> u128 {
        self.limit.amount_max.saturating_sub(self.used_at(config, at))
    }
}

/// The limit status an account holder sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LimitStatus {
    /// The rule.
    pub limit: DebitLimit,
    /// Used in the current window.
    pub used_amount: u128,
    /// Still available in the current window.
    pub remaining_amount: u128,
    /// When the current window started.
    pub window_start: Timestamp,
}

#[cfg(test)]
mod tests;
