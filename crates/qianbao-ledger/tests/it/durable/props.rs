//! The durable ledger decides exactly as the engine in memory: the same random batches give the same
//! results, accounts and transfers (SQLite with merges every few dozen transfers, so the view is
//! emptied and reloaded on the way).

use std::time::Duration;

use proptest::prelude::*;
use qianbao_ledger::payments::{LedgerPort, MemoryLedger};
use qianbao_ledger::{NewTransfer, TransferFlags};

use super::*;

#[derive(Debug, Clone)]
enum Step {
    Batch(Vec<(u8, u8, u8, u16, u8)>),
    Advance(u8),
    Expire,
    Freeze(u8, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::collection::vec((0u8..40, 0u8..5, 0u8..5, 0u16..400, 0u8..16), 1..12).prop_map(Step::Batch),
        1 => (1u8..90).prop_map(Step::Advance),
        1 => Just(Step::Expire),
        1 => (0u8..5, any::<bool>()).prop_map(|(a, f)| Step::Freeze(a, f)),
    ]
}

/// A transfer from its genes: id, accounts, amount and a kind (plain, linked, pending, post, void).
fn transfer((id, dr, cr, amount, kind): (u8, u8, u8, u16, u8)) -> NewTransfer {
    let t = pay(u128::from(id) + 1, u128::from(dr) + 1, u128::from(cr) + 1, u128::from(amount));
    let earlier = tid(u128::from(id / 2) + 1);
    match kind {
        0..=5 => t,
        6..=8 => t.with_flags(TransferFlags::LINKED),
        9..=11 => t.with_flags(TransferFlags::PENDING).with_timeout_secs(u32::from(kind) * 10),
        12 | 13 => NewTransfer::post(t.id, earlier, if kind == 12 { qianbao_ledger::AMOUNT_MAX } else { t.amount }),
        _ => NewTransfer::void(t.id, earlier),
    }
}

async fn run(steps: Vec<Step>) {
    let clock = clock();
    let memory = MemoryLedger::new(LedgerConfig::default(), clock.clone());
    let db = Database::open_in_memory().unwrap();
    let durable = open(&db, &clock, small_options()).await;
    let accounts = chart(4);
    assert_eq!(memory.create_accounts(&accounts).await.unwrap(), durable.create_accounts(&accounts).await.unwrap());
    let funding: Vec<_> = (2..6).map(|w| pay(1_000 + w, 1, w, 500)).collect();
    assert_eq!(memory.create_transfers(&funding).await.unwrap(), durable.create_transfers(&funding).await.unwrap());
    for s in steps {
        match s {
            Step::Batch(genes) => {
                let batch: Vec<NewTransfer> = genes.into_iter().map(transfer).collect();
                let (m, d) =
                    (memory.create_transfers(&batch).await.unwrap(), durable.create_transfers(&batch).await.unwrap());
                assert_eq!(m, d, "results of {batch:?}");
            }
            Step::Advance(secs) => clock.advance(Duration::from_secs(u64::from(secs))),
            Step::Expire => assert_eq!(memory.expire_pending().await.unwrap(), durable.expire_pending().await.unwrap()),
            Step::Freeze(a, f) => {
                let id = aid(u128::from(a) + 1);
                assert_eq!(memory.set_frozen(id, f).await.is_ok(), durable.set_frozen(id, f).await.is_ok());
            }
        }
    }
    let ids: Vec<_> = (1..6).map(aid).collect();
    let accounts = durable.lookup_accounts(&ids).await.unwrap();
    assert_eq!(memory.lookup_accounts(&ids).await.unwrap(), accounts);
    assert_balanced(&accounts);
    let tids: Vec<_> = (1..=41).map(tid).collect();
    assert_eq!(memory.lookup_transfers(&tids).await.unwrap(), durable.lookup_transfers(&tids).await.unwrap());
    assert!(durable.verify_journal().await.unwrap().is_intact());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_durable_ledger_decides_as_the_engine(steps in prop::collection::vec(step(), 1..14)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(steps));
    }
}
