//! Certificate payment: a verified user asks for a digital certificate for their phone. The phone makes
//! its own P-256 key and certificate signing request (`DeviceKey`, built on p256 and rcgen; the private key
//! never leaves the device); the wallet's CA issues the certificate after a fresh SMS code and the payment
//! password. The user then pays a merchant with no password, by signing the payment order with the
//! certificate's key, and looks at the certificate's usage record. The phone is lost: on a new phone the
//! user reissues the certificate (补办) with a fresh code and password, which revokes the old one — and
//! an order signed by the old certificate is refused.
//!
//! Run it with `cargo run -p qianbao-examples --example certificate_payment`.

mod common;

use qianbao::core::{Clock, DeviceId, Money, SecretString, TransferId};
use qianbao::qianbao_ca::{CaError, DeviceKey, IssuedCertificate, OrderNonce, PaymentOrder};
use qianbao::qianbao_ledger::payments::{IdempotencyKey, MerchantId};
use qianbao::qianbao_token::DeviceInfo;
use qianbao::{Authorization, LoginOutcome, LoginRequest, PayMerchant, StepUpAnswer, WalletError};

use common::*;

#[tokio::main]
async fn main() -> Result<()> {
    let demo = Demo::new().await?;
    println!("1. a wallet on {}", demo.dir.path().join("wallet.sqlite").display());
    let wang = demo.member(WANG).await?;
    demo.top_up(&wang, "300.00", "top-up-1").await?;
    let shop = demo.wallet.operator("merchant-desk").open_merchant(MerchantId::from_u128(88)).await?;

    // The key is made on the phone; only the CSR goes to the server.
    let phone_key = device_key();
    let request = demo.certificate_request(&wang, &phone_key).await?;
    let cert = demo.wallet.issue_certificate(&wang.caller, request).await?;
    let r = &cert.record;
    println!("2. certificate {} issued for device {}, valid {} to {}", r.serial, r.device, r.not_before, r.not_after);

    // Pay by signing the order: no password.
    let paid = pay_signed(&demo, &wang, &cert, &phone_key, shop, cny("66.00")?, idem("order-1")?, 1).await?;
    println!("3. paid {} to the merchant with a signed order and no password ({:?})", paid.amount, paid.state);
    check(demo.balance(&wang).await? == cny("234.00")?, "234.00 left")?;

    println!("4. the certificate's usage record:");
    for u in demo.wallet.certificate_usage(&wang.caller, cert.record.serial, 20).await? {
        let outcome = u.event.failure.as_deref().unwrap_or("ok");
        println!("     #{} {} {:<16} {outcome:<4} {}", u.seq, u.event.at, u.event.kind.as_str(), u.event.detail);
    }

    // The phone is lost. The user logs in on a new phone with the same number: a new device needs a
    // code sent to the phone number (the SIM card moved to the new phone).
    let new_phone = DeviceInfo { id: DeviceId::from_u128(50), name: "new phone".into(), address: None };
    let login =
        LoginRequest::new(phone(&WANG)?, qianbao::qianbao_identity::Password::from(PASSWORD), new_phone.clone());
    let LoginOutcome::StepUp(step) = demo.wallet.login(login).await? else {
        return Err("a new device should need a second step".into());
    };
    println!("5. the phone is lost; logging in on a new phone asks for a {}", step.kind());
    let code = StepUpAnswer::Code(SecretString::new(demo.code(&WANG)?));
    let session = demo.wallet.complete_login(&step.ticket, code, new_phone).await?;
    let wang = Member { caller: session.caller(), ..wang };

    // Reissue on the new phone: a fresh code and the payment password; the lost phone's certificate is
    // revoked and its sessions signed out.
    let new_key = device_key();
    let request = demo.certificate_request(&wang, &new_key).await?;
    let lost_device = Some(DeviceId::from_u128(WANG.device));
    let reissued = demo.wallet.reissue_certificate(&wang.caller, request, lost_device).await?;
    println!("6. certificate {} reissued for the new phone; {} revoked", reissued.record.serial, cert.record.serial);

    // Whoever has the old phone cannot pay with it.
    let e = refused(
        "an order signed by the lost phone's certificate",
        pay_signed(&demo, &wang, &cert, &phone_key, shop, cny("10.00")?, idem("order-2")?, 2).await,
    )?;
    check(matches!(e, WalletError::Ca(CaError::CertificateRevoked { .. })), "the old certificate is revoked")?;
    let paid = pay_signed(&demo, &wang, &reissued, &new_key, shop, cny("10.00")?, idem("order-3")?, 3).await?;
    println!("7. the new certificate pays: {} ({:?})", paid.amount, paid.state);
    for c in demo.wallet.certificates(&wang.caller).await? {
        println!("     certificate {} on device {}: {:?}", c.serial, c.device, c.view);
    }
    check(demo.balance(&wang).await? == cny("224.00")?, "224.00 left")?;
    println!("done");
    Ok(())
}

/// Pays `amount` to `shop`, authorized by a payment order the device signs with `key` (the key of
/// `cert`).
#[allow(clippy::too_many_arguments)] // a demo helper: every argument is one field of the order
async fn pay_signed(
    demo: &Demo,
    m: &Member,
    cert: &IssuedCertificate,
    key: &DeviceKey,
    shop: qianbao::core::AccountId,
    amount: Money,
    key_text: IdempotencyKey,
    order_no: u128,
) -> std::result::Result<qianbao::qianbao_ledger::payments::Payment, WalletError> {
    let order = PaymentOrder {
        payer: m.user,
        payee: shop,
        amount,
        order_id: TransferId::from_u128(order_no),
        nonce: OrderNonce::random(&qianbao::core::OsEntropy),
        signed_at: demo.clock.now(),
    };
    let signed = key.sign_order(order)?;
    let auth = Authorization::signed_order(cert.certificate(), signed);
    let req = PayMerchant { merchant_account: shop, amount, order_ref: None, key: key_text };
    demo.wallet.pay_merchant(&m.caller, req, &auth).await
}
