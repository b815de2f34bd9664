//! Crash safety: a ledger call that fails before or after it applied leaves a record a retry (or
//! `recover`) finishes, with money moved exactly once and never more refunded than paid.

use std::sync::{Arc, Mutex};

use qianbao_core::{AccountId, ManualClock, Timestamp, TransferId};
use qianbao_ledger::payments::*;
use qianbao_ledger::redpacket::SplitMode;
use qianbao_ledger::{
    Account, CreateAccountResult, CreateTransferResult, DebitLimit, LedgerError, NewAccount, NewTransfer, Transfer,
};
use qianbao_store::{Database, ErrorKind, StoreError};

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// The next `create_transfers` fails without reaching the ledger.
    Before,
    /// The next `create_transfers` is applied, then the answer is lost.
    After,
}

/// A ledger whose next transfer call fails, as a crash or a lost connection would.
#[derive(Debug, Clone)]
struct Flaky<L> {
    inner: L,
    next: Arc<Mutex<Option<Fail>>>,
}

impl<L> Flaky<L> {
    fn fail_next(&self, f: Fail) {
        *self.next.lock().unwrap() = Some(f);
    }
}

fn lost() -> LedgerError {
    LedgerError::Store(StoreError::new(ErrorKind::Unavailable, "connection lost"))
}

impl<L: LedgerPort> LedgerPort for Flaky<L> {
    async fn create_accounts(&self, accounts: &[NewAccount]) -> Result<Vec<CreateAccountResult>, LedgerError> {
        self.inner.create_accounts(accounts).await
    }

    async fn create_transfers(&self, transfers: &[NewTransfer]) -> Result<Vec<CreateTransferResult>, LedgerError> {
        let fail = self.next.lock().unwrap().take();
        match fail {
            Some(Fail::Before) => Err(lost()),
            Some(Fail::After) => {
                self.inner.create_transfers(transfers).await?;
                Err(lost())
            }
            None => self.inner.create_transfers(transfers).await,
        }
    }

    async fn lookup_accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, LedgerError> {
        self.inner.lookup_accounts(ids).await
    }

    async fn lookup_transfers(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, LedgerError> {
        self.inner.lookup_transfers(ids).await
    }

    async fn set_frozen(&self, id: AccountId, frozen: bool) -> Result<(), LedgerError> {
        self.inner.set_frozen(id, frozen).await
    }

    async fn set_debit_limits(&self, id: AccountId, limits: Vec<DebitLimit>) -> Result<(), LedgerError> {
        self.inner.set_debit_limits(id, limits).await
    }

    async fn expire_pending(&self) -> Result<Vec<TransferId>, LedgerError> {
        self.inner.expire_pending().await
    }
}

async fn flaky(db: Database, config: PaymentsConfig) -> Harness<Flaky<TestLedger>> {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(START)));
    let inner = ledger_for(&db, clock.clone()).await;
    let ledger = Flaky { inner, next: Arc::new(Mutex::new(None)) };
    harness_on(ledger, db, config, clock).await
}

#[tokio::test]
async fn payments_converge_after_a_lost_answer_or_a_crash() {
    each("payments: recovery of payments", |db| async move {
        let h = flaky(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        let shop = h.merchant(7).await;
        let before = h.balance(1).await;
        // Applied, answer lost: the retry gets `exists` and completes it.
        h.payments.ledger().fail_next(Fail::After);
        let lost = h.payments.pay_merchant(pay(1, shop, 100_00, "p1")).await;
        assert!(matches!(lost, Err(PaymentError::Ledger(_))), "{lost:?}");
        assert_eq!(h.balance(1).await, before - 100_00, "the ledger applied it");
        let p = h.payments.pay_merchant(pay(1, shop, 100_00, "p1")).await.unwrap();
        assert_eq!(p.state, PaymentState::Completed);
        assert_eq!(h.balance(1).await, before - 100_00, "and only once");

        // Never reached the ledger: `recover` finishes it without the client.
        h.payments.ledger().fail_next(Fail::Before);
        assert!(h.payments.pay_merchant(pay(1, shop, 10_00, "p2")).await.is_err());
        let recovered = h.payments.recover(10).await.unwrap();
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].as_ref().unwrap().state, PaymentState::Completed);
        assert_eq!(h.balance(1).await, before - 110_00);
        assert!(h.payments.recover(10).await.unwrap().is_empty());

        // A top-up whose hold was applied but not acknowledged: the retry asks the bank once.
        h.payments.ledger().fail_next(Fail::After);
        assert!(h.payments.top_up(top_up(1, 50_00, "t1")).await.is_err());
        let movements = h.bank.movement_count();
        let t = h.payments.top_up(top_up(1, 50_00, "t1")).await.unwrap();
        assert_eq!(t.state, PaymentState::Completed);
        assert_eq!(h.bank.movement_count(), movements + 1);
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn an_interrupted_refund_never_lets_more_be_refunded() {
    each("payments: recovery of refunds", |db| async move {
        let h = flaky(db, fee_config()).await;
        h.funded(1, 1_000_00).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 50_00, "p")).await.unwrap();
        let before = h.balance(1).await;
        // The refund's reservation is written, its transfers never reach the ledger.
        h.payments.ledger().fail_next(Fail::Before);
        assert!(h.payments.refund(refund(7, p.id, 40_00, "r1")).await.is_err());
        assert_eq!(h.payments.payment(p.id).await.unwrap().refunded, cny(40_00), "reserved");
        let over = h.payments.refund(refund(7, p.id, 20_00, "r2")).await;
        assert!(matches!(over, Err(PaymentError::RefundExceedsPayment { .. })), "{over:?}");
        assert_eq!(h.balance(1).await, before, "nothing moved yet");
        // The merchant's retry finishes it: 40.00 moves once.
        let r = h.payments.refund(refund(7, p.id, 40_00, "r1")).await.unwrap();
        assert_eq!(r.state, PaymentState::Completed);
        assert_eq!(h.balance(1).await, before + 40_00);

        // Applied, answer lost; recovery completes it.
        h.payments.ledger().fail_next(Fail::After);
        assert!(h.payments.refund(refund(7, p.id, 10_00, "r3")).await.is_err());
        h.payments.recover(10).await.unwrap();
        let stored = h.payments.payment(p.id).await.unwrap();
        assert_eq!((stored.refunded, stored.fee_refunded), (cny(50_00), p.fee));
        assert_eq!(h.balance(1).await, before + 50_00);
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn red_packets_and_cases_converge_on_retry() {
    each("payments: recovery of red packets and cases", |db| async move {
        let h = flaky(db, plain_config()).await;
        h.funded(1, 100_00).await;
        h.wallet(2).await;
        h.wallet(3).await;
        let request =
            SendRedPacket { sender: user(1), total: cny(4_00), count: 2, mode: SplitMode::Random, key: key("rp") };
        h.payments.ledger().fail_next(Fail::After);
        assert!(h.payments.send_red_packet(request.clone()).await.is_err());
        let p = h.payments.send_red_packet(request).await.unwrap();
        assert_eq!((p.status, h.balance(1).await), (PacketStatus::Open, 96_00));

        // A claim whose share moved but was not acknowledged: the share stays the receiver's, the
        // retry records it paid, and nobody else gets it.
        h.payments.ledger().fail_next(Fail::After);
        assert!(h.payments.claim_red_packet(p.id, user(2)).await.is_err());
        let c = h.payments.claim_red_packet(p.id, user(2)).await.unwrap();
        assert_eq!(c.share_index, 0);
        assert_eq!(h.balance(2).await, i128::from(c.amount.minor()));
        let other = h.payments.claim_red_packet(p.id, user(3)).await.unwrap();
        assert_eq!(other.share_index, 1);
        assert_eq!(c.amount.minor() + other.amount.minor(), 4_00);

        // A case resolution interrupted after the reversal moved: the retry finishes it.
        let t = h.payments.transfer(send(1, 2, 10_00, "t")).await.unwrap();
        let case = h
            .payments
            .report_abnormal(AbnormalReport {
                user: user(1),
                transfer: t.legs[0].transfer_id,
                reason: "not me".into(),
                key: key("c"),
            })
            .await
            .unwrap();
        h.payments.ledger().fail_next(Fail::After);
        let action = CaseAction::Reverse { source: ReversalSource::Counterparty };
        assert!(h.payments.resolve_case(case.id, action, "ops").await.is_err());
        let before = h.balance(1).await;
        let done = h.payments.resolve_case(case.id, action, "ops").await.unwrap();
        assert!(matches!(done.state, CaseState::Resolved { .. }));
        assert_eq!(h.balance(1).await, before, "the reversal had already moved, once");
        h.assert_conserved().await;
    })
    .await;
}
