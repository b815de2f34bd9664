//! The payments store's conformance suite: the same conditional writes on SQLite and PostgreSQL,
//! including races between concurrent writers.

use qianbao_core::{AccountId, Currency, Timestamp, TransferId};
use qianbao_ledger::payments::store::*;
use qianbao_ledger::payments::*;
use qianbao_ledger::redpacket::{Claim, RedPacketId, SplitMode};
use qianbao_ledger::risk::{AmountHistory, RecordedPayment, RiskOutcome, VelocityCounters};

use super::*;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(START + secs)
}

#[tokio::test]
async fn chart_and_payments_round_trip_and_update_conditionally() {
    each("payments store: chart and payments", |db| async move {
        let h = harness(db, fee_config()).await;
        let store = h.payments.store().clone();
        let entry = ChartEntry {
            account: AccountId::from_u128(77),
            owner: Owner::User(user(9)),
            kind: AccountKind::Wallet,
            currency: Currency::CNY,
            opened_at: at(0),
        };
        assert_eq!(store.open_account(entry).await.unwrap(), entry);
        let other = ChartEntry { account: AccountId::from_u128(78), ..entry };
        assert_eq!(store.open_account(other).await.unwrap(), entry, "one account per owner, kind, currency");
        assert_eq!(store.account(entry.account).await.unwrap(), Some(entry));
        assert_eq!(store.account(other.account).await.unwrap(), None);
        assert_eq!(store.account_of(entry.owner, AccountKind::Wallet, Currency::CNY).await.unwrap(), Some(entry));

        h.funded(1, 100_00).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 10_00, "p")).await.unwrap();
        assert_eq!(store.payment(p.id).await.unwrap(), Some(p.clone()));
        assert_eq!(store.insert_payment(&p).await.unwrap(), Inserted::Existing(p.clone()));
        assert_eq!(store.payment_of_transfer(p.legs[0].transfer_id).await.unwrap(), Some(p.id));
        assert!(!store.delete_submitting(p.id).await.unwrap(), "only a submitting payment can be forgotten");
        let update = PaymentUpdate {
            id: p.id,
            from: "submitting",
            to: PaymentState::Completed,
            at: at(5),
            bank_reference: None,
            risk: None,
            fee_usage: None,
            transfers: vec![],
        };
        assert_eq!(store.update_payment(update.clone()).await.unwrap(), UpdateOutcome::StateChanged);
        assert!(store.payments_in_state("completed", 100).await.unwrap().iter().any(|x| x.id == p.id));
        assert!(store.payments_of(Owner::User(user(1)), 100).await.unwrap().iter().any(|x| x.id == p.id));

        // Fee allowance usage adds up.
        let usage = FeeUsageWrite {
            owner: Owner::User(user(1)),
            product: qianbao_ledger::fee::FeeProduct::Withdrawal,
            period: 2026,
            amount_minor: 7,
        };
        for _ in 0..2 {
            let u = PaymentUpdate { from: "completed", fee_usage: Some(usage), ..update.clone() };
            assert_eq!(store.update_payment(u).await.unwrap(), UpdateOutcome::Updated);
        }
        let used = store.fee_usage(usage.owner, usage.product, 2026).await.unwrap();
        assert_eq!((used.count, used.amount_minor), (2, 14));

        // Risk counters are written against the version read: a stale writer changes nothing.
        let state = store.risk_state(user(1), None).await.unwrap();
        let recorded = RecordedPayment {
            user_counters: VelocityCounters::default(),
            device_counters: VelocityCounters::default(),
            history: AmountHistory::default(),
        };
        let write = RiskWrite { user: user(1), user_version: state.user.version, device: None, recorded, at: at(6) };
        let u = PaymentUpdate { from: "completed", risk: Some(write.clone()), ..update.clone() };
        assert_eq!(store.update_payment(u.clone()).await.unwrap(), UpdateOutcome::Updated);
        assert_eq!(store.update_payment(u).await.unwrap(), UpdateOutcome::RiskStale);
        assert_eq!(store.risk_state(user(1), None).await.unwrap().user.version, state.user.version + 1);
    })
    .await;
}

#[tokio::test]
async fn refund_reservations_race_and_stay_within_the_amount() {
    each("payments store: refund reservations", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 10_00, "p")).await.unwrap();
        let template = h.payments.refund(refund(7, p.id, 1_00, "r0")).await.unwrap();
        let store = h.payments.store().clone();
        let draft = |n: u128, minor: i64| {
            let mut r = template.clone();
            r.id = PaymentId::from_u128(1_000 + n);
            r.amount = cny(minor);
            r.state = PaymentState::Submitting;
            for (i, l) in r.legs.iter_mut().enumerate() {
                l.transfer_id = TransferId::from_u128(10_000 + n * 10 + i as u128);
            }
            r
        };
        let zero = cny(0);
        assert_eq!(
            store.reserve_refund(&draft(1, 1_00), zero, zero).await.unwrap(),
            ReserveOutcome::Stale,
            "totals changed"
        );
        assert_eq!(
            store.reserve_refund(&draft(1, 9_01), cny(1_00), zero).await.unwrap(),
            ReserveOutcome::Stale,
            "over the amount"
        );
        assert_eq!(store.payment(draft(1, 1).id).await.unwrap(), None, "a stale reservation writes nothing");
        // Two refunds race on the same totals: one wins.
        let (a, b) = (draft(2, 5_00), draft(3, 5_00));
        let (ra, rb) =
            tokio::join!(store.reserve_refund(&a, cny(1_00), zero), store.reserve_refund(&b, cny(1_00), zero));
        let outcomes = [ra.unwrap(), rb.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| **o == ReserveOutcome::Reserved).count(), 1, "{outcomes:?}");
        assert_eq!(store.payment(p.id).await.unwrap().unwrap().refunded, cny(6_00));
        let winner = if outcomes[0] == ReserveOutcome::Reserved { a } else { b };
        assert!(matches!(store.reserve_refund(&winner, cny(6_00), zero).await.unwrap(), ReserveOutcome::Existing(_)));
        assert_eq!(store.refunds_of(p.id).await.unwrap().len(), 2);
        // Releasing gives the reservation back, once.
        assert!(store.release_refund(&winner).await.unwrap());
        assert!(!store.release_refund(&winner).await.unwrap());
        assert_eq!(store.payment(p.id).await.unwrap().unwrap().refunded, cny(1_00));
        assert_eq!(store.payment(winner.id).await.unwrap(), None);
    })
    .await;
}

fn body(id: u128, shares: &[i64]) -> PacketBody {
    PacketBody {
        id: RedPacketId::from_u128(id),
        key: key("k"),
        sender: user(1),
        total: cny(shares.iter().sum()),
        fee: cny(0),
        mode: SplitMode::Random,
        shares: shares.iter().map(|s| cny(*s)).collect(),
        sender_may_claim: true,
        created_at: at(0),
        expires_at: at(100),
    }
}

fn claim(receiver: u128, index: u32, minor: i64, secs: u64) -> Claim {
    Claim { receiver: user(receiver), amount: cny(minor), share_index: index, claimed_at: at(secs) }
}

#[tokio::test]
async fn red_packet_shares_are_claimed_once_each_by_one_receiver_each() {
    each("payments store: red packets", |db| async move {
        let store = PaymentsDb::open(db).await.unwrap();
        let b = body(1, &[30, 70]);
        let id = b.id;
        assert_eq!(store.insert_packet(&b).await.unwrap(), Inserted::New);
        assert!(matches!(store.insert_packet(&b).await.unwrap(), Inserted::Existing(_)));
        assert_eq!(store.reserve_claim(id, &claim(2, 0, 30, 1)).await.unwrap(), ClaimOutcome::Stale, "not funded yet");
        assert!(store.mark_funded(id, None).await.unwrap());
        assert!(!store.mark_funded(id, None).await.unwrap());
        assert!(!store.delete_funding(id).await.unwrap(), "funded packets stay");
        assert_eq!(store.reserve_claim(id, &claim(2, 0, 30, 1)).await.unwrap(), ClaimOutcome::Reserved);
        let again = store.reserve_claim(id, &claim(2, 1, 70, 1)).await.unwrap();
        assert!(matches!(again, ClaimOutcome::Existing(c) if c.claim.share_index == 0), "one share per receiver");
        assert_eq!(
            store.reserve_claim(id, &claim(3, 0, 30, 1)).await.unwrap(),
            ClaimOutcome::Stale,
            "share 0 is taken"
        );
        // Two receivers race for the last share: one gets it.
        let (c3, c4) = (claim(3, 1, 70, 2), claim(4, 1, 70, 2));
        let (x, y) = tokio::join!(store.reserve_claim(id, &c3), store.reserve_claim(id, &c4));
        let outcomes = [x.unwrap(), y.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| **o == ClaimOutcome::Reserved).count(), 1, "{outcomes:?}");
        let stored = store.packet(id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.claims.len()), (PacketStatus::Exhausted, 2));
        assert!(store.settle_claim(id, 0, ClaimState::Paid).await.unwrap());
        assert!(!store.settle_claim(id, 0, ClaimState::Failed).await.unwrap(), "settled once");
        assert!(store.packets_due(at(1_000), 10).await.unwrap().is_empty(), "exhausted, nothing refused");

        // An expired packet: no claim after the deadline; the return runs once.
        let late = body(2, &[50, 50]);
        store.insert_packet(&late).await.unwrap();
        store.mark_funded(late.id, None).await.unwrap();
        assert_eq!(store.reserve_claim(late.id, &claim(2, 0, 50, 100)).await.unwrap(), ClaimOutcome::Stale);
        assert!(store.packets_due(at(99), 10).await.unwrap().is_empty());
        assert_eq!(store.packets_due(at(100), 10).await.unwrap(), [late.id]);
        assert!(!store.begin_return(late.id, at(99)).await.unwrap());
        assert!(store.begin_return(late.id, at(100)).await.unwrap());
        assert_eq!(store.packets_due(at(100), 10).await.unwrap(), [late.id], "until the return is recorded");
        assert!(store.finish_return(late.id, cny(100)).await.unwrap());
        assert!(!store.finish_return(late.id, cny(100)).await.unwrap());
        let done = store.packet(late.id).await.unwrap().unwrap();
        assert_eq!(done.status, PacketStatus::Expired { returned: cny(100) });
        // A packet whose funding was refused is forgotten.
        let refused = body(3, &[1]);
        store.insert_packet(&refused).await.unwrap();
        assert!(store.delete_funding(refused.id).await.unwrap());
        assert_eq!(store.packet(refused.id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn decisions_block_lists_and_cases_round_trip() {
    each("payments store: risk and cases", |db| async move {
        let h = harness(db, plain_config()).await;
        let store = h.payments.store().clone();
        let d = DecisionRecord {
            payment: PaymentId::from_u128(1),
            user: user(1),
            at: at(1),
            outcome: RiskOutcome::Review,
            fired: vec![],
        };
        store.record_decision(&d).await.unwrap();
        store.record_decision(&DecisionRecord { at: at(2), outcome: RiskOutcome::Allow, ..d.clone() }).await.unwrap();
        let got = store.decisions(d.payment).await.unwrap();
        assert_eq!((got.len(), got[0].clone(), got[1].outcome), (2, d, RiskOutcome::Allow));
        let payee = AccountId::from_u128(5);
        assert!(!store.payee_blocked(payee).await.unwrap());
        store.set_payee_blocked(payee, Some("fraud".into()), at(1)).await.unwrap();
        store.set_payee_blocked(payee, Some("still fraud".into()), at(2)).await.unwrap();
        assert!(store.payee_blocked(payee).await.unwrap());
        store.set_payee_blocked(payee, None, at(3)).await.unwrap();
        assert!(!store.payee_blocked(payee).await.unwrap());

        h.funded(1, 10_00).await;
        h.wallet(2).await;
        let t = h.payments.transfer(send(1, 2, 1_00, "t")).await.unwrap();
        let report =
            AbnormalReport { user: user(1), transfer: t.legs[0].transfer_id, reason: "not me".into(), key: key("c") };
        let case = h.payments.report_abnormal(report).await.unwrap();
        assert_eq!(store.case(case.id).await.unwrap(), Some(case.clone()));
        assert_eq!(store.unresolved_cases_on(case.account).await.unwrap(), 1);
        let event = CaseEvent { at: at(9), kind: "note".into(), actor: "ops".into(), detail: "{}".into() };
        assert!(!store.update_case(case.id, "resolving", &CaseState::Open, &event).await.unwrap());
        store.append_case_event(case.id, &event).await.unwrap();
        let resolved = CaseState::Resolved { resolution: Resolution::Unfrozen };
        assert!(store.update_case(case.id, "open", &resolved, &event).await.unwrap());
        assert_eq!(store.unresolved_cases_on(case.account).await.unwrap(), 0);
        assert_eq!(store.case(case.id).await.unwrap().unwrap().state, resolved);
        let kinds: Vec<_> = store.case_events(case.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["opened", "note", "note"]);
        assert_eq!(store.cases_of(user(1)).await.unwrap().len(), 1);
    })
    .await;
}
