//! Real-name verification (实名认证): applications by resident ID card or by bank card, their states and
//! the decisions over them.
//!
//! ```text
//! draft ──submit──▶ submitted ──review──▶ approved
//!   │  (external checks pass)  └──review──▶ rejected (reason)
//!   └──submit, a check says the information is false──▶ rejected (false information)
//! ```
//!
//! An external check that cannot be reached leaves the draft unchanged. Each approved application adds
//! the channels it passed ([`VerificationChannel`]); their number sets the [`AccountClass`](crate::AccountClass).

use std::fmt;

use qianbao_core::{Id128, IdError, PhoneNumber, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bank_card::{BankCardNumber, CardScheme};
use crate::class::VerificationChannel;
use crate::name::RealName;
use crate::resident_id::ResidentId;

/// A real-name application.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApplicationId(Id128);

impl ApplicationId {
    /// From a raw 128-bit value.
    pub const fn from_u128(v: u128) -> Self {
        ApplicationId(Id128::from_u128(v))
    }
    /// The raw id.
    pub const fn raw(self) -> Id128 {
        self.0
    }
    /// Big-endian bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }
    /// Parses 32 hexadecimal digits.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Id128::parse(s).map(ApplicationId)
    }
}

impl From<Id128> for ApplicationId {
    fn from(raw: Id128) -> Self {
        ApplicationId(raw)
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApplicationId({})", self.0)
    }
}

impl Serialize for ApplicationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ApplicationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ApplicationId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The SHA-256 digest of a photo the embedding service stored (ID card sides, selfie). The photos
/// themselves are not kept here.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhotoDigest(pub [u8; 32]);

impl fmt::Debug for PhotoDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhotoDigest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// Evidence of a live face: the selfie's digest and the face service's liveness session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceEvidence {
    /// The selfie frame compared with the ID authority's photo.
    pub selfie: PhotoDigest,
    /// The face service's liveness session reference.
    pub liveness_session: String,
}

/// An application by resident ID card.
#[derive(Debug, Clone)]
pub struct IdCardRequest {
    /// The name as on the card.
    pub name: RealName,
    /// The ID number.
    pub id_number: ResidentId,
    /// The photo side (人像面).
    pub front_photo: PhotoDigest,
    /// The emblem side (国徽面).
    pub back_photo: PhotoDigest,
    /// The face/liveness evidence.
    pub face: FaceEvidence,
}

/// An application by bank card: a three-element check (holder, card, reserved phone) or, with the ID
/// number, a four-element one.
#[derive(Debug, Clone)]
pub struct BankCardRequest {
    /// The card holder's name.
    pub holder: RealName,
    /// The card number.
    pub card: BankCardNumber,
    /// The phone number reserved at the bank.
    pub phone: PhoneNumber,
    /// The holder's ID number, for a four-element check.
    pub id_number: Option<ResidentId>,
}

/// What a user applies with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KycRequest {
    /// By resident ID card.
    IdCard(IdCardRequest),
    /// By bank card.
    BankCard(BankCardRequest),
}

impl KycRequest {
    /// The method.
    pub fn method(&self) -> KycMethod {
        match self {
            KycRequest::IdCard(_) => KycMethod::IdCard,
            KycRequest::BankCard(_) => KycMethod::BankCard,
        }
    }

    /// The applicant's name.
    pub fn name(&self) -> &RealName {
        match self {
            KycRequest::IdCard(r) => &r.name,
            KycRequest::BankCard(r) => &r.holder,
        }
    }

    /// The ID number, when the application has one.
    pub fn id_number(&self) -> Option<&ResidentId> {
        match self {
            KycRequest::IdCard(r) => Some(&r.id_number),
            KycRequest::BankCard(r) => r.id_number.as_ref(),
        }
    }

    /// What may be shown of it.
    pub fn summary(&self) -> ApplicationSummary {
        let (card_masked, card_scheme, phone_masked) = match self {
            KycRequest::IdCard(_) => (None, None, None),
            KycRequest::BankCard(r) => (Some(r.card.masked()), Some(r.card.scheme()), Some(r.phone.masked())),
        };
        ApplicationSummary {
            name_masked: self.name().masked(),
            id_masked: self.id_number().map(ResidentId::masked),
            card_masked,
            card_scheme,
            phone_masked,
        }
    }
}

/// How an application verifies the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KycMethod {
    /// Resident ID card, face and liveness.
    IdCard,
    /// Bank card.
    BankCard,
}

impl KycMethod {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            KycMethod::IdCard => "id_card",
            KycMethod::BankCard => "bank_card",
        }
    }

    /// The method of a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "id_card" => Some(KycMethod::IdCard),
            "bank_card" => Some(KycMethod::BankCard),
            _ => None,
        }
    }
}

/// The masked, displayable part of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationSummary {
    /// `王**`.
    pub name_masked: String,
    /// `110105********002X`.
    pub id_masked: Option<String>,
    /// `6222***********0128`.
    pub card_masked: Option<String>,
    /// The card's scheme.
    pub card_scheme: Option<CardScheme>,
    /// The reserved phone, masked.
    pub phone_masked: Option<String>,
}

/// Why an application was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RejectionCode {
    /// The ID authority says the name and number do not belong together, or the number does not exist.
    IdAuthorityMismatch,
    /// The face service found no live person.
    LivenessFailed,
    /// The face does not match the ID authority's photo.
    FaceMismatch,
    /// The bank says the card, holder, phone or ID do not match.
    BankMismatch,
    /// The name or ID number differs from the user's verified identity.
    IdentityMismatch,
    /// The ID number already verifies the most accounts allowed.
    IdNumberLimitReached,
    /// A reviewer found the photos unreadable or incomplete.
    DocumentsUnreadable,
    /// A reviewer found the information false.
    FalseInformation,
    /// Anything else a reviewer says.
    Other,
}

impl RejectionCode {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::IdAuthorityMismatch => "id_authority_mismatch",
            RejectionCode::LivenessFailed => "liveness_failed",
            RejectionCode::FaceMismatch => "face_mismatch",
            RejectionCode::BankMismatch => "bank_mismatch",
            RejectionCode::IdentityMismatch => "identity_mismatch",
            RejectionCode::IdNumberLimitReached => "id_number_limit_reached",
            RejectionCode::DocumentsUnreadable => "documents_unreadable",
            RejectionCode::FalseInformation => "false_information",
            RejectionCode::Other => "other",
        }
    }

    /// The code of a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            RejectionCode::IdAuthorityMismatch,
            RejectionCode::LivenessFailed,
            RejectionCode::FaceMismatch,
            RejectionCode::BankMismatch,
            RejectionCode::IdentityMismatch,
            RejectionCode::IdNumberLimitReached,
            RejectionCode::DocumentsUnreadable,
            RejectionCode::FalseInformation,
            RejectionCode::Other,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// True for codes that mean the applicant gave false information (they count toward a ban).
    pub fn is_false_information(self) -> bool {
        matches!(
            self,
            RejectionCode::IdAuthorityMismatch
                | RejectionCode::FaceMismatch
                | RejectionCode::BankMismatch
                | RejectionCode::IdentityMismatch
                | RejectionCode::FalseInformation
        )
    }
}

/// A rejection: the code and a note for the user (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Why.
    pub code: RejectionCode,
    /// A human-readable note.
    pub note: String,
}

/// Where an application stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ApplicationState {
    /// Started; not yet submitted.
    Draft,
    /// Submitted; the external checks passed; waiting for review.
    Submitted,
    /// Approved: the user is verified.
    Approved,
    /// Rejected, with the reason.
    Rejected(Rejection),
}

impl ApplicationState {
    /// The stable name: `draft`, `submitted`, `approved`, `rejected`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApplicationState::Draft => "draft",
            ApplicationState::Submitted => "submitted",
            ApplicationState::Approved => "approved",
            ApplicationState::Rejected(_) => "rejected",
        }
    }
}

/// Which external check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CheckKind {
    /// ID authority, two elements (name + ID number).
    IdAuthority,
    /// Face comparison and liveness.
    Face,
    /// Bank, three or four elements.
    Bank,
}

/// The result of one external check, as recorded on the application (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Which check.
    pub kind: CheckKind,
    /// Whether it passed.
    pub passed: bool,
    /// What it said, e.g. `score 93` or `issuer ICBC`.
    pub detail: String,
    /// When.
    pub at: Timestamp,
    /// The channel it counts as when the application is approved (passed checks only).
    pub channel: Option<VerificationChannel>,
    /// The rejection it causes (failed checks only).
    pub rejection: Option<RejectionCode>,
}

/// A reviewer's decision on a submitted application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReviewDecision {
    /// Approve: the user becomes verified with the application's channels.
    Approve,
    /// Reject with a reason; [`RejectionCode::FalseInformation`] counts toward a ban.
    Reject(Rejection),
}

/// An application as the API shows it (no payload, no digests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Its id.
    pub id: ApplicationId,
    /// Whose.
    pub user: qianbao_core::UserId,
    /// By ID card or bank card.
    pub method: KycMethod,
    /// Where it stands.
    pub state: ApplicationState,
    /// What may be shown of what was applied with.
    pub summary: ApplicationSummary,
    /// External check results, in order.
    pub checks: Vec<CheckOutcome>,
    /// When it was started.
    pub created_at: Timestamp,
    /// When it was submitted.
    pub submitted_at: Option<Timestamp>,
    /// When it was approved or rejected.
    pub decided_at: Option<Timestamp>,
    /// Who reviewed it.
    pub reviewer: Option<String>,
}

/// The first failed check's rejection, if any: what `submit` turns into an automatic rejection.
pub fn first_failure(checks: &[CheckOutcome]) -> Option<Rejection> {
    checks.iter().find(|c| !c.passed).map(|c| Rejection {
        code: c.rejection.unwrap_or(RejectionCode::Other),
        note: format!("{:?} check failed: {}", c.kind, c.detail),
    })
}

/// The channels the passed checks earn.
pub fn channels_of(checks: &[CheckOutcome]) -> Vec<VerificationChannel> {
    let mut out: Vec<VerificationChannel> =
        checks.iter().filter(|c| c.passed).filter_map(|c| c.channel.clone()).collect();
    out.sort();
    out.dedup();
    out
}

/// The user's verified identity: what every later application must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The verified name.
    pub name: RealName,
    /// The verified ID number, when one was verified.
    pub id_number: Option<ResidentId>,
}

/// Checks an application against the user's verified identity: same name, and the same ID number when
/// both have one.
pub fn matches_identity(request: &KycRequest, verified: &VerifiedIdentity) -> bool {
    let same_name = request.name() == &verified.name;
    let same_id = match (request.id_number(), &verified.id_number) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    same_name && same_id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        kind: CheckKind,
        passed: bool,
        channel: Option<VerificationChannel>,
        rejection: Option<RejectionCode>,
    ) -> CheckOutcome {
        CheckOutcome { kind, passed, detail: "x".into(), at: Timestamp::ZERO, channel, rejection }
    }

    #[test]
    fn failures_and_channels() {
        let ok = [
            outcome(CheckKind::IdAuthority, true, Some(VerificationChannel::IdAuthority), None),
            outcome(CheckKind::Face, true, Some(VerificationChannel::FaceComparison), None),
        ];
        assert_eq!(first_failure(&ok), None);
        assert_eq!(channels_of(&ok).len(), 2);
        let bad = [ok[0].clone(), outcome(CheckKind::Face, false, None, Some(RejectionCode::LivenessFailed))];
        assert_eq!(first_failure(&bad).unwrap().code, RejectionCode::LivenessFailed);
        assert_eq!(channels_of(&bad), vec![VerificationChannel::IdAuthority]);
        assert!(RejectionCode::FaceMismatch.is_false_information());
        assert!(!RejectionCode::LivenessFailed.is_false_information());
        assert_eq!(RejectionCode::from_name("bank_mismatch"), Some(RejectionCode::BankMismatch));
        let id = ApplicationId::from_u128(7);
        assert_eq!(serde_json::from_str::<ApplicationId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
    }
}
