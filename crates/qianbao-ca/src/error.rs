//! The one error type of this crate.

use crate::record::{CertSerial, RevocationReason};

/// Everything that can go wrong in this crate.
///
/// The variants fall in four groups: rejected requests (the caller sent something we refuse: a bad CSR,
/// a revoked certificate, a replayed order — the state is unchanged), conflicts (the request clashes
/// with the current state), storage failures ([`CaError::Store`]) and misuse or environment failures
/// (wrong key-encryption key, a signer that failed). [`CaError::code`] gives a stable short code for
/// each variant; the usage record stores it as the reason a verification failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    // ---- rejected: certificate signing requests ----
    /// The CSR is not a well-formed PKCS#10 request.
    #[error("the certificate signing request is malformed: {0}")]
    CsrMalformed(String),
    /// The CSR's self-signature does not verify (or uses an algorithm other than ECDSA with SHA-256).
    #[error("the certificate signing request's signature does not verify")]
    CsrSignatureInvalid,
    /// The CSR carries a key other than an uncompressed P-256 public key.
    #[error("only P-256 (prime256v1) keys are accepted, the request has {found}")]
    UnsupportedKeyType {
        /// What the request carried (an algorithm or curve name or OID).
        found: String,
    },

    // ---- rejected: proofs ----
    /// The identity proof is for another user.
    #[error("the identity proof is for another user")]
    IdentityProofWrongUser,
    /// The identity proof is older than allowed (or from the future).
    #[error("the identity proof is not fresh: it must be at most {max_age_secs} s old")]
    IdentityProofStale {
        /// The most age allowed, in seconds.
        max_age_secs: u64,
    },
    /// The renewal proof (a signature by the current certificate's key, or the mTLS certificate) is wrong.
    #[error("the renewal proof does not verify: {0}")]
    RenewalProofInvalid(&'static str),
    /// Renewal is only possible inside a window before expiry.
    #[error("renewal opens {opens_at_secs} (Unix seconds); the certificate is not yet inside its renewal window")]
    RenewalNotOpen {
        /// When the renewal window opens, in Unix seconds.
        opens_at_secs: u64,
    },

    // ---- rejected: presented certificates ----
    /// The certificate could not be parsed.
    #[error("the certificate is malformed: {0}")]
    CertificateMalformed(String),
    /// The certificate does not chain to this CA's root (a foreign CA, or a forged one).
    #[error("the certificate was not issued by this certificate authority")]
    UnknownIssuer,
    /// The certificate's validity period has ended.
    #[error("the certificate has expired")]
    CertificateExpired,
    /// The certificate's validity period has not started.
    #[error("the certificate is not valid yet")]
    CertificateNotYetValid,
    /// The certificate lacks the client-authentication extended key usage (or has no EKU at all).
    #[error("the certificate is not valid for client authentication (extended key usage clientAuth required)")]
    WrongKeyUsage,
    /// The certificate was revoked.
    #[error("the certificate {serial} was revoked ({reason})")]
    CertificateRevoked {
        /// Its serial.
        serial: CertSerial,
        /// Why.
        reason: RevocationReason,
    },
    /// The certificate was replaced by a renewal and its grace period is over.
    #[error("the certificate {serial} was superseded by a renewal and its grace period has ended")]
    CertificateSuperseded {
        /// Its serial.
        serial: CertSerial,
    },
    /// The certificate chains to our root but is not in our records (it was never issued by this CA's
    /// service, or its record was lost).
    #[error("the certificate is not in this authority's records")]
    UnknownCertificate,
    /// The certificate asked for does not exist.
    #[error("no certificate with serial {0}")]
    NotFound(CertSerial),

    // ---- rejected: signed payment orders ----
    /// The signed order could not be decoded.
    #[error("the signed payment order is malformed: {0}")]
    OrderMalformed(&'static str),
    /// The order's signature does not verify with the certificate's key (tampered, or another key).
    #[error("the payment order's signature does not verify")]
    OrderSignatureInvalid,
    /// The order is older than the freshness window (or too far in the future).
    #[error("the payment order is not fresh: it must be signed within {window_secs} s of now")]
    OrderStale {
        /// The freshness window in seconds.
        window_secs: u64,
    },
    /// The order's nonce was already used.
    #[error("the payment order's nonce was already used (replay)")]
    NonceReplayed,
    /// The order's payer is not the certificate's user.
    #[error("the payment order's payer is not the certificate's user")]
    PayerMismatch,

    // ---- conflicts ----
    /// The device already has an active, unexpired certificate: renew it, or reissue after loss.
    #[error("device already has an active certificate {0}: renew it, or reissue it after loss")]
    DeviceHasActiveCertificate(CertSerial),
    /// The device's certificates belong to another user.
    #[error("the device is bound to another user")]
    DeviceBoundToAnotherUser,
    /// The certificate is not active (superseded or revoked), so it cannot be renewed.
    #[error("the certificate {0} is not active")]
    NotActive(CertSerial),
    /// The certificate was already revoked.
    #[error("the certificate {0} is already revoked")]
    AlreadyRevoked(CertSerial),
    /// A concurrent request changed the same certificate or device first; retry after re-reading.
    #[error("a concurrent change won: {0}")]
    Conflict(String),

    // ---- storage ----
    /// The database failed; the request may or may not have been applied only if the kind says so.
    #[error("storage failed: {0}")]
    Store(#[from] qianbao_store::StoreError),

    // ---- misuse and environment ----
    /// A CA private key could not be decrypted (wrong key-encryption key, or tampered data).
    #[error("a CA private key could not be decrypted: wrong key-encryption key or tampered record")]
    KeyDecryption,
    /// The signer (in-process key, HSM or KMS) failed or holds an unsupported key.
    #[error("the CA signer failed: {0}")]
    Signer(String),
    /// The issuing CA expires before a new certificate would: roll it over first.
    #[error("the issuing CA expires before the certificate would; roll the issuing CA over")]
    IssuingCaTooOld,
    /// The API was used in a way it does not support.
    #[error("misuse: {0}")]
    Misuse(String),
}

impl CaError {
    /// A stable, short, snake-case code for the variant (stored in the usage record).
    pub fn code(&self) -> &'static str {
        match self {
            CaError::CsrMalformed(_) => "csr_malformed",
            CaError::CsrSignatureInvalid => "csr_signature_invalid",
            CaError::UnsupportedKeyType { .. } => "unsupported_key_type",
            CaError::IdentityProofWrongUser => "identity_proof_wrong_user",
            CaError::IdentityProofStale { .. } => "identity_proof_stale",
            CaError::RenewalProofInvalid(_) => "renewal_proof_invalid",
            CaError::RenewalNotOpen { .. } => "renewal_not_open",
            CaError::CertificateMalformed(_) => "certificate_malformed",
            CaError::UnknownIssuer => "unknown_issuer",
            CaError::CertificateExpired => "certificate_expired",
            CaError::CertificateNotYetValid => "certificate_not_yet_valid",
            CaError::WrongKeyUsage => "wrong_key_usage",
            CaError::CertificateRevoked { .. } => "certificate_revoked",
            CaError::CertificateSuperseded { .. } => "certificate_superseded",
            CaError::UnknownCertificate => "unknown_certificate",
            CaError::NotFound(_) => "not_found",
            CaError::OrderMalformed(_) => "order_malformed",
            CaError::OrderSignatureInvalid => "order_signature_invalid",
            CaError::OrderStale { .. } => "order_stale",
            CaError::NonceReplayed => "nonce_replayed",
            CaError::PayerMismatch => "payer_mismatch",
            CaError::DeviceHasActiveCertificate(_) => "device_has_active_certificate",
            CaError::DeviceBoundToAnotherUser => "device_bound_to_another_user",
            CaError::NotActive(_) => "not_active",
            CaError::AlreadyRevoked(_) => "already_revoked",
            CaError::Conflict(_) => "conflict",
            CaError::Store(_) => "store",
            CaError::KeyDecryption => "key_decryption",
            CaError::Signer(_) => "signer",
            CaError::IssuingCaTooOld => "issuing_ca_too_old",
            CaError::Misuse(_) => "misuse",
        }
    }

    /// True for rejected requests (bad input or a refused certificate/order), as opposed to conflicts,
    /// storage failures and misuse.
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            CaError::Store(_)
                | CaError::KeyDecryption
                | CaError::Signer(_)
                | CaError::IssuingCaTooOld
                | CaError::Misuse(_)
                | CaError::Conflict(_)
                | CaError::DeviceHasActiveCertificate(_)
                | CaError::DeviceBoundToAnotherUser
                | CaError::NotActive(_)
                | CaError::AlreadyRevoked(_)
        )
    }

    pub(crate) fn signer(e: rcgen::Error) -> Self {
        CaError::Signer(e.to_string())
    }
}
