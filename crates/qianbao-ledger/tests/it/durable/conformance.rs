//! The store conformance suite: the same tests on SQLite and PostgreSQL.

use std::time::Duration;

use qianbao_ledger::{CreateAccountResult as A, CreateTransferResult as R, JournalCheck, NewTransfer, TransferFlags};
use qianbao_store::Database;

use super::*;

async fn each<F, Fut>(name: &str, body: F)
where
    F: Fn(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    qianbao_store::testing::each_backend(name, body).await;
}

#[tokio::test]
async fn reopening_restores_counters_idempotency_and_overdue_holds() {
    each("reopening_restores_counters_idempotency_and_overdue_holds", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        assert!(ledger.create_accounts(&chart(3)).await.unwrap().iter().all(|r| r.is_ok()));
        assert_eq!(ledger.create_transfers(&[pay(1, 1, 2, 500)]).await.unwrap(), [R::Ok]);
        assert_eq!(ledger.create_transfers(&[pay(2, 2, 3, 900)]).await.unwrap(), [R::ExceedsCredits]);
        let hold = pay(3, 2, 3, 200).with_flags(TransferFlags::PENDING).with_timeout_secs(60);
        assert_eq!(ledger.create_transfers(&[hold]).await.unwrap(), [R::Ok]);
        let before = ledger.lookup_accounts(&[aid(1), aid(2), aid(3)]).await.unwrap();
        drop(ledger);

        // Down for two minutes: the hold's deadline passed meanwhile.
        clock.advance(Duration::from_secs(120));
        let ledger = open(&db, &clock, small_options()).await;
        assert_eq!(ledger.lookup_accounts(&[aid(1), aid(2), aid(3)]).await.unwrap(), before, "counters restored");
        assert_eq!(ledger.create_transfers(&[pay(1, 1, 2, 500)]).await.unwrap(), [R::Exists]);
        assert_eq!(ledger.create_transfers(&[pay(2, 2, 3, 1)]).await.unwrap(), [R::IdAlreadyFailed]);
        assert_eq!(ledger.create_accounts(&chart(3)[..1]).await.unwrap(), [A::Exists]);
        let late = NewTransfer::post(tid(4), tid(3), qianbao_ledger::AMOUNT_MAX);
        assert_eq!(ledger.create_transfers(&[late]).await.unwrap(), [R::PendingTransferExpired]);
        assert_eq!(ledger.expire_pending().await.unwrap(), [tid(3)]);
        assert!(ledger.expire_pending().await.unwrap().is_empty());
        let wallet = ledger.lookup_accounts(&[aid(2)]).await.unwrap()[0];
        assert_eq!((wallet.debits_pending, wallet.balance().credit_balance()), (0, Some(500)));
        assert!(ledger.verify_journal().await.unwrap().is_intact());
    })
    .await;
}

#[tokio::test]
async fn merges_and_emptied_views_keep_every_answer_exact() {
    each("merges_and_emptied_views_keep_every_answer_exact", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        ledger.create_accounts(&chart(4)).await.unwrap();
        let mut ids = Vec::new();
        for round in 0..12u128 {
            let batch: Vec<NewTransfer> = (0..17).map(|i| pay(1000 + round * 100 + i, 1, 2 + i % 4, 10)).collect();
            ids.extend(batch.iter().map(|t| t.id));
            assert!(ledger.create_transfers(&batch).await.unwrap().iter().all(|r| r.is_ok()));
            // A retry of an early batch after merges is still recognised.
            assert_eq!(ledger.create_transfers(&[pay(1000, 1, 2, 10)]).await.unwrap(), [R::Exists]);
        }
        let found = ledger.lookup_transfers(&ids).await.unwrap();
        assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), ids);
        drop(ledger);
        let ledger = open(&db, &clock, small_options()).await;
        assert_eq!(ledger.lookup_transfers(&ids).await.unwrap(), found, "the same after reopening");
        assert_eq!(ledger.create_transfers(&[pay(1105, 1, 3, 10)]).await.unwrap(), [R::Exists]);
        assert_eq!(ledger.create_transfers(&[pay(1105, 1, 3, 11)]).await.unwrap(), [R::ExistsWithDifferentAmount]);
        let accounts = ledger.lookup_accounts(&(1..6).map(aid).collect::<Vec<_>>()).await.unwrap();
        assert_balanced(&accounts);
        assert_eq!(accounts[0].debits_posted, 12 * 17 * 10);
        assert!(ledger.verify_journal().await.unwrap().is_intact());
    })
    .await;
}

#[tokio::test]
async fn concurrent_callers_are_answered_exactly() {
    each("concurrent_callers_are_answered_exactly", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        ledger.create_accounts(&chart(5)).await.unwrap();
        let mut tasks = Vec::new();
        for task in 0..20u128 {
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                let mut results = Vec::new();
                for i in 0..10u128 {
                    let id = 10_000 + task * 100 + i;
                    let batch =
                        [pay(id, 1, 2 + (task + i) % 5, 7).with_flags(TransferFlags::LINKED), pay(id + 50, 1, 2, 1)];
                    results.push(ledger.create_transfers(&batch).await.unwrap());
                }
                results
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().iter().all(|r| r == &[R::Ok, R::Ok]));
        }
        let accounts = ledger.lookup_accounts(&(1..7).map(aid).collect::<Vec<_>>()).await.unwrap();
        assert_eq!(accounts[0].debits_posted, 200 * 8);
        assert_balanced(&accounts);
        let head = ledger.journal_head().await.unwrap();
        assert!(head.seq >= 2 && head.seq <= 201, "one link per committed group: {}", head.seq);
        assert_eq!(ledger.verify_journal().await.unwrap(), JournalCheck::Intact { head });
    })
    .await;
}

#[tokio::test]
async fn refused_calls_change_nothing() {
    each("refused_calls_change_nothing", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        let head = ledger.journal_head().await.unwrap();
        assert_eq!(head.seq, 0);
        let too_many = vec![pay(1, 1, 2, 1); qianbao_ledger::BATCH_EVENTS_MAX + 1];
        assert!(matches!(
            ledger.create_transfers(&too_many).await,
            Err(qianbao_ledger::LedgerError::BatchTooLarge { .. })
        ));
        assert!(matches!(ledger.set_frozen(aid(9), true).await, Err(qianbao_ledger::LedgerError::AccountNotFound(_))));
        assert_eq!(ledger.create_transfers(&[pay(1, 1, 2, 1)]).await.unwrap(), [R::DebitAccountNotFound]);
        assert!(ledger.lookup_transfers(&[tid(1)]).await.unwrap().is_empty());
        // An open chain fails on its own, even when other requests share its commit.
        let open_chain = [pay(5, 1, 2, 1).with_flags(TransferFlags::LINKED)];
        assert_eq!(ledger.create_transfers(&open_chain).await.unwrap(), [R::LinkedEventChainOpen]);
        assert!(ledger.verify_journal().await.unwrap().is_intact());
    })
    .await;
}

/// Changes one stored transfer's amount behind the ledger's back.
async fn tamper(db: &Database) {
    match db {
        Database::Sqlite(s) => {
            // The amount is bytes 48..64 of the row's body.
            let sql = "UPDATE ledger_transfers SET body = CAST(substr(body, 1, 48) || zeroblob(16) || substr(body, 65) AS BLOB)
                WHERE ts = (SELECT max(ts) FROM ledger_transfers)";
            s.write(move |c| Ok(c.execute(sql, [])?)).await.unwrap();
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(p) => {
            p.client()
                .await
                .unwrap()
                .execute(
                    "UPDATE ledger_transfers SET amount = decode(repeat('00', 16), 'hex')
                     WHERE ts = (SELECT max(ts) FROM ledger_transfers)",
                    &[],
                )
                .await
                .unwrap();
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("no other backend"),
    }
}

#[tokio::test]
async fn the_journal_chain_detects_a_changed_row() {
    each("the_journal_chain_detects_a_changed_row", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        ledger.create_accounts(&chart(2)).await.unwrap();
        ledger.set_frozen(aid(3), true).await.unwrap();
        for i in 0..5 {
            ledger.create_transfers(&[pay(100 + i, 1, 2, 5)]).await.unwrap();
        }
        let head = ledger.journal_head().await.unwrap();
        assert_eq!(head.seq, 7, "accounts, a freeze and five transfers");
        assert_ne!(head.digest, [0; 32]);
        assert_eq!(ledger.verify_journal().await.unwrap(), JournalCheck::Intact { head });
        tamper(&db).await;
        match ledger.verify_journal().await.unwrap() {
            JournalCheck::Broken { seq, reason } => assert_eq!(seq, 7, "{reason}"),
            other => panic!("tampering went unnoticed: {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn queries_page_filter_and_total() {
    use qianbao_ledger::{AccountCode, Direction, Ledger, NewAccount, TransferCode, TransferFilter};
    each("queries_page_filter_and_total", |db| async move {
        let clock = clock();
        let ledger = open(&db, &clock, small_options()).await;
        let history = NewAccount::new(aid(10), Ledger::CNY, AccountCode::WALLET)
            .with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::HISTORY);
        let mut accounts = chart(2);
        accounts.push(history);
        assert!(ledger.create_accounts(&accounts).await.unwrap().iter().all(|r| r.is_ok()));
        let start = qianbao_core::Clock::now(&*clock);
        ledger.create_transfers(&[pay(1, 1, 2, 10_000), pay(2, 1, 10, 500)]).await.unwrap();
        for i in 0..5 {
            ledger.create_transfers(&[pay(10 + i, 2, 3, 1 + i)]).await.unwrap();
        }
        clock.advance(Duration::from_secs(40 * 86_400));
        let middle = qianbao_core::Clock::now(&*clock);
        for i in 0..3 {
            let t = NewTransfer::new(tid(20 + i), aid(2), aid(10), 100, Ledger::CNY, TransferCode::TRANSFER);
            ledger.create_transfers(&[t]).await.unwrap();
        }
        let hold = pay(30, 2, 3, 7).with_flags(TransferFlags::PENDING);
        ledger.create_transfers(&[hold, NewTransfer::void(tid(31), tid(30))]).await.unwrap();
        // Enough other traffic that part of the history is merged and part is in the tail.
        let noise: Vec<_> = (0..45).map(|i| pay(100 + i, 1, 3, 1)).collect();
        ledger.create_transfers(&noise).await.unwrap();
        ledger.create_transfers(&[pay(200, 2, 3, 9)]).await.unwrap();

        // Every transfer of account 2, newest first, three per page.
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = ledger.account_transfers(aid(2), &TransferFilter::default(), cursor, 3).await.unwrap();
            assert!(page.transfers.len() <= 3);
            all.extend(page.transfers);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let ids: Vec<u128> = all.iter().map(|t| t.id.as_u128()).collect();
        assert_eq!(ids, [200, 31, 30, 22, 21, 20, 14, 13, 12, 11, 10, 1]);
        assert!(all.windows(2).all(|w| w[0].timestamp > w[1].timestamp));

        let payments =
            TransferFilter { code: Some(TransferCode::PAYMENT), direction: Direction::Debits, ..Default::default() };
        let page = ledger.account_transfers(aid(2), &payments, None, 100).await.unwrap();
        assert_eq!(page.transfers.len(), 8, "five payments, the hold, its void, one more");
        assert_eq!(page.next, None);
        let credits = TransferFilter { direction: Direction::Credits, ..Default::default() };
        let page = ledger.account_transfers(aid(2), &credits, None, 100).await.unwrap();
        assert_eq!(page.transfers.iter().map(|t| t.id).collect::<Vec<_>>(), [tid(1)]);
        let early = TransferFilter { until: Some(middle), ..Default::default() };
        assert_eq!(ledger.account_transfers(aid(2), &early, None, 100).await.unwrap().transfers.len(), 6);

        // Balance history of the account with the history flag: one entry per change, newest first.
        let h = ledger.balance_history(aid(10), None, None, None, 100).await.unwrap();
        assert_eq!(h.balances.len(), 4);
        let now = ledger.lookup_accounts(&[aid(10)]).await.unwrap()[0];
        assert_eq!(h.balances[0].balance, now.balance());
        assert_eq!(h.balances[3].balance.credits_posted, 500);
        assert!(ledger.balance_history(aid(2), None, None, None, 10).await.unwrap().balances.is_empty());

        // Spending: posted debits only, by month, code and counter-party.
        let end = qianbao_core::Clock::now(&*clock).saturating_add(Duration::from_secs(1));
        let report = ledger.spending(aid(2), start, end).await.unwrap();
        assert_eq!((report.total.amount, report.total.count), (15 + 300 + 9, 9));
        assert_eq!(report.by_month.len(), 2);
        assert_eq!(report.by_month[0].1.amount, 15);
        assert_eq!(report.by_code, [(TransferCode::PAYMENT, total(24, 6)), (TransferCode::TRANSFER, total(300, 3))]);
        assert_eq!(report.by_counterparty, [(aid(10), total(300, 3)), (aid(3), total(24, 6))]);
    })
    .await;
}

fn total(amount: u128, count: u64) -> qianbao_ledger::Total {
    qianbao_ledger::Total { amount, count }
}
