use qianbao_core::Timestamp;

use super::*;

#[test]
fn windows_align_to_local_time() {
    // 2027-01-15 16:30 UTC is 00:30 on the 16th in Beijing: the Beijing day started 30 minutes ago.
    let now = Timestamp::from_unix_secs(1_800_030_600);
    let utc_day = Window::Day.start(now, 0);
    let beijing_day = Window::Day.start(now, 8 * 3_600);
    assert_eq!(utc_day % 86_400, 0);
    assert_eq!(now.unix_secs() as i64 - beijing_day, (now.unix_secs() as i64 + 8 * 3_600) % 86_400);
    assert_eq!(Window::Hour.start(now, 8 * 3_600), Window::Hour.start(now, 0));
}

#[test]
fn history_summary_uses_nearest_rank_and_the_window() {
    let config = HistoryConfig { window: std::time::Duration::from_secs(100), capacity: 20 };
    let mut h = AmountHistory::default();
    for (i, a) in (1..=20).enumerate() {
        h = h.recorded(a * 100, Timestamp::from_unix_secs(1_000 + i as u64), &config);
    }
    let s = h.summary(Timestamp::from_unix_secs(1_020), &config);
    assert_eq!((s.count, s.mean_minor, s.p95_minor), (20, 1_050, 1_900));
    // Capacity keeps the newest 20; the window forgets the old ones.
    let h = h.recorded(5, Timestamp::from_unix_secs(1_030), &config);
    assert_eq!(h.entries.len(), 20);
    assert_eq!(h.entries[0].amount_minor, 200);
    assert_eq!(h.summary(Timestamp::from_unix_secs(1_119), &config).count, 2);
    assert_eq!(AmountHistory::default().summary(Timestamp::ZERO, &config).count, 0);
}
