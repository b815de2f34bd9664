//! Fees per product: a rate in basis points, a minimum, a maximum and a free allowance per period,
//! and how much of a fee goes back with a partial refund. Pure functions over values; the caller keeps
//! the allowance usage and passes it in.
//!
//! **Rounding.** A fee is `amount × rate_bps / 10,000` rounded to the minor unit by the schedule's
//! [`Rounding`]: [`Rounding::HalfUp`] by default (0.5 fen and more rounds up), or [`Rounding::Up`]
//! (any fraction rounds up). Then the minimum applies, then the maximum, so `0 ≤ fee ≤ max` always.
//! Integer arithmetic only (i128 inside), never floats.
//!
//! **Free allowance.** Per product and period (day, month, year, lifetime): the first `count`
//! transactions are free, and/or the first `amount` of volume is free (like the free withdrawal quota of
//! Chinese wallets). A transaction that crosses the amount allowance pays on the part above it, with the
//! minimum. The caller stores [`AllowanceUsage`] per user, product and period and resets it when a period
//! starts; [`FeeQuote::usage_after`] is the value to store after the transaction posts.
//!
//! **Refunds.** [`FeeRefundRule::ProRata`] (default) returns the fee in proportion to the cumulative
//! refunded amount, rounded down, so no partial refund ever returns more than its share and the refunds
//! of the whole payment return exactly the fee.
//!
//! ```
//! use qianbao_core::{Currency, Money};
//! use qianbao_ledger::fee::*;
//!
//! // Withdrawals: 0.1 % (10 bp), at least 0.10, at most 25.00, the first 1,000.00 per year free.
//! let schedule: FeeSchedule = serde_json::from_str(r#"{
//!     "currency": "CNY",
//!     "products": { "withdrawal": { "rate_bps": 10, "min_minor": 10, "max_minor": 2500,
//!                   "free": { "period": "year", "amount_minor": 100000 } } }
//! }"#)?;
//! let cny = |minor| Money::from_minor(minor, Currency::CNY);
//! let used = AllowanceUsage { count: 3, amount_minor: 90_000 };
//! let quote = schedule.quote(FeeProduct::Withdrawal, cny(50_000), used)?;
//! assert_eq!(quote.free, cny(10_000));      // 100.00 of the allowance was left
//! assert_eq!(quote.chargeable, cny(40_000));
//! assert_eq!(quote.fee, cny(40));          // 0.1 % of 400.00
//! assert_eq!(quote.usage_after, AllowanceUsage { count: 4, amount_minor: 140_000 });
//! // Payments have no rule: free.
//! assert!(schedule.quote(FeeProduct::Payment, cny(999), AllowanceUsage::default())?.fee.is_zero());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use qianbao_core::{Currency, Money};
use serde::{Deserialize, Serialize};

/// Basis points in one whole (100 %).
pub const BPS_PER_UNIT: u32 = 10_000;

/// Why a fee could not be computed or a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeeError {
    /// A rule's numbers do not make sense.
    #[error("fee rule for {product:?} is invalid: {reason}")]
    InvalidRule {
        /// The product, when the rule belongs to one.
        product: Option<FeeProduct>,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// An amount in another currency than the schedule's.
    #[error("amount is in {found}, the fee schedule is in {expected}")]
    CurrencyMismatch {
        /// The schedule's currency.
        expected: Currency,
        /// The amount's currency.
        found: Currency,
    },
    /// An amount that must be positive is not.
    #[error("{what} must be positive, got {amount}")]
    NotPositive {
        /// Which amount.
        what: &'static str,
        /// The amount.
        amount: Money,
    },
    /// An amount that must not be negative is.
    #[error("{what} must not be negative, got {amount}")]
    Negative {
        /// Which amount.
        what: &'static str,
        /// The amount.
        amount: Money,
    },
    /// The refunds would exceed the amount paid.
    #[error("refund of {refund} after {refunded_before} already refunded exceeds the {paid} paid")]
    RefundExceedsPayment {
        /// The payment's amount.
        paid: Money,
        /// Refunded before this one.
        refunded_before: Money,
        /// This refund.
        refund: Money,
    },
    /// More fee was recorded as refunded than was charged.
    #[error("fee refunded before ({fee_refunded_before}) exceeds the fee charged ({fee_charged})")]
    FeeRefundedExceedsFee {
        /// The fee charged.
        fee_charged: Money,
        /// Fee refunded before.
        fee_refunded_before: Money,
    },
    /// A sum left the range of 64-bit minor units.
    #[error("amount out of range")]
    Overflow,
}

/// The products that can carry a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeeProduct {
    /// Money in from a bank card.
    TopUp,
    /// Money out to a bank card.
    Withdrawal,
    /// Paying a merchant.
    Payment,
    /// A transfer to another user.
    Transfer,
    /// Sending a red packet.
    RedPacket,
}

/// How a fraction of a minor unit is rounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half a minor unit and more rounds up, less rounds down (1.5 fen → 2, 1.49 → 1). The default.
    #[default]
    HalfUp,
    /// Any fraction rounds up (1.01 fen → 2).
    Up,
}

/// The period a free allowance renews over. The caller resets [`AllowanceUsage`] when one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowancePeriod {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
    /// Never renews.
    Lifetime,
}

/// What is free per period: the first `count` transactions and/or the first `amount_minor` of volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FreeAllowance {
    /// The period.
    pub period: AllowancePeriod,
    /// The first this many transactions of the period are free.
    #[serde(default)]
    pub count: Option<u32>,
    /// The first this much volume of the period (minor units) is free.
    #[serde(default)]
    pub amount_minor: Option<i64>,
}

/// Allowance used in the current period before this transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AllowanceUsage {
    /// Transactions of the product so far in the period.
    pub count: u32,
    /// Their volume in minor units.
    pub amount_minor: i64,
}

/// How much of a fee a refund returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeRefundRule {
    /// In proportion to the cumulative amount refunded, rounded down; a full refund returns the whole fee.
    #[default]
    ProRata,
    /// Only a refund that completes a full refund returns the (whole) fee.
    FullRefundOnly,
    /// Fees are never refunded.
    Never,
}

/// One product's fee: validated on construction and on deserialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "FeeRuleFields", into = "FeeRuleFields")]
pub struct FeeRule {
    fields: FeeRuleFields,
}

/// The plain fields of a [`FeeRule`], as written in configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRuleFields {
    /// The rate in basis points (1 bp = 0.01 %), 0 to 10,000.
    #[serde(default)]
    pub rate_bps: u32,
    /// The least fee of a transaction that is not free (minor units).
    #[serde(default)]
    pub min_minor: i64,
    /// The most fee of one transaction (minor units); none when absent.
    #[serde(default)]
    pub max_minor: Option<i64>,
    /// What is free per period.
    #[serde(default)]
    pub free: Option<FreeAllowance>,
    /// How refunds return the fee.
    #[serde(default)]
    pub refund: FeeRefundRule,
}

impl TryFrom<FeeRuleFields> for FeeRule {
    type Error = FeeError;
    fn try_from(fields: FeeRuleFields) -> Result<Self, FeeError> {
        FeeRule::new(fields)
    }
}

impl From<FeeRule> for FeeRuleFields {
    fn from(rule: FeeRule) -> Self {
        rule.fields
    }
}

impl FeeRule {
    /// A rule; refuses a rate above 10,000 bp, a negative minimum, a maximum below the minimum and a
    /// negative free amount.
    pub fn new(fields: FeeRuleFields) -> Result<Self, FeeError> {
        let bad = |reason: String| Err(FeeError::InvalidRule { product: None, reason });
        if fields.rate_bps > BPS_PER_UNIT {
            return bad(format!("rate_bps {} is above {BPS_PER_UNIT} (100 %)", fields.rate_bps));
        }
        if fields.min_minor < 0 {
            return bad(format!("min_minor {} is negative", fields.min_minor));
        }
        if let Some(max) = fields.max_minor.filter(|m| *m < fields.min_minor) {
            return bad(format!("max_minor {max} is below min_minor {}", fields.min_minor));
        }
        if let Some(free) = fields.free.and_then(|f| f.amount_minor).filter(|a| *a < 0) {
            return bad(format!("free amount_minor {free} is negative"));
        }
        Ok(FeeRule { fields })
    }

    /// The rule's fields.
    pub fn fields(&self) -> &FeeRuleFields {
        &self.fields
    }

    /// How refunds return this fee.
    pub fn refund_rule(&self) -> FeeRefundRule {
        self.fields.refund
    }

    /// The fee on `amount` given the allowance already used this period.
    pub fn quote(&self, amount: Money, usage: AllowanceUsage, rounding: Rounding) -> Result<FeeQuote, FeeError> {
        if !amount.is_positive() {
            return Err(FeeError::NotPositive { what: "amount", amount });
        }
        let currency = amount.currency();
        let free_minor = self.free_part(amount.minor(), usage);
        let chargeable = amount.minor() - free_minor;
        let fee = if chargeable == 0 { 0 } else { self.fee_on(chargeable, rounding) };
        let usage_after = AllowanceUsage {
            count: usage.count.saturating_add(1),
            amount_minor: usage.amount_minor.checked_add(amount.minor()).ok_or(FeeError::Overflow)?,
        };
        Ok(FeeQuote {
            fee: Money::from_minor(fee, currency),
            chargeable: Money::from_minor(chargeable, currency),
            free: Money::from_minor(free_minor, currency),
            usage_after,
        })
    }

    /// The free part of `amount`: all of it while the count allowance lasts, else what is left of the
    /// amount allowance.
    fn free_part(&self, amount: i64, usage: AllowanceUsage) -> i64 {
        let Some(free) = self.fields.free else { return 0 };
        if free.count.is_some_and(|n| usage.count < n) {
            return amount;
        }
        let left = free.amount_minor.map_or(0, |a| a.saturating_sub(usage.amount_minor.max(0)).max(0));
        left.min(amount)
    }

    /// Rate, rounding, minimum, maximum on a positive chargeable amount.
    fn fee_on(&self, chargeable: i64, rounding: Rounding) -> i64 {
        let product = i128::from(chargeable) * i128::from(self.fields.rate_bps);
        let unit = i128::from(BPS_PER_UNIT);
        let rounded = match rounding {
            Rounding::HalfUp => (product + unit / 2) / unit,
            Rounding::Up => (product + unit - 1) / unit,
        };
        // rate_bps ≤ 10,000, so the fee is at most the chargeable amount and fits in i64.
        let fee = i64::try_from(rounded).unwrap_or(i64::MAX).max(self.fields.min_minor);
        self.fields.max_minor.map_or(fee, |max| fee.min(max))
    }
}

/// The fee of one transaction and what it used of the allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeQuote {
    /// The fee to charge (zero or more, never above the rule's maximum). Whether it is added to the
    /// amount or taken from it is the product's choice.
    pub fee: Money,
    /// The part of the amount the rate applied to.
    pub chargeable: Money,
    /// The part of the amount the allowance made free.
    pub free: Money,
    /// The allowance usage to store once the transaction posts.
    pub usage_after: AllowanceUsage,
}

/// The fees of every product, in one currency. A product without a rule is free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeeSchedule {
    /// The currency of every amount in the rules.
    pub currency: Currency,
    /// How fractions of a minor unit round.
    #[serde(default)]
    pub rounding: Rounding,
    /// The rule per product.
    #[serde(default)]
    pub products: BTreeMap<FeeProduct, FeeRule>,
}

impl FeeSchedule {
    /// A schedule where everything is free.
    pub fn free(currency: Currency) -> Self {
        FeeSchedule { currency, rounding: Rounding::default(), products: BTreeMap::new() }
    }

    /// Sets the rule of `product`.
    pub fn with_rule(mut self, product: FeeProduct, rule: FeeRule) -> Self {
        self.products.insert(product, rule);
        self
    }

    /// The rule of `product`, if it has one.
    pub fn rule(&self, product: FeeProduct) -> Option<&FeeRule> {
        self.products.get(&product)
    }

    /// The fee of `product` on `amount`, given the allowance used this period.
    pub fn quote(&self, product: FeeProduct, amount: Money, usage: AllowanceUsage) -> Result<FeeQuote, FeeError> {
        self.check_currency(amount)?;
        match self.rule(product) {
            Some(rule) => rule.quote(amount, usage, self.rounding),
            None => FeeRule::new(FeeRuleFields::default())?.quote(amount, usage, self.rounding),
        }
    }

    /// The fee a refund of `product` returns (see [`FeeRefundRule::fee_refund`]); a product without a
    /// rule refunds pro rata (its fee was zero anyway).
    pub fn fee_refund(&self, product: FeeProduct, refund: &FeeRefund) -> Result<Money, FeeError> {
        self.check_currency(refund.amount_paid)?;
        self.rule(product).map(FeeRule::refund_rule).unwrap_or_default().fee_refund(refund)
    }

    fn check_currency(&self, amount: Money) -> Result<(), FeeError> {
        if amount.currency() == self.currency {
            Ok(())
        } else {
            Err(FeeError::CurrencyMismatch { expected: self.currency, found: amount.currency() })
        }
    }
}

/// A refund of part of a payment, with what was refunded before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRefund {
    /// The payment's amount (positive).
    pub amount_paid: Money,
    /// The fee charged on it.
    pub fee_charged: Money,
    /// The amount refunded by earlier refunds.
    pub refunded_before: Money,
    /// The fee returned by earlier refunds.
    pub fee_refunded_before: Money,
    /// This refund's amount (positive).
    pub refund: Money,
}

impl FeeRefundRule {
    /// The fee this refund returns. Never negative; the fee returned by all refunds together never
    /// exceeds the fee charged, and equals it once the whole amount is refunded (except with
    /// [`FeeRefundRule::Never`]). Refuses a refund that would exceed the amount paid.
    pub fn fee_refund(self, r: &FeeRefund) -> Result<Money, FeeError> {
        let currency = r.amount_paid.currency();
        for m in [r.fee_charged, r.refunded_before, r.fee_refunded_before, r.refund] {
            if m.currency() != currency {
                return Err(FeeError::CurrencyMismatch { expected: currency, found: m.currency() });
            }
        }
        positive("amount paid", r.amount_paid)?;
        positive("refund", r.refund)?;
        for (what, m) in [("fee charged", r.fee_charged), ("refunded before", r.refunded_before)] {
            if m.is_negative() {
                return Err(FeeError::Negative { what, amount: m });
            }
        }
        if r.fee_refunded_before.is_negative() || r.fee_refunded_before.minor() > r.fee_charged.minor() {
            return Err(FeeError::FeeRefundedExceedsFee {
                fee_charged: r.fee_charged,
                fee_refunded_before: r.fee_refunded_before,
            });
        }
        let after = r.refunded_before.checked_add(r.refund).map_err(|_| FeeError::Overflow)?;
        if after.minor() > r.amount_paid.minor() {
            return Err(FeeError::RefundExceedsPayment {
                paid: r.amount_paid,
                refunded_before: r.refunded_before,
                refund: r.refund,
            });
        }
        let fee = i128::from(r.fee_charged.minor());
        let full = after == r.amount_paid;
        let due_total = match self {
            FeeRefundRule::Never => 0,
            FeeRefundRule::FullRefundOnly => {
                if full {
                    fee
                } else {
                    0
                }
            }
            FeeRefundRule::ProRata => fee * i128::from(after.minor()) / i128::from(r.amount_paid.minor()),
        };
        let due = (due_total - i128::from(r.fee_refunded_before.minor())).max(0);
        // 0 ≤ due ≤ fee − fee refunded before ≤ fee, which is an i64.
        Ok(Money::from_minor(i64::try_from(due).unwrap_or(0), currency))
    }
}

fn positive(what: &'static str, amount: Money) -> Result<(), FeeError> {
    if amount.is_positive() { Ok(()) } else { Err(FeeError::NotPositive { what, amount }) }
}

#[cfg(test)]
mod tests;
