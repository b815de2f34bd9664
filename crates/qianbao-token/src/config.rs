//! The token service's configuration, with the defaults a payments team would start from.

use std::time::Duration;

use crate::otp::TotpParams;
use crate::paycode::PaycodeParams;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// How the token service behaves. Every field has a documented default ([`TokenConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenConfig {
    /// How long a one-time code is valid. Default 5 minutes.
    pub code_ttl: Duration,
    /// Wrong tries before a code locks. Default 5.
    pub code_attempts_max: u32,
    /// How long a locked code keeps refusing new codes for the same purpose, subject and destination.
    /// Default 30 minutes.
    pub code_lockout: Duration,
    /// The least time between two codes sent to one destination for one purpose. Default 60 s.
    pub code_resend_interval: Duration,
    /// The most codes sent to one destination in any 24 hours. Default 10.
    pub code_daily_cap: u32,

    /// The issuer shown by authenticator apps. Default `qianbao`.
    pub totp_issuer: String,
    /// Hash, digits and period of new enrollments. Default SHA-1, 6 digits, 30 s.
    pub totp_params: TotpParams,
    /// Steps accepted before and after the current one. Default 1 (RFC 6238 §5.2).
    pub totp_window: u8,
    /// Wrong codes before TOTP verification locks. Default 5.
    pub totp_failures_max: u32,
    /// How long TOTP verification stays locked. Default 15 minutes.
    pub totp_lockout: Duration,
    /// Recovery codes made at enrollment. Default 10.
    pub recovery_codes: usize,

    /// Access-token lifetime. Default 15 minutes.
    pub access_ttl: Duration,
    /// Refresh-token lifetime (each rotation starts a new one). Default 30 days.
    pub refresh_ttl: Duration,
    /// How long a cached introspection result is trusted before the store is read again. Revocations
    /// through this instance apply at once; revocations through another instance sharing the database
    /// apply here within this time. Default 5 s.
    pub introspection_cache_ttl: Duration,
    /// The most entries in the introspection cache (it is emptied when full). Default 100,000.
    pub introspection_cache_max: usize,

    /// The longest a transaction token may live. Default 90 days.
    pub tx_token_ttl_max: Duration,
    /// The most uses a transaction token may allow. Default 1,000.
    pub tx_token_uses_max: u32,

    /// Payment-code layout and validity. Default prefix 16, 30 s steps, 2 accepted.
    pub paycode: PaycodeParams,
    /// Wrong payment codes per enrollment before it is throttled. Default 10.
    pub paycode_failures_max: u32,
    /// The window wrong payment codes are counted in (and the throttle lasts). Default 10 minutes.
    pub paycode_failure_window: Duration,

    /// How long a QR confirmation challenge is valid. Default 2 minutes.
    pub qr_ttl: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            code_ttl: 5 * MINUTE,
            code_attempts_max: 5,
            code_lockout: 30 * MINUTE,
            code_resend_interval: MINUTE,
            code_daily_cap: 10,
            totp_issuer: "qianbao".into(),
            totp_params: TotpParams::default(),
            totp_window: 1,
            totp_failures_max: 5,
            totp_lockout: 15 * MINUTE,
            recovery_codes: 10,
            access_ttl: 15 * MINUTE,
            refresh_ttl: 30 * DAY,
            introspection_cache_ttl: Duration::from_secs(5),
            introspection_cache_max: 100_000,
            tx_token_ttl_max: 90 * DAY,
            tx_token_uses_max: 1_000,
            paycode: PaycodeParams::default(),
            paycode_failures_max: 10,
            paycode_failure_window: 10 * MINUTE,
            qr_ttl: 2 * MINUTE,
        }
    }
}

impl TokenConfig {
    /// Checks the values make sense (the service refuses to open otherwise).
    pub fn check(&self) -> Result<(), crate::TokenError> {
        let bad = |s: &str| Err(crate::TokenError::Misuse(s.into()));
        if self.code_attempts_max == 0 || self.totp_failures_max == 0 || self.paycode_failures_max == 0 {
            return bad("attempt limits must be at least 1");
        }
        if self.code_ttl.is_zero() || self.access_ttl.is_zero() || self.refresh_ttl.is_zero() || self.qr_ttl.is_zero() {
            return bad("lifetimes must be positive");
        }
        if self.totp_window > 10 {
            return bad("the TOTP window is at most 10 steps");
        }
        self.totp_params.check()?;
        self.paycode.check()
    }
}
