//! The simulated population: people the identity doubles know (valid resident ids, Luhn-valid bank
//! cards, distinct phones), the wallet built with them, and onboarding each as a class I or class II
//! account with its first top-up.

use std::sync::Arc;

use qianbao::core::{PhoneNumber, SeededEntropy, UserId};
use qianbao::qianbao_identity::testing::{FakeBank, FakeIdAuthority};
use qianbao::qianbao_identity::{
    ApplicationId, BankCardNumber, BankCardRequest, FaceEvidence, IdCardRequest, PhotoDigest, RealName, ResidentId,
    ReviewDecision,
};
use qianbao::*;

use crate::support::*;

/// One person: what the ID authority and the bank double know about them.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: &'static str,
    pub id_number: String,
    pub card: String,
    pub phone: String,
}

const NAMES: [&str; 12] =
    ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐明", "孙丽"];

/// `n` (at most 12) distinct people.
pub fn people(n: usize) -> Vec<Person> {
    (0..n.min(NAMES.len()))
        .map(|i| {
            let d17 = format!("110105{}{:02}{:02}{:03}", 1970 + i, 1 + i % 12, 1 + i, 101 + i);
            let id_number = format!("{d17}{}", id_check(&d17));
            let payload = format!("622202{:012}", 300_000_000_000u64 + 7_919 * i as u64);
            let card = format!("{payload}{}", luhn_digit(&payload));
            Person { name: NAMES[i], id_number, card, phone: format!("1391234{:04}", 5_000 + i) }
        })
        .collect()
}

/// The check character of a resident id (GB 11643).
fn id_check(d17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// The Luhn check digit to append to `payload`.
fn luhn_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap();
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// A wallet on `db` whose identity doubles know `people`, with its own entropy seed (a reopened wallet
/// must not draw the same ids and tokens again).
pub async fn open_env(db: Database, config: WalletConfig, people: &[Person], entropy_seed: u64) -> Env {
    let people = people.to_vec();
    Env::builder(db, config, move |b, _| {
        let mut authority = FakeIdAuthority::new();
        let mut bank = FakeBank::new();
        for p in &people {
            authority = authority.with_person(&p.id_number, p.name);
            bank = bank.with_card(&p.card, p.name, &p.phone, Some(&p.id_number), "ICBC");
        }
        b.id_authority(Arc::new(authority))
            .bank_verifier(Arc::new(bank))
            .entropy(Arc::new(SeededEntropy::new(entropy_seed)))
    })
    .await
}

/// Registers `p`, logs in on `device`, verifies the real name (ID card and bank card for class II, the
/// bank card alone for class I), sets the payment password and tops up `funding_minor`.
pub async fn onboard(
    env: &Env,
    p: &Person,
    class_two: bool,
    device_n: u128,
    funding_minor: i64,
) -> (UserId, Session, ApplicationId, qianbao::qianbao_ledger::payments::Payment) {
    let contact = phone(&p.phone);
    let user = env.register(&contact).await;
    let session = env.session(&contact, device_n).await;
    let me = session.caller();
    let name = RealName::parse(p.name).unwrap();
    let id_number = ResidentId::parse(&p.id_number, env.now()).unwrap();
    if class_two {
        let challenge = env.wallet.request_real_name_code(&me).await.unwrap();
        let request = IdCardRequest {
            name: name.clone(),
            id_number: id_number.clone(),
            front_photo: PhotoDigest([1; 32]),
            back_photo: PhotoDigest([2; 32]),
            face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: format!("live-{device_n}") },
        };
        let app = env.wallet.real_name_by_id_card(&me, &env.answer(&challenge, &contact), request).await.unwrap();
        env.wallet.operator("reviewer").review_application(app.id, ReviewDecision::Approve).await.unwrap();
    }
    let request = BankCardRequest {
        holder: name,
        card: BankCardNumber::parse(&p.card).unwrap(),
        phone: PhoneNumber::parse(&p.phone).unwrap(),
        id_number: Some(id_number),
    };
    let app = env.wallet.real_name_by_bank_card(&me, request).await.unwrap();
    env.wallet.operator("reviewer").review_application(app.id, ReviewDecision::Approve).await.unwrap();
    env.wallet.set_payment_password(&me, &pay(PAY)).await.unwrap();
    let amount = qianbao::core::Money::from_minor(funding_minor, qianbao::core::Currency::CNY);
    let req = CardMovement { card: app.id, amount, key: key(&format!("funding-{device_n}")) };
    let funding = env.wallet.top_up(&me, req, &by_password()).await.unwrap();
    (user, session, app.id, funding)
}

#[test]
fn the_generated_people_are_valid() {
    let now = qianbao::core::Timestamp::from_unix_secs(START);
    for p in people(12) {
        ResidentId::parse(&p.id_number, now).unwrap();
        BankCardNumber::parse(&p.card).unwrap();
        PhoneNumber::parse(&p.phone).unwrap();
        RealName::parse(p.name).unwrap();
    }
}
