//! Risk rules as configuration.

use qianbao_core::Currency;
use serde::{Deserialize, Serialize};

use super::RiskError;
use super::counters::{HistoryConfig, Window};

/// What a fired rule does to the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskAction {
    /// Hold the payment as pending for an operator to review.
    Review,
    /// Refuse the payment.
    Block,
}

/// Whose counters a velocity rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The paying user.
    User,
    /// The device the payment comes from (rules on it do not fire when the device is unknown to the caller).
    Device,
}

/// What the unusual-amount rule compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The 95th percentile of the user's recent amounts.
    P95,
    /// The mean of the user's recent amounts.
    Mean,
}

/// The test a rule applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RiskCheck {
    /// Fires when this payment would take the subject's count or volume in the window above a maximum.
    Velocity {
        /// User or device.
        subject: Subject,
        /// Hour or day.
        window: Window,
        /// Most payments in the window, this one included.
        #[serde(default)]
        max_count: Option<u32>,
        /// Most volume in the window (minor units), this one included.
        #[serde(default)]
        max_amount_minor: Option<i64>,
    },
    /// Fires when the amount is above `factor_percent`% of the user's baseline, once the user has at
    /// least `min_history` payments in the history window, for amounts of at least `min_amount_minor`.
    UnusualAmount {
        /// P95 or mean.
        baseline: Baseline,
        /// E.g. 500 for five times the baseline.
        factor_percent: u32,
        /// Payments needed before the rule applies.
        min_history: u32,
        /// Smaller amounts never fire.
        #[serde(default)]
        min_amount_minor: i64,
    },
    /// Fires for a payment from a device the user has not used before, from `min_amount_minor` up.
    NewDevice {
        /// Smaller amounts never fire.
        #[serde(default)]
        min_amount_minor: i64,
    },
    /// Fires when the payee is on the block list.
    BlockedPayee,
    /// Fires when one payment is above `max_minor`.
    AmountAbove {
        /// The largest amount allowed without the action.
        max_minor: i64,
    },
}

/// A named rule: a check and what happens when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRule {
    /// A unique name, recorded in every decision it fires in.
    pub name: String,
    /// Review or block.
    pub action: RiskAction,
    /// The check.
    #[serde(flatten)]
    pub check: RiskCheck,
}

impl RiskRule {
    /// A rule.
    pub fn new(name: impl Into<String>, action: RiskAction, check: RiskCheck) -> Self {
        RiskRule { name: name.into(), action, check }
    }

    fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a rule needs a name".into());
        }
        let ok = match &self.check {
            RiskCheck::Velocity { max_count, max_amount_minor, .. } => {
                (max_count.is_some() || max_amount_minor.is_some()) && max_amount_minor.is_none_or(|m| m >= 0)
            }
            RiskCheck::UnusualAmount { factor_percent, min_amount_minor, .. } => {
                *factor_percent >= 100 && *min_amount_minor >= 0
            }
            RiskCheck::NewDevice { min_amount_minor } => *min_amount_minor >= 0,
            RiskCheck::BlockedPayee => true,
            RiskCheck::AmountAbove { max_minor } => *max_minor >= 0,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "rule {:?}: a velocity rule needs max_count or max_amount_minor, factor_percent is at least 100, amounts are not negative",
                self.name
            ))
        }
    }
}

/// The whole risk configuration, validated on construction and on deserialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RiskConfigFields", into = "RiskConfigFields")]
pub struct RiskConfig {
    fields: RiskConfigFields,
}

/// The plain fields of a [`RiskConfig`], as written in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskConfigFields {
    /// The currency of every amount in the rules and counters.
    pub currency: Currency,
    /// Local time's offset from UTC for calendar windows, seconds. Default 28,800 (Beijing).
    #[serde(default = "beijing")]
    pub utc_offset_secs: i32,
    /// The history the unusual-amount rule reads.
    #[serde(default)]
    pub history: HistoryConfig,
    /// The rules, evaluated in this order.
    pub rules: Vec<RiskRule>,
}

fn beijing() -> i32 {
    8 * 3_600
}

impl TryFrom<RiskConfigFields> for RiskConfig {
    type Error = RiskError;
    fn try_from(fields: RiskConfigFields) -> Result<Self, RiskError> {
        RiskConfig::new(fields)
    }
}

impl From<RiskConfig> for RiskConfigFields {
    fn from(c: RiskConfig) -> Self {
        c.fields
    }
}

impl RiskConfig {
    /// A configuration; refuses unnamed or duplicate rules, rules without a threshold, negative
    /// amounts, an offset beyond ±14 h and an empty history.
    pub fn new(fields: RiskConfigFields) -> Result<Self, RiskError> {
        let bad = |s: String| Err(RiskError::InvalidConfig(s));
        if fields.utc_offset_secs.abs() > 14 * 3_600 {
            return bad(format!("utc_offset_secs {} is beyond ±14 hours", fields.utc_offset_secs));
        }
        if fields.history.capacity == 0 || fields.history.window.is_zero() {
            return bad("history needs a positive window and capacity".into());
        }
        let mut names = std::collections::HashSet::new();
        for rule in &fields.rules {
            rule.validate().map_err(RiskError::InvalidConfig)?;
            if !names.insert(rule.name.as_str()) {
                return bad(format!("two rules are named {:?}", rule.name));
            }
        }
        Ok(RiskConfig { fields })
    }

    /// The defaults for a CNY wallet: block listed payees; review over 20 payments an hour per user or
    /// 30 per device, over 50,000.00 a day per user, an amount over 5× the user's p95 (10 payments of
    /// history, from 100.00), and 1,000.00 or more from a new device; block over 200 payments a day.
    pub fn default_for(currency: Currency) -> Self {
        use RiskAction::*;
        let velocity = |subject, window, max_count, max_amount_minor| RiskCheck::Velocity {
            subject,
            window,
            max_count,
            max_amount_minor,
        };
        let rules = vec![
            RiskRule::new("blocked-payee", Block, RiskCheck::BlockedPayee),
            RiskRule::new("user-payments-per-day", Block, velocity(Subject::User, Window::Day, Some(200), None)),
            RiskRule::new("user-payments-per-hour", Review, velocity(Subject::User, Window::Hour, Some(20), None)),
            RiskRule::new("device-payments-per-hour", Review, velocity(Subject::Device, Window::Hour, Some(30), None)),
            RiskRule::new("user-volume-per-day", Review, velocity(Subject::User, Window::Day, None, Some(5_000_000))),
            RiskRule::new(
                "unusual-amount",
                Review,
                RiskCheck::UnusualAmount {
                    baseline: Baseline::P95,
                    factor_percent: 500,
                    min_history: 10,
                    min_amount_minor: 10_000,
                },
            ),
            RiskRule::new("new-device", Review, RiskCheck::NewDevice { min_amount_minor: 100_000 }),
        ];
        let fields =
            RiskConfigFields { currency, utc_offset_secs: beijing(), history: HistoryConfig::default(), rules };
        RiskConfig { fields }
    }

    /// The fields.
    pub fn fields(&self) -> &RiskConfigFields {
        &self.fields
    }
}
