//! Risk rules evaluated before a payment: velocity per user and per device, unusual amounts against
//! the user's history, new devices, block-listed payees, single-payment caps. Rules are configuration
//! ([`RiskConfig`], serde-loadable), evaluated in order; each that fires adds a [`FiredRule`] with its
//! reason, and the outcome is the strongest action among them: [`RiskOutcome::Allow`] when none fires,
//! [`RiskOutcome::Review`] (hold the payment as pending), [`RiskOutcome::Block`].
//!
//! Pure: the caller builds a [`RiskContext`] from its stored counters and history, calls [`evaluate`],
//! and after the payment posts stores what [`record_payment`] returns.
//!
//! ```
//! use qianbao_core::{Currency, Money, Timestamp, UserId};
//! use qianbao_ledger::risk::*;
//!
//! let config = RiskConfig::default_for(Currency::CNY);
//! let mut ctx = RiskContext::new(UserId::from_u128(1), Money::parse("50.00", Currency::CNY)?, Timestamp::from_unix_secs(1_800_000_000));
//! assert_eq!(evaluate(&config, &ctx)?.outcome, RiskOutcome::Allow);
//!
//! ctx.payee_blocked = true;
//! let decision = evaluate(&config, &ctx)?;
//! assert_eq!(decision.outcome, RiskOutcome::Block);
//! assert_eq!(decision.fired[0].rule, "blocked-payee");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod counters;
mod rules;

use std::fmt;

use qianbao_core::{AccountId, Currency, DeviceId, Money, Timestamp, UserId};
use serde::{Deserialize, Serialize};

pub use counters::{
    AmountHistory, HistoryConfig, HistoryEntry, HistorySummary, VelocityCounters, Window, WindowCounter,
};
pub use rules::{Baseline, RiskAction, RiskCheck, RiskConfig, RiskConfigFields, RiskRule, Subject};

/// Why risk evaluation could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RiskError {
    /// The configuration does not make sense.
    #[error("invalid risk configuration: {0}")]
    InvalidConfig(String),
    /// The payment is in another currency than the configuration.
    #[error("payment is in {found}, the risk configuration is in {expected}")]
    CurrencyMismatch {
        /// The configuration's currency.
        expected: Currency,
        /// The payment's.
        found: Currency,
    },
    /// The payment amount is not positive.
    #[error("payment amount must be positive, got {0}")]
    NotPositive(Money),
    /// A counter overflowed.
    #[error("risk counter out of range")]
    Overflow,
}

/// Everything the rules read about one payment, built by the caller from its stored counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RiskContext {
    /// The paying user.
    pub user: UserId,
    /// The device, when known.
    pub device: Option<DeviceId>,
    /// Whether the user has used this device before (a payment with no device counts as known).
    pub device_known: bool,
    /// The payee's account, when there is one.
    pub payee: Option<AccountId>,
    /// Whether the payee is on the block list.
    pub payee_blocked: bool,
    /// The amount.
    pub amount: Money,
    /// The time of the payment.
    pub now: Timestamp,
    /// The user's velocity counters.
    pub user_counters: VelocityCounters,
    /// The device's velocity counters.
    pub device_counters: VelocityCounters,
    /// The user's recent amounts.
    pub history: AmountHistory,
}

impl RiskContext {
    /// A context with no device, no payee, empty counters and history; set the other fields on it.
    pub fn new(user: UserId, amount: Money, now: Timestamp) -> Self {
        RiskContext {
            user,
            device: None,
            device_known: true,
            payee: None,
            payee_blocked: false,
            amount,
            now,
            user_counters: VelocityCounters::default(),
            device_counters: VelocityCounters::default(),
            history: AmountHistory::default(),
        }
    }
}

/// The result of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskOutcome {
    /// No rule fired.
    Allow,
    /// Hold as pending for review.
    Review,
    /// Refuse.
    Block,
}

/// Why a rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RiskReason {
    /// Too many payments in the window.
    VelocityCount {
        /// User or device.
        subject: Subject,
        /// Hour or day.
        window: Window,
        /// The count with this payment.
        count: u32,
        /// The maximum.
        max_count: u32,
    },
    /// Too much volume in the window.
    VelocityAmount {
        /// User or device.
        subject: Subject,
        /// Hour or day.
        window: Window,
        /// The volume with this payment, minor units.
        amount_minor: i64,
        /// The maximum.
        max_amount_minor: i64,
    },
    /// Far above the user's usual amounts.
    UnusualAmount {
        /// This payment, minor units.
        amount_minor: i64,
        /// P95 or mean.
        baseline: Baseline,
        /// The baseline's value, minor units.
        baseline_minor: i64,
        /// The factor in percent.
        factor_percent: u32,
    },
    /// A device the user has not used before.
    NewDevice {
        /// The device, when given.
        device: Option<DeviceId>,
    },
    /// The payee is block-listed.
    BlockedPayee {
        /// The payee.
        payee: Option<AccountId>,
    },
    /// A single payment above the cap.
    AmountAbove {
        /// This payment, minor units.
        amount_minor: i64,
        /// The cap.
        max_minor: i64,
    },
}

impl fmt::Display for RiskReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RiskReason::VelocityCount { subject, window, count, max_count } => {
                write!(f, "{subject:?} makes {count} payments this {window:?}, more than {max_count}")
            }
            RiskReason::VelocityAmount { subject, window, amount_minor, max_amount_minor } => {
                write!(f, "{subject:?} pays {amount_minor} this {window:?}, more than {max_amount_minor} (minor units)")
            }
            RiskReason::UnusualAmount { amount_minor, baseline, baseline_minor, factor_percent } => write!(
                f,
                "{amount_minor} is above {factor_percent}% of the user's {baseline:?} of {baseline_minor} (minor units)"
            ),
            RiskReason::NewDevice { device } => write!(f, "first payment from device {device:?}"),
            RiskReason::BlockedPayee { payee } => write!(f, "payee {payee:?} is on the block list"),
            RiskReason::AmountAbove { amount_minor, max_minor } => {
                write!(f, "{amount_minor} is above the single-payment cap of {max_minor} (minor units)")
            }
        }
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's name.
    pub rule: String,
    /// Its action.
    pub action: RiskAction,
    /// Why it fired.
    pub reason: RiskReason,
}

/// The decision on one payment: the outcome and every rule that fired, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskDecision {
    /// The strongest action among the fired rules, or allow.
    pub outcome: RiskOutcome,
    /// The rules that fired.
    pub fired: Vec<FiredRule>,
}

/// Evaluates every rule in order on `ctx`.
pub fn evaluate(config: &RiskConfig, ctx: &RiskContext) -> Result<RiskDecision, RiskError> {
    check_amount(config, ctx.amount)?;
    let mut fired = Vec::new();
    for rule in &config.fields().rules {
        if let Some(reason) = check(config, &rule.check, ctx)? {
            fired.push(FiredRule { rule: rule.name.clone(), action: rule.action, reason });
        }
    }
    let outcome = fired.iter().map(|f| f.action).max().map_or(RiskOutcome::Allow, |a| match a {
        RiskAction::Review => RiskOutcome::Review,
        RiskAction::Block => RiskOutcome::Block,
    });
    Ok(RiskDecision { outcome, fired })
}

fn check_amount(config: &RiskConfig, amount: Money) -> Result<(), RiskError> {
    let expected = config.fields().currency;
    if amount.currency() != expected {
        return Err(RiskError::CurrencyMismatch { expected, found: amount.currency() });
    }
    if !amount.is_positive() {
        return Err(RiskError::NotPositive(amount));
    }
    Ok(())
}

fn check(config: &RiskConfig, check: &RiskCheck, ctx: &RiskContext) -> Result<Option<RiskReason>, RiskError> {
    let amount = ctx.amount.minor();
    let fields = config.fields();
    Ok(match *check {
        RiskCheck::Velocity { subject, window, max_count, max_amount_minor } => {
            let counters = match subject {
                Subject::User => &ctx.user_counters,
                Subject::Device if ctx.device.is_some() => &ctx.device_counters,
                Subject::Device => return Ok(None),
            };
            let (count, volume) = counters.current(window, ctx.now, fields.utc_offset_secs);
            let count = count.saturating_add(1);
            let volume = volume.checked_add(amount).ok_or(RiskError::Overflow)?;
            match (max_count.filter(|m| count > *m), max_amount_minor.filter(|m| volume > *m)) {
                (Some(max_count), _) => Some(RiskReason::VelocityCount { subject, window, count, max_count }),
                (None, Some(max)) => {
                    Some(RiskReason::VelocityAmount { subject, window, amount_minor: volume, max_amount_minor: max })
                }
                (None, None) => None,
            }
        }
        RiskCheck::UnusualAmount { baseline, factor_percent, min_history, min_amount_minor } => {
            let summary = ctx.history.summary(ctx.now, &fields.history);
            let baseline_minor = match baseline {
                Baseline::P95 => summary.p95_minor,
                Baseline::Mean => summary.mean_minor,
            };
            let unusual = i128::from(amount) * 100 > i128::from(baseline_minor) * i128::from(factor_percent);
            (summary.count >= min_history && amount >= min_amount_minor && unusual)
                .then_some(RiskReason::UnusualAmount { amount_minor: amount, baseline, baseline_minor, factor_percent })
        }
        RiskCheck::NewDevice { min_amount_minor } => {
            (!ctx.device_known && amount >= min_amount_minor).then_some(RiskReason::NewDevice { device: ctx.device })
        }
        RiskCheck::BlockedPayee => ctx.payee_blocked.then_some(RiskReason::BlockedPayee { payee: ctx.payee }),
        RiskCheck::AmountAbove { max_minor } => {
            (amount > max_minor).then_some(RiskReason::AmountAbove { amount_minor: amount, max_minor })
        }
    })
}

/// What to store after a payment posted: the user's and the device's counters and the user's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPayment {
    /// The user's new counters.
    pub user_counters: VelocityCounters,
    /// The device's new counters (unchanged when the payment had no device).
    pub device_counters: VelocityCounters,
    /// The user's new history.
    pub history: AmountHistory,
}

/// The counters and history after the payment in `ctx` posted.
pub fn record_payment(config: &RiskConfig, ctx: &RiskContext) -> Result<RecordedPayment, RiskError> {
    check_amount(config, ctx.amount)?;
    let fields = config.fields();
    let amount = ctx.amount.minor();
    let device_counters = match ctx.device {
        Some(_) => ctx.device_counters.recorded(amount, ctx.now, fields.utc_offset_secs)?,
        None => ctx.device_counters,
    };
    Ok(RecordedPayment {
        user_counters: ctx.user_counters.recorded(amount, ctx.now, fields.utc_offset_secs)?,
        device_counters,
        history: ctx.history.recorded(amount, ctx.now, &fields.history),
    })
}

#[cfg(test)]
mod tests;
