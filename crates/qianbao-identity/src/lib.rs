//! Users, passwords, contacts, real-name verification (KYC), account classes and payment passwords of
//! qianbao — and the wallet-wide audit trail.
//!
//! - [`Identity`] is the service: [`open`](Identity::open) it on an [`IdentityDb`] with [`PrivacyKeys`]
//!   (the embedding service's AES-256-GCM key and digest key), the [`ExternalChecks`] (ID authority, face
//!   service, bank; deterministic doubles in [`testing`]), an [`IdentityConfig`], a `Clock` and an
//!   `Entropy`.
//! - Pure pieces usable alone: [`ResidentId`] (GB 11643 with the ISO 7064 MOD 11-2 check),
//!   [`BankCardNumber`] (Luhn, issuer prefix), [`RealName`], [`PaymentPassword`], [`PasswordPolicy`]
//!   (NIST SP 800-63B) and [`PasswordHasher`] (Argon2id), [`guard`] (attempt limits), [`AccountClass`].
//! - [`store`]: the [`IdentityStore`] trait, SQLite and PostgreSQL backends, and [`IdentityDb`].
//!
//! # What identity decides, and what it is told
//!
//! One-time codes live in the token service. The facade checks a code there and then tells identity the
//! fact: [`Identity::mark_contact_verified`], a [`ResetAuthorization`] for a password reset, an
//! [`OldContactProof`] for a contact change, a [`ZeroBalanceConfirmed`] for closing. Facts must be fresh
//! ([`IdentityConfig::fact_max_age`]). Identity decides the rest: password policy, account states,
//! ID and card validity, review, classes and lockouts.
//!
//! # Guarantees
//!
//! - Passwords and payment passwords are Argon2id PHC strings (OWASP's floor by default, rehashed at
//!   login when the parameters rise), peppered with a secret derived from the digest key so a stolen
//!   database alone allows no offline guessing; Argon2 and the strength check run on tokio's blocking
//!   pool. Passwords are taken as typed: no trimming, no truncation, no Unicode normalization.
//! - ID numbers, card numbers, names and contacts are sealed at rest (AES-256-GCM, bound to purpose and
//!   owner), with keyed digests for look-ups and masked forms for display; nothing of them in the clear.
//! - Login guessing is bounded: tries are counted before the password is checked, per account (or unknown
//!   login name, which answers alike and costs the same Argon2 work) and per address and device; back-off
//!   after a few failures, a lock after at most 100 until recovery or an operator.
//! - Every security-relevant event goes to the audit trail, in the same transaction as the change.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use qianbao_core::{Clock, DigestKey, ManualClock, PhoneNumber, SeededEntropy, Timestamp};
//! use qianbao_identity::testing::{FakeBank, FakeFaceService, FakeIdAuthority};
//! use qianbao_identity::*;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_secs(1_800_000_000)));
//! let keys = PrivacyKeys::new(SealingKey::new(1, &[7; 32]).unwrap(), DigestKey::new(&[9; 32]).unwrap());
//! let authority = FakeIdAuthority::new().with_person("11010519491231002X", "王小明");
//! let checks = ExternalChecks::new(Arc::new(authority), Arc::new(FakeFaceService), Arc::new(FakeBank::new()));
//! let store = IdentityDb::open(qianbao_store::Database::open_in_memory()?).await?;
//! let config = IdentityConfig::insecure_fast_hashing_for_tests(); // production: IdentityConfig::default()
//! let id = Identity::open(store, keys, checks, config, clock.clone(), Arc::new(SeededEntropy::new(1))).await?;
//! let ctx = RequestContext::NONE;
//!
//! // Register, then the facade checks the SMS code and says so.
//! let phone = ContactValue::Phone(PhoneNumber::parse("13812345678")?);
//! let password = Password::from("correct horse battery staple");
//! let user = id.register(&phone, &password, ctx).await?;
//! id.mark_contact_verified(user.id, &phone, clock.now(), ctx).await?;
//! assert_eq!(id.login(&phone, &password, ctx).await?.user, user.id);
//!
//! // Real-name verification by ID card, reviewed by an operator.
//! let request = KycRequest::IdCard(IdCardRequest {
//!     name: RealName::parse("王小明")?,
//!     id_number: ResidentId::parse("11010519491231002X", clock.now())?,
//!     front_photo: PhotoDigest([1; 32]),
//!     back_photo: PhotoDigest([2; 32]),
//!     face: FaceEvidence { selfie: PhotoDigest([3; 32]), liveness_session: "live-1".into() },
//! });
//! let app = id.start_application(user.id, &request, ctx).await?;
//! id.submit_application(app.id, ctx).await?;
//! id.review_application(app.id, ReviewDecision::Approve, "reviewer-1", ctx).await?;
//! assert_eq!(id.account_class(user.id).await?, Some(AccountClass::I));
//!
//! // The payment password, then a payment check.
//! let pay = PaymentPassword::parse("815926")?;
//! id.set_payment_password(user.id, &pay, ctx).await?;
//! id.verify_payment_password(user.id, &pay, ctx).await?;
//! assert_eq!(id.user(user.id).await?.real_name.unwrap().id_masked.as_deref(), Some("110105********002X"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
mod bank_card;
pub mod checks;
mod class;
mod config;
mod error;
pub mod guard;
mod kyc;
mod name;
mod password;
mod payment_password;
pub mod privacy;
mod record;
mod resident_id;
mod service;
mod status;
pub mod store;
pub mod testing;

pub use audit::{AuditCursor, AuditEvent, AuditKind, AuditPage, AuditRecord, RequestContext};
pub use bank_card::{BankCardError, BankCardNumber, CardScheme};
pub use checks::{
    AuthorityAnswer, BankAnswer, BankQuery, BankVerifier, CheckError, FaceAnswer, FaceService, IdAuthority,
};
pub use class::{AccountClass, CapPeriod, ClassCap, ClassCaps, VerificationChannel};
pub use config::{IdentityConfig, KycConfig, LOGIN_LOCK_AFTER_MAX, LoginProtection};
pub use error::IdentityError;
pub use guard::{GuardDecision, GuardPolicy, GuardState};
pub use kyc::{
    Application, ApplicationId, ApplicationState, ApplicationSummary, BankCardRequest, CheckKind, CheckOutcome,
    FaceEvidence, IdCardRequest, KycMethod, KycRequest, PhotoDigest, Rejection, RejectionCode, ReviewDecision,
    VerifiedIdentity,
};
pub use name::{NameError, RealName};
pub use password::{
    HashParams, Password, PasswordContext, PasswordHasher, PasswordPolicy, PasswordRejection, Verification,
};
pub use payment_password::{PaymentPassword, PaymentPasswordContext, PaymentPasswordError};
pub use privacy::{PrivacyKeys, SealingKey};
pub use record::ChannelRecord;
pub use record::{Contact, ContactKind, ContactValue, ContactView, RealNameView, User};
pub use resident_id::{ResidentId, ResidentIdError, Sex};
pub use service::{
    BankCardView, ExternalChecks, Identity, LoginOutcome, OldContactProof, ResetAuthorization, ZeroBalanceConfirmed,
};
pub use status::{Actor, StatusAction, StatusChange, UserStatus};
pub use store::{IdentityDb, IdentityStore};
