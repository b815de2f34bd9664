//! Fee laws as properties: never negative, never above the maximum, refunds never return more than the
//! fee and return exactly the fee once the payment is fully refunded.

use proptest::prelude::*;
use qianbao_core::{Currency, Money};
use qianbao_ledger::fee::*;

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

prop_compose! {
    fn rule()(
        rate_bps in 0u32..=10_000,
        min_minor in 0i64..1_000,
        spread in proptest::option::of(0i64..100_000),
        count in proptest::option::of(0u32..5),
        free_amount in proptest::option::of(0i64..1_000_000),
        refund in prop_oneof![Just(FeeRefundRule::ProRata), Just(FeeRefundRule::FullRefundOnly), Just(FeeRefundRule::Never)],
    ) -> FeeRule {
        let free = (count.is_some() || free_amount.is_some())
            .then_some(FreeAllowance { period: AllowancePeriod::Month, count, amount_minor: free_amount });
        FeeRule::new(FeeRuleFields { rate_bps, min_minor, max_minor: spread.map(|s| min_minor + s), free, refund }).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fees_are_never_negative_nor_above_the_maximum(
        rule in rule(),
        amount in 1i64..=i64::MAX / 2,
        used_count in 0u32..10,
        used_amount in 0i64..2_000_000,
        up in any::<bool>(),
    ) {
        let rounding = if up { Rounding::Up } else { Rounding::HalfUp };
        let usage = AllowanceUsage { count: used_count, amount_minor: used_amount };
        let q = rule.quote(cny(amount), usage, rounding).unwrap();
        prop_assert!(q.fee.minor() >= 0);
        if let Some(max) = rule.fields().max_minor {
            prop_assert!(q.fee.minor() <= max);
        }
        prop_assert_eq!(q.free.checked_add(q.chargeable).unwrap(), cny(amount));
        prop_assert!(q.free.minor() >= 0 && q.chargeable.minor() >= 0);
        if q.chargeable.is_zero() {
            prop_assert!(q.fee.is_zero());
        }
        // The fee is monotone in the rate: never more than the chargeable amount unless the minimum says so.
        prop_assert!(q.fee.minor() <= q.chargeable.minor().max(rule.fields().min_minor));
    }

    #[test]
    fn refunds_never_exceed_the_fee_and_a_full_refund_returns_it(
        rule in rule(),
        paid in 1i64..10_000_000,
        fee in 0i64..100_000,
        cuts in proptest::collection::vec(1u32..1_000, 1..8),
    ) {
        // Split the payment into refunds in the proportions `cuts`, the last one completing it.
        let total_cuts: u64 = cuts.iter().map(|c| u64::from(*c)).sum();
        let mut parts: Vec<i64> = cuts.iter().map(|c| (paid as u64 * u64::from(*c) / total_cuts) as i64).collect();
        let rest = paid - parts.iter().sum::<i64>();
        *parts.last_mut().unwrap() += rest;
        parts.retain(|p| *p > 0);
        let (mut refunded, mut fee_refunded) = (0i64, 0i64);
        for part in parts {
            let r = FeeRefund {
                amount_paid: cny(paid),
                fee_charged: cny(fee),
                refunded_before: cny(refunded),
                fee_refunded_before: cny(fee_refunded),
                refund: cny(part),
            };
            let back = rule.refund_rule().fee_refund(&r).unwrap();
            prop_assert!(back.minor() >= 0);
            refunded += part;
            fee_refunded += back.minor();
            prop_assert!(fee_refunded <= fee);
        }
        prop_assert_eq!(refunded, paid);
        let expected = if rule.refund_rule() == FeeRefundRule::Never { 0 } else { fee };
        prop_assert_eq!(fee_refunded, expected);
        // One more fen is refused.
        let over = FeeRefund {
            amount_paid: cny(paid), fee_charged: cny(fee), refunded_before: cny(paid),
            fee_refunded_before: cny(fee_refunded), refund: cny(1),
        };
        let is_over = matches!(rule.refund_rule().fee_refund(&over), Err(FeeError::RefundExceedsPayment { .. }));
        prop_assert!(is_over);
    }
}
