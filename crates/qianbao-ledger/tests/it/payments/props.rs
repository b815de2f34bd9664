//! Laws of the products over random sequences of requests: money is conserved, refunds never exceed
//! their payment, fees stay within their rule, red packet shares sum to the amount, are claimed at most
//! once each, and the rest returns on expiry.

use proptest::prelude::*;
use qianbao_core::{Currency, Money};
use qianbao_ledger::bank::{BankFailure, BankScript, Settlement};
use qianbao_ledger::payments::store::PaymentsStore;
use qianbao_ledger::payments::*;
use qianbao_ledger::redpacket::{RedPacketId, SplitMode};
use qianbao_ledger::risk::{RiskAction, RiskCheck, RiskConfig, RiskConfigFields, RiskRule};
use qianbao_store::Database;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    TopUp { user: u8, minor: i64, bank: u8 },
    Withdraw { user: u8, minor: i64, bank: u8 },
    Pay { user: u8, merchant: u8, minor: i64 },
    Transfer { from: u8, to: u8, minor: i64 },
    Refund { pick: usize, minor: i64 },
    Send { user: u8, minor: i64, count: u32, random: bool },
    Claim { pick: usize, user: u8 },
    Review { pick: usize, release: bool },
    Bank { confirm: bool },
    Report { pick: usize, action: u8 },
    Advance { secs: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 1u8..=4;
    let minor = 1i64..35_000;
    prop_oneof![
        3 => (user.clone(), 1_000i64..100_000, 0u8..4).prop_map(|(user, minor, bank)| Op::TopUp { user, minor, bank }),
        1 => (user.clone(), minor.clone(), 0u8..4).prop_map(|(user, minor, bank)| Op::Withdraw { user, minor, bank }),
        3 => (user.clone(), 7u8..=8, minor.clone()).prop_map(|(user, merchant, minor)| Op::Pay { user, merchant, minor }),
        2 => (user.clone(), user.clone(), minor.clone()).prop_map(|(from, to, minor)| Op::Transfer { from, to, minor }),
        2 => (any::<usize>(), minor.clone()).prop_map(|(pick, minor)| Op::Refund { pick, minor }),
        1 => (user.clone(), 1i64..5_000, 1u32..5, any::<bool>())
            .prop_map(|(user, minor, count, random)| Op::Send { user, minor, count, random }),
        2 => (any::<usize>(), user.clone()).prop_map(|(pick, user)| Op::Claim { pick, user }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, release)| Op::Review { pick, release }),
        1 => any::<bool>().prop_map(|confirm| Op::Bank { confirm }),
        1 => (any::<usize>(), 0u8..4).prop_map(|(pick, action)| Op::Report { pick, action }),
        1 => (1u32..50_000).prop_map(|secs| Op::Advance { secs }),
    ]
}

/// Fees on every product, and a review of payments above 300.00 that holds for an hour.
fn config() -> PaymentsConfig {
    let fees = fee_config().currencies[0].fees.clone();
    let rules = vec![RiskRule::new("big", RiskAction::Review, RiskCheck::AmountAbove { max_minor: 300_00 })];
    let risk = RiskConfig::new(RiskConfigFields {
        currency: Currency::CNY,
        utc_offset_secs: 8 * 3_600,
        history: Default::default(),
        rules,
    })
    .unwrap();
    plain_config().with_currency(CurrencySetup { fees, risk }).with_review_hold_secs(3_600)
}

#[derive(Default)]
struct Seen {
    payments: Vec<PaymentId>,
    packets: Vec<RedPacketId>,
    n: u32,
}

fn script(bank: u8) -> BankScript {
    match bank {
        0 => BankScript::Confirm,
        1 => BankScript::Fail(BankFailure::CardInvalid),
        2 => BankScript::StayPending,
        _ => BankScript::Unavailable,
    }
}

/// Errors a request may end with; anything else (corruption, storage, contention) fails the law.
fn expected(r: Result<(), PaymentError>) {
    if let Err(e) = r {
        assert!(
            !matches!(
                e,
                PaymentError::Corrupt(_)
                    | PaymentError::Store(_)
                    | PaymentError::Ledger(_)
                    | PaymentError::Contended { .. }
            ),
            "unexpected failure: {e:?}"
        );
    }
}

fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()])
}

async fn apply(h: &Harness, seen: &mut Seen, op: Op) {
    seen.n += 1;
    let k = format!("k{}", seen.n);
    let p = &h.payments;
    let r: Result<(), PaymentError> = match op {
        Op::TopUp { user: u, minor, bank } => {
            h.bank.push(script(bank));
            p.top_up(top_up(u128::from(u), minor, &k)).await.map(|_| ())
        }
        Op::Withdraw { user: u, minor, bank } => {
            h.bank.push(script(bank));
            p.withdraw(top_up(u128::from(u), minor, &k)).await.map(|_| ())
        }
        Op::Pay { user: u, merchant, minor } => {
            let shop = h.merchant(u128::from(merchant)).await;
            p.pay_merchant(pay(u128::from(u), shop, minor, &k)).await.map(|x| seen.payments.push(x.id))
        }
        Op::Transfer { from, to, minor } => {
            p.transfer(send(u128::from(from), u128::from(to), minor, &k)).await.map(|x| seen.payments.push(x.id))
        }
        Op::Refund { pick: i, minor } => match pick(&seen.payments, i) {
            Some(id) => {
                let payee = p.payment(id).await.unwrap().payee;
                let Owner::Merchant(m) = payee else { return };
                p.refund(RefundRequest { merchant: m, payment: id, amount: cny(minor), key: key(&k) }).await.map(|_| ())
            }
            None => Ok(()),
        },
        Op::Send { user: u, minor, count, random } => {
            let mode = if random { SplitMode::Random } else { SplitMode::Equal };
            let request = SendRedPacket { sender: user(u128::from(u)), total: cny(minor), count, mode, key: key(&k) };
            p.send_red_packet(request).await.map(|x| seen.packets.push(x.id))
        }
        Op::Claim { pick: i, user: u } => match pick(&seen.packets, i) {
            Some(id) => p.claim_red_packet(id, user(u128::from(u))).await.map(|_| ()),
            None => Ok(()),
        },
        Op::Review { pick: i, release } => match pick(&seen.payments, i) {
            Some(id) if release => p.release_review(id).await.map(|_| ()),
            Some(id) => p.reject_review(id, "no").await.map(|_| ()),
            None => Ok(()),
        },
        Op::Bank { confirm } => {
            for held in p.store().payments_in_state("held_bank", 100).await.unwrap() {
                let outcome = if confirm { Settlement::Confirm } else { Settlement::Fail(BankFailure::LimitExceeded) };
                let _ = h.bank.settle(held.legs[0].transfer_id, outcome);
            }
            p.reconcile_bank(100).await.map(|_| ())
        }
        Op::Report { pick: i, action } => match pick(&seen.payments, i) {
            Some(id) => report_and_resolve(h, id, action, &k).await,
            None => Ok(()),
        },
        Op::Advance { secs } => {
            h.advance(u64::from(secs));
            let now = qianbao_core::Clock::now(h.clock.as_ref());
            let expired = p.expire_red_packets(now, 100).await.map(|_| ());
            expected(p.expire_holds().await.map(|_| ()));
            expired
        }
    };
    expected(r);
}

async fn report_and_resolve(h: &Harness, id: PaymentId, action: u8, k: &str) -> Result<(), PaymentError> {
    let payment = h.payments.payment(id).await?;
    let Owner::User(payer) = payment.payer else { return Ok(()) };
    let report =
        AbnormalReport { user: payer, transfer: payment.legs[0].transfer_id, reason: "odd".into(), key: key(k) };
    let case = h.payments.report_abnormal(report).await?;
    let action = match action {
        0 => CaseAction::Reverse { source: ReversalSource::Counterparty },
        1 => CaseAction::Reverse { source: ReversalSource::Suspense },
        2 => CaseAction::Refund,
        _ => CaseAction::Unfreeze,
    };
    let resolved = h.payments.resolve_case(case.id, action, "ops").await;
    if resolved.is_err() {
        // Leave no wallet frozen for the rest of the run.
        h.payments.resolve_case(case.id, CaseAction::Unfreeze, "ops").await?;
    }
    resolved.map(|_| ())
}

/// Refunds (and reversals) never exceed the payment, and the stored totals are their sum; fees are
/// within their rule.
async fn check_payments(h: &Harness, seen: &Seen) {
    for id in &seen.payments {
        let p = h.payments.payment(*id).await.unwrap();
        assert!(p.refunded.minor() <= p.amount.minor() && p.fee_refunded.minor() <= p.fee.minor(), "{p:?}");
        let refunds = h.payments.refunds(*id).await.unwrap();
        let sum: i64 = refunds.iter().map(|r| r.amount.minor()).sum();
        let fee_sum: i64 = refunds.iter().map(|r| r.fee.minor()).sum();
        assert_eq!((sum, fee_sum), (p.refunded.minor(), p.fee_refunded.minor()), "totals are the refunds' sum");
        assert!(refunds.iter().all(|r| r.state == PaymentState::Completed));
        assert!(p.fee.minor() >= 0);
        if p.kind == PaymentKind::Transfer {
            assert!(p.fee.minor() <= 500, "the transfer fee's maximum is 5.00");
        }
        assert_eq!(
            p.legs
                .iter()
                .filter(|l| l.code == qianbao_ledger::TransferCode::FEE)
                .map(|l| l.amount.minor())
                .sum::<i64>(),
            p.fee.minor()
        );
    }
}

/// Shares sum to the amount, each at least 0.01, one per receiver; after expiry the claims and the
/// returned rest make the amount and escrow is empty.
async fn check_packets(h: &Harness, seen: &Seen, expired: bool) {
    for id in &seen.packets {
        let v = h.payments.red_packet(*id).await.unwrap();
        let claimed: i64 = v.claims.iter().map(|c| c.amount.minor()).sum();
        assert!(v.claims.iter().all(|c| c.amount.minor() >= 1));
        let mut receivers: Vec<_> = v.claims.iter().map(|c| c.receiver).collect();
        receivers.sort();
        receivers.dedup();
        assert_eq!(receivers.len(), v.claims.len(), "claimed at most once per receiver");
        match v.status {
            PacketStatus::Expired { returned } => assert_eq!(claimed + returned.minor(), v.total.minor()),
            PacketStatus::Exhausted => assert_eq!(claimed, v.total.minor()),
            status => assert!(!expired && claimed < v.total.minor(), "{status:?} after expiry"),
        }
    }
    if expired {
        let escrow = h.account(h.system(AccountKind::RedPacketEscrow)).await.balance();
        assert_eq!(escrow.credit_balance(), Some(0), "escrow is empty once every packet is done");
    }
}

async fn run(ops: Vec<Op>) {
    let h = harness(Database::open_in_memory().unwrap(), config()).await;
    for n in 1..=4 {
        h.funded(n, 1_000_00).await;
    }
    let mut seen = Seen::default();
    for op in ops {
        apply(&h, &mut seen, op).await;
        h.assert_conserved().await;
    }
    check_payments(&h, &seen).await;
    check_packets(&h, &seen, false).await;
    h.advance(2 * 86_400);
    let now = qianbao_core::Clock::now(h.clock.as_ref());
    h.payments.expire_red_packets(now, 1_000).await.unwrap();
    h.payments.expire_holds().await.unwrap();
    check_packets(&h, &seen, true).await;
    h.assert_conserved().await;
    let _ = Money::zero(Currency::CNY);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_product_conserves_money_and_keeps_its_limits(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
