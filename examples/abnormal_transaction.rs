//! An abnormal transaction (异常交易): 王小明 finds a payment of 40.00 CNY he does not recognise and
//! reports it. The report opens a case and freezes his wallet's debits at once (he is told so), so
//! whoever made the payment cannot spend more: his next payment is refused and nothing moves. A risk
//! operator reviews the case and resolves it by reversing the payment from the merchant; the money comes
//! back and his wallet can pay again.
//!
//! Run it with `cargo run -p qianbao-examples --example abnormal_transaction`.

mod common;

use qianbao::core::Destination;
use qianbao::qianbao_ledger::PaymentError;
use qianbao::qianbao_ledger::payments::{CaseAction, CaseState, MerchantId, ReversalSource};
use qianbao::{PayMerchant, WalletError};

use common::*;

#[tokio::main]
async fn main() -> Result<()> {
    let demo = Demo::new().await?;
    println!("1. a wallet on {}", demo.dir.path().join("wallet.sqlite").display());
    let wang = demo.member(WANG).await?;
    demo.top_up(&wang, "100.00", "top-up-1").await?;
    let shop = demo.wallet.operator("merchant-desk").open_merchant(MerchantId::from_u128(404)).await?;
    let pay = |amount: &str, key: &str| -> Result<PayMerchant> {
        Ok(PayMerchant { merchant_account: shop, amount: cny(amount)?, order_ref: None, key: idem(key)? })
    };

    // A payment he does not recognise (made with his phone and payment password by someone else).
    let odd = demo.wallet.pay_merchant(&wang.caller, pay("40.00", "odd-1")?, &by_password()?).await?;
    println!("2. a payment of {} to an unknown shop appears in the history", odd.amount);

    // He reports the transfer behind it: a case opens and the wallet's debits are frozen.
    let transfer = odd.legs.first().ok_or("a payment has a transfer")?.transfer_id;
    let case = demo
        .wallet
        .report_abnormal_transaction(&wang.caller, transfer, "I did not make this payment", idem("report-1")?)
        .await?;
    println!("3. {} reported it: case {} is {:?}", WANG.name, case.id, case.state);
    let notice = demo.outbox.last_body_to(&Destination::User(wang.user)).unwrap_or_default();
    println!("   the in-app notice says: {notice}");

    let attempt = demo.wallet.pay_merchant(&wang.caller, pay("1.00", "after-1")?, &by_password()?).await;
    let e = refused("a payment while the case is open", attempt)?;
    check(matches!(e, WalletError::Payment(PaymentError::AccountFrozen { .. })), "debits are frozen")?;
    check(demo.balance(&wang).await? == cny("60.00")?, "nothing moved")?;

    // A risk operator looks at the case and reverses the payment from the merchant.
    let ops = demo.wallet.operator("risk-officer-7");
    println!("4. the operator sees {} open case(s) for this user", ops.cases_of(wang.user).await?.len());
    let resolved = ops.resolve_case(case.id, CaseAction::Reverse { source: ReversalSource::Counterparty }).await?;
    check(matches!(resolved.state, CaseState::Resolved { .. }), "the case is resolved")?;
    println!("   resolved by reversing the payment: {:?}", resolved.state);
    for event in ops.case_events(case.id).await? {
        println!("     {} {:<15} {}", event.at, event.actor, event.kind);
    }
    let balance = demo.balance(&wang).await?;
    println!("5. the 40.00 CNY came back: {} has {balance}", WANG.name);
    check(balance == cny("100.00")?, "the money is back")?;

    // Debits are allowed again.
    let p = demo.wallet.pay_merchant(&wang.caller, pay("1.00", "after-2")?, &by_password()?).await?;
    println!("6. the wallet pays again: {} ({:?})", p.amount, p.state);
    println!("done");
    Ok(())
}
