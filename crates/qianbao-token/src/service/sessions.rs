//! Sessions (access + refresh tokens), introspection (RFC 7662), revocation (RFC 7009), certificate
//! binding (RFC 8705) and devices.

use std::net::IpAddr;
use std::sync::Arc;

use qianbao_core::{DeviceId, SessionId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

use super::Tokens;
use crate::TokenError;
use crate::bearer::{BearerToken, TokenDigest, TokenKind};
use crate::binding::{CertThumbprint, check_binding};
use crate::store::run;
use crate::store::sessions::{self as db, BearerRow, DeviceRow, Rotation, Selector, SessionRow};

/// The device a session is on, as the client reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device's id (chosen by the app at install time, or the CA's device id).
    pub id: DeviceId,
    /// A display name ("Li's iPhone"); empty keeps the stored one.
    pub name: String,
    /// The client's network address, when known.
    pub address: Option<IpAddr>,
}

/// A login to turn into a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    /// Who logged in (the facade has checked the password and any second factor).
    pub user: UserId,
    /// On which device.
    pub device: DeviceInfo,
    /// Space-separated scopes (RFC 6749 §3.3), e.g. `"wallet pay"`.
    pub scope: String,
    /// The OAuth client, if any.
    pub client_id: Option<String>,
    /// Bind the session's tokens to this client certificate (RFC 8705).
    pub binding: Option<CertThumbprint>,
}

/// The tokens of a new or refreshed session. Hand them to the client; never log them.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    /// The session family.
    pub session: SessionId,
    /// Whose.
    pub user: UserId,
    /// On which device.
    pub device: DeviceId,
    /// The access token (`qba_…`).
    pub access_token: BearerToken,
    /// The refresh token (`qbr_…`); it works once.
    pub refresh_token: BearerToken,
    /// When the access token expires.
    pub access_expires_at: Timestamp,
    /// When the refresh token expires.
    pub refresh_expires_at: Timestamp,
    /// True when this login was the first from this device for this user (flag it to the risk rules).
    pub new_device: bool,
}

/// What a valid access token grants: returned by [`Tokens::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrant {
    /// The session family.
    pub session: SessionId,
    /// The user.
    pub user: UserId,
    /// The device.
    pub device: DeviceId,
    /// Space-separated scopes.
    pub scope: String,
    /// The OAuth client, if any.
    pub client_id: Option<String>,
    /// When the access token was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The certificate it is bound to, if any.
    pub binding: Option<CertThumbprint>,
}

impl AccessGrant {
    /// True when the grant's scopes include `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// RFC 8705 confirmation claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The bound certificate's SHA-256 thumbprint.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: CertThumbprint,
}

/// An RFC 7662 introspection response (field names as the RFC; times in Unix seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// Whether the token is currently active. When false no other field is set.
    pub active: bool,
    /// Space-separated scopes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// The OAuth client.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_type: Option<String>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<u64>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iat: Option<u64>,
    /// The user id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub: Option<String>,
    /// The session family id (an extension field).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// The device id (an extension field).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_id: Option<String>,
    /// The certificate binding (RFC 8705 §3.2).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
}

/// A device of a user, as listed to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Its id.
    pub id: DeviceId,
    /// Its display name.
    pub name: String,
    /// When the user first logged in on it.
    pub first_seen: Timestamp,
    /// When it last logged in or refreshed a session.
    pub last_seen: Timestamp,
    /// The last client address seen.
    pub address: Option<IpAddr>,
    /// Its live sessions (0: signed out).
    pub active_sessions: u32,
}

impl From<DeviceRow> for Device {
    fn from(d: DeviceRow) -> Self {
        Device {
            id: d.device,
            name: d.name,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            address: d.address.and_then(|a| a.parse().ok()),
            active_sessions: d.active_sessions,
        }
    }
}

fn grant(b: &BearerRow, s: &SessionRow) -> AccessGrant {
    AccessGrant {
        session: s.id,
        user: s.user,
        device: s.device,
        scope: s.scope.clone(),
        client_id: s.client_id.clone(),
        issued_at: b.issued_at,
        expires_at: b.expires_at,
        binding: s.cnf.map(CertThumbprint::from_bytes),
    }
}

/// Why a found token is not usable now, if it is not.
fn refusal(b: &BearerRow, s: &SessionRow, kind: TokenKind, now: Timestamp) -> Option<TokenError> {
    if b.kind != kind {
        Some(TokenError::TokenUnknown)
    } else if b.revoked_at.is_some() || s.revoked_at.is_some() || b.spent_at.is_some() {
        Some(TokenError::TokenRevoked)
    } else if now >= b.expires_at {
        Some(TokenError::TokenExpired)
    } else {
        None
    }
}

fn scope_ok(scope: &str) -> bool {
    scope.len() <= 1024 && scope.bytes().all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

impl Tokens {
    fn bearer_rows(&self, session: SessionId, now: Timestamp) -> (BearerToken, BearerToken, [BearerRow; 2]) {
        let c = &self.inner.config;
        let access = BearerToken::generate(TokenKind::Access, self.inner.entropy.as_ref());
        let refresh = BearerToken::generate(TokenKind::Refresh, self.inner.entropy.as_ref());
        let row = |t: &BearerToken, ttl| BearerRow {
            digest: self.inner.hasher.digest(t).to_bytes(),
            session,
            kind: t.kind(),
            issued_at: now,
            expires_at: now.saturating_add(ttl),
            spent_at: None,
            revoked_at: None,
        };
        let rows = [row(&access, c.access_ttl), row(&refresh, c.refresh_ttl)];
        (access, refresh, rows)
    }

    /// Starts a session after a successful login: a fresh access and refresh token on the given device
    /// (recorded: first and last seen, address). `new_device` in the answer says the user never logged in
    /// on this device before.
    #[tracing::instrument(skip_all, fields(user = %req.user, device = %req.device.id))]
    pub async fn create_session(&self, req: SessionRequest) -> Result<SessionTokens, TokenError> {
        if !scope_ok(&req.scope) {
            return Err(TokenError::malformed("a scope", "it must be printable ASCII words, at most 1024 bytes"));
        }
        let now = self.now();
        let id: SessionId = self.inner.ids.next();
        let (access, refresh, rows) = self.bearer_rows(id, now);
        let (access_exp, refresh_exp) = (rows[0].expires_at, rows[1].expires_at);
        let session = SessionRow {
            id,
            user: req.user,
            device: req.device.id,
            client_id: req.client_id,
            scope: req.scope,
            cnf: req.binding.map(CertThumbprint::to_bytes),
            created_at: now,
            expires_at: refresh_exp,
            revoked_at: None,
        };
        let name = Some(req.device.name).filter(|n| !n.is_empty());
        let address = req.device.address.map(|a| a.to_string());
        let new_device = run!(write, self.inner.store, |tx| db::create(tx, session, rows, name, address))?;
        Ok(SessionTokens {
            session: id,
            user: req.user,
            device: req.device.id,
            access_token: access,
            refresh_token: refresh,
            access_expires_at: access_exp,
            refresh_expires_at: refresh_exp,
            new_device,
        })
    }

    /// Exchanges a refresh token for a new access and refresh token (rotation). The old refresh token is
    /// spent; presenting it again revokes the whole session ([`TokenError::RefreshTokenReused`]). A bound
    /// session needs its certificate.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        presented: Option<&CertThumbprint>,
    ) -> Result<SessionTokens, TokenError> {
        let token = BearerToken::parse_kind(refresh_token, TokenKind::Refresh)?;
        let digest = self.inner.hasher.digest(&token).to_bytes();
        let found = run!(read, self.inner.store, |tx| db::lookup(tx, digest))?;
        let Some((_, s)) = &found else { return Err(TokenError::TokenUnknown) };
        check_binding(s.cnf.map(CertThumbprint::from_bytes).as_ref(), presented)?;
        let now = self.now();
        let (access, refresh, rows) = self.bearer_rows(s.id, now);
        let (access_exp, refresh_exp) = (rows[0].expires_at, rows[1].expires_at);
        match run!(write, self.inner.store, |tx| db::rotate(tx, digest, now, rows))? {
            Rotation::Rotated(s) => Ok(SessionTokens {
                session: s.id,
                user: s.user,
                device: s.device,
                access_token: access,
                refresh_token: refresh,
                access_expires_at: access_exp,
                refresh_expires_at: refresh_exp,
                new_device: false,
            }),
            Rotation::Reused(session) => {
                self.inner.cache.remove_sessions(&[session]);
                tracing::warn!(%session, "refresh token reused: session family revoked");
                Err(TokenError::RefreshTokenReused)
            }
            Rotation::Refused(None) => Err(TokenError::TokenUnknown),
            Rotation::Refused(Some((b, s))) => {
                Err(refusal(&b, &s, TokenKind::Refresh, now).unwrap_or(TokenError::TokenRevoked))
            }
        }
    }

    /// Checks an access token (and, for a bound token, the certificate presented with it) and returns
    /// what it grants (shared with the cache). Served from the in-process cache when possible: the token's
    /// shape is checked without allocating, then one HMAC and one map look-up.
    pub async fn authenticate(
        &self,
        access_token: &str,
        presented: Option<&CertThumbprint>,
    ) -> Result<Arc<AccessGrant>, TokenError> {
        crate::bearer::validate_kind(access_token, TokenKind::Access)?;
        let digest = self.inner.hasher.digest_str(access_token);
        let now = self.now();
        let grant = match self.inner.cache.get(&digest, now) {
            Some(g) => g,
            None => self.load_grant(digest, now).await?,
        };
        check_binding(grant.binding.as_ref(), presented)?;
        Ok(grant)
    }

    async fn load_grant(&self, digest: TokenDigest, now: Timestamp) -> Result<Arc<AccessGrant>, TokenError> {
        let d = digest.to_bytes();
        let found = run!(read, self.inner.store, |tx| db::lookup(tx, d))?;
        let Some((b, s)) = found else { return Err(TokenError::TokenUnknown) };
        if let Some(e) = refusal(&b, &s, TokenKind::Access, now) {
            return Err(e);
        }
        let g = Arc::new(grant(&b, &s));
        self.inner.cache.put(digest, g.clone(), now);
        Ok(g)
    }

    /// RFC 7662 introspection of an access or refresh token. An unknown, malformed, expired, spent or
    /// revoked token is `{"active": false}`, not an error; errors are storage failures only.
    #[tracing::instrument(skip_all)]
    pub async fn introspect(&self, token: &str) -> Result<Introspection, TokenError> {
        let Ok(kind) = crate::bearer::validate(token) else { return Ok(Introspection::default()) };
        let now = self.now();
        let digest = self.inner.hasher.digest_str(token);
        let (g, kind) = match kind {
            TokenKind::Access => match self.inner.cache.get(&digest, now) {
                Some(g) => (g, TokenKind::Access),
                None => match self.load_grant(digest, now).await {
                    Ok(g) => (g, TokenKind::Access),
                    Err(e) if e.is_rejection() => return Ok(Introspection::default()),
                    Err(e) => return Err(e),
                },
            },
            TokenKind::Refresh => {
                let d = digest.to_bytes();
                match run!(read, self.inner.store, |tx| db::lookup(tx, d))? {
                    Some((b, s)) if refusal(&b, &s, TokenKind::Refresh, now).is_none() => {
                        (Arc::new(grant(&b, &s)), TokenKind::Refresh)
                    }
                    _ => return Ok(Introspection::default()),
                }
            }
            TokenKind::Transaction => return Ok(Introspection::default()),
        };
        Ok(Introspection {
            active: true,
            scope: Some(g.scope.clone()),
            client_id: g.client_id.clone(),
            token_type: Some(kind.type_hint().to_string()),
            exp: Some(g.expires_at.unix_secs()),
            iat: Some(g.issued_at.unix_secs()),
            sub: Some(g.user.to_string()),
            sid: Some(g.session.to_string()),
            device_id: Some(g.device.to_string()),
            cnf: g.binding.map(|x5t_s256| Confirmation { x5t_s256 }),
        })
    }

    /// RFC 7009 revocation: revokes an access token, or a refresh token with its whole session. Revoking
    /// a malformed, unknown or already revoked token is not an error. Applies to this instance's cache at
    /// once.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, token: &str) -> Result<(), TokenError> {
        let Ok(token) = BearerToken::parse(token) else { return Ok(()) };
        if token.kind() == TokenKind::Transaction {
            return Ok(());
        }
        let digest = self.inner.hasher.digest(&token);
        let d = digest.to_bytes();
        let now = self.now();
        match run!(write, self.inner.store, |tx| db::revoke_token(tx, d, now))? {
            Some((session, TokenKind::Refresh)) => self.inner.cache.remove_sessions(&[session]),
            Some(_) => self.inner.cache.remove(&digest),
            None => {}
        }
        Ok(())
    }

    async fn revoke_selected(&self, sel: Selector, reason: &'static str) -> Result<u32, TokenError> {
        let now = self.now();
        let ids = run!(write, self.inner.store, |tx| db::revoke_where(tx, sel, now, reason))?;
        self.inner.cache.remove_sessions(&ids);
        Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
    }

    /// Revokes every session of the user (password recovery, account closure); how many were live.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_all_sessions(&self, user: UserId) -> Result<u32, TokenError> {
        self.revoke_selected(Selector::User(user), "all_sessions_revoked").await
    }

    /// The user's devices, oldest first, with their live-session counts.
    #[tracing::instrument(skip(self))]
    pub async fn list_devices(&self, user: UserId) -> Result<Vec<Device>, TokenError> {
        let now = self.now();
        let rows = run!(read, self.inner.store, |tx| db::devices(tx, user, now))?;
        Ok(rows.into_iter().map(Device::from).collect())
    }

    /// Whether the user has logged in on this device before (the facade flags unknown devices to the
    /// risk rules and may require a second factor or a QR confirmation).
    pub async fn is_known_device(&self, user: UserId, device: DeviceId) -> Result<bool, TokenError> {
        Ok(run!(read, self.inner.store, |tx| db::device_known(tx, user, device))?)
    }

    /// Signs one device out: revokes its sessions at once (also in the introspection cache) and its
    /// payment-code enrollment. How many sessions were live.
    #[tracing::instrument(skip(self))]
    pub async fn sign_out_device(&self, user: UserId, device: DeviceId) -> Result<u32, TokenError> {
        if !self.is_known_device(user, device).await? {
            return Err(TokenError::DeviceNotFound);
        }
        let n = self.revoke_selected(Selector::Device(user, device), "device_signed_out").await?;
        self.revoke_paycodes(user, Some(device)).await?;
        Ok(n)
    }

    /// Signs out every device of the user but `keep` (the one making the request). How many sessions
    /// were live.
    #[tracing::instrument(skip(self))]
    pub async fn sign_out_other_devices(&self, user: UserId, keep: DeviceId) -> Result<u32, TokenError> {
        let others: Vec<DeviceId> =
            self.list_devices(user).await?.into_iter().map(|d| d.id).filter(|d| *d != keep).collect();
        let n = self.revoke_selected(Selector::AllBut(user, keep), "other_devices_signed_out").await?;
        for d in others {
            self.revoke_paycodes(user, Some(d)).await?;
        }
        Ok(n)
    }
}
