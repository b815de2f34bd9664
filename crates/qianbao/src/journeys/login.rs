//! Login (issue 10): the password under identity's guards, then — when the account has a second factor
//! or the device is new — a step-up; then a session on the device. Also refresh and logout.

use std::fmt;

use qianbao_core::{SecretString, TokenId, UserId};
use qianbao_identity::{AuditKind, ContactValue, Password, RequestContext};
use qianbao_token::{
    CertThumbprint, CodeTicket, DeviceInfo, Purpose, QrChallenge, QrPurpose, QrRequest, SessionRequest, SessionTokens,
};
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::audit::kinds;
use crate::notices::Notice;
use crate::ticket::{Claims, FlowTicket, TicketKind};
use crate::{Caller, NewDeviceStepUp, Wallet, WalletError};

/// The scope of sessions opened by login.
pub const SESSION_SCOPE: &str = "wallet";

/// The most characters of a device name repeated in a notice.
const DEVICE_NAME_CHARS_MAX: usize = 64;

/// A login: the login name (a verified phone or email), the password, the device (id, name, client
/// address) and, over mutual TLS, the device's client certificate (the session is then bound to it).
#[derive(Debug, Clone)]
pub struct LoginRequest {
    /// The verified phone number or email address.
    pub login: ContactValue,
    /// The password as typed.
    pub password: Password,
    /// The device and the client's address.
    pub device: DeviceInfo,
    /// The client certificate presented over mutual TLS: the session's tokens are bound to it.
    pub client_certificate: Option<CertificateDer<'static>>,
}

impl LoginRequest {
    /// A login without a client certificate.
    pub fn new(login: ContactValue, password: Password, device: DeviceInfo) -> Self {
        LoginRequest { login, password, device, client_certificate: None }
    }
}

/// A session opened by a login.
#[derive(Debug, Clone)]
pub struct Session {
    /// The access and refresh tokens (hand them to the client; never log them).
    pub tokens: SessionTokens,
    /// The first login from this device while the user had others (it was notified and audited).
    pub new_device: bool,
    /// The password is older than the policy allows: ask for a new one.
    pub must_change_password: bool,
    /// The account is frozen: it can look, not pay.
    pub frozen: bool,
}

impl Session {
    /// The [`Caller`] for requests made with this session.
    pub fn caller(&self) -> Caller {
        Caller::of(&self.tokens)
    }
}

/// What kind of step-up a login needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepUpKind {
    /// A code from the authenticator app (or one of its recovery codes).
    Totp,
    /// A one-time code sent to a verified contact.
    Code,
    /// Approval from a logged-in device that scans the QR code the new device shows.
    QrConfirmation,
}

impl fmt::Display for StepUpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepUpKind::Totp => "authenticator code",
            StepUpKind::Code => "one-time code",
            StepUpKind::QrConfirmation => "QR confirmation from a signed-in device",
        })
    }
}

/// Why a login needs a step-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepUpReason {
    /// The account has a second factor.
    SecondFactor,
    /// The device was never used by this account before (and the policy asks for a step-up).
    NewDevice,
}

/// What the client must do to finish the login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StepUpChallenge {
    /// Ask for the authenticator app's code.
    Totp,
    /// A code was sent (where, masked, and until when).
    Code(CodeTicket),
    /// Show `payload` as a QR code for a signed-in device to scan; keep `poll_secret` to finish.
    Qr(QrChallenge),
}

/// A login's password was right; one more step opens the session.
#[derive(Debug, Clone)]
pub struct StepUp {
    /// Send it back with the answer ([`Wallet::complete_login`]).
    pub ticket: FlowTicket,
    /// Why.
    pub reason: StepUpReason,
    /// What.
    pub challenge: StepUpChallenge,
}

impl StepUp {
    /// The kind of step.
    pub fn kind(&self) -> StepUpKind {
        match self.challenge {
            StepUpChallenge::Totp => StepUpKind::Totp,
            StepUpChallenge::Code(_) => StepUpKind::Code,
            StepUpChallenge::Qr(_) => StepUpKind::QrConfirmation,
        }
    }
}

/// The outcome of [`Wallet::login`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Logged in.
    Session(Box<Session>),
    /// One more step first.
    StepUp(Box<StepUp>),
}

/// The answer to a [`StepUp`].
#[derive(Clone)]
#[non_exhaustive]
pub enum StepUpAnswer {
    /// The authenticator app's current code.
    Totp(SecretString),
    /// One of the authenticator's recovery codes (each works once).
    RecoveryCode(SecretString),
    /// The one-time code that was sent.
    Code(SecretString),
    /// The QR challenge was approved on another device: the poll secret collects the approval.
    Qr {
        /// The challenge's poll secret.
        poll_secret: SecretString,
    },
}

impl fmt::Debug for StepUpAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StepUpAnswer([REDACTED])")
    }
}

/// The facts a login carries into its step-up (the ticket's flag bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoginFlags {
    pub(crate) new_device: bool,
    pub(crate) must_change_password: bool,
    pub(crate) frozen: bool,
}

fn encode_flags(kind: StepUpKind, reason: StepUpReason, f: LoginFlags) -> u8 {
    let k = match kind {
        StepUpKind::Totp => 1,
        StepUpKind::Code => 2,
        StepUpKind::QrConfirmation => 3,
    };
    let r = u8::from(reason == StepUpReason::NewDevice) << 2;
    k | r | u8::from(f.new_device) << 3 | u8::from(f.must_change_password) << 4 | u8::from(f.frozen) << 5
}

fn decode_flags(b: u8) -> Result<(StepUpKind, LoginFlags), WalletError> {
    let kind = match b & 0b11 {
        1 => StepUpKind::Totp,
        2 => StepUpKind::Code,
        3 => StepUpKind::QrConfirmation,
        _ => return Err(WalletError::TicketInvalid),
    };
    let bit = |n: u8| b & (1 << n) != 0;
    Ok((kind, LoginFlags { new_device: bit(3), must_change_password: bit(4), frozen: bit(5) }))
}

/// The step-up a login needs, if any (the policy of issue 10, item 2).
///
/// - a new device, the QR policy and another device with a live session: QR confirmation;
/// - otherwise an account with a second factor: its authenticator (it also covers a new device);
/// - otherwise a new device under any policy but `None`: a code to a verified contact;
/// - otherwise nothing.
pub(crate) fn decide_step_up(
    second_factor: bool,
    new_device: bool,
    other_live_device: bool,
    policy: NewDeviceStepUp,
) -> Option<(StepUpKind, StepUpReason)> {
    let reason = if new_device { StepUpReason::NewDevice } else { StepUpReason::SecondFactor };
    if new_device && policy == NewDeviceStepUp::QrConfirmation && other_live_device {
        return Some((StepUpKind::QrConfirmation, reason));
    }
    if second_factor {
        return Some((StepUpKind::Totp, StepUpReason::SecondFactor));
    }
    if new_device && policy != NewDeviceStepUp::None {
        return Some((StepUpKind::Code, reason));
    }
    None
}

impl Wallet {
    /// Logs in. A wrong password and an unknown login name give the same error after the same work;
    /// repeated failures back off and then lock the account until recovery or an operator (identity's
    /// guards). With the right password the answer is a [`Session`], or a [`StepUp`] when the account has
    /// a second factor or the device is new (see [`PolicyConfig::new_device_step_up`]). A device is new
    /// when the user has logged in on other devices but never on this one; the first device of an
    /// account is not.
    ///
    /// [`PolicyConfig::new_device_step_up`]: crate::PolicyConfig::new_device_step_up
    #[tracing::instrument(skip_all, fields(device = %req.device.id, user = tracing::field::Empty))]
    pub async fn login(&self, req: LoginRequest) -> Result<LoginOutcome, WalletError> {
        let ctx = RequestContext::new(Some(req.device.id), req.device.address);
        let outcome = self.inner.identity.login(&req.login, &req.password, ctx).await?;
        let user = outcome.user;
        tracing::Span::current().record("user", tracing::field::display(user));
        let binding = self.login_binding(user, &req).await?;
        let devices = self.inner.tokens.list_devices(user).await?;
        let new_device = !devices.is_empty() && devices.iter().all(|d| d.id != req.device.id);
        let other_live = devices.iter().any(|d| d.id != req.device.id && d.active_sessions > 0);
        let flags =
            LoginFlags { new_device, must_change_password: outcome.must_change_password, frozen: outcome.frozen };
        let policy = self.inner.config.policy.new_device_step_up;
        match decide_step_up(outcome.second_factor, new_device, other_live, policy) {
            None => {
                let s = self.open_session(user, &req.device, binding, flags, ctx).await?;
                Ok(LoginOutcome::Session(Box::new(s)))
            }
            Some((kind, reason)) => {
                let s = self.step_up(user, &req.device, (kind, reason), binding, flags, ctx).await?;
                Ok(LoginOutcome::StepUp(Box::new(s)))
            }
        }
    }

    /// A certificate presented at login must be this user's, for this device; the session is bound to it.
    async fn login_binding(&self, user: UserId, req: &LoginRequest) -> Result<Option<CertThumbprint>, WalletError> {
        let Some(der) = &req.client_certificate else { return Ok(None) };
        let v = self.inner.ca.verify_certificate(der).await?;
        if v.user != user || v.device != req.device.id {
            return Err(WalletError::CertificateNotYours);
        }
        Ok(Some(CertThumbprint::of_der(der)))
    }

    async fn step_up(
        &self,
        user: UserId,
        device: &DeviceInfo,
        (kind, reason): (StepUpKind, StepUpReason),
        binding: Option<CertThumbprint>,
        flags: LoginFlags,
        ctx: RequestContext,
    ) -> Result<StepUp, WalletError> {
        let mut claims = Claims::new(TicketKind::LoginStepUp, user, self.now());
        claims.device = Some(device.id);
        claims.flags = encode_flags(kind, reason, flags);
        claims.digests[0] = binding.map(CertThumbprint::to_bytes);
        let challenge = match kind {
            StepUpKind::Totp => StepUpChallenge::Totp,
            StepUpKind::Code => {
                let contact = self.preferred_contact(user).await?;
                let code = self.send_code(user, Purpose::Login, &contact, ctx).await?;
                claims.refs[0] = Some(code.id.raw());
                StepUpChallenge::Code(code)
            }
            StepUpKind::QrConfirmation => {
                let req = QrRequest { purpose: QrPurpose::Login, device: device.clone(), user: Some(user) };
                let qr = self.inner.tokens.create_qr_challenge(req).await?;
                claims.refs[0] = Some(qr.id.raw());
                StepUpChallenge::Qr(qr)
            }
        };
        let detail = format!("{kind:?} for {reason:?} on device {}", device.id);
        self.audit(user, kinds::of(kinds::STEP_UP_REQUIRED), ctx, detail).await;
        Ok(StepUp { ticket: self.inner.tickets.sign(&claims), reason, challenge })
    }

    /// Finishes a login that needed a step-up, from the same device. A wrong answer counts toward the
    /// factor's own lock (authenticator, code); an answer of another kind is
    /// [`WalletError::StepUpRequired`].
    #[tracing::instrument(skip_all, fields(device = %device.id, user = tracing::field::Empty))]
    pub async fn complete_login(
        &self,
        ticket: &FlowTicket,
        answer: StepUpAnswer,
        device: DeviceInfo,
    ) -> Result<Session, WalletError> {
        let claims = self.inner.tickets.open(ticket, TicketKind::LoginStepUp, None, self.now())?;
        if claims.device != Some(device.id) {
            return Err(WalletError::TicketInvalid);
        }
        let user = claims.user;
        tracing::Span::current().record("user", tracing::field::display(user));
        let ctx = RequestContext::new(Some(device.id), device.address);
        let (kind, mut flags) = decode_flags(claims.flags)?;
        self.check_step_up(&claims, kind, answer, &device, ctx).await?;
        let status = self.inner.identity.user(user).await?.status;
        if !status.can_log_in() {
            return Err(WalletError::AccountNotActive { status });
        }
        flags.frozen = status == qianbao_identity::UserStatus::Frozen;
        self.audit(user, kinds::of(kinds::STEP_UP_PASSED), ctx, format!("{kind:?}")).await;
        let binding = claims.digests[0].map(CertThumbprint::from_bytes);
        self.open_session(user, &device, binding, flags, ctx).await
    }

    async fn check_step_up(
        &self,
        claims: &Claims,
        kind: StepUpKind,
        answer: StepUpAnswer,
        device: &DeviceInfo,
        ctx: RequestContext,
    ) -> Result<(), WalletError> {
        let (user, tokens) = (claims.user, &self.inner.tokens);
        match (kind, answer) {
            (StepUpKind::Totp, StepUpAnswer::Totp(c)) => tokens.verify_totp(user, c.expose()).await.map(drop)?,
            (StepUpKind::Totp, StepUpAnswer::RecoveryCode(c)) => {
                tokens.use_recovery_code(user, c.expose()).await.map(drop)?
            }
            (StepUpKind::Code, StepUpAnswer::Code(c)) => {
                self.check_code(user, Purpose::Login, claims.refs[0], &c, ctx).await.map(drop)?
            }
            (StepUpKind::QrConfirmation, StepUpAnswer::Qr { poll_secret }) => {
                let id = TokenId::from_raw(claims.refs[0].ok_or(WalletError::TicketInvalid)?);
                let approval = tokens.complete_qr(id, poll_secret.expose()).await?;
                if approval.user != user || approval.device != device.id {
                    return Err(WalletError::TicketInvalid);
                }
            }
            (required, _) => return Err(WalletError::StepUpRequired { required }),
        }
        Ok(())
    }

    /// Opens the session; a new device is audited and notified (and stays unknown to the payment risk
    /// rules until it pays), any other is recorded as known to them.
    async fn open_session(
        &self,
        user: UserId,
        device: &DeviceInfo,
        binding: Option<CertThumbprint>,
        flags: LoginFlags,
        ctx: RequestContext,
    ) -> Result<Session, WalletError> {
        let req =
            SessionRequest { user, device: device.clone(), scope: SESSION_SCOPE.into(), client_id: None, binding };
        let tokens = self.inner.tokens.create_session(req).await?;
        let bound = if binding.is_some() { ", certificate-bound" } else { "" };
        let detail = format!("session {} on device {}{bound}", tokens.session, device.id);
        self.audit(user, AuditKind::TOKEN_ISSUED, ctx, detail).await;
        if !flags.new_device {
            // Issue 10: a device that is not new to the account is known to the risk rules; a new
            // device's payments meet the new-device rule until it has paid once.
            if let Err(e) = self.inner.payments.trust_device(user, device.id).await {
                tracing::warn!(%user, error = %e, "device not recorded as known to the risk rules");
            }
        }
        if flags.new_device {
            let name: String = device.name.chars().take(DEVICE_NAME_CHARS_MAX).collect();
            self.audit(user, AuditKind::NEW_DEVICE, ctx, format!("device {} \"{name}\"", device.id)).await;
            self.notify_user(user, Notice::NewDeviceLogin { device: name, address: device.address }).await;
        }
        Ok(Session {
            tokens,
            new_device: flags.new_device,
            must_change_password: flags.must_change_password,
            frozen: flags.frozen,
        })
    }

    /// Exchanges a refresh token for new tokens (rotation; a reused refresh token revokes the session).
    /// A certificate-bound session needs its certificate.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client_certificate: Option<&CertificateDer<'_>>,
    ) -> Result<SessionTokens, WalletError> {
        let thumbprint = client_certificate.map(|c| CertThumbprint::of_der(c));
        Ok(self.inner.tokens.refresh(refresh_token, thumbprint.as_ref()).await?)
    }

    /// Logs out: signs the caller's device out (its sessions and payment codes revoked at once).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty))]
    pub async fn logout(&self, caller: &Caller) -> Result<(), WalletError> {
        let a = self.authenticate(caller).await?;
        self.inner.tokens.sign_out_device(a.user(), a.device()).await?;
        self.audit(a.user(), AuditKind::DEVICE_SIGNED_OUT, a.ctx, format!("device {} logged out", a.device())).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
