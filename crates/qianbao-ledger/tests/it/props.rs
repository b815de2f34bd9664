//! The ledger's laws as property tests over random batches on random accounts. Each law runs
//! `CASES` cases (override with `PROPTEST_CASES`); cases are small so that a debug build runs them in
//! seconds.

use std::collections::HashMap;

use proptest::prelude::*;
use qianbao_core::{AccountId, Timestamp, TransferId};
use qianbao_ledger::*;

const CASES: u32 = 10_000;
/// 2026-05-28T13:46:40+08:00: time steps of a few seconds never cross a calendar day in Beijing.
const START_SECS: u64 = 1_779_947_200;
/// Accounts 1..=ACCOUNTS exist (1 is the bank that funds the others); ids up to ACCOUNTS + 1 are used.
const ACCOUNTS: u128 = 5;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// One request before ids are assigned.
#[derive(Debug, Clone)]
enum Op {
    /// A single-phase or pending transfer.
    New { dr: u128, cr: u128, amount: u128, flags: u16, timeout_secs: u32, code: u16 },
    /// A post (`amount` may be `AMOUNT_MAX`) or void of the `back`-th previous request.
    Resolve { back: usize, post: bool, amount: u128, linked: bool },
    /// A request reusing the id of the `back`-th previous request, with its fields or changed ones.
    Repeat { back: usize, bump_amount: bool },
}

#[derive(Debug, Clone)]
struct Scenario {
    account_flags: Vec<u16>,
    limit: Option<(u128, bool)>,
    /// Batches, each with the seconds the clock advances before it and whether expiry runs first.
    batches: Vec<(u64, bool, Vec<Op>)>,
}

fn op() -> impl Strategy<Value = Op> {
    let new = (1..=ACCOUNTS + 1, 1..=ACCOUNTS + 1, prop_oneof![8 => 1u128..300, 1 => Just(0u128), 1 => Just(AMOUNT_MAX)],
        prop_oneof![4 => Just(0u16), 2 => Just(1), 2 => Just(2), 1 => Just(3), 1 => Just(16), 1 => Just(32), 1 => Just(2 | 64), 1 => Just(2 | 128), 1 => any::<u16>()],
        prop_oneof![Just(0u32), 1u32..4], prop_oneof![4 => Just(2u16), 1 => Just(3), 1 => Just(0)])
        .prop_map(|(dr, cr, amount, flags, timeout_secs, code)| Op::New { dr, cr, amount, flags, timeout_secs, code });
    let resolve =
        (1usize..8, any::<bool>(), prop_oneof![1u128..300, Just(AMOUNT_MAX), Just(0)], prop::bool::weighted(0.2))
            .prop_map(|(back, post, amount, linked)| Op::Resolve { back, post, amount, linked });
    let repeat = (1usize..8, any::<bool>()).prop_map(|(back, bump_amount)| Op::Repeat { back, bump_amount });
    prop_oneof![6 => new, 3 => resolve, 1 => repeat]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let flags =
        prop::collection::vec(prop_oneof![Just(0u16), Just(2), Just(4), Just(8), Just(2 | 8)], ACCOUNTS as usize - 1);
    let limit = prop::option::of((1u128..600, any::<bool>()));
    let batch = (0u64..3, any::<bool>(), prop::collection::vec(op(), 0..10));
    (flags, limit, prop::collection::vec(batch, 1..4)).prop_map(|(account_flags, limit, batches)| Scenario {
        account_flags,
        limit,
        batches,
    })
}

fn aid(n: u128) -> AccountId {
    AccountId::from_u128(n)
}

/// A ledger with the scenario's accounts, each funded with 500 from the bank (account 1).
fn open(s: &Scenario) -> LedgerState {
    let mut state = LedgerState::new(LedgerConfig::default());
    let now = Timestamp::from_unix_secs(START_SECS);
    let mut accounts = vec![NewAccount::new(aid(1), Ledger::CNY, AccountCode::BANK_SETTLEMENT)];
    for (i, f) in s.account_flags.iter().enumerate() {
        let a = NewAccount::new(aid(i as u128 + 2), Ledger::CNY, AccountCode::WALLET);
        accounts.push(a.with_flags(AccountFlags::from_bits_retain(*f)));
    }
    assert!(state.create_accounts(&accounts, now).unwrap().results.iter().all(|r| r.is_ok()));
    let funding: Vec<_> = (2..=ACCOUNTS)
        .map(|a| {
            NewTransfer::new(
                TransferId::from_u128(1_000_000 + a),
                aid(1),
                aid(a),
                500,
                Ledger::CNY,
                TransferCode::TOP_UP,
            )
        })
        .collect();
    let out = state.create_transfers(&funding, now).unwrap();
    assert!(out.results.iter().all(|r| r.is_ok() || *r == CreateTransferResult::ExceedsDebits), "{:?}", out.results);
    if let Some((amount_max, yearly)) = s.limit {
        let window = if yearly { LimitWindow::Year } else { LimitWindow::Day };
        let limit = DebitLimit { slot: 0, window, codes: vec![TransferCode::TRANSFER], amount_max };
        state.set_debit_limits(aid(2), vec![limit]).unwrap();
    }
    state
}

/// The scenario's batches as requests, ids assigned in order (id `k + 1` for the `k`-th request).
fn requests(s: &Scenario) -> Vec<Vec<NewTransfer>> {
    let mut all: Vec<NewTransfer> = Vec::new();
    let mut batches = Vec::new();
    for (_, _, ops) in &s.batches {
        let mut batch = Vec::new();
        for op in ops {
            let id = TransferId::from_u128(all.len() as u128 + 1);
            let earlier = |back: usize| all.len().checked_sub(back).map(|i| all[i]);
            let t = match *op {
                Op::New { dr, cr, amount, flags, timeout_secs, code } => {
                    let mut t =
                        NewTransfer::new(id, aid(dr), aid(cr), amount, Ledger::CNY, TransferCode::from_u16(code));
                    t.flags = TransferFlags::from_bits_retain(flags);
                    t.timeout_secs = timeout_secs;
                    t
                }
                Op::Resolve { back, post, amount, linked } => {
                    let pending = earlier(back).map_or(TransferId::from_u128(999), |p| p.id);
                    let mut t =
                        if post { NewTransfer::post(id, pending, amount) } else { NewTransfer::void(id, pending) };
                    if !post {
                        t.amount = amount;
                    }
                    t.with_flags(if linked { TransferFlags::LINKED } else { TransferFlags::NONE })
                }
                Op::Repeat { back, bump_amount } => match earlier(back) {
                    Some(mut t) => {
                        t.amount = t.amount.wrapping_add(u128::from(bump_amount));
                        t
                    }
                    None => NewTransfer::new(id, aid(2), aid(3), 1, Ledger::CNY, TransferCode::PAYMENT),
                },
            };
            all.push(t);
            batch.push(t);
        }
        batches.push(batch);
    }
    batches
}

/// The clock before each batch: whole seconds plus a millisecond per batch, so that no deadline ever
/// falls inside a batch's nanoseconds (a law comparing two runs would otherwise see ties move).
fn clock(s: &Scenario) -> Vec<Timestamp> {
    let mut now = START_SECS * 1_000_000_000 + 1_000_000;
    s.batches
        .iter()
        .map(|(step, _, _)| {
            now += step * 1_000_000_000 + 1_000_000;
            Timestamp::from_unix_nanos(now)
        })
        .collect()
}

/// What one step of a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    expired: Vec<TransferId>,
    outcome: TransfersOutcome,
}

/// Runs the scenario, calling `check` after every batch.
fn play(
    s: &Scenario,
    mut check: impl FnMut(&LedgerState, &[NewTransfer], &TransfersOutcome),
) -> (LedgerState, Vec<Step>) {
    let mut state = open(s);
    let mut steps = Vec::new();
    for ((batch, now), (_, expire, _)) in requests(s).iter().zip(clock(s)).zip(&s.batches) {
        let expired = if *expire { state.expire_pending(now).unwrap().expired } else { Vec::new() };
        let outcome = state.create_transfers(batch, now).unwrap();
        check(&state, batch, &outcome);
        steps.push(Step { expired, outcome });
    }
    (state, steps)
}

/// Accounts, transfers and pending states: what a replay must not change.
fn books(state: &LedgerState) -> (Vec<Account>, Vec<Transfer>, Vec<PendingState>) {
    let pending = state.transfers().iter().filter_map(|t| state.pending_state(t.id)).collect();
    (state.accounts().copied().collect(), state.transfers().to_vec(), pending)
}

/// The chains of a batch: ranges of indices (a chain ends at the first request without `LINKED`).
fn chains(batch: &[NewTransfer]) -> Vec<std::ops::Range<usize>> {
    let mut chains = Vec::new();
    let mut start = 0;
    for (i, t) in batch.iter().enumerate() {
        if !t.flags.contains(TransferFlags::LINKED) || i + 1 == batch.len() {
            chains.push(start..i + 1);
            start = i + 1;
        }
    }
    chains
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn postings_always_balance(s in scenario()) {
        play(&s, |state, _, _| {
            // Sums modulo 2^128: a bank account may hold counters near the top.
            let sum = |f: fn(&Account) -> u128| state.accounts().map(f).fold(0u128, u128::wrapping_add);
            assert_eq!(sum(|a| a.debits_posted), sum(|a| a.credits_posted));
            assert_eq!(sum(|a| a.debits_pending), sum(|a| a.credits_pending));
        });
    }

    #[test]
    fn no_balance_constraint_or_limit_is_ever_broken(s in scenario()) {
        let at = Timestamp::from_unix_secs(START_SECS + 20);
        play(&s, |state, _, _| {
            for a in state.accounts() {
                if a.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS) {
                    assert!(a.debits_pending + a.debits_posted <= a.credits_posted, "{a:?}");
                }
                if a.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS) {
                    assert!(a.credits_pending + a.credits_posted <= a.debits_posted, "{a:?}");
                }
                for l in state.limit_status(a.id, at) {
                    assert!(l.used_amount <= l.limit.amount_max, "{l:?}");
                }
            }
        });
    }

    #[test]
    fn replaying_accepted_requests_changes_nothing(s in scenario(), cut in any::<prop::sample::Index>()) {
        let mut accepted = Vec::new();
        let mut failed_alone = Vec::new();
        let (mut state, _) = play(&s, |_, batch, out| {
            accepted.extend(batch.iter().zip(&out.results).filter(|(_, r)| r.is_ok()).map(|(t, _)| *t));
            for chain in chains(batch) {
                let t = batch[chain.start];
                if chain.len() == 1 && !t.flags.contains(TransferFlags::LINKED) && !out.results[chain.start].is_created() {
                    failed_alone.push(t);
                }
            }
        });
        let prefix = &accepted[..cut.index(accepted.len() + 1)];
        let before = books(&state);
        let replay = state.create_transfers(prefix, Timestamp::from_unix_secs(START_SECS + 30)).unwrap();
        assert_eq!(books(&state), before);
        for (i, r) in replay.results.iter().enumerate() {
            let in_chain = prefix[i].flags.contains(TransferFlags::LINKED) || (i > 0 && prefix[i - 1].flags.contains(TransferFlags::LINKED));
            assert!(*r == CreateTransferResult::Exists || (in_chain && !r.is_ok()), "{i}: {r} for {:?}", prefix[i]);
        }
        // A retry never flips a failure into a success (transient failures are remembered).
        let retried = state.create_transfers(&failed_alone, Timestamp::from_unix_secs(START_SECS + 40)).unwrap();
        assert!(retried.results.iter().all(|r| !r.is_ok()), "{:?} for {failed_alone:?}", retried.results);
        assert_eq!(books(&state), before);
    }

    #[test]
    fn a_linked_chain_is_all_or_nothing(s in scenario()) {
        // Every id is used once here, so dropping a failed chain cannot change what a later request sees.
        let s = Scenario {
            batches: s.batches.into_iter().map(|(step, expire, ops)| {
                (step, expire, ops.into_iter().filter(|op| !matches!(op, Op::Repeat { .. })).collect())
            }).collect(),
            ..s
        };
        let mut state = open(&s);
        for ((batch, now), (_, expire, _)) in requests(&s).iter().zip(clock(&s)).zip(&s.batches) {
            if *expire {
                state.expire_pending(now).unwrap();
            }
            let mut without_failed_chains = state.clone();
            let out = state.create_transfers(batch, now).unwrap();
            let mut kept = Vec::new();
            for chain in chains(batch) {
                let ok = out.results[chain.clone()].iter().filter(|r| r.is_ok()).count();
                assert!(ok == 0 || ok == chain.len(), "chain {chain:?}: {:?}", &out.results[chain.clone()]);
                if ok == chain.len() {
                    kept.extend_from_slice(&batch[chain]);
                }
            }
            // The batch had the same effect as the batch holding only the chains that succeeded.
            let alone = without_failed_chains.create_transfers(&kept, now).unwrap();
            assert!(alone.results.iter().all(|r| r.is_ok()), "{:?}", alone.results);
            let shape = |st: &LedgerState| {
                let (accounts, transfers, pending) = books(st);
                let transfers: Vec<_> = transfers.into_iter().map(|t| Transfer { timestamp: Timestamp::ZERO, ..t }).collect();
                let pending: Vec<_> = pending.into_iter().map(|p| (p.transfer_id, p.status)).collect();
                (accounts, transfers, pending)
            };
            assert_eq!(shape(&state), shape(&without_failed_chains));
        }
    }

    #[test]
    fn a_pending_transfer_resolves_at_most_once(s in scenario()) {
        let mut resolutions: HashMap<TransferId, usize> = HashMap::new();
        let (state, steps) = play(&s, |state, batch, out| {
            for (t, r) in batch.iter().zip(&out.results) {
                if r.is_ok() && t.flags.intersects(TransferFlags::POST_OR_VOID) {
                    *resolutions.entry(t.pending_id).or_default() += 1;
                    assert_ne!(state.pending_state(t.pending_id).unwrap().status, PendingStatus::Pending);
                }
            }
        });
        for id in steps.iter().flat_map(|s| &s.expired) {
            *resolutions.entry(*id).or_default() += 1;
            assert_eq!(state.pending_state(*id).unwrap().status, PendingStatus::Expired);
        }
        for (id, n) in resolutions {
            assert_eq!(n, 1, "pending transfer {id} resolved {n} times");
        }
        for t in state.transfers() {
            let resolved = state.transfers().iter().filter(|r| r.pending_id == t.id).count();
            assert!(resolved <= 1);
        }
    }

    #[test]
    fn the_same_input_gives_the_same_output(s in scenario()) {
        let (first, first_steps) = play(&s, |_, _, _| {});
        let (second, second_steps) = play(&s, |_, _, _| {});
        assert_eq!(first_steps, second_steps);
        assert_eq!(books(&first), books(&second));
        assert_eq!(first.last_timestamp(), second.last_timestamp());
    }

    #[test]
    fn the_changes_are_everything_a_store_must_write(s in scenario()) {
        // A model store: rows written only from `Changes`, then compared with the state.
        let mut state = open(&s);
        let mut accounts: HashMap<AccountId, Account> = state.accounts().map(|a| (a.id, *a)).collect();
        let mut transfers: Vec<Transfer> = state.transfers().to_vec();
        let mut pending: HashMap<TransferId, PendingState> =
            state.transfers().iter().filter_map(|t| state.pending_state(t.id)).map(|p| (p.transfer_id, p)).collect();
        let mut usages: HashMap<(AccountId, u8), LimitUsage> = HashMap::new();
        let mut write = |changes: &Changes| {
            for a in &changes.accounts_created {
                assert!(accounts.insert(a.id, *a).is_none());
            }
            for u in &changes.accounts_updated {
                u.apply_to(accounts.get_mut(&u.id).unwrap());
            }
            transfers.extend_from_slice(&changes.transfers);
            for p in &changes.pending {
                pending.insert(p.transfer_id, *p);
            }
            for l in &changes.limit_usages {
                usages.insert((l.account_id, l.slot), l.usage);
            }
        };
        for ((batch, now), (_, expire, _)) in requests(&s).iter().zip(clock(&s)).zip(&s.batches) {
            if *expire {
                write(&state.expire_pending(now).unwrap().changes);
            }
            write(&state.create_transfers(batch, now).unwrap().changes);
        }
        for a in state.accounts() {
            assert_eq!(accounts[&a.id], *a);
            for l in state.limits(a.id) {
                let written = usages.get(&(a.id, l.limit.slot)).copied().unwrap_or_default();
                assert_eq!(written, l.usage, "limit usage of {}", a.id);
            }
        }
        assert_eq!(transfers, state.transfers());
        for t in state.transfers().iter().filter(|t| t.is_pending()) {
            assert_eq!(pending.get(&t.id).copied(), state.pending_state(t.id));
        }
    }
}
