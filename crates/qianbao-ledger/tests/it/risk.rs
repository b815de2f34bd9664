//! Risk rules through the public API: configuration from JSON, each check, ordering, counters.

use std::time::Duration;

use proptest::prelude::*;
use qianbao_core::{AccountId, Currency, DeviceId, Money, Timestamp, UserId};
use qianbao_ledger::risk::*;

const T0: u64 = 1_800_000_000;

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

fn ctx(minor: i64) -> RiskContext {
    RiskContext::new(UserId::from_u128(1), cny(minor), Timestamp::from_unix_secs(T0))
}

const CONFIG: &str = r#"{
  "currency": "CNY",
  "rules": [
    { "name": "blocked", "action": "block", "check": "blocked_payee" },
    { "name": "burst", "action": "review", "check": "velocity", "subject": "user", "window": "hour", "max_count": 3 },
    { "name": "device-volume", "action": "block", "check": "velocity", "subject": "device", "window": "day", "max_amount_minor": 100000 },
    { "name": "unusual", "action": "review", "check": "unusual_amount", "baseline": "p95", "factor_percent": 300, "min_history": 5 },
    { "name": "new-device", "action": "review", "check": "new_device", "min_amount_minor": 50000 },
    { "name": "cap", "action": "block", "check": "amount_above", "max_minor": 1000000 }
  ]
}"#;

fn config() -> RiskConfig {
    serde_json::from_str(CONFIG).unwrap()
}

fn names(d: &RiskDecision) -> Vec<&str> {
    d.fired.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn configuration_loads_and_bad_configurations_are_refused() {
    let c = config();
    assert_eq!(c.fields().utc_offset_secs, 8 * 3_600);
    assert_eq!(c.fields().rules.len(), 6);
    let back: RiskConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    for bad in [
        CONFIG.replace("\"burst\"", "\"blocked\""),
        CONFIG.replace("\"max_count\": 3", "\"max_count\": null"),
        CONFIG.replace("\"factor_percent\": 300", "\"factor_percent\": 50"),
        CONFIG.replace("\"rules\"", "\"utc_offset_secs\": 90000, \"rules\""),
        CONFIG.replace("\"velocity\", \"subject\": \"user\"", "\"velocity\", \"subject\": \"planet\""),
    ] {
        assert!(serde_json::from_str::<RiskConfig>(&bad).is_err(), "{bad}");
    }
    let d = RiskConfig::default_for(Currency::CNY);
    assert_eq!(RiskConfig::new(d.fields().clone()).unwrap(), d);
}

#[test]
fn a_quiet_payment_is_allowed_and_bad_input_is_refused() {
    let c = config();
    let d = evaluate(&c, &ctx(1_000)).unwrap();
    assert_eq!((d.outcome, d.fired.len()), (RiskOutcome::Allow, 0));
    let usd = RiskContext::new(UserId::from_u128(1), Money::from_minor(5, Currency::USD), Timestamp::ZERO);
    assert!(matches!(evaluate(&c, &usd), Err(RiskError::CurrencyMismatch { .. })));
    assert!(matches!(evaluate(&c, &ctx(0)), Err(RiskError::NotPositive(_))));
}

#[test]
fn every_fired_rule_is_recorded_in_order_and_the_strongest_action_wins() {
    let c = config();
    let mut x = ctx(2_000_000);
    x.payee = Some(AccountId::from_u128(9));
    x.payee_blocked = true;
    x.device = Some(DeviceId::from_u128(3));
    x.device_known = false;
    let d = evaluate(&c, &x).unwrap();
    assert_eq!(names(&d), ["blocked", "device-volume", "new-device", "cap"]);
    assert_eq!(d.outcome, RiskOutcome::Block);
    assert_eq!(d.fired[0].reason, RiskReason::BlockedPayee { payee: Some(AccountId::from_u128(9)) });
    assert!(d.fired[3].reason.to_string().contains("single-payment cap"));
    // Only review rules: review.
    let mut y = ctx(60_000);
    y.device = Some(DeviceId::from_u128(3));
    y.device_known = false;
    let d = evaluate(&c, &y).unwrap();
    assert_eq!((names(&d), d.outcome), (vec!["new-device"], RiskOutcome::Review));
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<RiskDecision>(&json).unwrap(), d);
}

#[test]
fn velocity_counts_this_payment_and_resets_with_the_window() {
    let c = config();
    let mut x = ctx(100);
    for _ in 0..3 {
        assert_eq!(evaluate(&c, &x).unwrap().outcome, RiskOutcome::Allow);
        x.user_counters = record_payment(&c, &x).unwrap().user_counters;
    }
    let d = evaluate(&c, &x).unwrap();
    let reason = RiskReason::VelocityCount { subject: Subject::User, window: Window::Hour, count: 4, max_count: 3 };
    assert_eq!(d.fired[0].reason, reason);
    // The next clock hour starts from zero.
    let next_hour = (T0 / 3_600 + 1) * 3_600;
    x.now = Timestamp::from_unix_secs(next_hour);
    assert_eq!(evaluate(&c, &x).unwrap().outcome, RiskOutcome::Allow);
}

#[test]
fn device_rules_read_device_counters_only_when_there_is_a_device() {
    let c = config();
    let mut x = ctx(60_000);
    x.device = Some(DeviceId::from_u128(4));
    let after = record_payment(&c, &x).unwrap();
    assert_eq!(after.device_counters.day.amount_minor, 60_000);
    x.device_counters = after.device_counters;
    assert_eq!(names(&evaluate(&c, &x).unwrap()), ["device-volume"]);
    x.device = None;
    assert_eq!(evaluate(&c, &x).unwrap().outcome, RiskOutcome::Allow);
    assert_eq!(record_payment(&c, &x).unwrap().device_counters, x.device_counters);
}

#[test]
fn unusual_amounts_need_enough_history() {
    let c = config();
    let mut x = ctx(1_000);
    for i in 0..4 {
        x.now = Timestamp::from_unix_secs(T0 + i);
        x.history = record_payment(&c, &x).unwrap().history;
    }
    let mut big = x.clone();
    big.amount = cny(3_001);
    big.now = Timestamp::from_unix_secs(T0 + 86_400);
    assert!(evaluate(&c, &big).unwrap().fired.is_empty(), "4 payments are not enough history");
    x.history = record_payment(&c, &x).unwrap().history;
    big.history = x.history.clone();
    let d = evaluate(&c, &big).unwrap();
    assert_eq!(names(&d), ["unusual"]);
    big.amount = cny(3_000);
    assert!(evaluate(&c, &big).unwrap().fired.is_empty(), "exactly 3× is not above 300%");
    // History older than the window (90 days) is forgotten.
    big.amount = cny(3_001);
    big.now = Timestamp::from_unix_secs(T0).saturating_add(Duration::from_secs(91 * 86_400));
    assert!(evaluate(&c, &big).unwrap().fired.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The outcome is the strongest fired action; evaluation is deterministic; counters only grow
    /// within a window.
    #[test]
    fn outcome_is_the_strongest_fired_action(
        amount in 1i64..3_000_000,
        payments in proptest::collection::vec((1i64..200_000, 0u64..7_200), 0..12),
        blocked in any::<bool>(),
        known in any::<bool>(),
    ) {
        let c = config();
        let mut x = ctx(amount);
        x.device = Some(DeviceId::from_u128(5));
        x.payee_blocked = blocked;
        x.device_known = known;
        let mut t = T0;
        for (minor, gap) in payments {
            t += gap;
            let mut p = x.clone();
            p.amount = cny(minor);
            p.now = Timestamp::from_unix_secs(t);
            let r = record_payment(&c, &p).unwrap();
            prop_assert!(r.user_counters.day.count >= 1);
            x.user_counters = r.user_counters;
            x.device_counters = r.device_counters;
            x.history = r.history;
        }
        x.now = Timestamp::from_unix_secs(t);
        let d = evaluate(&c, &x).unwrap();
        prop_assert_eq!(&evaluate(&c, &x).unwrap(), &d);
        let strongest = d.fired.iter().map(|f| f.action).max();
        let expected = match strongest {
            None => RiskOutcome::Allow,
            Some(RiskAction::Review) => RiskOutcome::Review,
            Some(RiskAction::Block) => RiskOutcome::Block,
        };
        prop_assert_eq!(d.outcome, expected);
        prop_assert_eq!(blocked, d.fired.iter().any(|f| f.rule == "blocked"));
    }
}
