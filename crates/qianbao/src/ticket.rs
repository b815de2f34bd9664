//! Flow tickets: how a multi-step journey (login step-up, registration, recovery, contact change, a
//! certificate's identity proof, real-name verification) carries its state from one call to the next
//! without a table of its own.
//!
//! A ticket is `base64url(payload || HMAC-SHA-256(ticket key, payload))`. The payload binds the journey
//! (kind), the user, the device, the one-time codes or QR challenge it refers to, keyed digests of the
//! contacts involved (never the contacts themselves) and its issue time. A ticket proves only that the
//! facade handed it out for that step: each step still checks its own code, password or approval, and
//! the codes it refers to are single-use, so a replayed ticket gains nothing.

use std::fmt;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use qianbao_core::{DeviceId, DigestKey, Id128, SecretString, Timestamp, UserId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::WalletError;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
const PAYLOAD_LEN: usize = 1 + 1 + 1 + 1 + 16 + 16 + 16 * 2 + 32 * 2 + 8;
const MAC_LABEL: &str = "qianbao/wallet/flow-ticket/v1";
const CONTACT_LABEL: &str = "qianbao/wallet/flow-ticket-contact/v1";

/// An opaque ticket for the next step of a journey. Hand it to the client; it comes back with the next
/// call. It is not a credential by itself, but treat it as confidential: `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowTicket(SecretString);

impl FlowTicket {
    /// A ticket as the client sent it back.
    pub fn new(text: impl Into<String>) -> Self {
        FlowTicket(SecretString::new(text.into()))
    }

    /// The text to send to the client.
    pub fn as_str(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for FlowTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlowTicket([REDACTED])")
    }
}

impl Serialize for FlowTicket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FlowTicket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(FlowTicket::new)
    }
}

/// Which journey a ticket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TicketKind {
    Registration = 1,
    LoginStepUp = 2,
    PasswordRecovery = 3,
    PaymentPasswordReset = 4,
    ContactChange = 5,
    ContactVerification = 6,
    RealName = 7,
    CertificateProof = 8,
}

impl TicketKind {
    fn from_byte(b: u8) -> Option<Self> {
        use TicketKind as K;
        [
            K::Registration,
            K::LoginStepUp,
            K::PasswordRecovery,
            K::PaymentPasswordReset,
            K::ContactChange,
            K::ContactVerification,
            K::RealName,
            K::CertificateProof,
        ]
        .into_iter()
        .find(|k| *k as u8 == b)
    }
}

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) kind: TicketKind,
    /// Free bits for the journey (e.g. the step-up kind and login flags).
    pub(crate) flags: u8,
    pub(crate) user: UserId,
    pub(crate) device: Option<DeviceId>,
    /// Code ids or a QR challenge id.
    pub(crate) refs: [Option<Id128>; 2],
    /// Keyed digests (contacts, a certificate thumbprint).
    pub(crate) digests: [Option<[u8; 32]>; 2],
    pub(crate) issued_at: Timestamp,
}

impl Claims {
    /// A ticket of `kind` for `user` issued at `now`, with nothing else set.
    pub(crate) fn new(kind: TicketKind, user: UserId, now: Timestamp) -> Self {
        Claims { kind, flags: 0, user, device: None, refs: [None; 2], digests: [None; 2], issued_at: now }
    }

    fn presence(&self) -> u8 {
        let bits = [
            self.device.is_some(),
            self.refs[0].is_some(),
            self.refs[1].is_some(),
            self.digests[0].is_some(),
            self.digests[1].is_some(),
        ];
        bits.iter().enumerate().fold(0u8, |acc, (i, b)| acc | (u8::from(*b) << i))
    }

    fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(PAYLOAD_LEN);
        p.extend_from_slice(&[VERSION, self.kind as u8, self.flags, self.presence()]);
        p.extend_from_slice(&self.user.to_bytes());
        p.extend_from_slice(&self.device.map(|d| d.to_bytes()).unwrap_or_default());
        for r in &self.refs {
            p.extend_from_slice(&r.map(|r| r.to_bytes()).unwrap_or_default());
        }
        for d in &self.digests {
            p.extend_from_slice(&d.unwrap_or_default());
        }
        p.extend_from_slice(&self.issued_at.unix_secs().to_be_bytes());
        p
    }

    fn decode(p: &[u8]) -> Option<Self> {
        if p.len() != PAYLOAD_LEN || p[0] != VERSION {
            return None;
        }
        let kind = TicketKind::from_byte(p[1])?;
        let (flags, presence) = (p[2], p[3]);
        let has = |bit: u8| presence & (1 << bit) != 0;
        let id = |at: usize| -> Option<[u8; 16]> { p.get(at..at + 16)?.try_into().ok() };
        let digest = |at: usize| -> Option<[u8; 32]> { p.get(at..at + 32)?.try_into().ok() };
        let user = UserId::from_raw(Id128::from_bytes(id(4)?));
        let device = has(0).then(|| id(20).map(|b| DeviceId::from_raw(Id128::from_bytes(b)))).flatten();
        let refs = [
            has(1).then(|| id(36).map(Id128::from_bytes)).flatten(),
            has(2).then(|| id(52).map(Id128::from_bytes)).flatten(),
        ];
        let digests = [has(3).then(|| digest(68)).flatten(), has(4).then(|| digest(100)).flatten()];
        let secs = u64::from_be_bytes(p.get(132..140)?.try_into().ok()?);
        Some(Claims { kind, flags, user, device, refs, digests, issued_at: Timestamp::from_unix_secs(secs) })
    }
}

/// Signs and opens tickets.
#[derive(Debug, Clone)]
pub(crate) struct TicketKey {
    key: DigestKey,
    ttl: Duration,
}

impl TicketKey {
    pub(crate) fn new(key: DigestKey, ttl: Duration) -> Self {
        TicketKey { key, ttl }
    }

    /// The keyed digest a ticket keeps of a contact (or any other value it must bind).
    pub(crate) fn bind(&self, value: &str) -> [u8; 32] {
        self.key.digest(CONTACT_LABEL, value.as_bytes())
    }

    pub(crate) fn sign(&self, claims: &Claims) -> FlowTicket {
        let mut bytes = claims.encode();
        let mac = self.key.digest(MAC_LABEL, &bytes);
        bytes.extend_from_slice(&mac);
        FlowTicket::new(BASE64URL_NOPAD.encode(&bytes))
    }

    /// Opens a ticket of `kind` issued for `user` (when given), no older than the ticket lifetime at `now`.
    pub(crate) fn open(
        &self,
        ticket: &FlowTicket,
        kind: TicketKind,
        user: Option<UserId>,
        now: Timestamp,
    ) -> Result<Claims, WalletError> {
        let bytes = BASE64URL_NOPAD.decode(ticket.as_str().as_bytes()).map_err(|_| WalletError::TicketInvalid)?;
        if bytes.len() != PAYLOAD_LEN + MAC_LEN {
            return Err(WalletError::TicketInvalid);
        }
        let (payload, mac) = bytes.split_at(PAYLOAD_LEN);
        if !self.key.verify(MAC_LABEL, payload, mac) {
            return Err(WalletError::TicketInvalid);
        }
        let claims = Claims::decode(payload).ok_or(WalletError::TicketInvalid)?;
        if claims.kind != kind || user.is_some_and(|u| u != claims.user) {
            return Err(WalletError::TicketInvalid);
        }
        let future = claims.issued_at.duration_since(now) > Duration::from_secs(60);
        if now.duration_since(claims.issued_at) > self.ttl || future {
            return Err(WalletError::TicketExpired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
