//! QR payments, both directions. A noodle shop gets a static code (printed on the counter; the payer
//! types the amount) and a dynamic code for one order (the amount is in the code). The payer scans and
//! pays each with the payment password. A code someone tampered with — the amount lowered and the CRC
//! recomputed so it still looks well-formed — is refused by the wallet's signature inside the code, and a
//! damaged one by its CRC. Then the other direction: the payer's phone shows a consumer payment code
//! (付款码), the shop's scanner charges it, and the same code is refused a second time.
//!
//! Run it with `cargo run -p qianbao-examples --example qr_payment`.

mod common;

use qianbao::core::{AccountId, Clock, Currency};
use qianbao::qianbao_identity::PaymentPassword;
use qianbao::qianbao_ledger::payments::MerchantId;
use qianbao::qianbao_ledger::qr::{CountryCode, Mcc, MerchantProfile, OrderRef, crc16};
use qianbao::qianbao_ledger::{PaymentError, QrError};
use qianbao::qianbao_token::TokenError;
use qianbao::{PayByQr, WalletError};

use common::*;

fn noodle_shop(account: AccountId) -> Result<MerchantProfile> {
    Ok(MerchantProfile {
        account,
        name: "LUCKY NOODLES".into(),
        city: "BEIJING".into(),
        mcc: Mcc::parse("5814")?,
        country: CountryCode::CN,
        currency: Currency::CNY,
        local_name: None,
        store_label: None,
        terminal_label: None,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let demo = Demo::new().await?;
    println!("1. a wallet on {}", demo.dir.path().join("wallet.sqlite").display());
    let wang = demo.member(WANG).await?;
    demo.top_up(&wang, "200.00", "top-up-1").await?;
    let shop_id = MerchantId::from_u128(8);
    let ops = demo.wallet.operator("merchant-desk");
    let shop = noodle_shop(ops.open_merchant(shop_id).await?)?;

    // The static code: the payer enters the amount.
    let static_code = ops.merchant_static_code(&shop).await?;
    println!("2. the shop's static code ({} characters): {static_code}", static_code.len());
    let scan = PayByQr { code: static_code.clone(), amount: Some(cny("12.50")?), key: idem("scan-1")? };
    let p = demo.wallet.pay_qr(&wang.caller, scan, &by_password()?).await?;
    println!("3. scanned the static code and paid {} ({:?})", p.amount, p.state);

    // A dynamic code for one order: the amount and the order are in the code.
    let order = OrderRef::new("T-9")?;
    let dynamic = ops.merchant_dynamic_code(&shop, cny("7.20")?, &order).await?;
    println!("4. the cashier shows a dynamic code for order T-9 of 7.20 CNY");
    let scan = PayByQr { code: dynamic.clone(), amount: None, key: idem("scan-2")? };
    let p = demo.wallet.pay_qr(&wang.caller, scan, &by_password()?).await?;
    println!("   scanned it and paid {} for order {}", p.amount, p.order_ref.as_deref().unwrap_or("?"));

    // Tampered: the amount lowered to 0.20, the CRC fixed up. The wallet's signature catches it.
    let forged = dynamic.replace("7.20", "0.20");
    let body = &forged[..forged.len() - 4];
    let forged = format!("{body}{}", crc16(body));
    let scan = PayByQr { code: forged, amount: None, key: idem("scan-3")? };
    let e = refused("a code with its amount changed", demo.wallet.pay_qr(&wang.caller, scan, &by_password()?).await)?;
    check(matches!(e, WalletError::Payment(PaymentError::Qr(QrError::BadSignature))), "a bad signature")?;
    // Damaged: one character changed and the CRC left as it was.
    let damaged = static_code.replacen("LUCKY", "LUCKX", 1);
    let scan = PayByQr { code: damaged, amount: Some(cny("1.00")?), key: idem("scan-4")? };
    let e = refused("a damaged code", demo.wallet.pay_qr(&wang.caller, scan, &by_password()?).await)?;
    check(matches!(e, WalletError::Payment(PaymentError::Qr(_))), "a QR error")?;
    check(demo.balance(&wang).await? == cny("180.30")?, "nothing moved for the bad codes")?;

    // The other direction: the phone shows a payment code, the shop scans it.
    let enrollment = demo.wallet.enroll_payment_code(&wang.caller, &PaymentPassword::parse(PAY)?).await?;
    let code = enrollment.generator().code_at(demo.clock.now()).to_string();
    println!("5. the phone shows payment code {code} (it changes every minute and works once)");
    demo.advance(1);
    let desk = demo.wallet.merchant(shop_id);
    let p = desk.charge_payment_code(&code, cny("18.00")?, Some("T-10".into()), idem("desk-1")?).await?;
    println!("   the shop's scanner charged it {} ({:?})", p.amount, p.state);
    let replay = desk.charge_payment_code(&code, cny("18.00")?, None, idem("desk-2")?).await;
    let e = refused("the same payment code again", replay)?;
    check(matches!(e, WalletError::Token(TokenError::PaycodeReplayed)), "a replayed code")?;

    let left = demo.balance(&wang).await?;
    println!("6. {} has {left} left; the shop received {}", WANG.name, desk.balance().await?);
    check(left == cny("162.30")?, "162.30 left")?;
    println!("done");
    Ok(())
}
