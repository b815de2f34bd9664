//! The wallet-wide audit trail of security-relevant events: append-only, queryable per user newest first
//! with cursor pagination. Identity writes its own events in the same transaction as the change they
//! record; the facade appends the events of other domains (certificates, tokens, payments, freezes)
//! through [`Identity::record_audit`](crate::Identity::record_audit).
//!
//! An event never carries a secret: no password, code, token, ID or card number — only masked forms.

use std::fmt;
use std::net::IpAddr;

use qianbao_core::{DeviceId, Timestamp, UserId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What happened: a stable, lower-case code `domain.event` (`[a-z0-9_.]`, at most 64 bytes). Open to
/// other domains: make one with [`AuditKind::new`]; the constants name the well-known ones.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditKind(std::borrow::Cow<'static, str>);

/// Why a string is not an audit kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an audit kind is 1 to 64 characters of a-z, 0-9, '_' and '.', got {0:?}")]
pub struct AuditKindError(pub String);

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl AuditKind {
            $( $(#[$doc])* pub const $name: AuditKind = AuditKind(std::borrow::Cow::Borrowed($code)); )*
        }
    };
}

kinds! {
    /// A user registered.
    REGISTERED = "identity.registered";
    /// A login succeeded.
    LOGIN_SUCCEEDED = "identity.login_succeeded";
    /// A login failed: wrong password or unknown account.
    LOGIN_FAILED = "identity.login_failed";
    /// A login was refused without checking the password: back-off or lock in force.
    LOGIN_THROTTLED = "identity.login_throttled";
    /// An account's logins were locked after too many failures.
    LOGIN_LOCKED = "identity.login_locked";
    /// An operator unlocked an account's logins.
    LOGIN_UNLOCKED = "identity.login_unlocked";
    /// The password was changed (with the old one).
    PASSWORD_CHANGED = "identity.password_changed";
    /// The password was reset after a recovery code.
    PASSWORD_RESET = "identity.password_reset";
    /// A stored hash was upgraded to the current parameters.
    PASSWORD_REHASHED = "identity.password_rehashed";
    /// A contact was added (not yet verified).
    CONTACT_ADDED = "identity.contact_added";
    /// A contact was verified.
    CONTACT_VERIFIED = "identity.contact_verified";
    /// A contact was replaced by another.
    CONTACT_CHANGED = "identity.contact_changed";
    /// A contact was removed.
    CONTACT_REMOVED = "identity.contact_removed";
    /// The second factor was turned on or off.
    SECOND_FACTOR_CHANGED = "identity.second_factor_changed";
    /// A real-name application was started.
    KYC_STARTED = "identity.kyc_started";
    /// A real-name application was submitted and checked.
    KYC_SUBMITTED = "identity.kyc_submitted";
    /// A real-name application was approved.
    KYC_APPROVED = "identity.kyc_approved";
    /// A real-name application was rejected.
    KYC_REJECTED = "identity.kyc_rejected";
    /// The payment password was set.
    PAYMENT_PASSWORD_SET = "identity.payment_password_set";
    /// The payment password was changed or reset.
    PAYMENT_PASSWORD_CHANGED = "identity.payment_password_changed";
    /// The payment password was checked and matched.
    PAYMENT_PASSWORD_OK = "identity.payment_password_ok";
    /// The payment password was checked and did not match.
    PAYMENT_PASSWORD_WRONG = "identity.payment_password_wrong";
    /// A payment password try was refused: locked.
    PAYMENT_PASSWORD_LOCKED = "identity.payment_password_locked";
    /// The account status changed (frozen, unfrozen, banned, closed, activated).
    STATUS_CHANGED = "identity.status_changed";
    /// A certificate was issued (facade, from the CA).
    CERTIFICATE_ISSUED = "ca.certificate_issued";
    /// A certificate was renewed.
    CERTIFICATE_RENEWED = "ca.certificate_renewed";
    /// A certificate was used to sign a payment.
    CERTIFICATE_USED = "ca.certificate_used";
    /// A certificate was revoked.
    CERTIFICATE_REVOKED = "ca.certificate_revoked";
    /// A session or transaction token was issued.
    TOKEN_ISSUED = "token.issued";
    /// A token was revoked.
    TOKEN_REVOKED = "token.revoked";
    /// A one-time code was sent.
    CODE_SENT = "token.code_sent";
    /// A one-time code was wrong.
    CODE_FAILED = "token.code_failed";
    /// A device was signed out.
    DEVICE_SIGNED_OUT = "token.device_signed_out";
    /// A login from a device never seen before.
    NEW_DEVICE = "token.new_device";
    /// A payment was held or blocked by the risk rules.
    PAYMENT_BLOCKED = "ledger.payment_blocked";
    /// A user reported an abnormal transaction.
    FRAUD_REPORTED = "ledger.fraud_reported";
}

impl AuditKind {
    /// A kind from its code.
    pub fn new(code: impl Into<String>) -> Result<Self, AuditKindError> {
        let code = code.into();
        let ok = !code.is_empty()
            && code.len() <= 64
            && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if ok { Ok(AuditKind(std::borrow::Cow::Owned(code))) } else { Err(AuditKindError(code)) }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKind({})", self.0)
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AuditKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuditKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AuditKind::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Where a request came from: the device and the client's network address, when known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestContext {
    /// The device the request came from.
    pub device: Option<DeviceId>,
    /// The client's network address.
    pub client: Option<IpAddr>,
}

impl RequestContext {
    /// No device or address known (operator actions, background jobs).
    pub const NONE: RequestContext = RequestContext { device: None, client: None };

    /// A request from `device` at `client`.
    pub fn new(device: Option<DeviceId>, client: Option<IpAddr>) -> Self {
        RequestContext { device, client }
    }
}

/// The most characters of an event's detail kept.
pub const DETAIL_CHARS_MAX: usize = 1000;

/// One security-relevant event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Whose account, if any (a failed login for an unknown account has none).
    pub user: Option<UserId>,
    /// What.
    pub kind: AuditKind,
    /// The device and client address of the request.
    pub context: RequestContext,
    /// A short human-readable detail. Never a secret; masked forms only. Cut at [`DETAIL_CHARS_MAX`].
    pub detail: String,
}

impl AuditEvent {
    /// An event.
    pub fn new(
        at: Timestamp,
        user: Option<UserId>,
        kind: AuditKind,
        context: RequestContext,
        detail: impl Into<String>,
    ) -> Self {
        let mut detail: String = detail.into();
        if detail.chars().count() > DETAIL_CHARS_MAX {
            detail = detail.chars().take(DETAIL_CHARS_MAX).collect();
        }
        AuditEvent { at, user, kind, context, detail }
    }
}

/// A stored event with its position in the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The position: increases with every append.
    pub seq: u64,
    /// The event.
    pub event: AuditEvent,
}

/// Where a page of the trail continues (exclusive): the `seq` of the last record returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuditCursor(pub u64);

/// One page of the trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The records, newest first.
    pub records: Vec<AuditRecord>,
    /// Pass this to get the next (older) page; `None` at the end.
    pub next: Option<AuditCursor>,
}

/// The most records one page returns.
pub const AUDIT_PAGE_MAX: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_codes() {
        assert_eq!(AuditKind::LOGIN_FAILED.as_str(), "identity.login_failed");
        assert_eq!(AuditKind::new("ca.certificate_issued").unwrap(), AuditKind::CERTIFICATE_ISSUED);
        assert!(AuditKind::new("Bad Kind").is_err());
        assert!(AuditKind::new("").is_err());
        assert!(AuditKind::new("x".repeat(65)).is_err());
        let json = serde_json::to_string(&AuditKind::PAYMENT_BLOCKED).unwrap();
        assert_eq!(json, "\"ledger.payment_blocked\"");
        assert!(serde_json::from_str::<AuditKind>("\"NOPE\"").is_err());
        let e = AuditEvent::new(Timestamp::ZERO, None, AuditKind::LOGIN_FAILED, RequestContext::NONE, "é".repeat(2000));
        assert_eq!(e.detail.chars().count(), DETAIL_CHARS_MAX);
    }
}
