use super::*;

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

fn rule(rate_bps: u32, min_minor: i64, max_minor: Option<i64>) -> FeeRule {
    FeeRule::new(FeeRuleFields { rate_bps, min_minor, max_minor, ..Default::default() }).unwrap()
}

#[test]
fn rounding_is_half_up_by_default_or_up() {
    let r = rule(10, 0, None); // 0.1 %
    let fee = |minor, rounding| r.quote(cny(minor), AllowanceUsage::default(), rounding).unwrap().fee.minor();
    assert_eq!(fee(1_500, Rounding::HalfUp), 2); // 1.5 fen → 2
    assert_eq!(fee(1_499, Rounding::HalfUp), 1); // 1.499 → 1
    assert_eq!(fee(1_001, Rounding::Up), 2); // 1.001 → 2
    assert_eq!(fee(1_000, Rounding::Up), 1);
    assert_eq!(fee(400, Rounding::HalfUp), 0); // 0.4 fen → 0, no minimum
}

#[test]
fn minimum_then_maximum() {
    let r = rule(10, 10, Some(2_500));
    let fee = |minor| r.quote(cny(minor), AllowanceUsage::default(), Rounding::HalfUp).unwrap().fee.minor();
    assert_eq!(fee(100), 10); // 0.1 fen raised to the 0.10 minimum
    assert_eq!(fee(500_000), 500);
    assert_eq!(fee(100_000_000), 2_500); // capped
}

#[test]
fn count_and_amount_allowances() {
    let free = FreeAllowance { period: AllowancePeriod::Month, count: Some(2), amount_minor: Some(10_000) };
    let r =
        FeeRule::new(FeeRuleFields { rate_bps: 100, min_minor: 5, free: Some(free), ..Default::default() }).unwrap();
    let q = |count, used, amount| r.quote(cny(amount), AllowanceUsage { count, amount_minor: used }, Rounding::HalfUp);
    // The first two transactions are free whatever their size.
    assert_eq!(q(1, 50_000, 90_000).unwrap().fee, cny(0));
    // Then 100.00 of volume: the part above pays, with the minimum.
    let crossing = q(2, 9_000, 3_000).unwrap();
    assert_eq!((crossing.free, crossing.chargeable, crossing.fee), (cny(1_000), cny(2_000), cny(20)));
    assert_eq!(q(2, 9_990, 20).unwrap().fee, cny(5)); // 0.10 chargeable → minimum 0.05
    assert_eq!(q(5, 20_000, 1_000).unwrap().fee, cny(10));
    assert_eq!(crossing.usage_after, AllowanceUsage { count: 3, amount_minor: 12_000 });
}

#[test]
fn invalid_rules_and_inputs_are_refused() {
    let bad = |fields| matches!(FeeRule::new(fields), Err(FeeError::InvalidRule { .. }));
    assert!(bad(FeeRuleFields { rate_bps: 10_001, ..Default::default() }));
    assert!(bad(FeeRuleFields { min_minor: -1, ..Default::default() }));
    assert!(bad(FeeRuleFields { min_minor: 10, max_minor: Some(9), ..Default::default() }));
    let free = FreeAllowance { period: AllowancePeriod::Day, count: None, amount_minor: Some(-1) };
    assert!(bad(FeeRuleFields { free: Some(free), ..Default::default() }));
    let schedule = FeeSchedule::free(Currency::CNY);
    let usd = Money::from_minor(100, Currency::USD);
    assert!(matches!(
        schedule.quote(FeeProduct::Payment, usd, AllowanceUsage::default()),
        Err(FeeError::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        schedule.quote(FeeProduct::Payment, cny(0), AllowanceUsage::default()),
        Err(FeeError::NotPositive { .. })
    ));
}

#[test]
fn schedule_loads_from_json_and_refuses_bad_rules() {
    let json = r#"{"currency":"CNY","rounding":"up","products":{"transfer":{"rate_bps":50}}}"#;
    let s: FeeSchedule = serde_json::from_str(json).unwrap();
    assert_eq!(s.rounding, Rounding::Up);
    assert_eq!(s.quote(FeeProduct::Transfer, cny(101), AllowanceUsage::default()).unwrap().fee, cny(1));
    let back: FeeSchedule = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    let bad = r#"{"currency":"CNY","products":{"transfer":{"rate_bps":20000}}}"#;
    assert!(serde_json::from_str::<FeeSchedule>(bad).unwrap_err().to_string().contains("above 10000"));
    let typo = r#"{"currency":"CNY","products":{"transfer":{"rate_bp":20}}}"#;
    assert!(serde_json::from_str::<FeeSchedule>(typo).is_err());
}

fn refund(paid: i64, fee: i64, before: i64, fee_before: i64, now: i64) -> FeeRefund {
    FeeRefund {
        amount_paid: cny(paid),
        fee_charged: cny(fee),
        refunded_before: cny(before),
        fee_refunded_before: cny(fee_before),
        refund: cny(now),
    }
}

#[test]
fn fee_refunds_by_rule() {
    // 100.00 paid with a 0.99 fee, refunded in three parts: 33 + 33 + 33 fen, then 0.99 total.
    let r = FeeRefundRule::ProRata;
    assert_eq!(r.fee_refund(&refund(10_000, 99, 0, 0, 3_333)).unwrap(), cny(32));
    assert_eq!(r.fee_refund(&refund(10_000, 99, 3_333, 32, 3_333)).unwrap(), cny(33));
    assert_eq!(r.fee_refund(&refund(10_000, 99, 6_666, 65, 3_334)).unwrap(), cny(34));
    let only_full = FeeRefundRule::FullRefundOnly;
    assert_eq!(only_full.fee_refund(&refund(10_000, 99, 0, 0, 5_000)).unwrap(), cny(0));
    assert_eq!(only_full.fee_refund(&refund(10_000, 99, 5_000, 0, 5_000)).unwrap(), cny(99));
    assert_eq!(FeeRefundRule::Never.fee_refund(&refund(10_000, 99, 0, 0, 10_000)).unwrap(), cny(0));
    assert!(matches!(r.fee_refund(&refund(10_000, 99, 6_000, 0, 4_001)), Err(FeeError::RefundExceedsPayment { .. })));
    assert!(matches!(r.fee_refund(&refund(10_000, 99, 0, 100, 1)), Err(FeeError::FeeRefundedExceedsFee { .. })));
    assert!(matches!(r.fee_refund(&refund(10_000, 99, 0, 0, 0)), Err(FeeError::NotPositive { .. })));
}
