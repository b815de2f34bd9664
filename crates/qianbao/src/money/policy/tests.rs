use super::*;

#[test]
fn strength_follows_factors_and_certificates() {
    assert_eq!(AuthStrength::of(1, false), AuthStrength::SingleFactor);
    assert_eq!(AuthStrength::of(0, false), AuthStrength::SingleFactor);
    assert_eq!(AuthStrength::of(2, false), AuthStrength::TwoFactors);
    assert_eq!(AuthStrength::of(3, false), AuthStrength::TwoFactors);
    assert_eq!(AuthStrength::of(1, true), AuthStrength::Certificate);
    let p = PolicyConfig::default();
    assert_eq!(AuthStrength::SingleFactor.daily_cap_minor(&p), 100_000);
    assert_eq!(AuthStrength::TwoFactors.daily_cap_minor(&p), 500_000);
    assert_eq!(AuthStrength::Certificate.daily_cap_minor(&p), 2_000_000);
}

#[test]
fn class_limits_follow_the_pboc_caps() {
    let (caps, p) = (ClassCaps::default(), PolicyConfig::default());
    let none = wallet_limits(None, &caps, &p);
    assert_eq!(none, wallet_limits(Some(AccountClass::I), &caps, &p));
    assert_eq!((none[0].window, none[0].amount_max), (LimitWindow::Lifetime, 100_000));
    let two = wallet_limits(Some(AccountClass::II), &caps, &p);
    assert_eq!((two[0].window, two[0].amount_max), (LimitWindow::Year, 10_000_000));
    let three = wallet_limits(Some(AccountClass::III), &caps, &p);
    assert_eq!((three[0].slot, three[0].amount_max), (two[0].slot, 20_000_000));
    assert_eq!((three[1].window, three[1].amount_max), (LimitWindow::Day, 2_000_000));
    assert!(three.iter().all(|l| l.validate().is_ok() && l.codes == CAPPED_CODES));
}

#[test]
fn days_start_at_midnight_beijing_time() {
    // A Beijing midnight: a whole number of days since the epoch, less eight hours.
    let midnight = Timestamp::from_unix_secs(1_800_028_800 - 1_800_028_800 % 86_400 - 28_800);
    assert_eq!(day_start(midnight), midnight);
    assert_eq!(day_start(Timestamp::from_unix_secs(midnight.unix_secs() + 86_399)), midnight);
    let next = Timestamp::from_unix_secs(midnight.unix_secs() + 86_400);
    assert_eq!(day_start(next), next);
    assert_eq!(day_start(Timestamp::from_unix_secs(next.unix_secs() - 1)), midnight);
}
