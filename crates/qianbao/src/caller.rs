//! [`Caller`]: who is calling a user-facing journey, authenticated by the access token (and, for a
//! certificate-bound session, the client certificate presented over mutual TLS).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use qianbao_core::{DeviceId, SecretString, UserId};
use qianbao_identity::{RequestContext, User, UserStatus};
use qianbao_token::{AccessGrant, CertThumbprint, SessionTokens};
use rustls_pki_types::CertificateDer;

use crate::{Wallet, WalletError};

/// The credentials of a user-facing request: what the embedding service's HTTP or RPC layer hands over.
///
/// - `access_token`: the `qba_…` token of the session (from [`Wallet::login`]).
/// - `client_certificate`: the client certificate TLS authenticated, if the request came over mutual TLS.
///   A session bound to a certificate is refused without it.
/// - `address`: the client's network address, for the audit trail and the login guards.
///
/// The device is not taken from the request: it is the device the session was opened on.
#[derive(Clone)]
pub struct Caller {
    /// The access token.
    pub access_token: SecretString,
    /// The client certificate presented over mutual TLS, if any.
    pub client_certificate: Option<CertificateDer<'static>>,
    /// The client's network address, if known.
    pub address: Option<IpAddr>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("access_token", &"[REDACTED]")
            .field("client_certificate", &self.client_certificate.as_ref().map(|c| CertThumbprint::of_der(c)))
            .field("address", &self.address)
            .finish()
    }
}

impl Caller {
    /// A caller with this access token.
    pub fn new(access_token: impl Into<String>) -> Self {
        Caller { access_token: SecretString::new(access_token.into()), client_certificate: None, address: None }
    }

    /// The caller of a session just opened (handy in tests and examples).
    pub fn of(session: &SessionTokens) -> Self {
        Caller::new(session.access_token.expose())
    }

    /// With the client certificate presented over mutual TLS.
    pub fn with_certificate(mut self, certificate: CertificateDer<'static>) -> Self {
        self.client_certificate = Some(certificate);
        self
    }

    /// With the client's network address.
    pub fn with_address(mut self, address: IpAddr) -> Self {
        self.address = Some(address);
        self
    }

    /// The thumbprint of the presented certificate.
    pub(crate) fn thumbprint(&self) -> Option<CertThumbprint> {
        self.client_certificate.as_ref().map(|c| CertThumbprint::of_der(c))
    }
}

/// An authenticated request.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub(crate) grant: Arc<AccessGrant>,
    pub(crate) ctx: RequestContext,
}

impl Authed {
    pub(crate) fn user(&self) -> UserId {
        self.grant.user
    }

    pub(crate) fn device(&self) -> DeviceId {
        self.grant.device
    }
}

impl Wallet {
    /// Authenticates a caller through the token service (a bound session needs its certificate) and
    /// records the user on the current span.
    pub(crate) async fn authenticate(&self, caller: &Caller) -> Result<Authed, WalletError> {
        let thumbprint = caller.thumbprint();
        let grant = self.inner.tokens.authenticate(caller.access_token.expose(), thumbprint.as_ref()).await?;
        tracing::Span::current().record("user", tracing::field::display(grant.user));
        let ctx = RequestContext::new(Some(grant.device), caller.address);
        Ok(Authed { grant, ctx })
    }

    /// The account can log in (active or frozen).
    pub(crate) async fn require_can_log_in(&self, user: UserId) -> Result<User, WalletError> {
        let u = self.inner.identity.user(user).await?;
        if u.status.can_log_in() { Ok(u) } else { Err(WalletError::AccountNotActive { status: u.status }) }
    }

    /// The user, who must be able to take on new obligations: active (not frozen, pending, banned or
    /// closed).
    pub(crate) async fn require_active(&self, user: UserId) -> Result<User, WalletError> {
        let u = self.inner.identity.user(user).await?;
        match u.status {
            UserStatus::Active => Ok(u),
            UserStatus::Frozen => Err(WalletError::Frozen),
            status => Err(WalletError::AccountNotActive { status }),
        }
    }

    /// As [`require_active`](Self::require_active), and real-name verified.
    pub(crate) async fn require_verified(&self, user: UserId) -> Result<User, WalletError> {
        let u = self.require_active(user).await?;
        if u.real_name.is_none() || u.class.is_none() {
            return Err(WalletError::RealNameRequired);
        }
        Ok(u)
    }
}
