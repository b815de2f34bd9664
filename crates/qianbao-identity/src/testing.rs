//! Deterministic test doubles of the external checks, for tests, examples and the facade's own tests.
//! They never call anything outside the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::bank_card::BankCardNumber;
use crate::checks::{
    AuthorityAnswer, BankAnswer, BankQuery, BankVerifier, CheckError, CheckFuture, FaceAnswer, FaceService, IdAuthority,
};
use crate::kyc::FaceEvidence;
use crate::name::RealName;
use crate::resident_id::ResidentId;

/// An ID authority that knows the people it is given. Unknown numbers are [`AuthorityAnswer::NotFound`].
#[derive(Debug, Clone, Default)]
pub struct FakeIdAuthority {
    people: Arc<Mutex<HashMap<String, String>>>,
    unavailable: bool,
}

impl FakeIdAuthority {
    /// An authority that knows nobody yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An authority that is down: every check fails with [`CheckError`].
    pub fn unavailable() -> Self {
        FakeIdAuthority { unavailable: true, ..Self::default() }
    }

    /// Registers `name` as the holder of `id` (both as typed; they are normalized like the real ones).
    pub fn with_person(self, id: &str, name: &str) -> Self {
        self.add_person(id, name);
        self
    }

    /// Registers a person on a shared handle.
    pub fn add_person(&self, id: &str, name: &str) {
        let id = id.trim().to_ascii_uppercase();
        let name = RealName::parse(name).map(|n| n.expose().to_string()).unwrap_or_else(|_| name.to_string());
        self.people.lock().unwrap_or_else(|p| p.into_inner()).insert(id, name);
    }
}

impl IdAuthority for FakeIdAuthority {
    fn check<'a>(&'a self, name: &'a RealName, id: &'a ResidentId) -> CheckFuture<'a, AuthorityAnswer> {
        let answer = if self.unavailable {
            Err(CheckError { provider: "id authority", message: "test double set unavailable".into() })
        } else {
            let people = self.people.lock().unwrap_or_else(|p| p.into_inner());
            Ok(match people.get(id.expose()) {
                None => AuthorityAnswer::NotFound,
                Some(n) if n == name.expose() => AuthorityAnswer::Match,
                Some(_) => AuthorityAnswer::Mismatch,
            })
        };
        Box::pin(async move { answer })
    }
}

/// A face service driven by the liveness session reference: `spoof…` is not live, `other…` is another
/// person, anything else is a live match with score 95.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeFaceService;

impl FaceService for FakeFaceService {
    fn compare<'a>(&'a self, _id: &'a ResidentId, evidence: &'a FaceEvidence) -> CheckFuture<'a, FaceAnswer> {
        let s = evidence.liveness_session.as_str();
        let answer = if s.starts_with("spoof") {
            FaceAnswer { live: false, same_person: false, score: 0 }
        } else if s.starts_with("other") {
            FaceAnswer { live: true, same_person: false, score: 12 }
        } else {
            FaceAnswer { live: true, same_person: true, score: 95 }
        };
        Box::pin(async move { Ok(answer) })
    }
}

#[derive(Debug, Clone)]
struct CardOnFile {
    holder: String,
    phone: String,
    id_number: Option<String>,
    issuer: String,
}

/// A bank that knows the cards it is given. An unknown card does not match; its issuer is reported as
/// `BIN<first six digits>`.
#[derive(Debug, Clone, Default)]
pub struct FakeBank {
    cards: Arc<Mutex<HashMap<String, CardOnFile>>>,
}

impl FakeBank {
    /// A bank with no cards.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a card: number, holder, reserved phone (E.164 or mainland), holder's ID number, issuer code.
    pub fn with_card(self, card: &str, holder: &str, phone: &str, id_number: Option<&str>, issuer: &str) -> Self {
        let key = card.chars().filter(char::is_ascii_digit).collect::<String>();
        let phone = qianbao_core::PhoneNumber::parse(phone).map(|p| p.as_str().to_string()).unwrap_or_default();
        let entry = CardOnFile {
            holder: holder.to_string(),
            phone,
            id_number: id_number.map(|s| s.to_ascii_uppercase()),
            issuer: issuer.to_string(),
        };
        self.cards.lock().unwrap_or_else(|p| p.into_inner()).insert(key, entry);
        self
    }
}

fn issuer_of_unknown(card: &BankCardNumber) -> String {
    format!("BIN{}", card.bin())
}

impl BankVerifier for FakeBank {
    fn check<'a>(&'a self, q: BankQuery<'a>) -> CheckFuture<'a, BankAnswer> {
        let cards = self.cards.lock().unwrap_or_else(|p| p.into_inner());
        let answer = match cards.get(q.card.expose()) {
            None => BankAnswer { matched: false, issuer: issuer_of_unknown(q.card) },
            Some(c) => {
                let id_ok = match (q.id_number, &c.id_number) {
                    (Some(given), Some(known)) => given.expose() == known,
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                let matched = c.holder == q.holder.expose() && c.phone == q.phone.as_str() && id_ok;
                BankAnswer { matched, issuer: c.issuer.clone() }
            }
        };
        Box::pin(async move { Ok(answer) })
    }
}
