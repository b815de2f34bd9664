//! Users, passwords, contacts, real-name verification (KYC), account classes and payment passwords.
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
pub use record::{ContactKind, ContactValue, ContactView, RealNameView, User};
pub use resident_id::{ResidentId, ResidentIdError, Sex};
pub use service::{
    BankCardView, ExternalChecks, Identity, LoginOutcome, OldContactProof, ResetAuthorization, ZeroBalanceConfirmed,
};
pub use status::{Actor, StatusAction, StatusChange, UserStatus};
pub use store::{IdentityDb, IdentityStore};
