//! What one CA instance remembers between requests: parsed-and-verified certificates by fingerprint
//! ([`CertCache`]) and certificate statuses by serial ([`StatusBook`]).
//!
//! The status book is **monotone**: a certificate's status only moves forward (active → superseded →
//! revoked), in the store and here. Final knowledge (revoked; superseded past its grace) is kept until the
//! certificate expires and is never overwritten by an older read, so a read that raced a revocation cannot
//! bring the certificate back: [`StatusBook::lookup`] consults the superseded/revoked entries first and
//! an "active" entry only when there is none. Active statuses are trusted for a TTL, then read again.
//!
//! The certificate cache holds what was verified (chain, EKU) — never a status — so a cache hit still
//! goes through the status book.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use qianbao_core::Timestamp;

use crate::CaError;
use crate::record::{CertSerial, CertStatus, CertificateRecord, Fingerprint};

/// A certificate that passed webpki verification (chain to our root, clientAuth EKU) and matched our
/// record. Its status is deliberately not here: it lives in the [`StatusBook`].
#[derive(Debug)]
pub(crate) struct VerifiedCert {
    /// The record as loaded (its `status` field is not consulted after loading).
    pub record: CertificateRecord,
    /// Its public key (the subjectPublicKey bits), for order signatures without re-parsing the DER.
    pub public_key: Box<[u8]>,
}

/// Verified certificates by fingerprint; emptied when it reaches its bound.
#[derive(Debug, Default)]
pub(crate) struct CertCache {
    certs: Mutex<HashMap<Fingerprint, Arc<VerifiedCert>>>,
    max: usize,
}

impl CertCache {
    pub fn new(max: usize) -> Self {
        CertCache { certs: Mutex::default(), max: max.max(1) }
    }

    pub fn get(&self, fp: &Fingerprint) -> Option<Arc<VerifiedCert>> {
        self.certs.lock().unwrap_or_else(|p| p.into_inner()).get(fp).cloned()
    }

    pub fn put(&self, c: Arc<VerifiedCert>) {
        let mut m = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= self.max {
            m.clear();
        }
        m.insert(c.record.fingerprint, c);
    }
}

/// How far along active → superseded → revoked a status is.
fn rank(s: &CertStatus) -> u8 {
    match s {
        CertStatus::Active => 0,
        CertStatus::Superseded { .. } => 1,
        CertStatus::Revoked { .. } => 2,
    }
}

#[derive(Debug, Clone, Copy)]
struct Inactive {
    status: CertStatus,
    /// When it was last read from the store (or changed here).
    read_at: Timestamp,
    /// The certificate's notAfter: the entry is dropped after it.
    not_after: Timestamp,
}

/// Certificate statuses by serial. See the module docs.
#[derive(Debug)]
pub(crate) struct StatusBook {
    /// Superseded and revoked certificates not yet expired. Only grows forward; pruned by expiry.
    inactive: RwLock<HashMap<CertSerial, Inactive>>,
    /// Certificates last read as active, with the read time. Emptied when it reaches `active_max`.
    active: Mutex<HashMap<CertSerial, Timestamp>>,
    active_max: usize,
    ttl: Duration,
    grace: Duration,
}

impl StatusBook {
    pub fn new(active_max: usize, ttl: Duration, grace: Duration) -> Self {
        StatusBook { inactive: RwLock::default(), active: Mutex::default(), active_max: active_max.max(1), ttl, grace }
    }

    fn fresh(&self, read_at: Timestamp, now: Timestamp) -> bool {
        read_at <= now && now.duration_since(read_at) <= self.ttl
    }

    /// Records `status` of `serial` as read (or set) at `read_at`. Never moves a status backwards.
    pub fn note(&self, serial: CertSerial, status: CertStatus, not_after: Timestamp, read_at: Timestamp) {
        if status == CertStatus::Active {
            if self.inactive.read().unwrap_or_else(|p| p.into_inner()).contains_key(&serial) {
                return;
            }
            let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            if a.len() >= self.active_max {
                a.clear();
            }
            let e = a.entry(serial).or_insert(read_at);
            *e = (*e).max(read_at);
            return;
        }
        {
            let mut m = self.inactive.write().unwrap_or_else(|p| p.into_inner());
            let entry = m.entry(serial).or_insert(Inactive { status, read_at, not_after });
            if rank(&status) > rank(&entry.status) {
                *entry = Inactive { status, read_at, not_after };
            } else if rank(&status) == rank(&entry.status) {
                entry.read_at = entry.read_at.max(read_at);
            }
        }
        self.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&serial);
    }

    /// The status to act on at `now`, or `None` when it must be read from the store: revoked and
    /// superseded-past-grace are final; superseded-within-grace and active are trusted for the TTL.
    pub fn lookup(&self, serial: CertSerial, now: Timestamp) -> Option<CertStatus> {
        if let Some(k) = self.inactive.read().unwrap_or_else(|p| p.into_inner()).get(&serial) {
            return match k.status {
                CertStatus::Revoked { .. } => Some(k.status),
                CertStatus::Superseded { at, .. } if now >= at.saturating_add(self.grace) => Some(k.status),
                _ if self.fresh(k.read_at, now) => Some(k.status),
                _ => None,
            };
        }
        let a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        a.get(&serial).filter(|read_at| self.fresh(**read_at, now)).map(|_| CertStatus::Active)
    }

    /// The mTLS verifier's check: refused when this instance knows the certificate is revoked, or
    /// superseded past its grace (it does not read the store: see
    /// [`CertificateAuthority::refresh_revocations`](crate::CertificateAuthority::refresh_revocations)).
    pub fn check_known(&self, serial: CertSerial, now: Timestamp) -> Result<(), CaError> {
        match self.inactive.read().unwrap_or_else(|p| p.into_inner()).get(&serial) {
            Some(k) => k.status.check_usable(serial, now, self.grace),
            None => Ok(()),
        }
    }

    /// Merges the store's list of inactive certificates (read at `read_at`) and forgets entries of
    /// certificates expired before `read_at`. Nothing here moves backwards.
    pub fn merge(&self, records: &[CertificateRecord], read_at: Timestamp) {
        for r in records {
            self.note(r.serial, r.status, r.not_after, read_at);
        }
        self.inactive.write().unwrap_or_else(|p| p.into_inner()).retain(|_, k| k.not_after >= read_at);
    }

    /// How many superseded or revoked certificates are known.
    #[cfg(test)]
    pub fn inactive_len(&self) -> usize {
        self.inactive.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests;
