//! Deciding a group of requests (gathered for one commit) on one loaded view, the same on every
//! backend: what the group needs loaded, then one engine call per run of requests of one kind, their
//! changes merged into one [`Changes`] and the journal's events.

use qianbao_core::{AccountId, Timestamp, TransferId};
use rustc_hash::FxHashSet;

use super::journal::Events;
use crate::{
    BATCH_EVENTS_MAX, Changes, CreateAccountResult, CreateTransferResult, DebitLimit, LedgerError, LedgerState, Needs,
    NewAccount, NewTransfer, TransferFlags,
};

/// One request to the ledger.
#[derive(Debug)]
pub(crate) enum Op {
    Accounts(Vec<NewAccount>),
    Transfers(Vec<NewTransfer>),
    Frozen(AccountId, bool),
    Limits(AccountId, Vec<DebitLimit>),
    Expire,
}

impl Op {
    /// How many events it adds to a group (at least one).
    pub(crate) fn events(&self) -> usize {
        match self {
            Op::Accounts(a) => a.len().max(1),
            Op::Transfers(t) => t.len().max(1),
            _ => 1,
        }
    }

    /// A batch whose last event is linked must be decided alone: joined to the next request, its open
    /// chain would close there.
    fn open_chain(&self) -> bool {
        match self {
            Op::Transfers(t) => t.last().is_some_and(|t| t.flags.contains(TransferFlags::LINKED)),
            Op::Accounts(a) => a.last().is_some_and(|a| a.flags.contains(crate::AccountFlags::LINKED)),
            _ => false,
        }
    }
}

/// The answer to one request.
#[derive(Debug)]
pub(crate) enum Answer {
    Accounts(Vec<CreateAccountResult>),
    Transfers(Vec<CreateTransferResult>),
    Done,
    Expired(Vec<TransferId>),
}

/// A decided group: one answer per request, the changes to write and the journal's events.
#[derive(Debug, Default)]
pub(crate) struct Decided {
    pub answers: Vec<Option<Result<Answer, LedgerError>>>,
    pub changes: Changes,
    pub events: Vec<u8>,
}

impl Decided {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.events.is_empty()
    }
}

/// What the view still needs before it can decide `ops` at `now`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn needs(view: &LedgerState, ops: &[Op], now: Timestamp) -> Needs {
    needs_where(view, ops, now, |_| true)
}

/// [`needs`] for a store that knows which transfer ids may exist (`may_exist`, see
/// [`LedgerState::needs_for_transfers_where`]); decide the group with [`decide_loaded`] once they are met.
pub(crate) fn needs_where(
    view: &LedgerState,
    ops: &[Op],
    now: Timestamp,
    may_exist: impl Fn(TransferId) -> bool + Copy,
) -> Needs {
    // Each request's needs, then their union (a transfer's needs do not depend on the others').
    let mut parts = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            Op::Accounts(a) => parts.push(view.needs_for_accounts(a)),
            Op::Frozen(id, _) | Op::Limits(id, _) => {
                let probe = [NewAccount::new(*id, crate::Ledger::CNY, crate::AccountCode::WALLET)];
                parts.push(view.needs_for_accounts(&probe));
            }
            Op::Expire => parts.push(view.needs_for_expiry(now)),
            Op::Transfers(t) => parts.push(view.needs_for_transfers_where(t, may_exist)),
        }
    }
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let (mut accounts, mut ids) = (FxHashSet::default(), FxHashSet::default());
    let mut out = Needs::default();
    for p in parts {
        out.accounts.extend(p.accounts.into_iter().filter(|a| accounts.insert(*a)));
        out.transfers.extend(p.transfers.into_iter().filter(|t| ids.insert(*t)));
    }
    out
}

/// [`decide`] on a view whose needs ([`needs_where`] with the same `may_exist`) are met: the engine
/// decides it as a complete ledger, without computing the needs again. Debug builds check them.
pub(crate) fn decide_loaded(
    view: &mut LedgerState,
    ops: &[Op],
    now: Timestamp,
    may_exist: impl Fn(TransferId) -> bool + Copy,
) -> Decided {
    debug_assert!(needs_where(view, ops, now, may_exist).is_empty(), "deciding a view that lacks what it needs");
    view.decide_loaded(|v| decide(v, ops, now))
}

/// Decides `ops` in order on a fully loaded view.
pub(crate) fn decide(view: &mut LedgerState, ops: &[Op], now: Timestamp) -> Decided {
    let mut d = Decided { answers: ops.iter().map(|_| None).collect(), ..Decided::default() };
    d.changes.last_timestamp = view.last_timestamp();
    let mut events = Events::default();
    let mut i = 0;
    while i < ops.len() {
        let end = run_end(ops, i);
        match &ops[i] {
            Op::Transfers(_) => decide_run(&TRANSFERS, view, &ops[i..end], now, &mut d, i),
            Op::Accounts(_) => decide_run(&ACCOUNTS, view, &ops[i..end], now, &mut d, i),
            Op::Frozen(id, frozen) => {
                d.answers[i] = Some(view.set_frozen(*id, *frozen).map(|c| {
                    events.frozen(*id, *frozen);
                    merge(&mut d.changes, c);
                    Answer::Done
                }));
            }
            Op::Limits(id, limits) => {
                d.answers[i] = Some(view.set_debit_limits(*id, limits.clone()).map(|c| {
                    events.limits(*id, limits);
                    merge(&mut d.changes, c);
                    Answer::Done
                }));
            }
            Op::Expire => {
                d.answers[i] = Some(view.expire_pending(now).map(|out| {
                    events.expired(&out.expired);
                    merge(&mut d.changes, out.changes);
                    Answer::Expired(out.expired)
                }));
            }
        }
        i = end;
    }
    dedup_updates(&mut d.changes);
    d.events = events.into_bytes();
    d
}

/// Where the run of requests starting at `i` that one engine call decides ends.
fn run_end(ops: &[Op], i: usize) -> usize {
    let same =
        |a: &Op, b: &Op| matches!((a, b), (Op::Transfers(_), Op::Transfers(_)) | (Op::Accounts(_), Op::Accounts(_)));
    let mut end = i + 1;
    let mut len = ops[i].events();
    while end < ops.len()
        && same(&ops[i], &ops[end])
        && !ops[end - 1].open_chain()
        && len + ops[end].events() <= BATCH_EVENTS_MAX
    {
        len += ops[end].events();
        end += 1;
    }
    end
}

/// The results of a run's requests and what to write, or why the run was refused whole.
type RunResult<R> = Result<(Vec<R>, Changes), LedgerError>;

/// A kind of request that runs of several ops are decided together in: its requests in an op, the
/// engine call deciding them, and the answer of one op.
struct RunKind<N, R> {
    requests: fn(&Op) -> &[N],
    decide: fn(&mut LedgerState, &[N], Timestamp) -> RunResult<R>,
    answer: fn(Vec<R>) -> Answer,
}

const TRANSFERS: RunKind<NewTransfer, CreateTransferResult> = RunKind {
    requests: |o| if let Op::Transfers(t) = o { t } else { &[] },
    decide: |view, batch, now| view.create_transfers(batch, now).map(|o| (o.results, o.changes)),
    answer: Answer::Transfers,
};

const ACCOUNTS: RunKind<NewAccount, CreateAccountResult> = RunKind {
    requests: |o| if let Op::Accounts(a) = o { a } else { &[] },
    decide: |view, batch, now| view.create_accounts(batch, now).map(|o| (o.results, o.changes)),
    answer: Answer::Accounts,
};

/// Decides a run of ops of one kind in one engine call, each op answered with its part of the results.
fn decide_run<N: Copy, R: Clone>(
    kind: &RunKind<N, R>,
    view: &mut LedgerState,
    run: &[Op],
    now: Timestamp,
    d: &mut Decided,
    first: usize,
) {
    // One op (the usual group of one caller's batch) is decided from its own requests, not a copy.
    let joined: Vec<N>;
    let batch = match run {
        [op] => (kind.requests)(op),
        _ => {
            joined = run.iter().flat_map(|o| (kind.requests)(o).iter().copied()).collect();
            &joined
        }
    };
    match (kind.decide)(view, batch, now) {
        Ok((results, changes)) if run.len() == 1 => {
            d.answers[first] = Some(Ok((kind.answer)(results)));
            merge(&mut d.changes, changes);
        }
        Ok((results, changes)) => {
            let mut at = 0;
            for (k, op) in run.iter().enumerate() {
                let len = (kind.requests)(op).len();
                d.answers[first + k] = Some(Ok((kind.answer)(results[at..at + len].to_vec())));
                at += len;
            }
            merge(&mut d.changes, changes);
        }
        Err(e) if run.len() == 1 => d.answers[first] = Some(Err(e)),
        Err(_) => {
            // Decide each alone so that each gets its own error (the state is unchanged on error).
            for k in 0..run.len() {
                decide_run(kind, view, &run[k..k + 1], now, d, first + k);
            }
        }
    }
}

fn merge(into: &mut Changes, c: Changes) {
    append(&mut into.accounts_created, c.accounts_created);
    append(&mut into.accounts_updated, c.accounts_updated);
    append(&mut into.transfers, c.transfers);
    append(&mut into.pending, c.pending);
    append(&mut into.failed, c.failed);
    append(&mut into.limit_usages, c.limit_usages);
    append(&mut into.limit_sets, c.limit_sets);
    append(&mut into.balances, c.balances);
    into.last_timestamp = into.last_timestamp.max(c.last_timestamp);
}

/// Appends `more` to `into`, taking its vector whole while `into` is empty (no copy of a batch's
/// changes into fresh memory).
fn append<T>(into: &mut Vec<T>, mut more: Vec<T>) {
    if into.is_empty() {
        std::mem::swap(into, &mut more);
    } else {
        into.append(&mut more);
    }
}

/// Keeps the last update of each account (the final state), in first-touch order.
fn dedup_updates(c: &mut Changes) {
    let mut seen = FxHashSet::default();
    let mut kept: Vec<_> = c.accounts_updated.iter().rev().filter(|u| seen.insert(u.id)).copied().collect();
    kept.reverse();
    c.accounts_updated = kept;
    let mut seen = FxHashSet::default();
    let mut usages: Vec<_> =
        c.limit_usages.iter().rev().filter(|u| seen.insert((u.account_id, u.slot))).copied().collect();
    usages.reverse();
    c.limit_usages = usages;
}
