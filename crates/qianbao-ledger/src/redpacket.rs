//! Red packets (红包): a sender funds N shares, split equally or at random; receivers claim one share
//! each, in order; at expiry the unclaimed rest goes back to the sender. Pure functions over a
//! [`RedPacket`] value: the payments layer moves the money (sender → escrow at creation, escrow →
//! receiver per claim, escrow → sender at expiry) and persists the value.
//!
//! **Random split.** `count × minimum` is set aside, the rest is cut at `count − 1` uniformly random
//! points; a share above the per-share maximum gives its excess to shares with room; finally the shares
//! are shuffled (Fisher–Yates). The shuffle makes every position's share identically distributed, so
//! the split is unbiased in expectation across claim order. Shares always sum exactly to the amount,
//! each is at least the minimum and at most the maximum. Randomness comes from an injected
//! [`Entropy`]: the same seed gives the same shares.
//!
//! **Equal split.** `amount / count` each; the remainder `r` adds one minor unit to the first `r` shares.
//!
//! ```
//! use qianbao_core::{Currency, Money, SeededEntropy, Timestamp, UserId};
//! use qianbao_ledger::redpacket::*;
//!
//! let config = RedPacketConfig::default(); // ≤ 100 shares, 0.01 to 200.00 each, 24 h
//! let now = Timestamp::from_unix_secs(1_800_000_000);
//! let request = NewRedPacket {
//!     id: RedPacketId::from_u128(1),
//!     sender: UserId::from_u128(10),
//!     total: Money::parse("10.00", Currency::CNY)?,
//!     count: 3,
//!     mode: SplitMode::Random,
//! };
//! let mut packet = RedPacket::new(&request, &config, now, &SeededEntropy::new(42))?;
//! let first = packet.claim(UserId::from_u128(11), now)?;
//! assert!(first.amount.minor() >= 1);
//! assert!(matches!(packet.claim(UserId::from_u128(11), now), Err(RedPacketError::AlreadyClaimed { .. })));
//!
//! // A day later the rest goes back to the sender.
//! let later = Timestamp::from_unix_secs(1_800_000_000 + 86_400);
//! let back = packet.expire(later)?;
//! assert_eq!(back.checked_add(first.amount)?, request.total);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::Duration;

use qianbao_core::{Entropy, Id128, Money, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A red packet's id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedPacketId(u128);

impl RedPacketId {
    /// From a raw 128-bit value.
    pub const fn from_u128(v: u128) -> Self {
        RedPacketId(v)
    }

    /// The raw value.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl From<Id128> for RedPacketId {
    fn from(raw: Id128) -> Self {
        RedPacketId(raw.as_u128())
    }
}

impl fmt::Display for RedPacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for RedPacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedPacketId({self})")
    }
}

/// Why a red packet request or state change was refused. State is unchanged on every error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedPacketError {
    /// The configuration does not make sense.
    #[error("invalid red packet configuration: {0}")]
    InvalidConfig(String),
    /// Share count outside `1..=max`.
    #[error("a red packet has 1 to {max} shares, not {count}")]
    CountOutOfRange {
        /// Requested.
        count: u32,
        /// Allowed maximum.
        max: u32,
    },
    /// The amount is below `count × minimum`.
    #[error("{total} cannot fund {count} shares of at least {min_share} each")]
    TooSmall {
        /// The amount.
        total: Money,
        /// Shares.
        count: u32,
        /// The minimum share.
        min_share: Money,
    },
    /// The amount is above the packet maximum or `count × per-share maximum`.
    #[error("{total} is above the most a packet of {count} shares may hold ({max})")]
    TooLarge {
        /// The amount.
        total: Money,
        /// Shares.
        count: u32,
        /// The most allowed.
        max: Money,
    },
    /// The packet expired.
    #[error("the red packet expired at {expires_at}")]
    Expired {
        /// Its expiry.
        expires_at: Timestamp,
    },
    /// This receiver already has a share.
    #[error("user {receiver} already claimed a share of this red packet")]
    AlreadyClaimed {
        /// The receiver.
        receiver: UserId,
    },
    /// Every share is claimed.
    #[error("every share of this red packet is claimed")]
    SoldOut,
    /// The sender may not claim their own packet.
    #[error("the sender cannot claim their own red packet")]
    SenderCannotClaim,
    /// Expiry asked before the deadline.
    #[error("the red packet is open until {expires_at}; it cannot be expired at {now}")]
    NotExpired {
        /// Its expiry.
        expires_at: Timestamp,
        /// The time asked.
        now: Timestamp,
    },
    /// The packet is not open (all claimed or already expired).
    #[error("the red packet is {state:?}, not open")]
    NotOpen {
        /// Its state.
        state: PacketState,
    },
    /// A stored record breaks the packet's invariants.
    #[error("red packet record is inconsistent: {0}")]
    Corrupt(String),
    /// A sum left the range of 64-bit minor units.
    #[error("amount out of range")]
    Overflow,
}

/// How the amount is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// Equal shares (普通红包); the remainder adds one minor unit to the first shares.
    Equal,
    /// Random shares (拼手气红包).
    Random,
}

/// Limits and defaults (WeChat's: at most 200.00 per share, 24 h).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedPacketConfig {
    /// Most shares in one packet. Default 100.
    pub shares_max: u32,
    /// Least share in minor units. Default 1 (0.01 CNY).
    pub share_min_minor: i64,
    /// Most one share may hold, minor units. Default 20,000 (200.00 CNY).
    pub share_max_minor: i64,
    /// Most one packet may hold, minor units. Default 2,000,000 (20,000.00 CNY).
    pub total_max_minor: i64,
    /// How long a packet stays open. Default 24 hours.
    pub ttl: Duration,
    /// Whether the sender may claim a share (group packets allow it). Default true.
    pub sender_may_claim: bool,
}

impl Default for RedPacketConfig {
    fn default() -> Self {
        RedPacketConfig {
            shares_max: 100,
            share_min_minor: 1,
            share_max_minor: 20_000,
            total_max_minor: 2_000_000,
            ttl: Duration::from_secs(86_400),
            sender_may_claim: true,
        }
    }
}

impl RedPacketConfig {
    /// Checks the limits are coherent.
    pub fn validate(&self) -> Result<(), RedPacketError> {
        let bad = |s: &str| Err(RedPacketError::InvalidConfig(s.to_owned()));
        if self.shares_max == 0 {
            return bad("shares_max must be at least 1");
        }
        if self.share_min_minor < 1 {
            return bad("share_min_minor must be at least 1 minor unit");
        }
        if self.share_max_minor < self.share_min_minor {
            return bad("share_max_minor must be at least share_min_minor");
        }
        if self.total_max_minor < self.share_min_minor {
            return bad("total_max_minor must be at least share_min_minor");
        }
        if self.ttl.is_zero() {
            return bad("ttl must be positive");
        }
        Ok(())
    }

    /// Checks a request against the limits.
    pub fn check(&self, total: Money, count: u32) -> Result<(), RedPacketError> {
        self.validate()?;
        if count == 0 || count > self.shares_max {
            return Err(RedPacketError::CountOutOfRange { count, max: self.shares_max });
        }
        let currency = total.currency();
        let min_total = self.share_min_minor.checked_mul(i64::from(count)).ok_or(RedPacketError::Overflow)?;
        if total.minor() < min_total {
            let min_share = Money::from_minor(self.share_min_minor, currency);
            return Err(RedPacketError::TooSmall { total, count, min_share });
        }
        let max = self.share_max_minor.saturating_mul(i64::from(count)).min(self.total_max_minor);
        if total.minor() > max {
            return Err(RedPacketError::TooLarge { total, count, max: Money::from_minor(max, currency) });
        }
        Ok(())
    }
}

/// Splits `total` into `count` shares under `config`'s limits. Shares sum exactly to `total`.
pub fn split_shares(
    total: Money,
    count: u32,
    mode: SplitMode,
    config: &RedPacketConfig,
    entropy: &dyn Entropy,
) -> Result<Vec<Money>, RedPacketError> {
    config.check(total, count)?;
    let n = i64::from(count);
    let minor = match mode {
        SplitMode::Equal => {
            let (each, rest) = (total.minor() / n, total.minor() % n);
            (0..n).map(|i| each + i64::from(i < rest)).collect()
        }
        SplitMode::Random => random_split(total.minor(), count, config, entropy),
    };
    assert_eq!(minor.iter().sum::<i64>(), total.minor(), "red packet shares must sum to the amount");
    Ok(minor.into_iter().map(|m| Money::from_minor(m, total.currency())).collect())
}

/// Random shares of `total` (already checked: `count × min ≤ total ≤ count × max`).
fn random_split(total: i64, count: u32, config: &RedPacketConfig, entropy: &dyn Entropy) -> Vec<i64> {
    let (min, n) = (config.share_min_minor, count as usize);
    let spread = total - min * i64::from(count);
    let room = config.share_max_minor - min;
    // Cut [0, spread] at count − 1 uniform points; the gaps are the extras above the minimum.
    let mut cuts: Vec<i64> = (1..n).map(|_| entropy.below(spread as u64 + 1) as i64).collect();
    cuts.sort_unstable();
    let mut extra: Vec<i64> = Vec::with_capacity(n);
    let mut last = 0;
    for cut in cuts.into_iter().chain([spread]) {
        extra.push(cut - last);
        last = cut;
    }
    // Move any excess above the per-share maximum to shares with room (there is room: spread ≤ n·room).
    let mut excess = 0;
    for e in extra.iter_mut().filter(|e| **e > room) {
        excess += *e - room;
        *e = room;
    }
    while excess > 0 {
        let open: Vec<usize> = (0..n).filter(|i| extra[*i] < room).collect();
        let pick = open[entropy.below(open.len() as u64) as usize];
        let add = excess.min(room - extra[pick]);
        extra[pick] += add;
        excess -= add;
    }
    for i in (1..n).rev() {
        let j = entropy.below(i as u64 + 1) as usize;
        extra.swap(i, j);
    }
    extra.into_iter().map(|e| e + min).collect()
}

/// What the sender asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRedPacket {
    /// The packet's id.
    pub id: RedPacketId,
    /// Who pays.
    pub sender: UserId,
    /// The whole amount.
    pub total: Money,
    /// How many shares.
    pub count: u32,
    /// Equal or random.
    pub mode: SplitMode,
}

/// One receiver's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who claimed.
    pub receiver: UserId,
    /// What they got.
    pub amount: Money,
    /// Which share (0 for the first claim, 1 for the second, …).
    pub share_index: u32,
    /// When.
    pub claimed_at: Timestamp,
}

/// Where a packet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PacketState {
    /// Shares left and not expired.
    Open,
    /// Every share claimed.
    Exhausted,
    /// Expired; `returned` went back to the sender.
    Expired {
        /// The unclaimed rest returned.
        returned: Money,
    },
}

/// A red packet and its claims. Invariants: shares sum to the total; claim `i` took share `i`; each
/// receiver claims once; claimed + returned = total once expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RedPacketRecord", into = "RedPacketRecord")]
pub struct RedPacket {
    record: RedPacketRecord,
}

/// The stored form of a [`RedPacket`]: every field, checked by [`RedPacket::from_record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedPacketRecord {
    /// The id.
    pub id: RedPacketId,
    /// The sender.
    pub sender: UserId,
    /// The whole amount.
    pub total: Money,
    /// Equal or random.
    pub mode: SplitMode,
    /// The shares in claim order. Never show unclaimed shares to users.
    pub shares: Vec<Money>,
    /// The claims, in order.
    pub claims: Vec<Claim>,
    /// Whether the sender may claim.
    pub sender_may_claim: bool,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at (claims at or after it are refused).
    pub expires_at: Timestamp,
    /// The state.
    pub state: PacketState,
}

impl TryFrom<RedPacketRecord> for RedPacket {
    type Error = RedPacketError;
    fn try_from(record: RedPacketRecord) -> Result<Self, RedPacketError> {
        RedPacket::from_record(record)
    }
}

impl From<RedPacket> for RedPacketRecord {
    fn from(p: RedPacket) -> Self {
        p.record
    }
}

mod state;

#[cfg(test)]
mod tests;
