use super::*;

fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(1_000_000 + secs)
}

#[test]
fn backoff_grows_and_is_capped() {
    let p = GuardPolicy::LOGIN_ACCOUNT;
    let waits: Vec<u64> = (0..15).map(|e| backoff(&p, e).as_secs()).collect();
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900]);
    assert_eq!(backoff(&p, u32::MAX), Duration::from_secs(900));
}

#[test]
fn login_account_guard_throttles_then_locks_for_good() {
    let p = GuardPolicy::LOGIN_ACCOUNT;
    let mut s = GuardState::default();
    let mut now = t(0);
    for i in 0..3 {
        assert_eq!(s.decide(&p, now), GuardDecision::Allow, "free try {i}");
        s = s.counted(&p, now);
    }
    assert_eq!(s.decide(&p, now), GuardDecision::Throttled { until: now.saturating_add(Duration::from_secs(1)) });
    for _ in 3..20 {
        while let GuardDecision::Throttled { until } = s.decide(&p, now) {
            now = until;
        }
        assert_eq!(s.decide(&p, now), GuardDecision::Allow);
        s = s.counted(&p, now);
    }
    assert_eq!(s.failures, 20);
    assert!(s.is_locked(&p, now));
    assert_eq!(
        s.decide(&p, now.saturating_add(Duration::from_secs(86_400 * 365))),
        GuardDecision::Locked { until: None }
    );
}

#[test]
fn payment_guard_locks_for_a_while_then_forgets() {
    let p = GuardPolicy::PAYMENT_PASSWORD;
    let mut s = GuardState::default();
    for _ in 0..5 {
        assert_eq!(s.decide(&p, t(0)), GuardDecision::Allow);
        s = s.counted(&p, t(0));
    }
    assert_eq!(s.decide(&p, t(10)), GuardDecision::Locked { until: Some(t(3 * 3600)) });
    assert_eq!(s.decide(&p, t(3 * 3600)), GuardDecision::Allow);
    assert_eq!(s.counted(&p, t(3 * 3600)).failures, 1);
    let two = GuardState::default().counted(&p, t(0)).counted(&p, t(1));
    assert_eq!(two.current(&p, t(1 + 86_400)).failures, 0);
}

#[test]
fn the_strictest_guard_wins() {
    let acct = GuardPolicy::LOGIN_ACCOUNT;
    let src = GuardPolicy::LOGIN_SOURCE;
    let fresh = GuardState::default();
    let busy = GuardState { failures: 12, last_failure_at: Some(t(0)) };
    assert_eq!(decide_all(&[(fresh, acct), (fresh, src)], t(0)), GuardDecision::Allow);
    assert_eq!(decide_all(&[(fresh, acct), (busy, src)], t(0)), GuardDecision::Throttled { until: t(4) });
    let locked = GuardState { failures: 20, last_failure_at: Some(t(0)) };
    assert_eq!(decide_all(&[(locked, acct), (busy, src)], t(0)), GuardDecision::Locked { until: None });
}
