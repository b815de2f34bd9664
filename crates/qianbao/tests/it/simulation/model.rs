//! What the simulation expects: every acknowledged payment with its amount and state, each wallet's and
//! merchant's balance, what each user paid per day (the caps), the red packets' claims — built from the
//! answers the wallet gave, then checked against a wallet (the same one, or one opened again on the
//! same database).

use std::collections::BTreeMap;

use qianbao::core::{AccountId, Currency, Money, UserId};
use qianbao::qianbao_ledger::payments::{
    Hold, MerchantId, PacketStatus, Payment, PaymentId, PaymentState, RedPacketView,
};
use qianbao::qianbao_ledger::redpacket::RedPacketId;
use qianbao::qianbao_ledger::{AccountFlags, JournalCheck};

/// Who is on one side of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    User(UserId),
    Merchant(AccountId),
    /// The bank (top-ups and withdrawals): outside the model.
    Bank,
}

/// Where an acknowledged payment stands, as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum St {
    Completed,
    HeldForReview,
    Cancelled,
}

/// An acknowledged payment.
#[derive(Debug, Clone)]
pub struct Expect {
    pub amount: i64,
    pub state: St,
    pub refunded: i64,
    pub payer: Party,
    pub payee: Party,
}

/// A capped debit (merchant payment, transfer, red packet) for the cap checks.
#[derive(Debug, Clone)]
pub struct Spend {
    pub user: UserId,
    pub at: u64,
    pub minor: i64,
    pub payment: Option<PaymentId>,
}

/// A red packet sent.
#[derive(Debug, Clone)]
pub struct Packet {
    pub sender: UserId,
    pub total: i64,
    pub claimed: i64,
    pub claims: usize,
    pub claimers: Vec<UserId>,
    pub returned: bool,
}

/// The caps the configuration sets.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub day: i64,
    pub class_i_total: i64,
    pub class_ii_year: i64,
}

#[derive(Debug, Default)]
pub struct Model {
    pub balance: BTreeMap<UserId, i64>,
    pub held_out: BTreeMap<UserId, i64>,
    pub merchant: BTreeMap<AccountId, i64>,
    pub payments: BTreeMap<PaymentId, Expect>,
    pub spends: Vec<Spend>,
    pub packets: BTreeMap<RedPacketId, Packet>,
    /// Users whose class is I (the others are class II).
    pub class_one: Vec<UserId>,
}

/// The Beijing calendar day of a moment.
pub fn day(unix: u64) -> u64 {
    (unix + 8 * 3600) / 86_400
}

/// The Beijing calendar year of a moment (close enough: the simulation stays far from a new year).
fn year(unix: u64) -> i32 {
    qianbao::core::Timestamp::from_unix_secs(unix + 8 * 3600).to_datetime().year()
}

impl Model {
    fn credit(&mut self, party: Party, minor: i64) {
        match party {
            Party::User(u) => *self.balance.entry(u).or_default() += minor,
            Party::Merchant(m) => *self.merchant.entry(m).or_default() += minor,
            Party::Bank => {}
        }
    }

    /// Records an acknowledged payment from `payer` to `payee`; a payment seen before (a retry) must be
    /// the same and moves nothing. Returns whether it was new.
    pub fn acknowledge(&mut self, p: &Payment, payer: Party, payee: Party, capped: bool) -> bool {
        assert!(p.fee.is_zero(), "the simulation's fees are free: {p:?}");
        if let Some(e) = self.payments.get(&p.id) {
            assert_eq!(e.amount, p.amount.minor(), "a retry answers the same amount: {p:?}");
            assert_eq!((e.payer, e.payee), (payer, payee), "a retry answers the same parties");
            return false;
        }
        let amount = p.amount.minor();
        let state = match p.state {
            PaymentState::Completed => {
                self.credit(payer, -amount);
                self.credit(payee, amount);
                St::Completed
            }
            PaymentState::Held { hold: Hold::Review } => {
                if let Party::User(u) = payer {
                    *self.held_out.entry(u).or_default() += amount;
                }
                St::HeldForReview
            }
            PaymentState::Cancelled { .. } => St::Cancelled,
            ref other => panic!("an acknowledged payment is settled or held for review, got {other:?}: {p:?}"),
        };
        self.payments.insert(p.id, Expect { amount, state, refunded: 0, payer, payee });
        if let (true, Party::User(user), false) = (capped, payer, state == St::Cancelled) {
            self.spends.push(Spend { user, at: p.created_at.unix_secs(), minor: amount, payment: Some(p.id) });
        }
        true
    }

    /// An operator released (`released`) or rejected a payment held for review.
    pub fn review(&mut self, id: PaymentId, released: bool) {
        let e = self.payments.get_mut(&id).expect("a held payment is known");
        assert_eq!(e.state, St::HeldForReview);
        let (payer, payee, amount) = (e.payer, e.payee, e.amount);
        e.state = if released { St::Completed } else { St::Cancelled };
        if let Party::User(u) = payer {
            *self.held_out.entry(u).or_default() -= amount;
        }
        if released {
            self.credit(payer, -amount);
            self.credit(payee, amount);
        } else {
            self.spends.retain(|s| s.payment != Some(id));
        }
    }

    /// A merchant refund of `of` was acknowledged (new or a retry).
    pub fn refund(&mut self, of: PaymentId, refund: &Payment) {
        let e = self.payments.get(&of).expect("the refunded payment is known").clone();
        if self.acknowledge(refund, e.payee, e.payer, false) && refund.state == PaymentState::Completed {
            self.payments.get_mut(&of).unwrap().refunded += refund.amount.minor();
        }
    }

    /// A red packet was sent (new or a retry).
    pub fn packet_sent(&mut self, v: &RedPacketView) {
        assert!(v.fee.is_zero());
        if let Some(p) = self.packets.get(&v.id) {
            assert_eq!(p.total, v.total.minor(), "a retry answers the same packet");
            return;
        }
        assert!(matches!(v.status, PacketStatus::Open), "a packet sent is open: {v:?}");
        let total = v.total.minor();
        self.credit(Party::User(v.sender), -total);
        self.packets.insert(
            v.id,
            Packet { sender: v.sender, total, claimed: 0, claims: 0, claimers: Vec::new(), returned: false },
        );
        self.spends.push(Spend { user: v.sender, at: v.created_at.unix_secs(), minor: total, payment: None });
    }

    pub fn claimed(&mut self, id: RedPacketId, claimer: UserId, amount: Money) {
        let p = self.packets.get_mut(&id).expect("a claimed packet is known");
        p.claimed += amount.minor();
        p.claims += 1;
        assert!(!p.claimers.contains(&claimer), "{claimer} claimed {id} twice");
        p.claimers.push(claimer);
        assert!(p.claimed <= p.total, "claims never exceed the packet");
        self.credit(Party::User(claimer), amount.minor());
    }

    /// Reads every packet not yet returned: an expired one gave its unclaimed rest back to the sender.
    pub async fn settle_packets(&mut self, env: &crate::support::Env) {
        let open: Vec<RedPacketId> = self.packets.iter().filter(|(_, p)| !p.returned).map(|(id, _)| *id).collect();
        for id in open {
            let v = env.wallet.payments().red_packet(id).await.expect("a sent packet is recorded");
            let p = self.packets.get_mut(&id).unwrap();
            assert_eq!(v.claims.len(), p.claims, "every acknowledged claim is recorded: {v:?}");
            if let PacketStatus::Expired { returned } = v.status {
                assert_eq!(returned.minor(), p.total - p.claimed, "the unclaimed rest is returned");
                p.returned = true;
                let (sender, rest) = (p.sender, returned.minor());
                self.credit(Party::User(sender), rest);
            }
        }
    }

    /// What `user` paid (capped) on the Beijing day of `now`.
    pub fn spent_on_day(&self, user: UserId, now: u64) -> i64 {
        self.spends.iter().filter(|s| s.user == user && day(s.at) == day(now)).map(|s| s.minor).sum()
    }

    /// Every cap held, by the model's acknowledged payments.
    pub fn check_caps(&self, caps: Caps) {
        let mut by_day: BTreeMap<(UserId, u64), i64> = BTreeMap::new();
        let mut by_year: BTreeMap<(UserId, i32), i64> = BTreeMap::new();
        let mut total: BTreeMap<UserId, i64> = BTreeMap::new();
        for s in &self.spends {
            *by_day.entry((s.user, day(s.at))).or_default() += s.minor;
            *by_year.entry((s.user, year(s.at))).or_default() += s.minor;
            *total.entry(s.user).or_default() += s.minor;
        }
        for ((user, d), minor) in &by_day {
            assert!(*minor <= caps.day, "{user} paid {minor} on day {d}, over the day cap {}", caps.day);
        }
        for (user, minor) in &total {
            if self.class_one.contains(user) {
                assert!(*minor <= caps.class_i_total, "class I {user} paid {minor} in all");
            }
        }
        for ((user, y), minor) in &by_year {
            if !self.class_one.contains(user) {
                assert!(*minor <= caps.class_ii_year, "class II {user} paid {minor} in {y}");
            }
        }
    }

    /// The wallet agrees with the model: every balance, every acknowledged payment (amount, state,
    /// refunds), money conserved over the chart, no wallet overdrawn, the journal intact.
    pub async fn check_wallet(&self, env: &crate::support::Env, merchants: &[(MerchantId, AccountId)]) {
        let payments = env.wallet.payments();
        for (user, minor) in &self.balance {
            let b = payments.wallet_balance(*user, Currency::CNY).await.unwrap();
            assert_eq!(b.credit_balance(), Some(i128::from(*minor)), "{user}'s balance");
            let held = self.held_out.get(user).copied().unwrap_or(0);
            assert_eq!(b.available_credit(), Some(i128::from(minor - held)), "{user}'s available balance");
        }
        for (m, account) in merchants {
            let expected = self.merchant.get(account).copied().unwrap_or(0);
            assert_eq!(env.wallet.merchant(*m).balance().await.unwrap().minor(), expected, "merchant {m}'s balance");
        }
        for (id, e) in &self.payments {
            let p = payments.payment(*id).await.expect("an acknowledged payment is recorded");
            assert_eq!(p.amount.minor(), e.amount, "{id}'s amount");
            let state = match p.state {
                PaymentState::Completed => St::Completed,
                PaymentState::Held { hold: Hold::Review } => St::HeldForReview,
                PaymentState::Cancelled { .. } => St::Cancelled,
                ref other => panic!("{id} is {other:?}"),
            };
            assert_eq!(state, e.state, "{id}'s state");
            if e.payee != Party::Bank && e.payer != Party::Bank {
                assert_eq!(p.refunded.minor(), e.refunded, "{id}'s refunds");
            }
        }
        check_conservation(env).await;
        let journal = payments.ledger().verify_journal().await.unwrap();
        assert!(matches!(journal, JournalCheck::Intact { .. }), "the journal chain verifies: {journal:?}");
    }
}

/// Debits equal credits over every account of the chart (posted and pending); no wallet overdrawn.
pub async fn check_conservation(env: &crate::support::Env) {
    let payments = env.wallet.payments();
    let chart = payments.chart(Currency::CNY).await.unwrap();
    let ids: Vec<_> = chart.iter().map(|e| e.account).collect();
    let accounts = payments.ledger().lookup_accounts(&ids).await.unwrap();
    assert_eq!(accounts.len(), ids.len(), "every account of the chart is on the ledger");
    let sum = |f: fn(&qianbao::qianbao_ledger::Account) -> u128| accounts.iter().map(f).sum::<u128>();
    assert_eq!(sum(|a| a.debits_posted), sum(|a| a.credits_posted), "posted money is conserved");
    assert_eq!(sum(|a| a.debits_pending), sum(|a| a.credits_pending), "pending money is conserved");
    for a in accounts.iter().filter(|a| a.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)) {
        assert!(a.debits_posted + a.debits_pending <= a.credits_posted, "no wallet overdrawn");
    }
}
