//! [`WalletConfig`]: everything a wallet can be told, loadable with serde (JSON, TOML, …). Every field has
//! a production-safe default; a missing section or field takes its default.

use std::time::Duration;

use qianbao_ca::CaConfig;
use qianbao_core::Currency;
use qianbao_identity::IdentityConfig;
use qianbao_ledger::payments::PaymentsConfig;
use qianbao_token::{PaycodeParams, TokenConfig, TotpParams};
use serde::{Deserialize, Serialize};

use crate::WalletError;

/// The whole configuration: one section per domain crate plus the facade's own policy.
///
/// ```
/// let json = r#"{ "policy": { "new_device_step_up": "qr_confirmation" }, "tokens": { "access_ttl_secs": 600 } }"#;
/// let config: qianbao::WalletConfig = serde_json::from_str(json)?;
/// assert_eq!(config.policy.new_device_step_up, qianbao::NewDeviceStepUp::QrConfirmation);
/// assert_eq!(config.tokens.access_ttl_secs, 600);
/// assert_eq!(config.tokens.refresh_ttl_secs, 30 * 86_400); // the default
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct WalletConfig {
    /// Identity: password policy and hashing, login protection, payment password guard, real-name rules,
    /// class caps (the identity crate's own configuration; when given, give it whole).
    pub identity: IdentityConfig,
    /// Tokens: codes, TOTP, sessions, transaction tokens, payment codes, QR confirmation.
    pub tokens: TokensSection,
    /// The certificate authority.
    pub ca: CaSection,
    /// The facade's own policy.
    pub policy: PolicyConfig,
    /// Payments: fees and risk rules per currency, fee bearers, red packet limits, review hold (the
    /// ledger crate's own configuration; when given, give it whole). Default: CNY, free, default risk
    /// rules. The wallet's money journeys run in [`WALLET_CURRENCY`].
    pub payments: PaymentsConfig,
}

/// The currency of users' wallets: the account-class caps and daily caps are in it.
pub const WALLET_CURRENCY: Currency = Currency::CNY;

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig {
            identity: IdentityConfig::default(),
            tokens: TokensSection::default(),
            ca: CaSection::default(),
            policy: PolicyConfig::default(),
            payments: PaymentsConfig::default_for(WALLET_CURRENCY),
        }
    }
}

impl WalletConfig {
    /// The defaults with Argon2 at its lowest cost: **tests and examples only**, never production (a
    /// stolen database would then be cheap to guess passwords from).
    pub fn insecure_fast_for_tests() -> Self {
        WalletConfig { identity: IdentityConfig::insecure_fast_hashing_for_tests(), ..WalletConfig::default() }
    }

    /// Checks the facade's own section; the domain sections are checked when their services open.
    pub fn check(&self) -> Result<(), WalletError> {
        let ttl = self.policy.flow_ticket_ttl_secs;
        if !(60..=3600).contains(&ttl) {
            return Err(WalletError::Config(format!("policy.flow_ticket_ttl_secs must be 60..=3600, got {ttl}")));
        }
        let p = &self.policy;
        let caps = [p.daily_cap_single_factor_minor, p.daily_cap_two_factors_minor, p.daily_cap_certificate_minor];
        if caps.iter().any(|c| *c <= 0) {
            return Err(WalletError::Config("policy.daily_cap_* must be positive (minor units)".into()));
        }
        if p.daily_cap_single_factor_minor > p.daily_cap_two_factors_minor {
            return Err(WalletError::Config(
                "policy.daily_cap_single_factor_minor must not exceed daily_cap_two_factors_minor".into(),
            ));
        }
        self.payments.validate().map_err(|e| WalletError::Config(e.to_string()))?;
        self.payments.setup(WALLET_CURRENCY).map_err(|e| WalletError::Config(e.to_string()))?;
        Ok(())
    }
}

/// When a login comes from a device the user never logged in on (and the user has other devices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NewDeviceStepUp {
    /// No extra step (the login is still flagged, audited and notified).
    None,
    /// A second factor: the authenticator app when enrolled, otherwise a code to a verified contact.
    #[default]
    SecondFactor,
    /// Approval by scanning a QR code on a device with a live session; a code to a verified contact when
    /// the user has no such device.
    QrConfirmation,
}

/// The policy only the facade applies (it spans crates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// What a login from a new device needs. Default [`NewDeviceStepUp::SecondFactor`].
    pub new_device_step_up: NewDeviceStepUp,
    /// How long a multi-step journey's ticket (login step-up, recovery, contact change, certificate
    /// proof) stays valid. 60..=3600; default 600.
    pub flow_ticket_ttl_secs: u64,
    /// Sign out every other device when the password is changed. Default true.
    pub sign_out_other_devices_on_password_change: bool,
    /// Send security notices to the in-app inbox too (besides verified phones and email addresses).
    /// Default true.
    pub notify_in_app: bool,
    /// The most a user may pay in a day (merchant payments, transfers, red packets; Beijing calendar
    /// day) when the payment is authorized by fewer than two factors, in minor units of
    /// [`WALLET_CURRENCY`]. Default CNY 1,000.00.
    pub daily_cap_single_factor_minor: i64,
    /// The same with two or more factors (e.g. payment password and transaction token). Default
    /// CNY 5,000.00.
    pub daily_cap_two_factors_minor: i64,
    /// The same when a digital certificate is one of the factors (a certificate-signed order, or the
    /// certificate of the mutual-TLS connection): the limit agreed with the regulator or the bank.
    /// Default CNY 20,000.00.
    pub daily_cap_certificate_minor: i64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            new_device_step_up: NewDeviceStepUp::SecondFactor,
            flow_ticket_ttl_secs: 600,
            sign_out_other_devices_on_password_change: true,
            notify_in_app: true,
            daily_cap_single_factor_minor: 100_000,
            daily_cap_two_factors_minor: 500_000,
            daily_cap_certificate_minor: 2_000_000,
        }
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

fn dur(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The token service's configuration in whole seconds (mirrors [`TokenConfig`]; same defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is documented on the TokenConfig field of the same name
pub struct TokensSection {
    pub code_ttl_secs: u64,
    pub code_attempts_max: u32,
    pub code_lockout_secs: u64,
    pub code_resend_interval_secs: u64,
    pub code_daily_cap: u32,
    pub totp_issuer: String,
    pub totp_params: TotpParams,
    pub totp_window: u8,
    pub totp_failures_max: u32,
    pub totp_lockout_secs: u64,
    pub recovery_codes: usize,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub introspection_cache_ttl_secs: u64,
    pub introspection_cache_max: usize,
    pub tx_token_ttl_max_secs: u64,
    pub tx_token_uses_max: u32,
    pub paycode: PaycodeParams,
    pub paycode_failures_max: u32,
    pub paycode_failure_window_secs: u64,
    pub qr_ttl_secs: u64,
}

impl Default for TokensSection {
    fn default() -> Self {
        TokensSection::from(&TokenConfig::default())
    }
}

impl From<&TokenConfig> for TokensSection {
    fn from(c: &TokenConfig) -> Self {
        TokensSection {
            code_ttl_secs: secs(c.code_ttl),
            code_attempts_max: c.code_attempts_max,
            code_lockout_secs: secs(c.code_lockout),
            code_resend_interval_secs: secs(c.code_resend_interval),
            code_daily_cap: c.code_daily_cap,
            totp_issuer: c.totp_issuer.clone(),
            totp_params: c.totp_params,
            totp_window: c.totp_window,
            totp_failures_max: c.totp_failures_max,
            totp_lockout_secs: secs(c.totp_lockout),
            recovery_codes: c.recovery_codes,
            access_ttl_secs: secs(c.access_ttl),
            refresh_ttl_secs: secs(c.refresh_ttl),
            introspection_cache_ttl_secs: secs(c.introspection_cache_ttl),
            introspection_cache_max: c.introspection_cache_max,
            tx_token_ttl_max_secs: secs(c.tx_token_ttl_max),
            tx_token_uses_max: c.tx_token_uses_max,
            paycode: c.paycode,
            paycode_failures_max: c.paycode_failures_max,
            paycode_failure_window_secs: secs(c.paycode_failure_window),
            qr_ttl_secs: secs(c.qr_ttl),
        }
    }
}

impl TokensSection {
    /// The token service's configuration.
    pub fn to_config(&self) -> TokenConfig {
        let mut c = TokenConfig::default();
        c.code_ttl = dur(self.code_ttl_secs);
        c.code_attempts_max = self.code_attempts_max;
        c.code_lockout = dur(self.code_lockout_secs);
        c.code_resend_interval = dur(self.code_resend_interval_secs);
        c.code_daily_cap = self.code_daily_cap;
        c.totp_issuer = self.totp_issuer.clone();
        c.totp_params = self.totp_params;
        c.totp_window = self.totp_window;
        c.totp_failures_max = self.totp_failures_max;
        c.totp_lockout = dur(self.totp_lockout_secs);
        c.recovery_codes = self.recovery_codes;
        c.access_ttl = dur(self.access_ttl_secs);
        c.refresh_ttl = dur(self.refresh_ttl_secs);
        c.introspection_cache_ttl = dur(self.introspection_cache_ttl_secs);
        c.introspection_cache_max = self.introspection_cache_max;
        c.tx_token_ttl_max = dur(self.tx_token_ttl_max_secs);
        c.tx_token_uses_max = self.tx_token_uses_max;
        c.paycode = self.paycode;
        c.paycode_failures_max = self.paycode_failures_max;
        c.paycode_failure_window = dur(self.paycode_failure_window_secs);
        c.qr_ttl = dur(self.qr_ttl_secs);
        c
    }
}

/// The CA's configuration in whole seconds (mirrors [`CaConfig`]; same defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is documented on the CaConfig field of the same name
pub struct CaSection {
    pub organization: String,
    pub root_validity_secs: u64,
    pub issuing_validity_secs: u64,
    pub certificate_validity_secs: u64,
    pub backdate_secs: u64,
    pub expiring_within_secs: u64,
    pub renewal_window_secs: u64,
    pub supersede_grace_secs: u64,
    pub identity_proof_max_age_secs: u64,
    pub renewal_proof_max_age_secs: u64,
    pub order_max_age_secs: u64,
    pub order_future_skew_secs: u64,
    pub crl_validity_secs: u64,
    pub status_cache_ttl_secs: u64,
    pub certificate_cache_max: usize,
}

impl Default for CaSection {
    fn default() -> Self {
        CaSection::from(&CaConfig::default())
    }
}

impl From<&CaConfig> for CaSection {
    fn from(c: &CaConfig) -> Self {
        CaSection {
            organization: c.organization.clone(),
            root_validity_secs: secs(c.root_validity),
            issuing_validity_secs: secs(c.issuing_validity),
            certificate_validity_secs: secs(c.certificate_validity),
            backdate_secs: secs(c.backdate),
            expiring_within_secs: secs(c.expiring_within),
            renewal_window_secs: secs(c.renewal_window),
            supersede_grace_secs: secs(c.supersede_grace),
            identity_proof_max_age_secs: secs(c.identity_proof_max_age),
            renewal_proof_max_age_secs: secs(c.renewal_proof_max_age),
            order_max_age_secs: secs(c.order_max_age),
            order_future_skew_secs: secs(c.order_future_skew),
            crl_validity_secs: secs(c.crl_validity),
            status_cache_ttl_secs: secs(c.status_cache_ttl),
            certificate_cache_max: c.certificate_cache_max,
        }
    }
}

impl CaSection {
    /// The CA's configuration.
    pub fn to_config(&self) -> CaConfig {
        let mut c = CaConfig::default();
        c.organization = self.organization.clone();
        c.root_validity = dur(self.root_validity_secs);
        c.issuing_validity = dur(self.issuing_validity_secs);
        c.certificate_validity = dur(self.certificate_validity_secs);
        c.backdate = dur(self.backdate_secs);
        c.expiring_within = dur(self.expiring_within_secs);
        c.renewal_window = dur(self.renewal_window_secs);
        c.supersede_grace = dur(self.supersede_grace_secs);
        c.identity_proof_max_age = dur(self.identity_proof_max_age_secs);
        c.renewal_proof_max_age = dur(self.renewal_proof_max_age_secs);
        c.order_max_age = dur(self.order_max_age_secs);
        c.order_future_skew = dur(self.order_future_skew_secs);
        c.crl_validity = dur(self.crl_validity_secs);
        c.status_cache_ttl = dur(self.status_cache_ttl_secs);
        c.certificate_cache_max = self.certificate_cache_max;
        c
    }
}

#[cfg(test)]
mod tests;
