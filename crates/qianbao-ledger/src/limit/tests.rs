use super::*;

fn at(rfc3339: &str) -> Timestamp {
    let dt = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap();
    Timestamp::from_datetime(dt).unwrap()
}

#[test]
fn days_start_at_midnight_in_china() {
    let cfg = LedgerConfig::default();
    // 2026-03-01 15:59:59 UTC is 23:59:59 in Beijing; one second later a new day starts there.
    let before = at("2026-03-01T15:59:59Z");
    let after = at("2026-03-01T16:00:00Z");
    assert_eq!(cfg.window_start(LimitWindow::Day, before), at("2026-02-28T16:00:00Z"));
    assert_eq!(cfg.window_start(LimitWindow::Day, after), after);
    let utc = LedgerConfig::with_utc_offset_secs(0).unwrap();
    assert_eq!(utc.window_start(LimitWindow::Day, before), at("2026-03-01T00:00:00Z"));
    assert_eq!(cfg.window_start(LimitWindow::Lifetime, after), Timestamp::ZERO);
}

#[test]
fn years_start_on_new_years_day_in_the_offset() {
    let cfg = LedgerConfig::default();
    assert_eq!(cfg.window_start(LimitWindow::Year, at("2026-12-31T15:59:59Z")), at("2025-12-31T16:00:00Z"));
    assert_eq!(cfg.window_start(LimitWindow::Year, at("2026-12-31T16:00:00Z")), at("2026-12-31T16:00:00Z"));
    // A leap year, and a negative offset.
    let ny = LedgerConfig::with_utc_offset_secs(-5 * 3600).unwrap();
    assert_eq!(ny.window_start(LimitWindow::Year, at("2024-02-29T12:00:00Z")), at("2024-01-01T05:00:00Z"));
    assert_eq!(ny.window_start(LimitWindow::Year, at("2025-01-01T04:59:59Z")), at("2024-01-01T05:00:00Z"));
}

#[test]
fn offsets_and_limits_are_checked() {
    assert!(LedgerConfig::with_utc_offset_secs(19 * 3600).is_err());
    assert!(LedgerConfig::with_utc_offset_secs(-18 * 3600).is_ok());
    let ok = DebitLimit { slot: 0, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 1 };
    assert!(ok.validate().is_ok());
    assert!(DebitLimit { slot: LIMIT_SLOTS_MAX, ..ok.clone() }.validate().is_err());
    assert!(DebitLimit { codes: vec![], ..ok.clone() }.validate().is_err());
    assert!(DebitLimit { codes: vec![TransferCode::from_u16(0)], ..ok.clone() }.validate().is_err());
    let err = DebitLimit { codes: vec![TransferCode::PAYMENT; 33], ..ok }.validate().unwrap_err();
    assert!(err.to_string().contains("1 to 32"), "{err}");
}

#[test]
fn usage_from_an_older_window_counts_as_zero() {
    let cfg = LedgerConfig::default();
    let limit = DebitLimit { slot: 1, window: LimitWindow::Day, codes: vec![TransferCode::PAYMENT], amount_max: 100 };
    let day1 = at("2026-05-01T02:00:00Z");
    let day2 = at("2026-05-02T02:00:00Z");
    let entry = AccountLimit {
        limit,
        usage: LimitUsage { window_start: cfg.window_start(LimitWindow::Day, day1), used_amount: 70 },
    };
    assert_eq!(entry.used_at(&cfg, day1), 70);
    assert_eq!(entry.remaining_at(&cfg, day1), 30);
    assert_eq!(entry.used_at(&cfg, day2), 0);
    assert_eq!(entry.remaining_at(&cfg, day2), 100);
}
