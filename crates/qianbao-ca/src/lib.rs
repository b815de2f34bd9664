//! The certificate authority of qianbao: device certificates for password-less payments — issuance from
//! a CSR made on the device, renewal, reissue after loss (补办), revocation and CRLs, verification of
//! presented certificates and of signed payment orders, the usage record, and rustls mTLS integration.
//!
//! CA certificates and CRLs are made with rcgen, device certificates written directly in DER by the same
//! profile (byte for byte what rcgen writes; one signature and a few hundred bytes per issuance), all
//! checked with rustls-webpki, on ring (the server's hot paths: CSR and order verification, CA signing);
//! device keys, their encodings and device-side
//! signing use p256 ([`DeviceKey`]). Certificates, keys and CRLs move as `rustls-pki-types` values and PEM.
//!
//! - [`CertificateAuthority`] is the service: [`open`](CertificateAuthority::open) it on a [`CaDb`] with a
//!   [`KeyCustody`] (default [`LocalKeyCustody`]: CA keys sealed with AES-256-GCM under a
//!   [`KeyEncryptionKey`] from the embedding service), a [`CaConfig`], a `Clock` and an `Entropy`.
//! - Pure pieces usable alone: [`parse_device_csr`], [`verify_client_chain`], [`PaymentOrder`] encoding,
//!   [`binding_uri`], [`CertificateRecord::view`].
//! - [`store`]: the [`CaStore`] trait, SQLite and PostgreSQL backends, and [`CaDb`].
//!
//! # The device certificate
//!
//! Subject `O=qianbao, CN=<user id>, serialNumber=<device id>`, one URI SAN
//! `urn:qianbao:user:<user id>:device:<device id>` ([`binding_uri`]), basicConstraints cA:false
//! (critical), keyUsage digitalSignature (critical), EKU clientAuth, subject and authority key
//! identifiers, a random positive 16-byte serial
//! ([`CertSerial::random`]), notBefore back-dated 5 minutes, notAfter
//! one year later. Chain: root (P-256, 20 years) → issuing CA generation n (5 years) → device.
//!
//! # Guarantees and limits
//!
//! - Issuance and reissue take an [`IdentityProof`]: the facade's statement that it has just checked an
//!   SMS code and a password. The CA checks it is for the same user and fresh; it never sees the secrets.
//! - One active certificate per device (a partial unique index enforces it). A renewal supersedes the
//!   old certificate, which keeps verifying for [`CaConfig::supersede_grace`]; a reissue revokes every
//!   unexpired certificate of the device with reason keyCompromise.
//! - An issued certificate is returned only once it is durable: issuances are committed in batches
//!   shared with concurrent ones, and what one does to its device's other certificates (refused for
//!   another user's device or an active certificate left; supersede, revoke) is decided from the rows
//!   read in that same transaction ([`store::DevicePlan`]). The CSR's signature is always checked first.
//! - Payment verification checks status by serial in our own records, never by scanning a CRL. Verified
//!   certificates are cached by fingerprint and active statuses for [`CaConfig::status_cache_ttl`]; the
//!   status cache is monotone (a read that raced a revocation never brings a certificate back). A
//!   revocation through this instance applies at once; through another instance sharing the database,
//!   to certificate checks within that TTL (and within the next
//!   [`CertificateAuthority::refresh_revocations`] for the mTLS verifier) — and to signed orders at once,
//!   because the nonce batch re-reads the status in its transaction.
//! - An order's nonce is decided in memory (a replay to the same instance is refused without a database
//!   round-trip) and then recorded with its usage event in a batch shared with concurrent orders; the
//!   order is accepted only after that commit. A replay gets [`CaError::NonceReplayed`], on any instance.
//! - CRLs keep an entry for [`CaConfig::crl_retention_after_expiry`] after the certificate expires.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_ca::*;
//! use qianbao_core::{AccountId, Currency, DeviceId, ManualClock, Money, SeededEntropy, Timestamp, TransferId, UserId};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let entropy = Arc::new(SeededEntropy::new(7));
//! let store = CaDb::open(qianbao_store::Database::open_in_memory()?).await?;
//! let custody = Arc::new(LocalKeyCustody::new(KeyEncryptionKey::new(&[42; 32]).unwrap()));
//! let ca = CertificateAuthority::open(store, custody, CaConfig::default(), clock.clone(), entropy.clone()).await?;
//!
//! // On the device: a P-256 key and a CSR. The key never leaves the device.
//! let device_key = DeviceKey::generate(entropy.as_ref());
//! let (user, device) = (UserId::from_u128(1), DeviceId::from_u128(2));
//! // The facade has just checked an SMS code and the password.
//! let proof = IdentityProof::new(user, clock.now(), IdentityProofMethod::SmsCodeAndPassword);
//! let issued = ca.issue(&proof, device, &device_key.csr()?).await?;
//! assert!(issued.pem().starts_with("-----BEGIN CERTIFICATE-----"));
//!
//! // A payment signed by the device, checked by the server.
//! let order = PaymentOrder {
//!     payer: user,
//!     payee: AccountId::from_u128(9),
//!     amount: Money::from_minor(1999, Currency::CNY),
//!     order_id: TransferId::from_u128(3),
//!     nonce: OrderNonce::random(entropy.as_ref()),
//!     signed_at: clock.now(),
//! };
//! let signed = device_key.sign_order(order)?;
//! let ok = ca.verify_order(&issued.certificate(), &signed).await?;
//! assert_eq!(ok.certificate.user, user);
//! // The same order again is a replay.
//! assert!(matches!(ca.verify_order(&issued.certificate(), &signed).await, Err(CaError::NonceReplayed)));
//!
//! ca.revoke(issued.record.serial, RevocationReason::KeyCompromise).await?;
//! assert!(matches!(ca.verify_certificate(&issued.certificate()).await, Err(CaError::CertificateRevoked { .. })));
//! # use qianbao_core::Clock;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authority;
mod batcher;
mod config;
mod crl;
mod csr;
mod device;
mod device_cert;
mod entropy_pool;
mod error;
mod issue_queue;
mod keys;
mod nonce;
mod order;
mod profile;
mod record;
mod serial;
mod state;
mod status;
pub mod store;
mod tls;
mod usage;
mod verify;

pub use authority::{CertificateAuthority, IssuedCertificate, RenewalProof, VerifiedCertificate, VerifiedOrder};
pub use config::CaConfig;
pub use crl::SignedCrl;
pub use csr::{CSR_LEN_MAX, DevicePublicKey, parse_device_csr};
pub use device::DeviceKey;
pub use error::CaError;
pub use keys::{CaSigner, KeyCustody, KeyEncryptionKey, KeyHandle, LocalKeyCustody};
pub use nonce::NONCE_BATCH_MAX;
pub use order::{
    ORDER_LEN, ORDER_VERSION, OrderNonce, PaymentOrder, SIGNATURE_LEN_MAX, SIGNATURE_LEN_MIN, SignedOrder,
    renewal_message,
};
pub use profile::{binding_uri, parse_binding_uri};
pub use record::{
    CertSerial, CertStatus, CertView, CertificateRecord, CertificateSummary, Fingerprint, IdentityProof,
    IdentityProofMethod, RevocationReason, UsageEvent, UsageKind, UsageRecord,
};
pub use serial::{SERIAL_ID_MAX, SERIAL_RANDOM_LEN, SerialCipher};
pub use store::{CaDb, CaStore, NonceClaim, NonceOutcome};
pub use tls::DeviceCertVerifier;
pub use verify::verify_client_chain;

/// PEM armour for `der` with the given label (64-character lines, LF).
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}
