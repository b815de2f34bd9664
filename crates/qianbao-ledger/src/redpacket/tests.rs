use qianbao_core::{Currency, SeededEntropy};

use super::*;

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

fn user(n: u128) -> UserId {
    UserId::from_u128(n)
}

const T0: Timestamp = Timestamp::from_unix_secs(1_800_000_000);

fn packet(total: i64, count: u32, mode: SplitMode) -> RedPacket {
    let request = NewRedPacket { id: RedPacketId::from_u128(1), sender: user(1), total: cny(total), count, mode };
    RedPacket::new(&request, &RedPacketConfig::default(), T0, &SeededEntropy::new(5)).unwrap()
}

#[test]
fn equal_split_spreads_the_remainder_over_the_first_shares() {
    let shares =
        split_shares(cny(1_001), 3, SplitMode::Equal, &RedPacketConfig::default(), &SeededEntropy::new(0)).unwrap();
    assert_eq!(shares, [cny(334), cny(334), cny(333)]);
}

#[test]
fn random_split_respects_the_share_maximum_and_is_reproducible() {
    let config = RedPacketConfig::default();
    // 2 × 200.00 exactly: both shares must be the maximum.
    let full = split_shares(cny(40_000), 2, SplitMode::Random, &config, &SeededEntropy::new(3)).unwrap();
    assert_eq!(full, [cny(20_000), cny(20_000)]);
    let a = split_shares(cny(39_999), 3, SplitMode::Random, &config, &SeededEntropy::new(9)).unwrap();
    let b = split_shares(cny(39_999), 3, SplitMode::Random, &config, &SeededEntropy::new(9)).unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|s| (1..=20_000).contains(&s.minor())));
}

#[test]
fn limits_are_checked() {
    let config = RedPacketConfig::default();
    let e = SeededEntropy::new(0);
    let split = |total, count| split_shares(cny(total), count, SplitMode::Random, &config, &e);
    assert!(matches!(split(100, 0), Err(RedPacketError::CountOutOfRange { .. })));
    assert!(matches!(split(1_000, 101), Err(RedPacketError::CountOutOfRange { max: 100, .. })));
    assert!(matches!(split(2, 3), Err(RedPacketError::TooSmall { .. })));
    assert!(matches!(split(40_001, 2), Err(RedPacketError::TooLarge { .. })));
    let small = RedPacketConfig { share_max_minor: 0, ..Default::default() };
    assert!(matches!(small.validate(), Err(RedPacketError::InvalidConfig(_))));
}

#[test]
fn claims_follow_share_order_once_each_and_exhaust() {
    let mut p = packet(300, 2, SplitMode::Equal);
    let before = p.clone();
    assert_eq!(p.claim(user(2), T0).unwrap().share_index, 0);
    let snapshot = p.clone();
    assert_eq!(p.claim(user(2), T0), Err(RedPacketError::AlreadyClaimed { receiver: user(2) }));
    assert_eq!(p, snapshot, "a refused claim changes nothing");
    p.claim(user(1), T0).unwrap(); // the sender may claim by default
    assert_eq!(p.state(), PacketState::Exhausted);
    assert_eq!(p.claim(user(3), T0), Err(RedPacketError::SoldOut));
    assert!(matches!(p.expire(T0.saturating_add(Duration::from_secs(86_400))), Err(RedPacketError::NotOpen { .. })));
    assert_ne!(before, p);
}

#[test]
fn expiry_returns_the_rest_exactly_at_the_deadline() {
    let mut p = packet(1_000, 4, SplitMode::Random);
    let got = p.claim(user(2), T0).unwrap().amount;
    let deadline = T0.saturating_add(Duration::from_secs(86_400));
    let just_before = Timestamp::from_unix_nanos(deadline.unix_nanos() - 1);
    assert!(matches!(p.expire(just_before), Err(RedPacketError::NotExpired { .. })));
    assert!(p.claim(user(3), just_before).is_ok());
    assert_eq!(p.claim(user(4), deadline), Err(RedPacketError::Expired { expires_at: deadline }));
    let claimed = got.checked_add(p.claims()[1].amount).unwrap();
    let back = p.expire(deadline).unwrap();
    assert_eq!(back.checked_add(claimed).unwrap(), cny(1_000));
    assert_eq!(p.state(), PacketState::Expired { returned: back });
    assert!(matches!(p.expire(deadline), Err(RedPacketError::NotOpen { .. })));
}

#[test]
fn sender_claim_can_be_forbidden() {
    let config = RedPacketConfig { sender_may_claim: false, ..Default::default() };
    let request = NewRedPacket {
        id: RedPacketId::from_u128(2),
        sender: user(1),
        total: cny(10),
        count: 1,
        mode: SplitMode::Equal,
    };
    let mut p = RedPacket::new(&request, &config, T0, &SeededEntropy::new(1)).unwrap();
    assert_eq!(p.claim(user(1), T0), Err(RedPacketError::SenderCannotClaim));
}

#[test]
fn records_round_trip_and_corrupt_ones_are_refused() {
    let mut p = packet(1_000, 3, SplitMode::Random);
    p.claim(user(2), T0).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<RedPacket>(&json).unwrap(), p);
    let mut bad = p.record().clone();
    bad.shares[0] = bad.shares[0].checked_add(cny(1)).unwrap();
    assert!(matches!(RedPacket::from_record(bad), Err(RedPacketError::Corrupt(_))));
    let mut twice = p.record().clone();
    twice.claims.push(Claim { share_index: 1, amount: twice.shares[1], ..twice.claims[0] });
    assert!(matches!(RedPacket::from_record(twice), Err(RedPacketError::Corrupt(_))));
    let mut wrong_state = p.record().clone();
    wrong_state.state = PacketState::Exhausted;
    assert!(matches!(RedPacket::from_record(wrong_state), Err(RedPacketError::Corrupt(_))));
}
