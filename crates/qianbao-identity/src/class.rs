//! Account classes of payment accounts (PBOC rules for non-bank payment institutions, DESIGN.md §4):
//! how many independent external channels verified the user decides the class, and each class has a cap
//! on balance payments that the facade turns into ledger limits.

use qianbao_core::{Currency, Money};
use serde::{Deserialize, Serialize};

/// The class of a real-name verified payment account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AccountClass {
    /// Class I: at least one external verification channel.
    I,
    /// Class II: at least three.
    II,
    /// Class III: at least five.
    III,
}

/// An independent external channel that confirmed the user's identity. Each counts once per user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VerificationChannel {
    /// The public-security ID authority confirmed name and ID number (two-element check).
    IdAuthority,
    /// The face service matched a live face to the ID authority's photo.
    FaceComparison,
    /// A bank confirmed card, holder and reserved phone; one channel per issuing bank (its code).
    Bank(String),
    /// An operator checked the documents in person.
    InPerson,
}

impl VerificationChannel {
    /// A stable key for storage: `id_authority`, `face`, `bank:<issuer>`, `in_person`.
    pub fn key(&self) -> String {
        match self {
            VerificationChannel::IdAuthority => "id_authority".into(),
            VerificationChannel::FaceComparison => "face".into(),
            VerificationChannel::Bank(issuer) => format!("bank:{issuer}"),
            VerificationChannel::InPerson => "in_person".into(),
        }
    }

    /// The channel of a stored key.
    pub fn from_key(s: &str) -> Option<Self> {
        match s {
            "id_authority" => Some(VerificationChannel::IdAuthority),
            "face" => Some(VerificationChannel::FaceComparison),
            "in_person" => Some(VerificationChannel::InPerson),
            other => other.strip_prefix("bank:").map(|i| VerificationChannel::Bank(i.to_string())),
        }
    }
}

impl AccountClass {
    /// The class reached with `channels` distinct channels: 1–2 → I, 3–4 → II, 5+ → III; none with 0.
    pub fn for_channel_count(channels: usize) -> Option<Self> {
        match channels {
            0 => None,
            1..=2 => Some(AccountClass::I),
            3..=4 => Some(AccountClass::II),
            _ => Some(AccountClass::III),
        }
    }

    /// The stable name `I`, `II` or `III`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountClass::I => "I",
            AccountClass::II => "II",
            AccountClass::III => "III",
        }
    }

    /// The class of a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "I" => Some(AccountClass::I),
            "II" => Some(AccountClass::II),
            "III" => Some(AccountClass::III),
            _ => None,
        }
    }

    /// This class's cap under `caps`.
    pub fn cap(self, caps: &ClassCaps) -> ClassCap {
        match self {
            AccountClass::I => ClassCap { amount: caps.class_i_total, period: CapPeriod::SinceOpening },
            AccountClass::II => ClassCap { amount: caps.class_ii_yearly, period: CapPeriod::CalendarYear },
            AccountClass::III => ClassCap { amount: caps.class_iii_yearly, period: CapPeriod::CalendarYear },
        }
    }
}

/// Over what period a cap adds up payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CapPeriod {
    /// Every balance payment since the account was opened.
    SinceOpening,
    /// Balance payments within a calendar year (Asia/Shanghai).
    CalendarYear,
}

/// A class's cap on balance payments: the data the facade maps to ledger limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassCap {
    /// The most paid from the balance within the period.
    pub amount: Money,
    /// The period.
    pub period: CapPeriod,
}

/// The caps per class. Defaults follow the PBOC rules: class I CNY 1,000 in total since opening, class II
/// CNY 100,000 a year, class III CNY 200,000 a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClassCaps {
    /// Class I, since opening. Default CNY 1,000.00.
    pub class_i_total: Money,
    /// Class II, per calendar year. Default CNY 100,000.00.
    pub class_ii_yearly: Money,
    /// Class III, per calendar year. Default CNY 200,000.00.
    pub class_iii_yearly: Money,
}

impl Default for ClassCaps {
    fn default() -> Self {
        ClassCaps {
            class_i_total: Money::from_minor(100_000, Currency::CNY),
            class_ii_yearly: Money::from_minor(10_000_000, Currency::CNY),
            class_iii_yearly: Money::from_minor(20_000_000, Currency::CNY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_channel_counts_and_caps() {
        assert_eq!(AccountClass::for_channel_count(0), None);
        assert_eq!(AccountClass::for_channel_count(1), Some(AccountClass::I));
        assert_eq!(AccountClass::for_channel_count(2), Some(AccountClass::I));
        assert_eq!(AccountClass::for_channel_count(3), Some(AccountClass::II));
        assert_eq!(AccountClass::for_channel_count(5), Some(AccountClass::III));
        let caps = ClassCaps::default();
        assert_eq!(AccountClass::I.cap(&caps).amount.to_string(), "1000.00 CNY");
        assert_eq!(AccountClass::II.cap(&caps).period, CapPeriod::CalendarYear);
        assert_eq!(AccountClass::III.cap(&caps).amount.minor(), 20_000_000);
        for c in
            [VerificationChannel::IdAuthority, VerificationChannel::Bank("ICBC".into()), VerificationChannel::InPerson]
        {
            assert_eq!(VerificationChannel::from_key(&c.key()), Some(c));
        }
        assert_eq!(AccountClass::from_name(AccountClass::II.as_str()), Some(AccountClass::II));
    }
}
