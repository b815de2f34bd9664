//! Real-name verification: start, submit (external checks), review, the verified identity and class.

use qianbao_core::{PhoneNumber, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use zeroize::Zeroizing;

use super::Identity;
use crate::IdentityError;
use crate::audit::{AuditKind, RequestContext};
use crate::bank_card::{BankCardNumber, CardScheme};
use crate::checks::{AuthorityAnswer, BankQuery};
use crate::class::{AccountClass, ClassCap, VerificationChannel};
use crate::kyc::{
    Application, ApplicationId, ApplicationState, BankCardRequest, CheckKind, CheckOutcome, FaceEvidence,
    IdCardRequest, KycRequest, PhotoDigest, Rejection, RejectionCode, ReviewDecision, VerifiedIdentity, channels_of,
    first_failure, matches_identity,
};
use crate::name::RealName;
use crate::privacy::Purpose;
use crate::record::{ApplicationRecord, ChannelRecord, LookupDigest, RealNameRecord, UserRecord};
use crate::resident_id::ResidentId;
use crate::status::{Actor, StatusAction, UserStatus, transition};
use crate::store::{ApplicationWrite, IdClaim, IdentityStore, UserWrite};

/// A bank card bound by an approved application, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankCardView {
    /// The application that verified it (the card's reference).
    pub application: ApplicationId,
    /// `6222***********0128`.
    pub masked: String,
    /// The scheme.
    pub scheme: Option<CardScheme>,
    /// When it was verified.
    pub verified_at: Option<Timestamp>,
}

/// The sealed form of a request.
#[derive(Serialize, Deserialize)]
struct Payload {
    name: String,
    id_number: Option<String>,
    card: Option<String>,
    phone: Option<String>,
    front: Option<PhotoDigest>,
    back: Option<PhotoDigest>,
    face: Option<FaceEvidence>,
}

/// The sealed form of a verified identity.
#[derive(Serialize, Deserialize)]
struct SealedIdentity {
    name: String,
    id: Option<String>,
}

fn payload_of(r: &KycRequest) -> Payload {
    match r {
        KycRequest::IdCard(r) => Payload {
            name: r.name.expose().into(),
            id_number: Some(r.id_number.expose().into()),
            card: None,
            phone: None,
            front: Some(r.front_photo),
            back: Some(r.back_photo),
            face: Some(r.face.clone()),
        },
        KycRequest::BankCard(r) => Payload {
            name: r.holder.expose().into(),
            id_number: r.id_number.as_ref().map(|i| i.expose().into()),
            card: Some(r.card.expose().into()),
            phone: Some(r.phone.as_str().into()),
            front: None,
            back: None,
            face: None,
        },
    }
}

fn corrupt() -> IdentityError {
    IdentityError::Unseal
}

fn request_of(p: Payload, now: Timestamp) -> Result<KycRequest, IdentityError> {
    let name = RealName::parse(&p.name).map_err(|_| corrupt())?;
    let id = p.id_number.as_deref().map(|s| ResidentId::parse(s, now)).transpose().map_err(|_| corrupt())?;
    match (p.card, p.phone, p.front, p.back, p.face) {
        (Some(card), Some(phone), ..) => Ok(KycRequest::BankCard(BankCardRequest {
            holder: name,
            card: BankCardNumber::parse(&card).map_err(|_| corrupt())?,
            phone: PhoneNumber::parse(&phone).map_err(|_| corrupt())?,
            id_number: id,
        })),
        (_, _, Some(front_photo), Some(back_photo), Some(face)) => Ok(KycRequest::IdCard(IdCardRequest {
            name,
            id_number: id.ok_or_else(corrupt)?,
            front_photo,
            back_photo,
            face,
        })),
        _ => Err(corrupt()),
    }
}

fn outcome(
    kind: CheckKind,
    passed: bool,
    detail: String,
    at: Timestamp,
    channel: VerificationChannel,
    code: RejectionCode,
) -> CheckOutcome {
    CheckOutcome { kind, passed, detail, at, channel: passed.then_some(channel), rejection: (!passed).then_some(code) }
}

impl Identity {
    fn id_digest(&self, id: &ResidentId) -> LookupDigest {
        LookupDigest(self.inner.keys.digest(Purpose::ResidentId, id.expose()))
    }

    /// The user's verified identity, opened (sealed at rest).
    pub(crate) fn open_identity(&self, u: &UserRecord) -> Result<Option<VerifiedIdentity>, IdentityError> {
        let Some(rn) = &u.real_name else { return Ok(None) };
        let bytes = self.inner.keys.open(Purpose::RealName, u.id.raw(), &rn.sealed)?;
        let s: SealedIdentity = serde_json::from_slice(bytes.expose()).map_err(|_| corrupt())?;
        let name = RealName::parse(&s.name).map_err(|_| corrupt())?;
        let id_number = s.id.as_deref().map(|i| ResidentId::parse(i, self.now())).transpose().map_err(|_| corrupt())?;
        Ok(Some(VerifiedIdentity { name, id_number }))
    }

    fn open_request(&self, a: &ApplicationRecord) -> Result<KycRequest, IdentityError> {
        let bytes = self.inner.keys.open(Purpose::Application, a.id.raw(), &a.payload)?;
        let p: Payload = serde_json::from_slice(bytes.expose()).map_err(|_| corrupt())?;
        request_of(p, self.now())
    }

    async fn load_application(&self, id: ApplicationId) -> Result<ApplicationRecord, IdentityError> {
        self.inner.store.application(id).await?.ok_or(IdentityError::ApplicationNotFound(id))
    }

    /// Starts a real-name application (a draft) for an active account with no other open application.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn start_application(
        &self,
        user: UserId,
        request: &KycRequest,
        ctx: RequestContext,
    ) -> Result<Application, IdentityError> {
        let u = self.load(user).await?;
        if u.status != UserStatus::Active {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        let open = self.inner.store.applications_for_user(user).await?;
        if let Some(a) = open.iter().find(|a| matches!(a.state, ApplicationState::Draft | ApplicationState::Submitted))
        {
            return Err(IdentityError::ApplicationOpen(a.id));
        }
        let id: ApplicationId = self.inner.ids.next();
        let payload =
            Zeroizing::new(serde_json::to_vec(&payload_of(request)).map_err(|e| IdentityError::Misuse(e.to_string()))?);
        let record = ApplicationRecord {
            id,
            user,
            version: 1,
            method: request.method(),
            state: ApplicationState::Draft,
            created_at: self.now(),
            submitted_at: None,
            decided_at: None,
            payload: self.inner.keys.seal(Purpose::Application, id.raw(), &payload, self.inner.entropy.as_ref())?,
            id_digest: request.id_number().map(|i| self.id_digest(i)),
            card_digest: match request {
                KycRequest::BankCard(r) => {
                    Some(LookupDigest(self.inner.keys.digest(Purpose::BankCard, r.card.expose())))
                }
                _ => None,
            },
            summary: request.summary(),
            checks: Vec::new(),
            reviewer: None,
        };
        let (n, v) = Self::next(&u);
        let mut w = UserWrite::new(n, v);
        w.application = Some(ApplicationWrite { record: record.clone(), expected_version: None });
        w.audit.push(self.event(
            Some(user),
            AuditKind::KYC_STARTED,
            ctx,
            format!("{} {id}", request.method().as_str()),
        ));
        self.write(w).await?;
        Ok(record.view())
    }

    async fn run_checks(&self, request: &KycRequest) -> Result<Vec<CheckOutcome>, IdentityError> {
        let c = &self.inner.checks;
        let mut out = Vec::new();
        match request {
            KycRequest::IdCard(r) => {
                let answer = c.id_authority.check(&r.name, &r.id_number).await?;
                let ok = answer == AuthorityAnswer::Match;
                out.push(outcome(
                    CheckKind::IdAuthority,
                    ok,
                    format!("{answer:?}"),
                    self.now(),
                    VerificationChannel::IdAuthority,
                    RejectionCode::IdAuthorityMismatch,
                ));
                if ok {
                    let f = c.face.compare(&r.id_number, &r.face).await?;
                    let code = if f.live { RejectionCode::FaceMismatch } else { RejectionCode::LivenessFailed };
                    let detail = format!("live {}, score {}", f.live, f.score);
                    out.push(outcome(
                        CheckKind::Face,
                        f.live && f.same_person,
                        detail,
                        self.now(),
                        VerificationChannel::FaceComparison,
                        code,
                    ));
                }
            }
            KycRequest::BankCard(r) => {
                let q =
                    BankQuery { holder: &r.holder, card: &r.card, phone: &r.phone, id_number: r.id_number.as_ref() };
                let b = c.bank.check(q).await?;
                let elements = if r.id_number.is_some() { "four" } else { "three" };
                let detail = format!("{elements}-element check, issuer {}", b.issuer);
                out.push(outcome(
                    CheckKind::Bank,
                    b.matched,
                    detail,
                    self.now(),
                    VerificationChannel::Bank(b.issuer),
                    RejectionCode::BankMismatch,
                ));
            }
        }
        Ok(out)
    }

    /// The rejection decided before any external check: identity mismatch, or an ID number already at its
    /// account limit.
    async fn pre_check(&self, u: &UserRecord, request: &KycRequest) -> Result<Option<Rejection>, IdentityError> {
        if let Some(verified) = self.open_identity(u)?
            && !matches_identity(request, &verified)
        {
            let note = "the name or ID number differs from the account's verified identity".into();
            return Ok(Some(Rejection { code: RejectionCode::IdentityMismatch, note }));
        }
        if let Some(id) = request.id_number() {
            let digest = self.id_digest(id);
            let already = u.real_name.as_ref().and_then(|r| r.id_digest) == Some(digest);
            let limit = self.inner.config.kyc.accounts_per_id_max;
            if !already && self.inner.store.id_holders(digest).await? >= limit {
                let note = format!("this ID number already verifies {limit} accounts");
                return Ok(Some(Rejection { code: RejectionCode::IdNumberLimitReached, note }));
            }
        }
        Ok(None)
    }

    /// Submits a draft: runs the external checks (an unreachable provider leaves the draft unchanged). A
    /// check that finds false information rejects it at once (and counts toward a ban); otherwise it waits
    /// for review — or is approved at once with `kyc.auto_approve`.
    #[instrument(skip_all, fields(application = %id), err(level = "info"))]
    pub async fn submit_application(
        &self,
        id: ApplicationId,
        ctx: RequestContext,
    ) -> Result<Application, IdentityError> {
        let a = self.load_application(id).await?;
        if a.state != ApplicationState::Draft {
            return Err(IdentityError::ApplicationState { state: a.state.as_str(), action: "submit" });
        }
        let u = self.load(a.user).await?;
        if u.status != UserStatus::Active {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        let request = self.open_request(&a)?;
        let (checks, rejection) = match self.pre_check(&u, &request).await? {
            Some(r) => (Vec::new(), Some(r)),
            None => {
                let checks = self.run_checks(&request).await?;
                let r = first_failure(&checks);
                (checks, r)
            }
        };
        let mut next = a.clone();
        next.version += 1;
        next.submitted_at = Some(self.now());
        next.checks = checks;
        match rejection {
            Some(r) => self.decide_rejected(&u, &a, next, r, None, ctx).await,
            None if self.inner.config.kyc.auto_approve => {
                self.decide_approved(&u, &a, next, &request, "auto", ctx).await
            }
            None => {
                next.state = ApplicationState::Submitted;
                let (n, v) = Self::next(&u);
                let mut w = UserWrite::new(n, v);
                w.application = Some(ApplicationWrite { record: next.clone(), expected_version: Some(a.version) });
                w.audit.push(self.event(
                    Some(u.id),
                    AuditKind::KYC_SUBMITTED,
                    ctx,
                    format!("{id}: checks passed, awaiting review"),
                ));
                self.write(w).await?;
                Ok(next.view())
            }
        }
    }

    async fn decide_rejected(
        &self,
        u: &UserRecord,
        a: &ApplicationRecord,
        mut next: ApplicationRecord,
        rejection: Rejection,
        reviewer: Option<&str>,
        ctx: RequestContext,
    ) -> Result<Application, IdentityError> {
        let (mut n, v) = Self::next(u);
        let detail = format!("{}: {}", a.id, rejection.code.as_str());
        let false_info = rejection.code.is_false_information();
        next.state = ApplicationState::Rejected(rejection);
        next.decided_at = Some(self.now());
        next.reviewer = reviewer.map(str::to_string);
        let mut w = UserWrite::new(n.clone(), v);
        w.audit.push(self.event(Some(u.id), AuditKind::KYC_REJECTED, ctx, detail));
        if false_info {
            n.false_submissions += 1;
            if n.false_submissions >= self.inner.config.kyc.false_submissions_ban
                && let Some(to) = transition(n.status, StatusAction::Ban)
            {
                let reason = format!("{} false real-name submissions", n.false_submissions);
                w.status_change = Some(self.set_status(&mut n, to, &reason, Actor::System));
                w.audit.push(self.event(Some(u.id), AuditKind::STATUS_CHANGED, ctx, format!("banned: {reason}")));
            }
            w.user = n;
        }
        w.application = Some(ApplicationWrite { record: next.clone(), expected_version: Some(a.version) });
        self.write(w).await?;
        Ok(next.view())
    }

    fn sealed_identity(&self, user: UserId, identity: &VerifiedIdentity) -> Result<RealNameRecord, IdentityError> {
        let s = SealedIdentity {
            name: identity.name.expose().into(),
            id: identity.id_number.as_ref().map(|i| i.expose().into()),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&s).map_err(|e| IdentityError::Misuse(e.to_string()))?);
        Ok(RealNameRecord {
            sealed: self.inner.keys.seal(Purpose::RealName, user.raw(), &plain, self.inner.entropy.as_ref())?,
            id_digest: identity.id_number.as_ref().map(|i| self.id_digest(i)),
            name_masked: identity.name.masked(),
            id_masked: identity.id_number.as_ref().map(ResidentId::masked),
            verified_at: self.now(),
        })
    }

    async fn decide_approved(
        &self,
        u: &UserRecord,
        a: &ApplicationRecord,
        mut next: ApplicationRecord,
        request: &KycRequest,
        reviewer: &str,
        ctx: RequestContext,
    ) -> Result<Application, IdentityError> {
        let (mut n, v) = Self::next(u);
        let known = self.open_identity(u)?;
        if known.as_ref().is_none_or(|k| k.id_number.is_none() && request.id_number().is_some()) {
            let identity = VerifiedIdentity { name: request.name().clone(), id_number: request.id_number().cloned() };
            let mut record = self.sealed_identity(u.id, &identity)?;
            if let Some(old) = &u.real_name {
                record.verified_at = old.verified_at;
            }
            n.real_name = Some(record);
        }
        let new_channels = channels_of(&next.checks);
        let mut all: Vec<VerificationChannel> =
            self.inner.store.channels(u.id).await?.into_iter().map(|c| c.channel).collect();
        all.extend(new_channels.iter().cloned());
        all.sort();
        all.dedup();
        n.class = AccountClass::for_channel_count(all.len()).max(u.class);
        next.state = ApplicationState::Approved;
        next.decided_at = Some(self.now());
        next.reviewer = Some(reviewer.to_string());
        let mut w = UserWrite::new(n.clone(), v);
        w.application = Some(ApplicationWrite { record: next.clone(), expected_version: Some(a.version) });
        w.channels = new_channels
            .into_iter()
            .map(|channel| ChannelRecord { channel, application: Some(a.id), at: self.now() })
            .collect();
        w.id_claim = request
            .id_number()
            .map(|i| IdClaim { digest: self.id_digest(i), limit: self.inner.config.kyc.accounts_per_id_max });
        let class = n.class.map(AccountClass::as_str).unwrap_or("none");
        w.audit.push(self.event(
            Some(u.id),
            AuditKind::KYC_APPROVED,
            ctx,
            format!("{}: class {class}, {} channels", a.id, all.len()),
        ));
        match self.write(w).await {
            Err(IdentityError::IdNumberLimitReached { limit }) => {
                let r = Rejection {
                    code: RejectionCode::IdNumberLimitReached,
                    note: format!("this ID number already verifies {limit} accounts"),
                };
                self.decide_rejected(u, a, next, r, Some(reviewer), ctx).await
            }
            Err(e) => Err(e),
            Ok(()) => Ok(next.view()),
        }
    }

    /// A reviewer approves or rejects a submitted application. Approval verifies the user, grants the
    /// application's channels and sets the class; a rejection for false information counts toward a ban.
    #[instrument(skip_all, fields(application = %id), err(level = "info"))]
    pub async fn review_application(
        &self,
        id: ApplicationId,
        decision: ReviewDecision,
        reviewer: &str,
        ctx: RequestContext,
    ) -> Result<Application, IdentityError> {
        let a = self.load_application(id).await?;
        if a.state != ApplicationState::Submitted {
            return Err(IdentityError::ApplicationState { state: a.state.as_str(), action: "review" });
        }
        let u = self.load(a.user).await?;
        let mut next = a.clone();
        next.version += 1;
        match decision {
            ReviewDecision::Approve => {
                if u.status != UserStatus::Active {
                    return Err(IdentityError::AccountNotActive { status: u.status });
                }
                let request = self.open_request(&a)?;
                self.decide_approved(&u, &a, next, &request, reviewer, ctx).await
            }
            ReviewDecision::Reject(r) => self.decide_rejected(&u, &a, next, r, Some(reviewer), ctx).await,
        }
    }

    /// One application.
    pub async fn application(&self, id: ApplicationId) -> Result<Application, IdentityError> {
        Ok(self.load_application(id).await?.view())
    }

    /// A user's applications, oldest first.
    pub async fn applications(&self, user: UserId) -> Result<Vec<Application>, IdentityError> {
        Ok(self.inner.store.applications_for_user(user).await?.iter().map(ApplicationRecord::view).collect())
    }

    /// Submitted applications waiting for review, oldest first.
    pub async fn review_queue(&self, limit: u32) -> Result<Vec<Application>, IdentityError> {
        Ok(self
            .inner
            .store
            .applications_in_state("submitted", limit)
            .await?
            .iter()
            .map(ApplicationRecord::view)
            .collect())
    }

    /// The user's verified identity in the clear (name and ID number), for the facade's own checks.
    pub async fn verified_identity(&self, user: UserId) -> Result<Option<VerifiedIdentity>, IdentityError> {
        self.open_identity(&self.load(user).await?)
    }

    /// The account class (`None` until real-name verified).
    pub async fn account_class(&self, user: UserId) -> Result<Option<AccountClass>, IdentityError> {
        Ok(self.load(user).await?.class)
    }

    /// The cap the account's class sets, for the facade to turn into ledger limits.
    pub async fn class_cap(&self, user: UserId) -> Result<Option<ClassCap>, IdentityError> {
        Ok(self.account_class(user).await?.map(|c| c.cap(&self.inner.config.class_caps)))
    }

    /// The channels the user passed.
    pub async fn channels(&self, user: UserId) -> Result<Vec<ChannelRecord>, IdentityError> {
        self.inner.store.channels(user).await
    }

    /// The bank cards verified by approved applications.
    pub async fn bank_cards(&self, user: UserId) -> Result<Vec<BankCardView>, IdentityError> {
        let apps = self.inner.store.applications_for_user(user).await?;
        Ok(apps
            .iter()
            .filter(|a| a.state == ApplicationState::Approved && a.card_digest.is_some())
            .map(|a| BankCardView {
                application: a.id,
                masked: a.summary.card_masked.clone().unwrap_or_default(),
                scheme: a.summary.card_scheme,
                verified_at: a.decided_at,
            })
            .collect())
    }

    /// The number of a verified bank card, in the clear (for the facade to top up or withdraw).
    pub async fn bank_card_number(&self, user: UserId, card: ApplicationId) -> Result<BankCardNumber, IdentityError> {
        let a = self.load_application(card).await?;
        if a.user != user || a.state != ApplicationState::Approved {
            return Err(IdentityError::ApplicationNotFound(card));
        }
        match self.open_request(&a)? {
            KycRequest::BankCard(r) => Ok(r.card),
            _ => Err(IdentityError::ApplicationNotFound(card)),
        }
    }

    /// Records that an operator verified the user's documents in person: one more channel (often what
    /// class III needs). Only for real-name verified, active accounts.
    #[instrument(skip_all, fields(user = %user), err(level = "info"))]
    pub async fn record_in_person_verification(
        &self,
        user: UserId,
        operator: &str,
        ctx: RequestContext,
    ) -> Result<AccountClass, IdentityError> {
        let u = self.load(user).await?;
        if u.status != UserStatus::Active {
            return Err(IdentityError::AccountNotActive { status: u.status });
        }
        if u.real_name.is_none() {
            return Err(IdentityError::FactInvalid(
                "an in-person check adds a channel to a real-name verified account only",
            ));
        }
        let mut all: Vec<VerificationChannel> =
            self.inner.store.channels(user).await?.into_iter().map(|c| c.channel).collect();
        all.push(VerificationChannel::InPerson);
        all.sort();
        all.dedup();
        let (mut n, v) = Self::next(&u);
        n.class = AccountClass::for_channel_count(all.len()).max(u.class);
        let mut w = UserWrite::new(n.clone(), v);
        w.channels.push(ChannelRecord { channel: VerificationChannel::InPerson, application: None, at: self.now() });
        let class = n.class.map(AccountClass::as_str).unwrap_or("none");
        w.audit.push(self.event(
            Some(user),
            AuditKind::KYC_APPROVED,
            ctx,
            format!("in person by {operator}: class {class}"),
        ));
        self.write(w).await?;
        Ok(n.class.unwrap_or(AccountClass::I))
    }

    /// The class caps in force.
    pub fn class_caps(&self) -> &crate::ClassCaps {
        &self.inner.config.class_caps
    }
}
