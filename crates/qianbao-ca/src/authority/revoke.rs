//! Revocation, CRLs, the revocation view of the mTLS verifier, and issuing-CA rollover.

use std::sync::Arc;

use qianbao_core::UserId;
use rustls_pki_types::CertificateDer;

use super::CertificateAuthority;
use crate::CaError;
use crate::crl::{CrlPolicy, SignedCrl, build_crl};
use crate::record::{CertSerial, CertStatus, CertificateRecord, RevocationReason, UsageKind};
use crate::state;
use crate::store::{CaStore, RevokeOutcome};

impl CertificateAuthority {
    // ---------------------------------------------------------------- revocation and CRLs

    /// Revokes a certificate (active or superseded) for `reason`. Revoking twice is
    /// [`CaError::AlreadyRevoked`].
    pub async fn revoke(&self, serial: CertSerial, reason: RevocationReason) -> Result<CertificateRecord, CaError> {
        let now = self.shared.now();
        let mut ev = self.shared.event(UsageKind::Revoked, Some(serial), None);
        ev.detail = format!("revoked ({reason})");
        match self.store.revoke(serial, reason, now, ev).await? {
            RevokeOutcome::Revoked(r) => {
                self.shared.note_status(serial, r.status, r.not_after, now);
                tracing::info!(%serial, %reason, "certificate revoked");
                Ok(r)
            }
            RevokeOutcome::AlreadyRevoked(r) => {
                self.shared.note_status(serial, r.status, r.not_after, now);
                Err(CaError::AlreadyRevoked(serial))
            }
            RevokeOutcome::NotFound => Err(CaError::NotFound(serial)),
        }
    }

    /// Revokes every unexpired, not yet revoked certificate of `user` (closing the account). Returns the
    /// revoked records.
    pub async fn revoke_all_for_user(
        &self,
        user: UserId,
        reason: RevocationReason,
    ) -> Result<Vec<CertificateRecord>, CaError> {
        let now = self.shared.now();
        let mut out = Vec::new();
        for r in self.store.certificates_for_user(user).await? {
            if matches!(r.status, CertStatus::Revoked { .. }) || r.not_after < now {
                continue;
            }
            match self.revoke(r.serial, reason).await {
                Ok(r) => out.push(r),
                Err(CaError::AlreadyRevoked(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Signs a fresh CRL for the current issuing CA (CRL number increases by one each call).
    pub async fn crl(&self) -> Result<SignedCrl, CaError> {
        let generation = self.current_generation()?;
        self.crl_for(generation).await
    }

    /// Signs a fresh CRL for every issuing CA generation that is not expired, current last.
    pub async fn crls(&self) -> Result<Vec<SignedCrl>, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let mut out = Vec::new();
        for ca in auth.issuing.iter().filter(|i| i.not_after > now) {
            out.push(self.crl_for(ca.generation).await?);
        }
        Ok(out)
    }

    async fn crl_for(&self, generation: u32) -> Result<SignedCrl, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let ca = auth.generation(generation).ok_or_else(|| CaError::Misuse(format!("no issuing CA G{generation}")))?;
        let config = &self.shared.config;
        let retention = config.crl_retention_after_expiry;
        let records = self.store.inactive_certificates(now.saturating_sub(retention)).await?;
        let number = self.store.next_crl_number(generation).await?;
        let policy = CrlPolicy {
            validity: config.crl_validity,
            grace: config.supersede_grace,
            retention_after_expiry: retention,
        };
        build_crl(&ca.issuer, &ca.ski, generation, number, &records, now, policy)
    }

    /// Reloads the mTLS verifier's view of superseded and revoked certificates from the store, picking up
    /// changes made by other instances sharing the database. Call it periodically (e.g. every few
    /// seconds) on multi-instance deployments.
    pub async fn refresh_revocations(&self) -> Result<(), CaError> {
        let now = self.shared.now();
        let inactive = self.store.inactive_certificates(now).await?;
        // Merged, never replaced: a revocation noted here while the list was read stays known.
        self.shared.statuses.merge(&inactive, now);
        Ok(())
    }

    // ---------------------------------------------------------------- rollover

    /// Creates issuing CA generation n+1 signed by the root and makes it current; the old one is retired
    /// (it issues nothing new but keeps signing CRLs, and certificates it issued keep verifying until they
    /// expire). Returns the new issuing CA's certificate.
    pub async fn rollover_issuing_ca(&self) -> Result<CertificateDer<'static>, CaError> {
        let now = self.shared.now();
        let auth = self.shared.authorities();
        let old = auth.current()?.generation;
        let next = auth.issuing.iter().map(|i| i.generation).max().unwrap_or(0) + 1;
        let mut rows =
            state::create(self.custody.as_ref(), &self.shared.config, Some(&auth), next, now, self.entropy.as_ref())?;
        for r in &mut rows {
            r.retired = false;
        }
        self.store.insert_authorities(rows, Some(old)).await?;
        self.reload_authorities().await?;
        tracing::info!(old, new = next, "issuing CA rolled over");
        Ok(self.shared.authorities().current()?.der.clone())
    }

    /// Reloads the CA certificates and keys from the store (after another instance rolled over).
    pub async fn reload_authorities(&self) -> Result<(), CaError> {
        let rows = self.store.authorities().await?;
        let loaded = state::load(self.custody.as_ref(), &rows)?;
        *self.shared.authorities.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }
}
