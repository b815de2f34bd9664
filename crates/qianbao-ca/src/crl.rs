//! Certificate revocation lists (RFC 5280 §5): one per issuing CA generation, signed by it, with an
//! increasing CRL number, thisUpdate/nextUpdate, the authority key identifier and a reasonCode per entry.
//! A superseded certificate appears (reason `superseded`) once its grace period has ended. Entries stay
//! listed for [`CaConfig::crl_retention_after_expiry`](crate::CaConfig) after the certificate's notAfter
//! (not dropped the moment it expires).

use std::time::Duration;

use qianbao_core::Timestamp;
use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, RevokedCertParams, SerialNumber};
use rustls_pki_types::CertificateRevocationListDer;
use serde::{Deserialize, Serialize};

use crate::keys::SignerRef;
use crate::record::{CertStatus, CertificateRecord, RevocationReason};
use crate::{CaError, pem_encode};

/// A signed CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCrl {
    /// The issuing CA generation that signed it.
    pub issuer_generation: u32,
    /// The CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// How many entries it lists.
    pub entries: usize,
    /// DER.
    pub der: Vec<u8>,
}

impl SignedCrl {
    /// As a `CertificateRevocationListDer`.
    pub fn crl_der(&self) -> CertificateRevocationListDer<'static> {
        CertificateRevocationListDer::from(self.der.clone())
    }

    /// PEM (`-----BEGIN X509 CRL-----`).
    pub fn pem(&self) -> String {
        pem_encode("X509 CRL", &self.der)
    }
}

/// The entry for `r` in a CRL made at `now`, if it belongs there.
pub(crate) fn crl_entry(
    r: &CertificateRecord,
    now: Timestamp,
    grace: Duration,
) -> Option<(Timestamp, RevocationReason)> {
    match r.status {
        CertStatus::Revoked { at, reason } => Some((at, reason)),
        CertStatus::Superseded { at, .. } if at.saturating_add(grace) <= now => {
            Some((at.saturating_add(grace), RevocationReason::Superseded))
        }
        _ => None,
    }
}

/// How a CRL is made: its lifetime, the supersede grace and how long entries outlive their certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrlPolicy {
    pub validity: Duration,
    pub grace: Duration,
    pub retention_after_expiry: Duration,
}

/// Whether `r` is still listed at `now`: until `retention` after its notAfter.
pub(crate) fn still_listed(r: &CertificateRecord, now: Timestamp, retention: Duration) -> bool {
    r.not_after.saturating_add(retention) > now
}

/// Builds and signs the CRL of issuing CA `generation` from `records` (the inactive certificates).
pub(crate) fn build_crl(
    issuer: &Issuer<'_, SignerRef>,
    issuer_ski: &[u8],
    generation: u32,
    number: u64,
    records: &[CertificateRecord],
    now: Timestamp,
    policy: CrlPolicy,
) -> Result<SignedCrl, CaError> {
    let CrlPolicy { validity, grace, retention_after_expiry } = policy;
    let this_update = crate::profile::whole_secs(now);
    let next_update = crate::profile::whole_secs(now.saturating_add(validity.max(Duration::from_secs(1))));
    let revoked_certs: Vec<RevokedCertParams> = records
        .iter()
        .filter(|r| r.issuer_generation == generation && still_listed(r, now, retention_after_expiry))
        .filter_map(|r| {
            crl_entry(r, now, grace).map(|(at, reason)| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&r.serial.to_bytes()),
                revocation_time: crate::profile::whole_secs(at).to_datetime(),
                reason_code: Some(reason.to_rcgen()),
                invalidity_date: None,
            })
        })
        .collect();
    let entries = revoked_certs.len();
    let params = CertificateRevocationListParams {
        this_update: this_update.to_datetime(),
        next_update: next_update.to_datetime(),
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(issuer_ski.to_vec()),
    };
    let crl = params.signed_by(issuer).map_err(CaError::signer)?;
    Ok(SignedCrl { issuer_generation: generation, number, this_update, next_update, entries, der: crl.der().to_vec() })
}
