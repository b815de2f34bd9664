//! Quickstart: a wallet on an embedded SQLite file, end to end. Two people register with their phone
//! numbers and confirm the SMS code, verify their real names with a bank card, and set a payment
//! password; the first tops up from the card, pays a noodle shop and transfers money to the second; then
//! both look at their history.
//!
//! The outside world is played by test doubles: `FakeBank` answers the bank-card checks, `ScriptedBank`
//! moves money between cards and wallets, and the SMS codes are read back from the wallet's in-memory
//! outbox (a real service gives the wallet a `Notifier` that sends them). Run it with
//! `cargo run --example quickstart`.

use std::sync::Arc;

use qianbao::core::{Currency, DeviceId, Money, PhoneNumber};
use qianbao::qianbao_identity::testing::FakeBank;
use qianbao::qianbao_identity::{
    BankCardNumber, BankCardRequest, ContactValue, Password, PaymentPassword, RealName, ReviewDecision,
};
use qianbao::qianbao_ledger::ScriptedBank;
use qianbao::qianbao_ledger::payments::{IdempotencyKey, MerchantId};
use qianbao::qianbao_token::DeviceInfo;
use qianbao::{
    Authorization, Caller, CardMovement, CodeAnswer, LoginOutcome, LoginRequest, PayMerchant, RegisterRequest,
    TransferTo, Wallet, WalletKeys, testing,
};

/// Someone the fake bank knows: name, phone, card number (Luhn-valid test numbers).
struct Person {
    name: &'static str,
    phone: &'static str,
    card: &'static str,
}

const WANG: Person = Person { name: "王小明", phone: "13812345678", card: "6222021234567890128" };
const LI: Person = Person { name: "李四", phone: "13987654321", card: "6222028765432109908" };

fn cny(amount: &str) -> Result<Money, Box<dyn std::error::Error>> {
    Ok(Money::parse(amount, Currency::CNY)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("wallet.sqlite");
    // README: begin (README.md shows the lines down to "README: end"; a test keeps them identical)
    // A real service loads its master secret from a secret manager; a fixed one is fine for a demo.
    let keys = WalletKeys::from_master_secret(b"quickstart demo master secret, not for production")?;
    // The bank-card checks of real-name verification (a test double; production plugs in a provider).
    let checks = FakeBank::new().with_card(WANG.card, WANG.name, WANG.phone, None, "ICBC");
    let checks = checks.with_card(LI.card, LI.name, LI.phone, None, "ABC");
    let wallet = Wallet::builder()
        .sqlite(&path)
        .keys(keys)
        .bank_verifier(Arc::new(checks))
        .bank_adapter(Arc::new(ScriptedBank::new()))
        .build()
        .await?;
    println!("1. opened a {} wallet database at {}", wallet.backend(), path.display());

    let (wang, card) = onboard(&wallet, &WANG, 1).await?;
    let (li, _) = onboard(&wallet, &LI, 2).await?;
    let pay = Authorization::password(PaymentPassword::parse("815926")?);

    // Money in from the bound bank card.
    let top_up = CardMovement { card, amount: cny("500.00")?, key: IdempotencyKey::new("top-up-1")? };
    let p = wallet.top_up(&wang, top_up, &pay).await?;
    println!("5. {} topped up {} from the bank card ({:?})", WANG.name, p.amount, p.state);

    // An operator opens a merchant; the user pays it with the payment password.
    let shop = wallet.operator("merchant-desk").open_merchant(MerchantId::from_u128(7)).await?;
    let order = PayMerchant {
        merchant_account: shop,
        amount: cny("38.50")?,
        order_ref: Some("NOODLES-0042".into()),
        key: IdempotencyKey::new("lunch-1")?,
    };
    let p = wallet.pay_merchant(&wang, order, &pay).await?;
    println!("6. {} paid the noodle shop {} for order {:?}", WANG.name, p.amount, p.order_ref.as_deref().unwrap_or(""));

    // A transfer to a friend, who must have a verified real name too.
    let friend = wallet.profile(&li).await?.id;
    let gift = TransferTo { to: friend, amount: cny("100.00")?, key: IdempotencyKey::new("gift-1")? };
    wallet.transfer(&wang, gift, &pay).await?;
    println!("7. {} transferred 100.00 CNY to {}", WANG.name, LI.name);

    println!("8. history of {}, newest first:", WANG.name);
    for p in wallet.payment_history(&wang, 20).await? {
        println!("     {:<16} {:>12}  {:?}", p.kind.as_str(), p.amount.to_string(), p.state);
    }
    // README: end
    let mine = wallet.balance(&wang).await?.balance;
    let theirs = wallet.balance(&li).await?.balance;
    println!("   balances: {} has {mine}, {} has {theirs}", WANG.name, LI.name);
    if mine != cny("361.50")? || theirs != cny("100.00")? {
        return Err("the balances do not add up".into());
    }
    println!("done: the wallet file stays at {} until the program exits", path.display());
    Ok(())
}

/// Registers `who`, confirms the SMS code, logs in on a phone, verifies the real name with the bank
/// card (an operator approves it) and sets a payment password. Returns the session's caller and the
/// card's reference for top-ups.
async fn onboard(
    wallet: &Wallet,
    who: &Person,
    phone_id: u128,
) -> Result<(Caller, qianbao::qianbao_identity::ApplicationId), Box<dyn std::error::Error>> {
    let outbox = wallet.outbox().ok_or("no notifier was set, so the wallet keeps an outbox")?;
    let phone = ContactValue::Phone(PhoneNumber::parse(who.phone)?);
    let password = Password::from("correct horse battery staple");

    let reg = wallet.register(RegisterRequest::new(phone.clone(), password.clone())).await?;
    let code = testing::last_code_to(outbox, &phone).ok_or("an SMS code was sent")?;
    wallet.confirm_registration(&CodeAnswer::new(reg.challenge.ticket, code), None).await?;
    println!("2. {} registered with {} and confirmed the SMS code", who.name, who.phone);

    let device = DeviceInfo { id: DeviceId::from_u128(phone_id), name: format!("{}'s phone", who.name), address: None };
    let LoginOutcome::Session(session) = wallet.login(LoginRequest::new(phone, password, device)).await? else {
        return Err("a first device logs in without a second step".into());
    };
    let me = session.caller();

    let request = BankCardRequest {
        holder: RealName::parse(who.name)?,
        card: BankCardNumber::parse(who.card)?,
        phone: PhoneNumber::parse(who.phone)?,
        id_number: None,
    };
    let application = wallet.real_name_by_bank_card(&me, request).await?;
    wallet.operator("reviewer-1").review_application(application.id, ReviewDecision::Approve).await?;
    let class = wallet.account_class(&me).await?.ok_or("verified accounts have a class")?;
    println!("3. {} verified the real name by bank card: account class {class:?}", who.name);

    wallet.set_payment_password(&me, &PaymentPassword::parse("815926")?).await?;
    println!("4. {} set a payment password", who.name);
    Ok((me, application.id))
}
