//! One-time codes: send (with resend throttling and the daily cap) and verify.

use qianbao_core::{Destination, Id128, NotificationKind, Timestamp, TokenId};
use serde::{Deserialize, Serialize};

use super::Tokens;
use crate::TokenConfig;
use crate::TokenError;
use crate::code::{CodeSubject, OneTimeCode, Purpose, code_digest, code_matches, code_message, destination_digest};
use crate::store::codes::{self as db, CodeRow, CodeWrite};
use crate::store::run;

/// A request to send a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRequest {
    /// What the code is for.
    pub purpose: Purpose,
    /// Who it is for.
    pub subject: CodeSubject,
    /// Where to send it (SMS, email or in-app).
    pub destination: Destination,
}

/// What the client learns about a sent code (never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTicket {
    /// The code's id: send it back with the code.
    pub id: TokenId,
    /// What it is for.
    pub purpose: Purpose,
    /// When it expires.
    pub expires_at: Timestamp,
    /// When another code may be sent to this destination.
    pub resend_at: Timestamp,
    /// The destination, masked for display (`+86 138****5678`).
    pub destination_masked: String,
}

/// A code to check, with what it must have been issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCheck<'a> {
    /// The ticket id.
    pub id: TokenId,
    /// The purpose the caller is verifying for.
    pub purpose: Purpose,
    /// The subject the caller is verifying.
    pub subject: CodeSubject,
    /// What the user typed.
    pub code: &'a str,
}

/// A code that verified (and is now used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedCode {
    /// The ticket id.
    pub id: TokenId,
    /// Its purpose.
    pub purpose: Purpose,
    /// Its subject.
    pub subject: CodeSubject,
    /// When it was verified.
    pub verified_at: Timestamp,
}

fn masked(d: &Destination) -> String {
    match d {
        Destination::Phone(p) => p.masked(),
        Destination::Email(e) => e.masked(),
        Destination::User(_) => "in-app".into(),
        #[allow(unreachable_patterns)]
        _ => "***".into(),
    }
}

/// Decides what a send does: refuse (cap, too soon, locked), give a live code a new value (its failed
/// tries kept), or start a new code.
pub(crate) fn decide_send(
    cfg: &TokenConfig,
    now: Timestamp,
    latest: Option<&CodeRow>,
    sends_24h: u32,
    last_send: Option<Timestamp>,
    fresh: CodeRow,
    resend_digest: impl FnOnce(Id128) -> [u8; 32],
) -> Result<CodeWrite, TokenError> {
    if let Some(l) = latest
        && l.used_at.is_none()
        && let Some(locked) = l.locked_at
    {
        let until = locked.saturating_add(cfg.code_lockout);
        if now < until {
            return Err(TokenError::CodeLocked { until });
        }
    }
    if let Some(last) = last_send {
        let retry_at = last.saturating_add(cfg.code_resend_interval);
        if now < retry_at {
            return Err(TokenError::ResendTooSoon { retry_at });
        }
    }
    if sends_24h >= cfg.code_daily_cap {
        return Err(TokenError::DailyCapReached { cap: cfg.code_daily_cap });
    }
    match latest {
        Some(l) if l.used_at.is_none() && l.locked_at.is_none() && now < l.expires_at => Ok(CodeWrite::Resend {
            id: l.id,
            code_digest: resend_digest(l.id),
            sent_at: now,
            expires_at: now.saturating_add(cfg.code_ttl),
        }),
        _ => Ok(CodeWrite::New(fresh)),
    }
}

/// Why a code that could not take a try refuses it.
fn refused(cfg: &TokenConfig, row: &CodeRow, now: Timestamp) -> TokenError {
    if row.used_at.is_some() {
        TokenError::CodeUsed
    } else if let Some(at) = row.locked_at {
        TokenError::CodeLocked { until: at.saturating_add(cfg.code_lockout) }
    } else if now >= row.expires_at {
        TokenError::CodeExpired
    } else {
        TokenError::CodeLocked { until: now.saturating_add(cfg.code_lockout) }
    }
}

impl Tokens {
    /// Sends a one-time code: 6 random digits, valid for `code_ttl` (5 minutes), bound to the purpose,
    /// the subject and the destination. Sending again while a code is live gives it a new value and
    /// expiry but keeps its failed tries. Refused when the destination got a code less than
    /// `code_resend_interval` ago, has had `code_daily_cap` codes in 24 hours, or the last code for this
    /// purpose and subject was locked less than `code_lockout` ago.
    #[tracing::instrument(skip_all, fields(purpose = req.purpose.as_str()))]
    pub async fn send_code(&self, req: CodeRequest) -> Result<CodeTicket, TokenError> {
        let cfg = self.inner.config.clone();
        let now = self.now();
        let code = OneTimeCode::generate(self.inner.entropy.as_ref());
        let dest = destination_digest(&self.inner.key, &req.destination);
        let id: TokenId = self.inner.ids.next();
        let fresh = CodeRow {
            id: id.raw(),
            purpose: req.purpose,
            subject: req.subject.key(),
            dest_digest: dest,
            code_digest: code_digest(&self.inner.key, id.raw(), &code),
            created_at: now,
            sent_at: now,
            send_count: 1,
            expires_at: now.saturating_add(cfg.code_ttl),
            attempts: 0,
            locked_at: None,
            used_at: None,
        };
        let key = (req.purpose, req.subject.key(), dest);
        let since = now.saturating_sub(std::time::Duration::from_secs(86_400));
        let (dkey, c2) = (self.inner.key.clone(), code.clone());
        let decide = move |latest: Option<&CodeRow>, sends: u32, last: Option<Timestamp>| {
            decide_send(&cfg, now, latest, sends, last, fresh, |rid| code_digest(&dkey, rid, &c2))
        };
        let row = run!(write, self.inner.store, |tx| db::send(tx, key, since, decide))??;
        let minutes = self.inner.config.code_ttl.as_secs().div_ceil(60);
        let (subject, body) = code_message(req.purpose, &code, minutes);
        self.notify(req.destination.clone(), NotificationKind::VerificationCode, subject, body).await?;
        Ok(CodeTicket {
            id: TokenId::from_raw(row.id),
            purpose: row.purpose,
            expires_at: row.expires_at,
            resend_at: row.sent_at.saturating_add(self.inner.config.code_resend_interval),
            destination_masked: masked(&req.destination),
        })
    }

    /// Verifies a one-time code. Every try is counted before the comparison (so concurrent guesses cannot
    /// exceed the limit); a wrong code, purpose or subject is a failed try, and the last allowed failed
    /// try locks the code. A correct code is used once.
    #[tracing::instrument(skip_all, fields(purpose = check.purpose.as_str()))]
    pub async fn verify_code(&self, check: CodeCheck<'_>) -> Result<VerifiedCode, TokenError> {
        let code = OneTimeCode::parse(check.code)?;
        let cfg = &self.inner.config;
        let now = self.now();
        let (id, max) = (check.id.raw(), cfg.code_attempts_max);
        let (row, counted) = run!(write, self.inner.store, |tx| db::reserve_attempt(tx, id, now, max))?;
        let Some(row) = row else { return Err(TokenError::CodeNotFound) };
        if !counted {
            return Err(refused(cfg, &row, now));
        }
        let matches = code_matches(&self.inner.key, row.id, &code, &row.code_digest);
        let failure = if row.purpose != check.purpose {
            Some(TokenError::CodeWrongPurpose)
        } else if row.subject != check.subject.key() {
            Some(TokenError::CodeWrongSubject)
        } else if !matches {
            Some(match row.locked_at {
                Some(at) => TokenError::CodeLocked { until: at.saturating_add(cfg.code_lockout) },
                None => TokenError::CodeWrong { attempts_left: max.saturating_sub(row.attempts) },
            })
        } else {
            None
        };
        if let Some(e) = failure {
            tracing::info!(code = e.code(), attempts = row.attempts, "verification code refused");
            return Err(e);
        }
        if !run!(write, self.inner.store, |tx| db::consume(tx, id, now))? {
            return Err(TokenError::CodeUsed);
        }
        Ok(VerifiedCode { id: check.id, purpose: row.purpose, subject: check.subject, verified_at: now })
    }
}
