//! TOTP second factor: enrollment (with an `otpauth://` URI and recovery codes), confirmation,
//! verification with replay prevention and a lockout, recovery codes, removal.

use qianbao_core::{SecretBytes, SecretString, Timestamp, UserId};
use serde::{Deserialize, Serialize};

use super::Tokens;
use crate::TokenError;
use crate::otp::{OtpAuthUri, TotpParams, totp_match};
use crate::store::run;
use crate::store::totp::{self as db, TotpRow};

/// What enrollment gives the user: show the URI as a QR code (or the secret for manual entry) and the
/// recovery codes once. Nothing here is shown again.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    /// The `otpauth://totp/…` URI (it contains the secret).
    pub uri: SecretString,
    /// The secret in base32, for typing into an app by hand.
    pub secret_base32: SecretString,
    /// Hash, digits and period.
    pub params: TotpParams,
    /// One-time recovery codes (`xxxxx-xxxxx`), for when the phone is lost.
    pub recovery_codes: Vec<SecretString>,
}

/// A user's second-factor state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpStatus {
    /// An authenticator is enrolled and confirmed.
    pub enabled: bool,
    /// An enrollment waits for its first code.
    pub pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Verification is locked until then after too many wrong codes.
    pub locked_until: Option<Timestamp>,
}

/// A TOTP code that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpVerified {
    /// The time step it was for (now used).
    pub step: u64,
}

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

fn normalize_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn aad(user: UserId) -> Vec<u8> {
    let mut a = b"qianbao-token/totp/".to_vec();
    a.extend_from_slice(&user.to_bytes());
    a
}

impl Tokens {
    fn recovery_digest(&self, user: UserId, code: &str) -> [u8; 32] {
        let mut v = user.to_bytes().to_vec();
        v.extend_from_slice(normalize_recovery(code).as_bytes());
        self.inner.key.digest("qianbao-token/recovery/v1", &v)
    }

    fn recovery_code(&self) -> SecretString {
        let mut s = String::with_capacity(11);
        for i in 0..10 {
            if i == 5 {
                s.push('-');
            }
            let n = self.inner.entropy.below(32) as usize;
            s.push(char::from(RECOVERY_ALPHABET[n]));
        }
        SecretString::new(s)
    }

    /// Starts (or restarts) enrolling an authenticator app with a fresh random secret of the right length
    /// for the configured hash (20, 32 or 64 bytes). The enrollment is pending until
    /// [`Tokens::confirm_totp`]; a confirmed enrollment must be disabled first.
    #[tracing::instrument(skip(self, account_name))]
    pub async fn enroll_totp(&self, user: UserId, account_name: &str) -> Result<TotpEnrollment, TokenError> {
        let params = self.inner.config.totp_params;
        let mut secret = vec![0u8; params.algorithm.secret_len()];
        self.inner.entropy.fill(&mut secret);
        self.enroll_totp_with_secret(user, account_name, SecretBytes::new(secret), params).await
    }

    /// Enrolls a given secret (migrating authenticators from another system, or test vectors).
    #[tracing::instrument(skip(self, account_name, secret))]
    pub async fn enroll_totp_with_secret(
        &self,
        user: UserId,
        account_name: &str,
        secret: SecretBytes,
        params: TotpParams,
    ) -> Result<TotpEnrollment, TokenError> {
        params.check()?;
        if !(10..=128).contains(&secret.expose().len()) {
            return Err(TokenError::malformed("a TOTP secret", "it must be 10 to 128 bytes"));
        }
        let sealed = self.inner.sealer.seal(&aad(user), secret.expose(), self.inner.entropy.as_ref())?;
        let codes: Vec<SecretString> = (0..self.inner.config.recovery_codes).map(|_| self.recovery_code()).collect();
        let digests: Vec<[u8; 32]> = codes.iter().map(|c| self.recovery_digest(user, c.expose())).collect();
        let row = TotpRow {
            user,
            sealed_secret: sealed,
            params,
            created_at: self.now(),
            confirmed_at: None,
            last_step: None,
            failures: 0,
            locked_until: None,
        };
        if !run!(write, self.inner.store, |tx| db::put_pending(tx, row, digests))? {
            return Err(TokenError::TotpAlreadyEnrolled);
        }
        let uri = OtpAuthUri {
            issuer: Some(self.inner.config.totp_issuer.clone()),
            account: account_name.to_string(),
            secret: secret.clone(),
            params,
        };
        Ok(TotpEnrollment {
            uri: SecretString::new(uri.to_uri()),
            secret_base32: SecretString::new(data_encoding::BASE32_NOPAD.encode(secret.expose())),
            params,
            recovery_codes: codes,
        })
    }

    /// Confirms a pending enrollment with the first code from the app (it also counts as used).
    pub async fn confirm_totp(&self, user: UserId, code: &str) -> Result<TotpVerified, TokenError> {
        self.check_totp(user, code, false).await
    }

    /// Verifies a code of a confirmed authenticator: ±`totp_window` steps, each step usable once; wrong
    /// codes count towards a lockout.
    #[tracing::instrument(skip(self, code))]
    pub async fn verify_totp(&self, user: UserId, code: &str) -> Result<TotpVerified, TokenError> {
        self.check_totp(user, code, true).await
    }

    async fn reserve_totp(&self, user: UserId, now: Timestamp) -> Result<TotpRow, TokenError> {
        let cfg = &self.inner.config;
        let (max, lock_until) = (cfg.totp_failures_max, now.saturating_add(cfg.totp_lockout));
        let (row, counted) = run!(write, self.inner.store, |tx| db::reserve_attempt(tx, user, now, max, lock_until))?;
        match (row, counted) {
            (None, _) => Err(TokenError::TotpNotEnrolled),
            (Some(r), false) => Err(TokenError::TotpLocked { until: r.locked_until.unwrap_or(lock_until) }),
            (Some(r), true) => Ok(r),
        }
    }

    async fn check_totp(&self, user: UserId, code: &str, confirmed: bool) -> Result<TotpVerified, TokenError> {
        let code = code.trim();
        if !(6..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::malformed("an authenticator code", "it must be 6 to 8 digits"));
        }
        let now = self.now();
        let row = self.reserve_totp(user, now).await?;
        if row.confirmed_at.is_some() != confirmed {
            return Err(if confirmed { TokenError::TotpNotEnrolled } else { TokenError::TotpAlreadyEnrolled });
        }
        let secret = self.inner.sealer.open(&aad(user), &row.sealed_secret)?;
        let window = self.inner.config.totp_window;
        let Some(step) = totp_match(&secret, &row.params, now, window, code) else {
            return Err(match row.locked_until {
                Some(until) => TokenError::TotpLocked { until },
                None => TokenError::TotpWrong,
            });
        };
        if !run!(write, self.inner.store, |tx| db::accept_step(tx, user, step, now))? {
            return Err(TokenError::TotpReplayed);
        }
        Ok(TotpVerified { step })
    }

    /// Uses a recovery code instead of an authenticator code (each works once; tries count towards the
    /// same lockout). How many are left.
    #[tracing::instrument(skip(self, code))]
    pub async fn use_recovery_code(&self, user: UserId, code: &str) -> Result<u32, TokenError> {
        let now = self.now();
        let row = self.reserve_totp(user, now).await?;
        if row.confirmed_at.is_none() {
            return Err(TokenError::TotpNotEnrolled);
        }
        let digest = self.recovery_digest(user, code);
        if !run!(write, self.inner.store, |tx| db::use_recovery(tx, user, digest, now))? {
            return Err(TokenError::RecoveryCodeInvalid);
        }
        run!(write, self.inner.store, |tx| db::clear_failures(tx, user))?;
        Ok(run!(read, self.inner.store, |tx| db::recovery_left(tx, user))?)
    }

    /// Removes the authenticator and its recovery codes (after the facade re-checked the user); `true`
    /// when there was one.
    #[tracing::instrument(skip(self))]
    pub async fn disable_totp(&self, user: UserId) -> Result<bool, TokenError> {
        Ok(run!(write, self.inner.store, |tx| db::delete(tx, user))?)
    }

    /// The user's second-factor state.
    pub async fn totp_status(&self, user: UserId) -> Result<TotpStatus, TokenError> {
        let row = run!(read, self.inner.store, |tx| db::get(tx, user))?;
        let left = run!(read, self.inner.store, |tx| db::recovery_left(tx, user))?;
        let now = self.now();
        Ok(TotpStatus {
            enabled: row.as_ref().is_some_and(|r| r.confirmed_at.is_some()),
            pending: row.as_ref().is_some_and(|r| r.confirmed_at.is_none()),
            recovery_codes_left: if row.as_ref().is_some_and(|r| r.confirmed_at.is_some()) { left } else { 0 },
            locked_until: row.and_then(|r| r.locked_until).filter(|u| *u > now),
        })
    }
}
