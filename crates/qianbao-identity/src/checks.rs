//! External checks behind small `Send + Sync + Debug` traits: the ID authority (two-element name + ID
//! number check, 公安部身份核验), the face service (liveness and comparison with the authority's photo),
//! and the bank (three/four-element check). Implement them over real providers; [`crate::testing`] has
//! deterministic doubles. Nothing in this crate calls a real provider.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use qianbao_core::PhoneNumber;
use serde::{Deserialize, Serialize};

use crate::bank_card::BankCardNumber;
use crate::kyc::FaceEvidence;
use crate::name::RealName;
use crate::resident_id::ResidentId;

/// Why a provider could not answer (the application stays a draft; try again later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {provider} check is unavailable: {message}")]
pub struct CheckError {
    /// Which provider.
    pub provider: &'static str,
    /// What went wrong.
    pub message: String,
}

/// The future an external check returns.
pub type CheckFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CheckError>> + Send + 'a>>;

/// The ID authority's answer to a two-element check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthorityAnswer {
    /// The name and number belong together.
    Match,
    /// The number exists but belongs to another name.
    Mismatch,
    /// No such number.
    NotFound,
}

/// The public-security ID authority (two-element check).
pub trait IdAuthority: Send + Sync + fmt::Debug {
    /// Whether `name` is the holder of `id`.
    fn check<'a>(&'a self, name: &'a RealName, id: &'a ResidentId) -> CheckFuture<'a, AuthorityAnswer>;
}

/// The face service's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceAnswer {
    /// A live person was in front of the camera.
    pub live: bool,
    /// The face matches the authority's photo of `id`.
    pub same_person: bool,
    /// The similarity score, 0–100.
    pub score: u8,
}

/// The face/liveness service.
pub trait FaceService: Send + Sync + fmt::Debug {
    /// Checks liveness and compares the selfie with the authority's photo of `id`.
    fn compare<'a>(&'a self, id: &'a ResidentId, evidence: &'a FaceEvidence) -> CheckFuture<'a, FaceAnswer>;
}

/// What a bank is asked.
#[derive(Debug, Clone, Copy)]
pub struct BankQuery<'a> {
    /// Card holder.
    pub holder: &'a RealName,
    /// Card number.
    pub card: &'a BankCardNumber,
    /// Reserved phone.
    pub phone: &'a PhoneNumber,
    /// ID number (four-element check) or none (three-element).
    pub id_number: Option<&'a ResidentId>,
}

/// The bank's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAnswer {
    /// Every element matched.
    pub matched: bool,
    /// The issuing bank's code (e.g. `ICBC`); each distinct issuer is one verification channel.
    pub issuer: String,
}

/// The bank (or card network) that checks card elements.
pub trait BankVerifier: Send + Sync + fmt::Debug {
    /// Checks the elements of `query`.
    fn check<'a>(&'a self, query: BankQuery<'a>) -> CheckFuture<'a, BankAnswer>;
}
