//! The records this CA keeps: certificate records with their status and the view a user sees, the usage
//! record, and the identity proof the facade hands in.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use qianbao_core::{DeviceId, Timestamp, UserId};
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A certificate's serial number as it appears in the certificate: 16 bytes, random
/// ([`CertSerial::random`], CA certificates) or indistinguishable from random (device certificates,
/// [`crate::SerialCipher`]), the top bit cleared and the first byte nonzero (so the DER INTEGER is exactly
/// these 16 bytes, positive). Printed as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertSerial([u8; 16]);

impl CertSerial {
    /// The serial from its 16 bytes; `None` unless the top bit is clear and the first byte nonzero.
    pub fn from_bytes(b: [u8; 16]) -> Option<Self> {
        (b[0] != 0 && b[0] & 0x80 == 0).then_some(CertSerial(b))
    }

    /// The serial from the bytes of a DER INTEGER's content (as webpki hands them out).
    pub fn from_der_integer(bytes: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(bytes).ok().and_then(Self::from_bytes)
    }

    /// A fresh random serial from `entropy` (RFC 5280 §4.1.2.2: positive, at most 20 octets).
    pub fn random(entropy: &dyn qianbao_core::Entropy) -> Self {
        loop {
            let mut b = [0u8; 16];
            entropy.fill(&mut b);
            b[0] &= 0x7f;
            if let Some(s) = Self::from_bytes(b) {
                return s;
            }
        }
    }

    /// The 16 bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Parses 32 hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        let v = data_encoding::HEXLOWER_PERMISSIVE.decode(s.as_bytes()).ok()?;
        Self::from_der_integer(&v)
    }
}

impl fmt::Display for CertSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

impl fmt::Debug for CertSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertSerial({self})")
    }
}

impl FromStr for CertSerial {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or("a certificate serial is 32 hex digits, top bit clear, first byte nonzero")
    }
}

impl Serialize for CertSerial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CertSerial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The SHA-256 digest of a certificate's DER encoding (what `openssl x509 -fingerprint -sha256` shows).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`.
    pub fn of(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// From the 32 digest bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Fingerprint(b)
    }

    /// The 32 digest bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = data_encoding::HEXLOWER_PERMISSIVE.decode(s.as_bytes()).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(v.as_slice())
            .map(Fingerprint)
            .map_err(|_| serde::de::Error::custom("a fingerprint is 64 hex digits"))
    }
}

/// Why a certificate was revoked (RFC 5280 §5.3.1 `CRLReason`). `certificateHold` and `removeFromCRL`
/// are deliberately absent: revocation here is permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The device key was lost, stolen or exposed (used by reissue after loss, 补办).
    KeyCompromise,
    /// The CA's key was compromised.
    CaCompromise,
    /// The user's affiliation changed (e.g. the account was closed).
    AffiliationChanged,
    /// Replaced by another certificate.
    Superseded,
    /// No longer needed (the user removed the device).
    CessationOfOperation,
    /// The user lost the right to use it (e.g. the account was frozen or banned).
    PrivilegeWithdrawn,
    /// An attribute authority was compromised.
    AaCompromise,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 8] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The stable name stored in the database (RFC 5280's spelling in snake case).
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::CaCompromise => "ca_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
            RevocationReason::PrivilegeWithdrawn => "privilege_withdrawn",
            RevocationReason::AaCompromise => "aa_compromise",
        }
    }

    /// The reason from its stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The RFC 5280 reason code (the value in a CRL entry's reasonCode).
    pub fn code(self) -> u8 {
        self.to_rcgen() as u8
    }

    pub(crate) fn to_rcgen(self) -> rcgen::RevocationReason {
        use rcgen::RevocationReason as R;
        match self {
            RevocationReason::Unspecified => R::Unspecified,
            RevocationReason::KeyCompromise => R::KeyCompromise,
            RevocationReason::CaCompromise => R::CaCompromise,
            RevocationReason::AffiliationChanged => R::AffiliationChanged,
            RevocationReason::Superseded => R::Superseded,
            RevocationReason::CessationOfOperation => R::CessationOfOperation,
            RevocationReason::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
            RevocationReason::AaCompromise => R::AaCompromise,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored status of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertStatus {
    /// In force (it may still have expired: see [`CertView`]).
    Active,
    /// Replaced by a renewal at `at`; it keeps verifying for the configured grace period after `at`.
    Superseded {
        /// When it was replaced.
        at: Timestamp,
        /// The certificate that replaced it.
        by: CertSerial,
    },
    /// Revoked at `at` for `reason`. Permanent.
    Revoked {
        /// When it was revoked.
        at: Timestamp,
        /// Why.
        reason: RevocationReason,
    },
}

impl CertStatus {
    /// Whether a certificate in this status may still be used at `now`, given the supersede grace.
    /// Returns the typed refusal otherwise. Validity dates are checked elsewhere.
    pub fn check_usable(&self, serial: CertSerial, now: Timestamp, grace: Duration) -> Result<(), crate::CaError> {
        match *self {
            CertStatus::Active => Ok(()),
            CertStatus::Superseded { at, .. } if now < at.saturating_add(grace) => Ok(()),
            CertStatus::Superseded { .. } => Err(crate::CaError::CertificateSuperseded { serial }),
            CertStatus::Revoked { reason, .. } => Err(crate::CaError::CertificateRevoked { serial, reason }),
        }
    }
}

/// What a user sees of a certificate: the status and dates folded into one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertView {
    /// Valid, with more than the "expiring" window left.
    Valid,
    /// Valid, but it expires within the window (30 days by default): renew it.
    Expiring,
    /// Past its notAfter.
    Expired,
    /// Replaced by a renewal.
    Superseded,
    /// Revoked.
    Revoked,
    /// notBefore is still in the future (only with a clock far behind the issuer's).
    NotYetValid,
}

/// One issued certificate as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// The serial the certificate carries.
    pub serial: CertSerial,
    /// The user it is bound to.
    pub user: UserId,
    /// The device it is bound to.
    pub device: DeviceId,
    /// SHA-256 of the DER.
    pub fingerprint: Fingerprint,
    /// The generation of the issuing CA that signed it (1, 2, … across rollovers).
    pub issuer_generation: u32,
    /// notBefore (whole seconds).
    pub not_before: Timestamp,
    /// notAfter (whole seconds).
    pub not_after: Timestamp,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The stored status.
    pub status: CertStatus,
    /// The certificate it replaced (renewal or reissue), if any.
    pub replaces: Option<CertSerial>,
    /// The certificate, DER (base64 in serialized form).
    #[serde(with = "der_base64")]
    pub der: Vec<u8>,
}

impl CertificateRecord {
    /// The certificate as a `CertificateDer`.
    pub fn certificate(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.der.clone())
    }

    /// The certificate in PEM.
    pub fn pem(&self) -> String {
        crate::pem_encode("CERTIFICATE", &self.der)
    }

    /// The view at `now` with `expiring_within` as the "expiring" window.
    pub fn view(&self, now: Timestamp, expiring_within: Duration) -> CertView {
        match self.status {
            CertStatus::Revoked { .. } => CertView::Revoked,
            CertStatus::Superseded { .. } => CertView::Superseded,
            CertStatus::Active if now >= self.not_after => CertView::Expired,
            CertStatus::Active if now < self.not_before => CertView::NotYetValid,
            CertStatus::Active if now.saturating_add(expiring_within) >= self.not_after => CertView::Expiring,
            CertStatus::Active => CertView::Valid,
        }
    }

    /// A summary for listing at `now`.
    pub fn summary(&self, now: Timestamp, expiring_within: Duration) -> CertificateSummary {
        CertificateSummary {
            serial: self.serial,
            user: self.user,
            device: self.device,
            fingerprint: self.fingerprint,
            not_before: self.not_before,
            not_after: self.not_after,
            issued_at: self.issued_at,
            status: self.status,
            view: self.view(now, expiring_within),
            days_left: self.not_after.duration_since(now).as_secs() / 86_400,
        }
    }
}

/// What a user's certificate list shows for one certificate (no DER).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    /// Its serial.
    pub serial: CertSerial,
    /// The user.
    pub user: UserId,
    /// The device.
    pub device: DeviceId,
    /// SHA-256 of the DER.
    pub fingerprint: Fingerprint,
    /// notBefore.
    pub not_before: Timestamp,
    /// notAfter.
    pub not_after: Timestamp,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The stored status.
    pub status: CertStatus,
    /// The derived view.
    pub view: CertView,
    /// Whole days until notAfter (0 once expired).
    pub days_left: u64,
}

pub(crate) mod der_base64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&data_encoding::BASE64.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        data_encoding::BASE64.decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// What happened, in the usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UsageKind {
    /// A certificate was issued for a device with no active certificate.
    Issued,
    /// A certificate was issued by renewal (the old one superseded).
    Renewed,
    /// A certificate was issued after loss (the old ones revoked).
    Reissued,
    /// A certificate was revoked.
    Revoked,
    /// A certificate was superseded by a renewal or a new issuance.
    Superseded,
    /// A presented certificate was checked (payment or mTLS): `failure` says why it was refused, if it was.
    Verified,
    /// A signed payment order was checked (a use of the device's signature): `failure` says why it was
    /// refused, if it was.
    OrderSigned,
    /// A renewal proof signed by the certificate's key was checked.
    RenewalProof,
}

impl UsageKind {
    /// Every kind.
    pub const ALL: [UsageKind; 8] = [
        UsageKind::Issued,
        UsageKind::Renewed,
        UsageKind::Reissued,
        UsageKind::Revoked,
        UsageKind::Superseded,
        UsageKind::Verified,
        UsageKind::OrderSigned,
        UsageKind::RenewalProof,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageKind::Issued => "issued",
            UsageKind::Renewed => "renewed",
            UsageKind::Reissued => "reissued",
            UsageKind::Revoked => "revoked",
            UsageKind::Superseded => "superseded",
            UsageKind::Verified => "verified",
            UsageKind::OrderSigned => "order_signed",
            UsageKind::RenewalProof => "renewal_proof",
        }
    }

    /// From the stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this is the issuance of the event's certificate (issued, renewed, reissued): recorded once
    /// per certificate, with the certificate, which the store links to it (it is not in the usage
    /// record's index by serial).
    pub fn is_issuance(self) -> bool {
        matches!(self, UsageKind::Issued | UsageKind::Renewed | UsageKind::Reissued)
    }
}

/// One entry of the append-only usage record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: UsageKind,
    /// The certificate concerned, when known (a refused foreign certificate has none).
    pub serial: Option<CertSerial>,
    /// The user concerned, when known.
    pub user: Option<UserId>,
    /// `None` on success; otherwise the [`CaError::code`](crate::CaError::code) of the refusal.
    pub failure: Option<String>,
    /// Free text: the order id, the revocation reason, the proof method (never a secret).
    pub detail: String,
}

/// A stored usage entry: the event with its position in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Position in the append-only record (increasing).
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: UsageEvent,
}

/// How the facade checked the user's identity just before asking for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentityProofMethod {
    /// An SMS code plus the login password.
    SmsCodeAndPassword,
    /// An SMS code plus the payment password.
    SmsCodeAndPaymentPassword,
}

impl IdentityProofMethod {
    fn as_str(self) -> &'static str {
        match self {
            IdentityProofMethod::SmsCodeAndPassword => "sms_code+password",
            IdentityProofMethod::SmsCodeAndPaymentPassword => "sms_code+payment_password",
        }
    }
}

/// The facade's statement that it has just verified this user's identity (an SMS code plus the login or
/// payment password). Issuance and reissue take one by reference, so they cannot be called by accident
/// without the check: the CA itself does not see codes or passwords; it checks that the proof is for
/// the same user and no older than [`CaConfig::identity_proof_max_age`](crate::CaConfig).
///
/// Deliberately not `Deserialize` and not `Default`: a proof is made by code that did the check, never
/// decoded from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct IdentityProof {
    user: UserId,
    verified_at: Timestamp,
    method: IdentityProofMethod,
}

impl IdentityProof {
    /// Made by the caller right after it verified `user`'s identity with `method` at `verified_at`.
    pub fn new(user: UserId, verified_at: Timestamp, method: IdentityProofMethod) -> Self {
        IdentityProof { user, verified_at, method }
    }

    /// The user.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// When the check happened.
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }

    /// How.
    pub fn method(&self) -> IdentityProofMethod {
        self.method
    }

    /// Checks that the proof is for `user` and fresh at `now`.
    pub fn check(&self, user: UserId, now: Timestamp, max_age: Duration) -> Result<(), crate::CaError> {
        if self.user != user {
            return Err(crate::CaError::IdentityProofWrongUser);
        }
        let too_old = now.duration_since(self.verified_at) > max_age;
        let future = self.verified_at.duration_since(now) > Duration::from_secs(60);
        if too_old || future {
            return Err(crate::CaError::IdentityProofStale { max_age_secs: max_age.as_secs() });
        }
        Ok(())
    }

    pub(crate) fn describe(&self) -> &'static str {
        self.method.as_str()
    }
}
