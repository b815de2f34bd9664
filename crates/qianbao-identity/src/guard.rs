//! Attempt guards: how many wrong tries a secret (login password, payment password) may take, from
//! whom, and how fast. A pure decision over a counter; the store applies it atomically.
//!
//! Every try is counted **before** the secret is checked (pessimistic counting) and the count is reset
//! when the check succeeds, so concurrent guesses can never run more checks than the limit allows.

use std::time::Duration;

use qianbao_core::Timestamp;
use serde::{Deserialize, Serialize};

/// How a guard counts failures and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuardPolicy {
    /// Failures allowed before back-off starts.
    pub free_failures: u32,
    /// The wait after the first failure past `free_failures`; it doubles with each further failure.
    pub backoff_base: Duration,
    /// The longest wait.
    pub backoff_max: Duration,
    /// Failures that lock the guard; `None` never locks.
    pub lock_after: Option<u32>,
    /// How long a lock lasts; `None` until it is reset (recovery or an operator).
    pub lock_for: Option<Duration>,
    /// Counts are forgotten after this long without a failure; `None` never.
    pub forget_after: Option<Duration>,
}

impl GuardPolicy {
    /// Login per account: 3 free failures, then 1 s doubling up to 15 minutes, locked after 20 until
    /// recovery or an operator unlocks (NIST SP 800-63B allows at most 100).
    pub const LOGIN_ACCOUNT: GuardPolicy = GuardPolicy {
        free_failures: 3,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(900),
        lock_after: Some(20),
        lock_for: None,
        forget_after: None,
    };

    /// Login per client address or device: 10 free failures, then 1 s doubling up to 15 minutes; never
    /// locks; forgotten after 24 hours without a failure.
    pub const LOGIN_SOURCE: GuardPolicy = GuardPolicy {
        free_failures: 10,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(900),
        lock_after: None,
        lock_for: None,
        forget_after: Some(Duration::from_secs(86_400)),
    };

    /// Payment password: locked for 3 hours after 5 wrong tries; forgotten after 24 hours.
    pub const PAYMENT_PASSWORD: GuardPolicy = GuardPolicy {
        free_failures: 5,
        backoff_base: Duration::ZERO,
        backoff_max: Duration::ZERO,
        lock_after: Some(5),
        lock_for: Some(Duration::from_secs(3 * 3600)),
        forget_after: Some(Duration::from_secs(86_400)),
    };
}

/// A guard's counter as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardState {
    /// Failures counted (tries in flight included).
    pub failures: u32,
    /// When the last one was counted.
    pub last_failure_at: Option<Timestamp>,
}

/// What a guard says about a new try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuardDecision {
    /// Go ahead.
    Allow,
    /// Wait: the next try is allowed at `until`.
    Throttled {
        /// When.
        until: Timestamp,
    },
    /// Locked; `until` is `None` for a lock that only a reset lifts.
    Locked {
        /// When it ends by itself.
        until: Option<Timestamp>,
    },
}

impl GuardState {
    /// The counter as it stands at `now` (forgotten or expired-lock counts drop to zero).
    pub fn current(self, policy: &GuardPolicy, now: Timestamp) -> GuardState {
        let Some(last) = self.last_failure_at else { return GuardState::default() };
        let quiet = now.duration_since(last);
        let forgotten = policy.forget_after.is_some_and(|f| quiet >= f);
        let lock_over =
            policy.lock_after.is_some_and(|n| self.failures >= n) && policy.lock_for.is_some_and(|d| quiet >= d);
        if forgotten || lock_over { GuardState::default() } else { self }
    }

    /// The decision for a new try at `now`.
    pub fn decide(self, policy: &GuardPolicy, now: Timestamp) -> GuardDecision {
        let s = self.current(policy, now);
        let Some(last) = s.last_failure_at else { return GuardDecision::Allow };
        if let Some(n) = policy.lock_after
            && s.failures >= n
        {
            return GuardDecision::Locked { until: policy.lock_for.map(|d| last.saturating_add(d)) };
        }
        if s.failures < policy.free_failures {
            return GuardDecision::Allow;
        }
        let wait = backoff(policy, s.failures - policy.free_failures);
        let until = last.saturating_add(wait);
        if now >= until { GuardDecision::Allow } else { GuardDecision::Throttled { until } }
    }

    /// The counter after one more try is counted at `now`.
    pub fn counted(self, policy: &GuardPolicy, now: Timestamp) -> GuardState {
        let s = self.current(policy, now);
        GuardState { failures: s.failures.saturating_add(1), last_failure_at: Some(now) }
    }

    /// True when this count, just reached by a failed try, locks the guard.
    pub fn is_locked(self, policy: &GuardPolicy, now: Timestamp) -> bool {
        matches!(self.decide(policy, now), GuardDecision::Locked { .. })
    }
}

/// The wait after `excess` failures past the free ones: base × 2^excess, capped.
pub fn backoff(policy: &GuardPolicy, excess: u32) -> Duration {
    let factor = 1u32.checked_shl(excess.min(31)).unwrap_or(u32::MAX);
    policy.backoff_base.saturating_mul(factor).min(policy.backoff_max)
}

/// The combined decision of several guards (account, address, device): the strictest wins — a lock over
/// any wait, the latest wait over earlier ones.
pub fn decide_all(states: &[(GuardState, GuardPolicy)], now: Timestamp) -> GuardDecision {
    let mut out = GuardDecision::Allow;
    for (s, p) in states {
        out = match (out, s.decide(p, now)) {
            (GuardDecision::Locked { until: None }, _) | (_, GuardDecision::Locked { until: None }) => {
                GuardDecision::Locked { until: None }
            }
            (GuardDecision::Locked { until: Some(a) }, GuardDecision::Locked { until: Some(b) }) => {
                GuardDecision::Locked { until: Some(a.max(b)) }
            }
            (l @ GuardDecision::Locked { .. }, _) | (_, l @ GuardDecision::Locked { .. }) => l,
            (GuardDecision::Throttled { until: a }, GuardDecision::Throttled { until: b }) => {
                GuardDecision::Throttled { until: a.max(b) }
            }
            (t @ GuardDecision::Throttled { .. }, _) | (_, t @ GuardDecision::Throttled { .. }) => t,
            _ => GuardDecision::Allow,
        };
    }
    out
}

#[cfg(test)]
mod tests;
