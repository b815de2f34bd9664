//! What an issuance does to the other certificates of its device, decided by the store inside the
//! transaction that writes it ([`NewCertificate::resolve`]), from the device's certificates read in that
//! same transaction: the check and the write are one atomic step, and an issuance costs no separate read
//! before it is signed.

use qianbao_core::{Timestamp, UserId};
use qianbao_store::StoreError;

use super::NewCertificate;
use crate::CaError;
use crate::record::{CertSerial, UsageEvent, UsageKind};

/// How an issuance treats the other certificates of its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DevicePlan {
    /// Exactly [`NewCertificate::supersede`] and [`NewCertificate::revoke`] (a renewal): each must be a
    /// certificate of the device, still active (superseded) or not yet revoked (revoked), and no other
    /// active certificate of the device may remain.
    #[default]
    Given,
    /// A new certificate for the device: refused when the device is bound to another user
    /// ([`CaError::DeviceBoundToAnotherUser`]) or has an active certificate unexpired at `issued_at`
    /// ([`CaError::DeviceHasActiveCertificate`]); an active but expired one is superseded.
    Issue,
    /// Reissue after loss (补办): refused when the device is bound to another user; every certificate of
    /// the device not yet revoked and unexpired at `issued_at` is revoked with
    /// [`NewCertificate::revoke_reason`], an active but expired one superseded.
    Reissue,
}

/// Where a certificate stands, as a plan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCertStatus {
    /// Active.
    Active,
    /// Superseded.
    Superseded,
    /// Revoked.
    Revoked,
}

impl DeviceCertStatus {
    /// From the stored status name.
    pub(crate) fn from_name(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(DeviceCertStatus::Active),
            "superseded" => Ok(DeviceCertStatus::Superseded),
            "revoked" => Ok(DeviceCertStatus::Revoked),
            other => Err(StoreError::corrupt(format!("unknown certificate status {other:?}"))),
        }
    }
}

/// One certificate of a device, as a plan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCert {
    /// Its serial.
    pub serial: CertSerial,
    /// Its user.
    pub user: UserId,
    /// Its status.
    pub status: DeviceCertStatus,
    /// Its notAfter.
    pub not_after: Timestamp,
    /// When it was issued (the plan takes certificates oldest first).
    pub issued_at: Timestamp,
}

/// What an issuance changed, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueEffects {
    /// The certificate it replaces (the record's `replaces`).
    pub replaces: Option<CertSerial>,
    /// Certificates it superseded, with their notAfter.
    pub superseded: Vec<(CertSerial, Timestamp)>,
    /// Certificates it revoked, with their notAfter.
    pub revoked: Vec<(CertSerial, Timestamp)>,
}

fn conflict(m: String) -> CaError {
    CaError::Conflict(m)
}

impl NewCertificate {
    /// Applies [`NewCertificate::plan`] to `existing`, the certificates of the record's device read in
    /// the transaction about to write it (any order): fills `supersede` and `revoke`, appends their
    /// usage events, sets the record's `replaces`, and says what will change. Refusals are typed
    /// ([`DevicePlan`]); a refused issuance must not be written.
    pub fn resolve(&mut self, existing: &[DeviceCert]) -> Result<IssueEffects, CaError> {
        let mut certs = existing.to_vec();
        certs.sort_unstable_by_key(|c| (c.issued_at, c.serial));
        let now = self.record.issued_at;
        let user = self.record.user;
        if self.plan != DevicePlan::Given && certs.iter().any(|c| c.user != user) {
            return Err(CaError::DeviceBoundToAnotherUser);
        }
        let mut effects = IssueEffects::default();
        match self.plan {
            DevicePlan::Given => {
                let find = |s: &CertSerial| certs.iter().find(|c| c.serial == *s);
                for s in &self.supersede {
                    match find(s) {
                        Some(c) if c.status == DeviceCertStatus::Active => effects.superseded.push((*s, c.not_after)),
                        _ => return Err(conflict(format!("certificate {s} is no longer active"))),
                    }
                }
                for s in &self.revoke {
                    match find(s) {
                        Some(c) if c.status != DeviceCertStatus::Revoked => effects.revoked.push((*s, c.not_after)),
                        _ => return Err(conflict(format!("certificate {s} was revoked concurrently"))),
                    }
                }
                let freed = |s: &CertSerial| self.supersede.contains(s) || self.revoke.contains(s);
                if certs.iter().any(|c| c.status == DeviceCertStatus::Active && !freed(&c.serial)) {
                    return Err(conflict("the device already has an active certificate".into()));
                }
            }
            DevicePlan::Issue => {
                for c in certs.iter().filter(|c| c.status == DeviceCertStatus::Active) {
                    if now > c.not_after {
                        effects.superseded.push((c.serial, c.not_after));
                    } else {
                        return Err(CaError::DeviceHasActiveCertificate(c.serial));
                    }
                }
            }
            DevicePlan::Reissue => {
                for c in &certs {
                    if c.status != DeviceCertStatus::Revoked && c.not_after >= now {
                        effects.revoked.push((c.serial, c.not_after));
                    } else if c.status == DeviceCertStatus::Active {
                        // An active but expired certificate still occupies the device's "one active" slot.
                        effects.superseded.push((c.serial, c.not_after));
                    }
                }
            }
        }
        if self.plan != DevicePlan::Given {
            self.supersede = effects.superseded.iter().map(|(s, _)| *s).collect();
            self.revoke = effects.revoked.iter().map(|(s, _)| *s).collect();
        }
        let serial = self.record.serial;
        for (s, _) in &effects.superseded {
            self.events.push(event(now, UsageKind::Superseded, *s, user, format!("superseded by {serial}")));
        }
        let reason = self.revoke_reason;
        for (s, _) in &effects.revoked {
            let detail = format!("revoked ({reason}) by {} as {serial}", revoked_by(self.plan));
            self.events.push(event(now, UsageKind::Revoked, *s, user, detail));
        }
        effects.replaces = effects.superseded.first().or(effects.revoked.first()).map(|(s, _)| *s);
        self.record.replaces = effects.replaces;
        Ok(effects)
    }
}

fn revoked_by(plan: DevicePlan) -> &'static str {
    match plan {
        DevicePlan::Reissue => "reissue",
        DevicePlan::Given | DevicePlan::Issue => "issuance",
    }
}

fn event(at: Timestamp, kind: UsageKind, serial: CertSerial, user: UserId, detail: String) -> UsageEvent {
    UsageEvent { at, kind, serial: Some(serial), user: Some(user), failure: None, detail }
}
