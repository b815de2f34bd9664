//! QR confirmation: a challenge shown on a new device, approved or denied from a logged-in device of
//! the same user, completed by the new device only after approval.

use qianbao_core::{DeviceId, Timestamp, TokenId, UserId};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::Tokens;
use super::sessions::{AccessGrant, DeviceInfo};
use crate::TokenError;
use crate::qr::{QrPurpose, QrSecret, parse_qr_payload, qr_payload};
use crate::store::qr::{self as db, QrRow};
use crate::store::run;

/// A new device's request for a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrRequest {
    /// What the new device is doing.
    pub purpose: QrPurpose,
    /// The new device.
    pub device: DeviceInfo,
    /// The user it claims to be, when known (then only that user's devices can approve).
    pub user: Option<UserId>,
}

/// A challenge for the new device: show `payload` as a QR code, keep `poll_secret` to collect the outcome.
#[derive(Debug, Clone)]
pub struct QrChallenge {
    /// Its id.
    pub id: TokenId,
    /// The QR payload (`qianbao://qr-confirm/v1?c=…`).
    pub payload: String,
    /// The secret the new device completes with (never put it in the QR code).
    pub poll_secret: QrSecret,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// What the approving device sees about the challenge it decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrDecision {
    /// The challenge.
    pub id: TokenId,
    /// What the new device is doing.
    pub purpose: QrPurpose,
    /// The new device.
    pub device: DeviceId,
    /// Its display name.
    pub device_name: String,
    /// Approved (true) or denied.
    pub approved: bool,
}

/// A completed, approved challenge: the new device's step may go on as this user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrApproval {
    /// The challenge.
    pub id: TokenId,
    /// What was approved.
    pub purpose: QrPurpose,
    /// The user who approved (the new device now acts for them).
    pub user: UserId,
    /// The device that approved.
    pub approved_by: DeviceId,
    /// The new device.
    pub device: DeviceId,
}

fn decide_refusal(row: Option<QrRow>, approver: &AccessGrant, now: Timestamp) -> TokenError {
    let Some(q) = row else { return TokenError::QrNotFound };
    if q.status != "pending" {
        TokenError::QrAlreadyDecided
    } else if now >= q.expires_at {
        TokenError::QrExpired
    } else if q.expected_user.is_some_and(|u| u != approver.user) {
        TokenError::QrWrongUser
    } else if q.device == approver.device {
        TokenError::QrSameDevice
    } else {
        TokenError::QrAlreadyDecided
    }
}

fn complete_refusal(row: Option<QrRow>, poll: &[u8; 32], now: Timestamp, grace: std::time::Duration) -> TokenError {
    let Some(q) = row else { return TokenError::QrNotFound };
    if !bool::from(q.poll_digest.ct_eq(poll)) {
        return TokenError::QrNotFound;
    }
    match q.status.as_str() {
        "denied" => TokenError::QrDenied,
        "completed" => TokenError::QrCompleted,
        "pending" if now < q.expires_at => TokenError::QrPending,
        "approved" if now < q.expires_at.saturating_add(grace) => TokenError::QrPending,
        _ => TokenError::QrExpired,
    }
}

impl Tokens {
    fn qr_digest(&self, label: &str, s: &QrSecret) -> [u8; 32] {
        self.inner.key.digest(label, s.expose().as_bytes())
    }

    /// Creates a challenge for a new device (valid `qr_ttl`, single use).
    #[tracing::instrument(skip_all, fields(device = %req.device.id))]
    pub async fn create_qr_challenge(&self, req: QrRequest) -> Result<QrChallenge, TokenError> {
        let now = self.now();
        let nonce = QrSecret::generate(self.inner.entropy.as_ref());
        let poll = QrSecret::generate(self.inner.entropy.as_ref());
        let row = QrRow {
            id: self.inner.ids.next(),
            nonce_digest: self.qr_digest("qianbao-token/qr-nonce/v1", &nonce),
            poll_digest: self.qr_digest("qianbao-token/qr-poll/v1", &poll),
            purpose: req.purpose,
            expected_user: req.user,
            device: req.device.id,
            device_name: req.device.name,
            created_at: now,
            expires_at: now.saturating_add(self.inner.config.qr_ttl),
            status: "pending".into(),
            approver_user: None,
            approver_device: None,
            decided_at: None,
            completed_at: None,
        };
        let (id, expires_at) = (row.id, row.expires_at);
        run!(write, self.inner.store, |tx| db::insert(tx, row))?;
        Ok(QrChallenge { id, payload: qr_payload(&nonce), poll_secret: poll, expires_at })
    }

    async fn decide_qr(&self, approver: &AccessGrant, payload: &str, approve: bool) -> Result<QrDecision, TokenError> {
        let nonce = parse_qr_payload(payload)?;
        let digest = self.qr_digest("qianbao-token/qr-nonce/v1", &nonce);
        let now = self.now();
        let (user, device) = (approver.user, approver.device);
        let (row, decided) = run!(write, self.inner.store, |tx| db::decide(tx, digest, approve, user, device, now))?;
        match row {
            Some(q) if decided => Ok(QrDecision {
                id: q.id,
                purpose: q.purpose,
                device: q.device,
                device_name: q.device_name,
                approved: approve,
            }),
            other => Err(decide_refusal(other, approver, now)),
        }
    }

    /// Approves a scanned challenge from a logged-in device (`approver` comes from
    /// [`Tokens::authenticate`]). Refused when expired, already decided, for another user, or scanned by
    /// the device that shows it.
    #[tracing::instrument(skip_all, fields(user = %approver.user))]
    pub async fn approve_qr(&self, approver: &AccessGrant, payload: &str) -> Result<QrDecision, TokenError> {
        self.decide_qr(approver, payload, true).await
    }

    /// Denies a scanned challenge.
    #[tracing::instrument(skip_all, fields(user = %approver.user))]
    pub async fn deny_qr(&self, approver: &AccessGrant, payload: &str) -> Result<QrDecision, TokenError> {
        self.decide_qr(approver, payload, false).await
    }

    /// The new device collects the outcome: succeeds once after approval ([`TokenError::QrPending`] while
    /// waiting, [`TokenError::QrDenied`], [`TokenError::QrExpired`], [`TokenError::QrCompleted`] otherwise).
    /// An approval made in time can be collected until one more `qr_ttl` after expiry.
    #[tracing::instrument(skip(self, poll_secret))]
    pub async fn complete_qr(&self, id: TokenId, poll_secret: &str) -> Result<QrApproval, TokenError> {
        let poll = QrSecret::parse(poll_secret)?;
        let digest = self.qr_digest("qianbao-token/qr-poll/v1", &poll);
        let now = self.now();
        let grace = self.inner.config.qr_ttl;
        let not_before = now.saturating_sub(grace);
        let (row, done) = run!(write, self.inner.store, |tx| db::complete(tx, id, digest, now, not_before))?;
        match row {
            Some(q) if done => match (q.approver_user, q.approver_device) {
                (Some(user), Some(approved_by)) => {
                    Ok(QrApproval { id: q.id, purpose: q.purpose, user, approved_by, device: q.device })
                }
                _ => {
                    Err(TokenError::Store(qianbao_store::StoreError::corrupt("an approved challenge has no approver")))
                }
            },
            other => Err(complete_refusal(other, &digest, now, grace)),
        }
    }
}
