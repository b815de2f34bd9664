//! One step of the simulation: a journey the seed picks — a valid request, bad input, a retry, a batch
//! sent concurrently, one of the [`others`](super::others) (a claim, a refund, an operator's action, an
//! abnormal-transaction report), or the clock moving (a little, or across days).

use qianbao::core::{AccountId, Currency, Money, UserId};
use qianbao::qianbao_ledger::payments::{Payment, RedPacketView};
use qianbao::qianbao_ledger::redpacket::SplitMode;
use qianbao::*;

use super::model::Party;
use super::{Done, Sim, others};
use crate::support::*;

/// A money request a user sends.
#[derive(Debug, Clone)]
pub enum Req {
    Pay(PayMerchant),
    /// A scanned static QR code of the merchant with this account, the amount typed.
    Qr(PayByQr, AccountId),
    Transfer(TransferTo),
    Packet(NewRedPacket),
    TopUp(CardMovement),
    Withdraw(CardMovement),
}

impl Req {
    fn name(&self) -> &'static str {
        match self {
            Req::Pay(_) => "pay",
            Req::Qr(..) => "pay by QR code",
            Req::Transfer(_) => "transfer",
            Req::Packet(_) => "red packet",
            Req::TopUp(_) => "top-up",
            Req::Withdraw(_) => "withdraw",
        }
    }

    fn amount(&self) -> Money {
        match self {
            Req::Pay(r) => r.amount,
            Req::Qr(r, _) => r.amount.expect("static codes get the amount typed"),
            Req::Transfer(r) => r.amount,
            Req::Packet(r) => r.total,
            Req::TopUp(r) | Req::Withdraw(r) => r.amount,
        }
    }

    /// Counted toward the day and class caps.
    fn capped(&self) -> bool {
        matches!(self, Req::Pay(_) | Req::Qr(..) | Req::Transfer(_) | Req::Packet(_))
    }
}

/// What the wallet answered.
#[derive(Debug)]
pub enum Answer {
    Payment(Box<Payment>),
    Packet(Box<RedPacketView>),
}

/// Sends `req`, retrying (same key) while the wallet says the failure is worth retrying.
pub async fn exec(wallet: &Wallet, caller: &Caller, req: &Req, auth: &Authorization) -> Result<Answer, WalletError> {
    let mut attempts = 0;
    loop {
        let p = |r: Result<Payment, WalletError>| r.map(|p| Answer::Payment(Box::new(p)));
        let r = match req {
            Req::Pay(r) => p(wallet.pay_merchant(caller, r.clone(), auth).await),
            Req::Qr(r, _) => p(wallet.pay_qr(caller, r.clone(), auth).await),
            Req::Transfer(r) => p(wallet.transfer(caller, r.clone(), auth).await),
            Req::TopUp(r) => p(wallet.top_up(caller, r.clone(), auth).await),
            Req::Withdraw(r) => p(wallet.withdraw(caller, r.clone(), auth).await),
            Req::Packet(r) => {
                wallet.send_red_packet(caller, r.clone(), auth).await.map(|v| Answer::Packet(Box::new(v)))
            }
        };
        match r {
            Err(e) if e.is_retryable() && attempts < 20 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            r => return r,
        }
    }
}

/// Records an answer in the model; true when it was new.
fn apply(sim: &mut Sim, u: usize, req: &Req, a: &Answer) -> bool {
    let me = Party::User(sim.users[u].id);
    let m = &mut sim.model;
    match (req, a) {
        (Req::Pay(r), Answer::Payment(p)) => m.acknowledge(p, me, Party::Merchant(r.merchant_account), true),
        (Req::Qr(_, account), Answer::Payment(p)) => m.acknowledge(p, me, Party::Merchant(*account), true),
        (Req::Transfer(r), Answer::Payment(p)) => m.acknowledge(p, me, Party::User(r.to), true),
        (Req::TopUp(_), Answer::Payment(p)) => m.acknowledge(p, Party::Bank, me, false),
        (Req::Withdraw(_), Answer::Payment(p)) => m.acknowledge(p, me, Party::Bank, false),
        (Req::Packet(_), Answer::Packet(v)) => {
            let new = !m.packets.contains_key(&v.id);
            m.packet_sent(v);
            new
        }
        other => panic!("an answer of the wrong kind: {other:?}"),
    }
}

/// Why the wallet must refuse `req` from `u` now, if it must.
fn must_refuse(sim: &Sim, u: usize, req: &Req) -> Option<&'static str> {
    if sim.frozen == Some(u) {
        return Some("the account is frozen");
    }
    if sim.debit_frozen.contains(&u) && !matches!(req, Req::TopUp(_)) {
        return Some("the wallet is frozen for debits (abnormal report)");
    }
    let amount = req.amount().minor();
    if !req.capped() || amount <= 0 {
        return None;
    }
    let (id, now) = (sim.users[u].id, sim.now());
    if sim.model.spent_on_day(id, now) + amount > sim.caps.day {
        return Some("the day cap would be passed");
    }
    let spends = sim.model.spends.iter().filter(|s| s.user == id);
    if sim.users[u].class_one {
        if spends.map(|s| s.minor).sum::<i64>() + amount > sim.caps.class_i_total {
            return Some("the class I cap would be passed");
        }
    } else if spends.map(|s| s.minor).sum::<i64>() + amount > sim.caps.class_ii_year {
        // The simulation stays within one calendar year.
        return Some("the class II cap would be passed");
    }
    None
}

pub fn index_of(sim: &Sim, user: UserId) -> Option<usize> {
    sim.users.iter().position(|u| u.id == user)
}

pub fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

/// A valid request from `u` (it may still be refused: caps, balance, risk rules).
fn gen_valid(sim: &mut Sim, u: usize) -> Req {
    let key = sim.key();
    let amount = cny(sim.rng.range(1, 20_000) as i64);
    match sim.rng.below(100) {
        0..=9 => {
            let n = sim.rng.below(sim.merchants.len() as u64) as usize;
            let code = sim.qr_codes[n].clone();
            Req::Qr(PayByQr { code, amount: Some(amount), key }, sim.merchants[n].1)
        }
        10..=49 => {
            let m = sim.merchants[sim.rng.below(sim.merchants.len() as u64) as usize].1;
            let order_ref = sim.rng.chance(50).then(|| format!("order-{}", sim.counter));
            Req::Pay(PayMerchant { merchant_account: m, amount, order_ref, key })
        }
        50..=69 => {
            let others: Vec<usize> = (0..sim.users.len()).filter(|v| *v != u).collect();
            let to = sim.users[others[sim.rng.below(others.len() as u64) as usize]].id;
            Req::Transfer(TransferTo { to, amount, key })
        }
        70..=84 => {
            let count = sim.rng.range(1, 4) as u32;
            let total = cny(amount.minor().max(i64::from(count)));
            let mode = if sim.rng.chance(50) { SplitMode::Random } else { SplitMode::Equal };
            Req::Packet(NewRedPacket { total, count, mode, key })
        }
        85..=92 => {
            Req::TopUp(CardMovement { card: sim.users[u].card, amount: cny(sim.rng.range(1, 50_000) as i64), key })
        }
        _ => Req::Withdraw(CardMovement { card: sim.users[u].card, amount: cny(sim.rng.range(1, 30_000) as i64), key }),
    }
}

/// Sends one request from `u` and checks the answer against the policy and the model.
async fn act(sim: &mut Sim, u: usize, req: Req, auth: Authorization) {
    let caller = sim.session(u).await;
    let refuse = must_refuse(sim, u, &req);
    let r = exec(&sim.env().wallet, &caller, &req, &auth).await;
    sim.count(req.name(), r.is_ok());
    if let (Some(why), Err(_)) = (refuse, &r) {
        sim.count(why, false);
    }
    if let Ok(a) = r {
        if let Some(why) = refuse {
            panic!("user {u}'s {} of {} was accepted though {why}: {a:?}", req.name(), req.amount());
        }
        assert!(apply(sim, u, &req, &a), "a request with a new key is a new payment");
        sim.done.push(Done { user: u, req: req.clone() });
    }
    sim.check_user(u).await;
    if let Req::Transfer(t) = &req {
        sim.check_user(index_of(sim, t.to).unwrap()).await;
    }
}

/// One step.
pub async fn step(sim: &mut Sim) {
    let n = sim.users.len() as u64;
    let u = sim.rng.below(n) as usize;
    let secs = sim.rng.range(5, 120);
    sim.env().advance(secs);
    match sim.rng.below(100) {
        0..=39 => {
            let req = gen_valid(sim, u);
            act(sim, u, req, by_password()).await;
        }
        40..=47 => bad_input(sim, u).await,
        48..=55 => retry(sim).await,
        56..=61 => concurrent(sim).await,
        62..=71 => others::claim(sim, u).await,
        72..=75 => others::refund(sim).await,
        76..=79 => others::review(sim).await,
        80..=81 => others::freeze(sim, u).await,
        82..=83 => others::report(sim, u).await,
        84..=93 => {
            let secs = sim.rng.range(600, 3 * 3600);
            sim.env().advance(secs);
        }
        _ => {
            // Across a day or two: past the session lifetime, past open packets' expiry.
            let secs = sim.rng.range(10 * 3600, 40 * 3600);
            sim.env().advance(secs);
            sim.env().wallet.operator("sweeper").expire_red_packets(1_000).await.unwrap();
            let mut model = std::mem::take(&mut sim.model);
            model.settle_packets(sim.env()).await;
            sim.model = model;
        }
    }
    sim.model.check_caps(sim.caps);
}

/// Bad input: refused, nothing moves.
async fn bad_input(sim: &mut Sim, u: usize) {
    let caller = sim.session(u).await;
    let key = sim.key();
    let m = sim.merchants[0].1;
    let amount = cny(sim.rng.range(1, 5_000) as i64);
    let pay = |merchant_account, amount| PayMerchant { merchant_account, amount, order_ref: None, key: key.clone() };
    let other = (u + 1 + sim.rng.below(sim.users.len() as u64 - 1) as usize) % sim.users.len();
    let wrong_password = Authorization::password(qianbao::qianbao_identity::PaymentPassword::parse("470913").unwrap());
    let (what, req, auth) = match sim.rng.below(11) {
        0 => ("zero amount", Req::Pay(pay(m, cny(0))), by_password()),
        1 => ("negative amount", Req::Pay(pay(m, cny(-(sim.rng.range(1, 10_000) as i64)))), by_password()),
        2 => ("another currency", Req::Pay(pay(m, Money::from_minor(100, Currency::USD))), by_password()),
        3 => {
            for text in ["12.345", "0.001", "1e3", "-0.00"] {
                assert!(Money::parse(text, Currency::CNY).is_err() || text == "-0.00", "{text} is refused");
            }
            assert!(Money::parse("12.345", Currency::CNY).is_err(), "a too-precise amount is refused");
            let unknown = AccountId::from_u128(u128::from(sim.rng.next()) << 64 | 7);
            ("unknown merchant", Req::Pay(pay(unknown, amount)), by_password())
        }
        4 => {
            let wallet = sim.env().wallet.payments().wallet(sim.users[other].id, Currency::CNY).await.unwrap();
            ("a wallet as merchant", Req::Pay(pay(wallet.unwrap(), amount)), by_password())
        }
        5 if sim.rng.chance(50) => {
            // A static code with the merchant's name changed and its CRC fixed up: the signature fails.
            let code = sim.qr_codes[0].replace("SIM SHOP", "SIM SHIP");
            assert_ne!(code, sim.qr_codes[0], "the code carries the merchant's name");
            let body = &code[..code.len() - 4];
            let code = format!("{body}{}", qianbao::qianbao_ledger::qr::crc16(body));
            ("a forged QR code", Req::Qr(PayByQr { code, amount: Some(amount), key }, m), by_password())
        }
        5 => ("wrong payment password", Req::Pay(pay(m, amount)), wrong_password),
        6 => ("no authorization", Req::Pay(pay(m, amount)), Authorization::default()),
        7 => {
            let to = UserId::from_u128(u128::from(sim.rng.next()) | 1 << 100);
            ("unknown recipient", Req::Transfer(TransferTo { to, amount, key }), by_password())
        }
        8 => {
            let (total, count) = if sim.rng.chance(50) { (amount, 0) } else { (cny(3), 5) };
            let req = NewRedPacket { total, count, mode: SplitMode::Random, key };
            ("bad red packet", Req::Packet(req), by_password())
        }
        9 => {
            let card = sim.users[other].card;
            ("another's bank card", Req::TopUp(CardMovement { card, amount, key }), by_password())
        }
        _ => {
            let balance = sim.model.balance.get(&sim.users[u].id).copied().unwrap_or(0);
            let req = CardMovement { card: sim.users[u].card, amount: cny(balance + 1), key };
            ("withdraw more than the balance", Req::Withdraw(req), by_password())
        }
    };
    let r = exec(&sim.env().wallet, &caller, &req, &auth).await;
    assert!(r.is_err(), "bad input ({what}) is refused: {r:?}");
    sim.count("bad input refused", true);
    sim.check_user(u).await;
}

/// A retry of an acknowledged request with its key: the same payment, nothing moves twice. Now and
/// then the retry changes the amount: refused, nothing moves.
async fn retry(sim: &mut Sim) {
    if sim.done.is_empty() {
        return;
    }
    let d = sim.done[sim.rng.below(sim.done.len() as u64) as usize].clone();
    let caller = sim.session(d.user).await;
    let auth = if sim.rng.chance(50) { Authorization::default() } else { by_password() };
    let changed = match &d.req {
        Req::Pay(r) if sim.rng.chance(25) => {
            Some(Req::Pay(PayMerchant { amount: cny(r.amount.minor() + 1), ..r.clone() }))
        }
        Req::Transfer(r) if sim.rng.chance(25) => {
            Some(Req::Transfer(TransferTo { amount: cny(r.amount.minor() + 1), ..r.clone() }))
        }
        _ => None,
    };
    if let Some(req) = changed {
        let r = exec(&sim.env().wallet, &caller, &req, &auth).await;
        assert!(r.is_err(), "a key used for another request is refused: {r:?}");
        sim.count("changed retry refused", true);
    } else {
        let r = exec(&sim.env().wallet, &caller, &d.req, &auth).await;
        let a = r.unwrap_or_else(|e| panic!("a retry of an acknowledged {} is answered: {e:?}", d.req.name()));
        assert!(!apply(sim, d.user, &d.req, &a), "a retry is the same payment");
        sim.count("retry", true);
    }
    sim.check_user(d.user).await;
}

/// `n` retries (after opening the wallet again: every acknowledged request is still answered).
pub async fn retry_some(sim: &mut Sim, n: usize) {
    for _ in 0..n {
        retry(sim).await;
    }
}

/// Two to four requests sent at once (sometimes one of them twice, same key); then every answer in
/// the model and the caps checked.
async fn concurrent(sim: &mut Sim) {
    let n = sim.rng.range(2, 4);
    let mut batch = Vec::new();
    for _ in 0..n {
        let u = sim.rng.below(sim.users.len() as u64) as usize;
        let req = gen_valid(sim, u);
        batch.push((u, req));
    }
    let duplicate = sim.rng.chance(40);
    if duplicate {
        batch.push(batch[0].clone());
    }
    let mut handles = Vec::new();
    for (u, req) in &batch {
        let caller = sim.session(*u).await;
        let (wallet, req) = (sim.env().wallet.clone(), req.clone());
        handles.push(tokio::spawn(async move { exec(&wallet, &caller, &req, &by_password()).await }));
    }
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.expect("a request task ran"));
    }
    let mut touched = Vec::new();
    for ((u, req), r) in batch.iter().zip(&answers) {
        sim.count("concurrent", r.is_ok());
        touched.push(*u);
        if let Req::Transfer(t) = req {
            touched.push(index_of(sim, t.to).unwrap());
        }
        if let Ok(a) = r {
            if sim.frozen == Some(*u) || (sim.debit_frozen.contains(u) && !matches!(req, Req::TopUp(_))) {
                panic!("a frozen user's concurrent {} was accepted: {a:?}", req.name());
            }
            if apply(sim, *u, req, a) {
                sim.done.push(Done { user: *u, req: req.clone() });
            }
        }
    }
    if duplicate {
        let (first, last) = (&answers[0], &answers[answers.len() - 1]);
        let id = |a: &Answer| match a {
            Answer::Payment(p) => p.id.as_u128(),
            Answer::Packet(v) => v.id.as_u128(),
        };
        match (first, last) {
            (Ok(a), Ok(b)) => assert_eq!(id(a), id(b), "one request sent twice at once is one payment"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("one request sent twice at once answered differently: {a:?} / {b:?}"),
        }
    }
    for u in touched {
        sim.check_user(u).await;
    }
}
