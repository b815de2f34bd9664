//! What the store keeps (records, with personal data sealed) and what the API shows (views, masked).

use std::fmt;

use qianbao_core::{ContactError, Email, PhoneNumber, Timestamp, UserId};
use serde::{Deserialize, Serialize};

use crate::class::AccountClass;
use crate::kyc::{Application, ApplicationId, ApplicationState, ApplicationSummary, CheckOutcome, KycMethod};
use crate::status::UserStatus;

/// A phone number or an email address: a login name and a way to reach the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ContactValue {
    /// A phone number (SMS).
    Phone(PhoneNumber),
    /// An email address.
    Email(Email),
}

/// Which kind of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ContactKind {
    /// Phone.
    Phone,
    /// Email.
    Email,
}

impl ContactKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "phone" => Some(ContactKind::Phone),
            "email" => Some(ContactKind::Email),
            _ => None,
        }
    }
}

impl ContactValue {
    /// Parses a login name: an email address when it has an `@`, a phone number otherwise.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        if input.contains('@') {
            Email::parse(input).map(ContactValue::Email)
        } else {
            PhoneNumber::parse(input).map(ContactValue::Phone)
        }
    }

    /// Phone or email.
    pub fn kind(&self) -> ContactKind {
        match self {
            ContactValue::Phone(_) => ContactKind::Phone,
            ContactValue::Email(_) => ContactKind::Email,
        }
    }

    /// The normalized value (E.164, or the lower-cased address).
    pub fn as_str(&self) -> &str {
        match self {
            ContactValue::Phone(p) => p.as_str(),
            ContactValue::Email(e) => e.as_str(),
        }
    }

    /// For display.
    pub fn masked(&self) -> String {
        match self {
            ContactValue::Phone(p) => p.masked(),
            ContactValue::Email(e) => e.masked(),
        }
    }

    /// Parts the password check refuses to see in a password (phone digits, email local part).
    pub(crate) fn password_inputs(&self) -> Vec<String> {
        match self {
            ContactValue::Phone(p) => {
                let digits = p.as_str().trim_start_matches('+').to_string();
                let national = digits.strip_prefix("86").map(str::to_string);
                std::iter::once(digits).chain(national).collect()
            }
            ContactValue::Email(e) => {
                vec![e.as_str().to_string(), e.as_str().split('@').next().unwrap_or_default().to_string()]
            }
        }
    }
}

impl From<PhoneNumber> for ContactValue {
    fn from(p: PhoneNumber) -> Self {
        ContactValue::Phone(p)
    }
}

impl From<Email> for ContactValue {
    fn from(e: Email) -> Self {
        ContactValue::Email(e)
    }
}

/// A 32-byte keyed look-up digest (HMAC-SHA-256); not secret, but useless without the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupDigest(pub [u8; 32]);

impl fmt::Debug for LookupDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LookupDigest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// A stored contact: sealed value, look-up digest, masked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Phone or email.
    pub kind: ContactKind,
    /// Look-up digest of the normalized value.
    pub digest: LookupDigest,
    /// The value sealed for the user.
    pub sealed: Vec<u8>,
    /// For display.
    pub masked: String,
    /// When it was added.
    pub added_at: Timestamp,
    /// When it was verified; `None` while unverified.
    pub verified_at: Option<Timestamp>,
}

/// The user's verified identity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealNameRecord {
    /// The name and ID number, sealed for the user (JSON `{"name":…,"id":…}`).
    pub sealed: Vec<u8>,
    /// Look-up digest of the ID number, when verified with one.
    pub id_digest: Option<LookupDigest>,
    /// `王**`.
    pub name_masked: String,
    /// `110105********002X`.
    pub id_masked: Option<String>,
    /// When first verified.
    pub verified_at: Timestamp,
}

/// A stored PHC string of a password hash. Not the password, but `Debug` hides it anyway.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// A stored user with everything identity keeps about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Bumped by every write (optimistic concurrency).
    pub version: u64,
    /// Registration time.
    pub created_at: Timestamp,
    /// Status.
    pub status: UserStatus,
    /// When the status last changed.
    pub status_at: Timestamp,
    /// Why.
    pub status_reason: String,
    /// The facade says the user has a second factor (TOTP).
    pub second_factor: bool,
    /// Login password hash.
    pub password: PasswordHash,
    /// When the password was set.
    pub password_set_at: Timestamp,
    /// The password met the single-factor minimum when set.
    pub password_single_factor_ok: bool,
    /// Payment password hash, when set.
    pub payment_password: Option<PasswordHash>,
    /// When the payment password was set.
    pub payment_password_set_at: Option<Timestamp>,
    /// The account class, once verified.
    pub class: Option<AccountClass>,
    /// The verified identity.
    pub real_name: Option<RealNameRecord>,
    /// Real-name submissions found false.
    pub false_submissions: u32,
    /// Contacts, in the order added.
    pub contacts: Vec<ContactRecord>,
}

/// A stored real-name application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    /// Id.
    pub id: ApplicationId,
    /// Whose.
    pub user: UserId,
    /// Bumped by every write.
    pub version: u64,
    /// Method.
    pub method: KycMethod,
    /// State.
    pub state: ApplicationState,
    /// Started.
    pub created_at: Timestamp,
    /// Submitted.
    pub submitted_at: Option<Timestamp>,
    /// Decided.
    pub decided_at: Option<Timestamp>,
    /// The request (name, numbers, photo digests) sealed for the application.
    pub payload: Vec<u8>,
    /// Look-up digest of the ID number, if any.
    pub id_digest: Option<LookupDigest>,
    /// Look-up digest of the card number, if any.
    pub card_digest: Option<LookupDigest>,
    /// Masked summary.
    pub summary: ApplicationSummary,
    /// External check results.
    pub checks: Vec<CheckOutcome>,
    /// Reviewer.
    pub reviewer: Option<String>,
}

impl ApplicationRecord {
    /// The API view.
    pub fn view(&self) -> Application {
        Application {
            id: self.id,
            user: self.user,
            method: self.method,
            state: self.state.clone(),
            summary: self.summary.clone(),
            checks: self.checks.clone(),
            created_at: self.created_at,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
            reviewer: self.reviewer.clone(),
        }
    }
}

/// A contact in the clear, for sending codes and notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The phone number or address.
    pub value: ContactValue,
    /// When it was verified; `None` while unverified (send it nothing but a verification code).
    pub verified_at: Option<Timestamp>,
}

/// A contact as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactView {
    /// Phone or email.
    pub kind: ContactKind,
    /// Masked value.
    pub masked: String,
    /// When added.
    pub added_at: Timestamp,
    /// When verified.
    pub verified_at: Option<Timestamp>,
}

/// The verified identity as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealNameView {
    /// `王**`.
    pub name_masked: String,
    /// `110105********002X`.
    pub id_masked: Option<String>,
    /// When verified.
    pub verified_at: Timestamp,
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Status.
    pub status: UserStatus,
    /// When the status last changed.
    pub status_at: Timestamp,
    /// Why.
    pub status_reason: String,
    /// Registered.
    pub created_at: Timestamp,
    /// Contacts.
    pub contacts: Vec<ContactView>,
    /// Has a second factor.
    pub second_factor: bool,
    /// When the password was set.
    pub password_set_at: Timestamp,
    /// A payment password is set.
    pub payment_password_set: bool,
    /// The account class (`None`: not real-name verified).
    pub class: Option<AccountClass>,
    /// The verified identity.
    pub real_name: Option<RealNameView>,
}

impl UserRecord {
    /// The API view.
    pub fn view(&self) -> User {
        User {
            id: self.id,
            status: self.status,
            status_at: self.status_at,
            status_reason: self.status_reason.clone(),
            created_at: self.created_at,
            contacts: self
                .contacts
                .iter()
                .map(|c| ContactView {
                    kind: c.kind,
                    masked: c.masked.clone(),
                    added_at: c.added_at,
                    verified_at: c.verified_at,
                })
                .collect(),
            second_factor: self.second_factor,
            password_set_at: self.password_set_at,
            payment_password_set: self.payment_password.is_some(),
            class: self.class,
            real_name: self.real_name.as_ref().map(|r| RealNameView {
                name_masked: r.name_masked.clone(),
                id_masked: r.id_masked.clone(),
                verified_at: r.verified_at,
            }),
        }
    }

    /// The contact with look-up digest `digest`.
    pub fn contact(&self, digest: &LookupDigest) -> Option<&ContactRecord> {
        self.contacts.iter().find(|c| &c.digest == digest)
    }
}

/// A verification channel a user passed, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// The channel.
    pub channel: crate::class::VerificationChannel,
    /// The application that passed it (none for an operator's in-person check).
    pub application: Option<ApplicationId>,
    /// When it was granted.
    pub at: Timestamp,
}
