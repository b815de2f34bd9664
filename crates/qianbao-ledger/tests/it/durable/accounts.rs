//! Account counters between merges of SQLite's account log (every third group with
//! [`small_options`]): every answer, reopened at every position of the log, equals the expected state.

use qianbao_ledger::{AccountFlags, CreateTransferResult as R};
use qianbao_store::Database;

use super::*;

/// The counters (debits posted, credits posted) and frozen bit of the bank and two wallets.
async fn state(ledger: &DurableLedger) -> Vec<(u128, u128, bool)> {
    let accounts = ledger.lookup_accounts(&[aid(1), aid(2), aid(3)]).await.unwrap();
    assert_eq!(accounts.len(), 3);
    assert_balanced(&accounts);
    accounts.iter().map(|a| (a.debits_posted, a.credits_posted, a.flags.contains(AccountFlags::FROZEN))).collect()
}

#[tokio::test]
async fn counters_are_exact_at_every_position_of_the_account_log() {
    qianbao_store::testing::each_backend("counters_are_exact_at_every_position_of_the_account_log", |db: Database| {
        async move {
            let clock = clock();
            let mut ledger = open(&db, &clock, small_options()).await;
            ledger.create_accounts(&chart(2)).await.unwrap();
            let (mut paid, mut moved) = (0u128, 0u128);
            for round in 0..8u128 {
                let batch = [pay(100 + round * 2, 1, 2, 10 + round), pay(101 + round * 2, 2, 3, 1)];
                assert_eq!(ledger.create_transfers(&batch).await.unwrap(), [R::Ok, R::Ok]);
                paid += 10 + round;
                moved += 1;
                let frozen = round % 3 == 1;
                ledger.set_frozen(aid(3), frozen).await.unwrap();
                let expected = vec![(paid, 0, false), (moved, paid, false), (0, moved, frozen)];
                assert_eq!(state(&ledger).await, expected, "round {round}");
                // Reopened with 0, 1 or 2 groups in the log (two groups per round).
                if round % 2 == 1 || round == 4 {
                    drop(ledger);
                    ledger = open(&db, &clock, small_options()).await;
                    assert_eq!(state(&ledger).await, expected, "round {round}, reopened");
                }
                // A retry after reopening is answered the same, and decides on the restored counters.
                assert_eq!(
                    ledger.create_transfers(&[pay(100 + round * 2, 1, 2, 10 + round)]).await.unwrap(),
                    [R::Exists]
                );
            }
            ledger.set_frozen(aid(3), false).await.unwrap();
            assert_eq!(ledger.create_transfers(&[pay(999, 3, 2, moved + 1)]).await.unwrap(), [R::ExceedsCredits]);
            assert!(ledger.verify_journal().await.unwrap().is_intact());
        }
    })
    .await;
}
