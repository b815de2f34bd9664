//! Red packets (红包): 王小明 sends a "lucky" packet of 88.88 CNY split at random into four shares. Two
//! friends open it and each gets a random share; a friend who tries to open it again is refused. Nobody
//! else opens it, and a day later (the demo moves the clock instead of waiting) the wallet's sweeper
//! expires the packet and returns what was left to the sender. The money adds up at every step.
//!
//! Run it with `cargo run -p qianbao-examples --example red_packet`.

mod common;

use qianbao::NewRedPacket;
use qianbao::WalletError;
use qianbao::core::Money;
use qianbao::qianbao_ledger::PaymentError;
use qianbao::qianbao_ledger::payments::PacketStatus;
use qianbao::qianbao_ledger::redpacket::SplitMode;

use common::*;

#[tokio::main]
async fn main() -> Result<()> {
    let demo = Demo::new().await?;
    println!("1. a wallet on {}", demo.dir.path().join("wallet.sqlite").display());
    let wang = demo.member(WANG).await?;
    let li = demo.member(LI).await?;
    let zhang = demo.member(ZHANG).await?;
    demo.top_up(&wang, "200.00", "top-up-1").await?;

    let request = NewRedPacket { total: cny("88.88")?, count: 4, mode: SplitMode::Random, key: idem("packet-1")? };
    let packet = demo.wallet.send_red_packet(&wang.caller, request, &by_password()?).await?;
    println!(
        "2. {} sent a lucky red packet of {} in {} shares (fee {})",
        WANG.name, packet.total, packet.count, packet.fee
    );
    let after_sending = demo.balance(&wang).await?;

    let mut claimed = Money::zero(packet.total.currency());
    for friend in [&li, &zhang] {
        let claim = demo.wallet.claim_red_packet(&friend.caller, packet.id).await?;
        println!("3. {} opened it and got {} (share #{})", friend.person.name, claim.amount, claim.share_index + 1);
        claimed = claimed.checked_add(claim.amount)?;
    }
    let e = refused("李四 opening the same packet again", demo.wallet.claim_red_packet(&li.caller, packet.id).await)?;
    check(matches!(e, WalletError::Payment(PaymentError::RedPacket(_))), "a red-packet refusal")?;

    // A day and an hour later: the packet expires and the rest goes back. Sessions have expired too, so
    // everyone logs in again.
    demo.advance(25 * 3600);
    let swept = demo.wallet.operator("sweeper").expire_red_packets(100).await?;
    let Some(PacketStatus::Expired { returned }) = swept.first().map(|p| p.status) else {
        return Err("the packet should have expired".into());
    };
    println!("4. a day later the sweeper expired the packet and returned {returned} to {}", WANG.name);
    let wang = Member { caller: demo.login(&WANG).await?, ..wang };
    let view = demo.wallet.red_packet(&wang.caller, packet.id).await?;
    println!("   the packet now: {} of {} shares claimed, {:?}", view.claims.len(), view.count, view.status);

    let end = demo.balance(&wang).await?;
    println!("5. {} had {after_sending} after sending and has {end} now", WANG.name);
    check(claimed.checked_add(returned)? == packet.total, "claimed + returned = the packet's total")?;
    check(after_sending.checked_add(returned)? == end, "the rest came back to the sender")?;
    println!("done: claimed {claimed} + returned {returned} = {}", packet.total);
    Ok(())
}
