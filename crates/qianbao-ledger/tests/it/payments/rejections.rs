//! Every product's rejections — insufficient funds, frozen, limit reached, expired packet, duplicate
//! claim, refund over the amount — leave the ledger and the payments store as they were.

use qianbao_core::Currency;
use qianbao_ledger::payments::*;
use qianbao_ledger::redpacket::{RedPacketError, SplitMode};
use qianbao_ledger::{DebitLimit, LimitWindow, TransferCode};

use super::*;

/// Asserts that `attempt` fails as `expected` says and changes nothing.
macro_rules! refused {
    ($h:expr, $attempt:expr, $pattern:pat) => {{
        let before = $h.snapshot().await;
        let result = $attempt.await;
        assert!(matches!(result, Err($pattern)), "expected {}, got {result:?}", stringify!($pattern));
        assert_eq!($h.snapshot().await, before, "a refusal changes nothing");
    }};
}

fn packet(sender: u128, minor: i64, count: u32, k: &str) -> SendRedPacket {
    SendRedPacket { sender: user(sender), total: cny(minor), count, mode: SplitMode::Random, key: key(k) }
}

#[tokio::test]
async fn insufficient_funds_are_refused_by_every_product() {
    each("payments: insufficient funds", |db| async move {
        let h = harness(db, fee_config()).await;
        h.funded(1, 100_00).await; // 99.50 after the top-up fee
        h.wallet(2).await;
        let shop = h.merchant(7).await;
        refused!(h, h.payments.pay_merchant(pay(1, shop, 100_00, "a")), PaymentError::InsufficientFunds { .. });
        // 99.00 + 1 % fee = 99.99 > 99.50: the fee leg fails the chain, the principal does not move.
        refused!(h, h.payments.transfer(send(1, 2, 99_00, "b")), PaymentError::InsufficientFunds { .. });
        refused!(h, h.payments.withdraw(top_up(1, 99_51, "c")), PaymentError::InsufficientFunds { .. });
        refused!(h, h.payments.send_red_packet(packet(1, 99_00, 2, "d")), PaymentError::InsufficientFunds { .. });
        // The refused request stays refused for its key; a new key works once there is money.
        h.funded(1, 200_00).await;
        refused!(h, h.payments.pay_merchant(pay(1, shop, 100_00, "a")), PaymentError::AlreadyFailed);
        assert!(h.payments.pay_merchant(pay(1, shop, 100_00, "a2")).await.is_ok());
        h.assert_conserved().await;
    })
    .await;
}

#[tokio::test]
async fn a_frozen_wallet_cannot_pay() {
    each("payments: frozen", |db| async move {
        let h = harness(db, plain_config()).await;
        let wallet = h.funded(1, 100_00).await;
        h.wallet(2).await;
        let shop = h.merchant(7).await;
        h.payments.ledger().set_frozen(wallet, true).await.unwrap();
        refused!(h, h.payments.pay_merchant(pay(1, shop, 1_00, "a")), PaymentError::AccountFrozen { .. });
        refused!(h, h.payments.transfer(send(1, 2, 1_00, "b")), PaymentError::AccountFrozen { .. });
        refused!(h, h.payments.withdraw(top_up(1, 1_00, "c")), PaymentError::AccountFrozen { .. });
        refused!(h, h.payments.send_red_packet(packet(1, 1_00, 1, "d")), PaymentError::AccountFrozen { .. });
        // Money still comes in.
        h.funded(2, 5_00).await;
        h.payments.transfer(send(2, 1, 1_00, "in")).await.unwrap();
        h.funded(1, 1_00).await;
        assert_eq!(h.balance(1).await, 102_00);
    })
    .await;
}

#[tokio::test]
async fn a_debit_limit_caps_payments_transfers_and_withdrawals() {
    each("payments: limit reached", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 1_000_00).await;
        h.wallet(2).await;
        let shop = h.merchant(7).await;
        let codes =
            vec![TransferCode::PAYMENT, TransferCode::TRANSFER, TransferCode::WITHDRAWAL, TransferCode::RED_PACKET];
        let cap = DebitLimit { slot: 0, window: LimitWindow::Day, codes, amount_max: 50_00 };
        h.payments.set_wallet_limits(user(1), Currency::CNY, vec![cap]).await.unwrap();
        assert!(h.payments.pay_merchant(pay(1, shop, 30_00, "ok")).await.is_ok());
        refused!(h, h.payments.pay_merchant(pay(1, shop, 20_01, "a")), PaymentError::LimitReached { .. });
        refused!(h, h.payments.transfer(send(1, 2, 20_01, "b")), PaymentError::LimitReached { .. });
        refused!(h, h.payments.withdraw(top_up(1, 20_01, "c")), PaymentError::LimitReached { .. });
        refused!(h, h.payments.send_red_packet(packet(1, 20_01, 1, "d")), PaymentError::LimitReached { .. });
        assert!(h.payments.transfer(send(1, 2, 20_00, "e")).await.is_ok(), "up to the cap");
        // The next day the window rolls over.
        h.advance(86_400);
        assert!(h.payments.pay_merchant(pay(1, shop, 20_01, "f")).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn red_packet_refusals_change_nothing() {
    each("payments: red packet refusals", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        for n in 2..=4 {
            h.wallet(n).await;
        }
        let p = h.payments.send_red_packet(packet(1, 3_00, 2, "rp")).await.unwrap();
        h.payments.claim_red_packet(p.id, user(2)).await.unwrap();
        let view = h.payments.red_packet(p.id).await.unwrap();
        refused!(
            h,
            h.payments.claim_red_packet(p.id, user(2)),
            PaymentError::RedPacket(RedPacketError::AlreadyClaimed { .. })
        );
        refused!(h, h.payments.claim_red_packet(p.id, user(99)), PaymentError::NoWallet { .. });
        refused!(
            h,
            h.payments.send_red_packet(packet(1, 1, 2, "small")),
            PaymentError::RedPacket(RedPacketError::TooSmall { .. })
        );
        refused!(
            h,
            h.payments.send_red_packet(packet(1, 1_00, 0, "none")),
            PaymentError::RedPacket(RedPacketError::CountOutOfRange { .. })
        );
        assert_eq!(h.payments.red_packet(p.id).await.unwrap(), view);
        h.advance(86_400);
        refused!(
            h,
            h.payments.claim_red_packet(p.id, user(3)),
            PaymentError::RedPacket(RedPacketError::Expired { .. })
        );
        assert_eq!(h.payments.red_packet(p.id).await.unwrap(), view, "an expired claim changes nothing");
        let unknown = qianbao_ledger::redpacket::RedPacketId::from_u128(5);
        refused!(h, h.payments.claim_red_packet(unknown, user(3)), PaymentError::RedPacketNotFound(_));
    })
    .await;
}

#[tokio::test]
async fn refunds_over_the_amount_and_of_unfinished_payments_are_refused() {
    each("payments: refund refusals", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        h.wallet(2).await;
        let shop = h.merchant(7).await;
        let p = h.payments.pay_merchant(pay(1, shop, 50_00, "p")).await.unwrap();
        h.payments.refund(refund(7, p.id, 20_00, "r1")).await.unwrap();
        refused!(h, h.payments.refund(refund(7, p.id, 30_01, "r2")), PaymentError::RefundExceedsPayment { .. });
        refused!(h, h.payments.refund(refund(7, p.id, 0, "r3")), PaymentError::InvalidRequest(_));
        let t = h.payments.transfer(send(1, 2, 1_00, "t")).await.unwrap();
        refused!(h, h.payments.refund(refund(7, t.id, 1_00, "r4")), PaymentError::NotPayee(_));
        let unknown = PaymentId::from_u128(5);
        refused!(h, h.payments.refund(refund(7, unknown, 1_00, "r5")), PaymentError::PaymentNotFound(_));
        // The same key for another refund is a conflict.
        refused!(h, h.payments.refund(refund(7, p.id, 5_00, "r1")), PaymentError::IdempotencyConflict(_));
    })
    .await;
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_recorded() {
    each("payments: bad requests", |db| async move {
        let h = harness(db, plain_config()).await;
        h.funded(1, 100_00).await;
        let shop = h.merchant(7).await;
        refused!(h, h.payments.pay_merchant(pay(1, shop, -1, "a")), PaymentError::InvalidRequest(_));
        refused!(h, h.payments.pay_merchant(pay(1, h.wallet(1).await, 1, "b")), PaymentError::UnknownMerchant(_));
        refused!(h, h.payments.top_up(top_up(5, 1_00, "c")), PaymentError::NoWallet { .. });
        let mut usd = pay(1, shop, 1_00, "d");
        usd.amount = Money::from_minor(100, Currency::USD);
        refused!(h, h.payments.pay_merchant(usd), PaymentError::UnknownMerchant(_));
        assert!(IdempotencyKey::new("has space").is_err());
    })
    .await;
}
