//! Red packet laws: shares sum exactly, each within limits, each receiver claims once, the rest comes
//! back on expiry, and the random split is unbiased across claim positions.

use std::time::Duration;

use proptest::prelude::*;
use qianbao_core::{Currency, Money, SeededEntropy, Timestamp, UserId};
use qianbao_ledger::redpacket::*;

const T0: Timestamp = Timestamp::from_unix_secs(1_800_000_000);

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn shares_sum_exactly_and_stay_within_limits(
        count in 1u32..=100,
        per_share in 1i64..=20_000,
        extra_min in 0i64..5,
        random in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut config = RedPacketConfig::default();
        config.share_min_minor = 1 + extra_min;
        let total = (per_share.max(config.share_min_minor) * i64::from(count)).min(config.total_max_minor);
        let mode = if random { SplitMode::Random } else { SplitMode::Equal };
        let shares = split_shares(cny(total), count, mode, &config, &SeededEntropy::new(seed)).unwrap();
        prop_assert_eq!(shares.len(), count as usize);
        prop_assert_eq!(Money::checked_sum(Currency::CNY, shares.iter().copied()).unwrap(), cny(total));
        for s in &shares {
            prop_assert!(s.minor() >= config.share_min_minor && s.minor() <= config.share_max_minor);
        }
        let again = split_shares(cny(total), count, mode, &config, &SeededEntropy::new(seed)).unwrap();
        prop_assert_eq!(again, shares);
    }

    #[test]
    fn receivers_claim_once_and_the_rest_returns_on_expiry(
        count in 1u32..=20,
        total in 20i64..=400_000,
        claimers in proptest::collection::vec(0u128..30, 0..40),
        seed in any::<u64>(),
    ) {
        let config = RedPacketConfig::default();
        let request = NewRedPacket { id: RedPacketId::from_u128(7), sender: UserId::from_u128(0), total: cny(total), count, mode: SplitMode::Random };
        let mut packet = match RedPacket::new(&request, &config, T0, &SeededEntropy::new(seed)) {
            Ok(p) => p,
            Err(e) => {
                let limit = matches!(e, RedPacketError::TooLarge { .. } | RedPacketError::TooSmall { .. });
                prop_assert!(limit, "unexpected {}", e);
                return Ok(());
            }
        };
        let mut claimed = 0i64;
        let mut receivers = std::collections::HashSet::new();
        for c in claimers {
            let before = packet.clone();
            match packet.claim(UserId::from_u128(c), T0) {
                Ok(claim) => {
                    prop_assert!(receivers.insert(c), "user {} claimed twice", c);
                    prop_assert!(claim.amount.minor() >= 1);
                    claimed += claim.amount.minor();
                }
                Err(RedPacketError::AlreadyClaimed { .. }) => prop_assert!(receivers.contains(&c)),
                Err(RedPacketError::SoldOut) => prop_assert_eq!(receivers.len(), count as usize),
                Err(e) => prop_assert!(false, "unexpected {}", e),
            }
            if packet.claims().len() == before.claims().len() {
                prop_assert_eq!(&packet, &before, "a refused claim changes nothing");
            }
        }
        let deadline = T0.saturating_add(Duration::from_secs(86_400));
        match packet.expire(deadline) {
            Ok(back) => prop_assert_eq!(back.minor() + claimed, total),
            Err(RedPacketError::NotOpen { state: PacketState::Exhausted }) => prop_assert_eq!(claimed, total),
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }
}

/// A deterministic statistical check: 20,000 random packets of 100.00 in 5 shares (seeded). Each
/// position's mean must be 20.00 within 0.60, five standard errors (a share's deviation is about 16.33
/// here, so one standard error over 20,000 trials is 0.115). A split that favours early or late claimers
/// — e.g. "each takes a random part of what is left" — is off by many yuan.
#[test]
fn random_split_is_unbiased_across_positions() {
    const TRIALS: i64 = 20_000;
    let config = RedPacketConfig::default();
    let entropy = SeededEntropy::new(20_240_101);
    let mut sums = [0i64; 5];
    for _ in 0..TRIALS {
        let shares = split_shares(cny(10_000), 5, SplitMode::Random, &config, &entropy).unwrap();
        for (sum, share) in sums.iter_mut().zip(&shares) {
            *sum += share.minor();
        }
    }
    for (position, sum) in sums.iter().enumerate() {
        let mean = sum / TRIALS;
        assert!((mean - 2_000).abs() <= 60, "position {position}: mean {mean} fen, expected 2000 ± 60");
    }
}
