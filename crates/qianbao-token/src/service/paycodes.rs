//! Dynamic payment codes: enrollment (a per-device secret, returned once) and server-side verification.

use qianbao_core::{DeviceId, SecretBytes, Timestamp, UserId};
use serde::{Deserialize, Serialize};

use super::Tokens;
use crate::TokenError;
use crate::paycode::{PaycodeGenerator, PaycodeIndex, PaycodeParams, PaymentCode, match_step};
use crate::store::paycodes::{self as db, PaycodeRow};
use crate::store::run;

/// What enrollment returns to the device, once: keep the secret in the device's secure storage.
#[derive(Debug, Clone)]
pub struct PaycodeEnrollment {
    /// The enrollment index (the code's digits 3–11).
    pub index: PaycodeIndex,
    /// The 32-byte secret (redacted in Debug).
    pub secret: SecretBytes,
    /// The parameters the device must use.
    pub params: PaycodeParams,
}

impl PaycodeEnrollment {
    /// The device-side generator for this enrollment.
    pub fn generator(&self) -> PaycodeGenerator {
        PaycodeGenerator::new(self.params, self.index, self.secret.clone())
    }
}

/// A payment code that verified (and can never pay again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaycodeVerified {
    /// The payer.
    pub user: UserId,
    /// The device that showed the code.
    pub device: DeviceId,
    /// The enrollment.
    pub index: PaycodeIndex,
    /// The time step the code was for.
    pub step: u64,
}

fn aad(index: PaycodeIndex, user: UserId, device: DeviceId) -> Vec<u8> {
    let mut a = b"qianbao-token/paycode/".to_vec();
    a.extend_from_slice(&index.get().to_be_bytes());
    a.extend_from_slice(&user.to_bytes());
    a.extend_from_slice(&device.to_bytes());
    a
}

const ENROLL_TRIES: usize = 8;

impl Tokens {
    /// Enrolls a device for payment codes: a fresh 32-byte secret and a random unused 9-digit index. Any
    /// earlier enrollment of the device is revoked. The secret is returned once and stored sealed.
    #[tracing::instrument(skip(self))]
    pub async fn enroll_paycode(&self, user: UserId, device: DeviceId) -> Result<PaycodeEnrollment, TokenError> {
        let mut secret = vec![0u8; 32];
        self.inner.entropy.fill(&mut secret);
        let secret = SecretBytes::new(secret);
        for _ in 0..ENROLL_TRIES {
            let index = PaycodeIndex::random(self.inner.entropy.as_ref());
            let now = self.now();
            let sealed =
                self.inner.sealer.seal(&aad(index, user, device), secret.expose(), self.inner.entropy.as_ref())?;
            let row = PaycodeRow {
                index,
                user,
                device,
                sealed_secret: sealed,
                created_at: now,
                revoked_at: None,
                last_step: None,
                failures: 0,
                window_start: now,
            };
            if run!(write, self.inner.store, |tx| db::enroll(tx, row))? {
                return Ok(PaycodeEnrollment { index, secret, params: self.inner.config.paycode });
            }
        }
        Err(TokenError::Misuse("could not find a free payment-code index; the index space is nearly full".into()))
    }

    /// Verifies a scanned payment code and identifies the payer. A code pays at most once (a code of the
    /// same or an earlier step is then refused), is valid for at most a minute, and wrong codes are
    /// throttled per enrollment.
    #[tracing::instrument(skip_all)]
    pub async fn verify_paycode(&self, code: &str) -> Result<PaycodeVerified, TokenError> {
        let code = PaymentCode::parse(code)?;
        let cfg = &self.inner.config;
        if code.prefix() != cfg.paycode.prefix {
            return Err(TokenError::PaycodeUnknown);
        }
        let now = self.now();
        let (index, max) = (code.index(), cfg.paycode_failures_max);
        let window_from = now.saturating_sub(cfg.paycode_failure_window);
        let (row, counted) = run!(write, self.inner.store, |tx| db::reserve_attempt(tx, index, now, window_from, max))?;
        let row = match (row, counted) {
            (Some(r), true) => r,
            (Some(r), false) if r.revoked_at.is_none() => {
                return Err(TokenError::PaycodeThrottled {
                    until: r.window_start.saturating_add(cfg.paycode_failure_window),
                });
            }
            _ => return Err(TokenError::PaycodeUnknown),
        };
        let secret = self.inner.sealer.open(&aad(index, row.user, row.device), &row.sealed_secret)?;
        let Some(step) = match_step(&cfg.paycode, &secret, &code, now) else {
            tracing::info!(index = index.get(), "payment code refused");
            return Err(TokenError::PaycodeInvalid);
        };
        if !run!(write, self.inner.store, |tx| db::accept_step(tx, index, step))? {
            return Err(TokenError::PaycodeReplayed);
        }
        Ok(PaycodeVerified { user: row.user, device: row.device, index, step })
    }

    /// Revokes the user's payment-code enrollments (on one device, or all); how many were live.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_paycodes(&self, user: UserId, device: Option<DeviceId>) -> Result<u64, TokenError> {
        let now: Timestamp = self.now();
        Ok(run!(write, self.inner.store, |tx| db::revoke(tx, user, device, now))?)
    }
}
