//! Dynamic payment codes: the 18-digit number a phone shows as a barcode/QR code for a shop to scan
//! (consumer-presented mode). The device derives it offline from a secret provisioned at enrollment and
//! the time; the server identifies the enrollment from the code, verifies it and lets it pay once.
//!
//! # Layout
//!
//! ```text
//!   PP  IIIIIIIII  MMMMMMM
//!   │   │          └ 7 digits: HMAC-SHA-256(secret, "qianbao-paycode/v1" ‖ index ‖ time step), RFC 4226
//!   │   │            dynamic truncation, mod 10^7
//!   │   └ 9 digits: the enrollment index, random (not sequential, not the user id), unique per enrollment
//!   └ 2 digits: the issuer prefix (default 16; configurable 10–99). WeChat Pay codes start 10–15 and
//!     Alipay codes 25–30, so a shop's scanner routes by prefix and ours must avoid theirs.
//! ```
//!
//! The time step is 30 s by default and the server accepts the current and the previous step, so a code
//! is valid for at most 60 s ([`PaycodeParams`]); the step is not in the code (the server tries each
//! accepted step), which keeps all 7 digits for the MAC.
//!
//! # Brute-force odds
//!
//! A guessed code for a known index matches one of the 2 accepted steps with probability 2 × 10⁻⁷. Wrong
//! codes are counted per enrollment: after 10 (default) in a 10-minute window the enrollment refuses
//! every code until the window ends ([`TokenError::PaycodeThrottled`](crate::TokenError)), so an attacker
//! gets at most 10 × 2 × 10⁻⁷ = 2 × 10⁻⁶ per window, about 3 × 10⁻⁴ per day of continuous guessing —
//! and the owner's phone simply waits out the window. Guessing without a known index first has to hit one
//! of the live indexes among 10⁹. Replay is refused: each enrollment remembers the last step that paid
//! and accepts only later steps, so a code pays at most once (and a device must wait for the next step,
//! at most 30 s, before a second payment).

use std::fmt;

use qianbao_core::{Entropy, SecretBytes, Timestamp};
use serde::{Deserialize, Serialize};

use crate::TokenError;
use crate::otp::{OtpAlgorithm, dynamic_truncate, hmac};

/// The number of digits of a payment code.
pub const PAYCODE_DIGITS: usize = 18;
/// Enrollment indexes are below this (9 digits).
pub const INDEX_LIMIT: u32 = 1_000_000_000;
const MAC_MODULUS: u32 = 10_000_000;

/// Payment-code parameters shared by server and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaycodeParams {
    /// The two leading digits, 10–99. Default 16.
    pub prefix: u8,
    /// The time step in seconds. Default 30.
    pub step_secs: u32,
    /// How many steps are accepted (the current one and the ones before it). Default 2.
    /// `step_secs * steps_accepted` must be at most 60 s.
    pub steps_accepted: u32,
}

impl Default for PaycodeParams {
    fn default() -> Self {
        PaycodeParams { prefix: 16, step_secs: 30, steps_accepted: 2 }
    }
}

impl PaycodeParams {
    /// Checks the prefix range and that a code is valid for at most 60 s.
    pub fn check(&self) -> Result<(), TokenError> {
        if !(10..=99).contains(&self.prefix) {
            return Err(TokenError::Misuse("the payment-code prefix must be 10 to 99".into()));
        }
        let span = u64::from(self.step_secs) * u64::from(self.steps_accepted);
        if self.step_secs == 0 || self.steps_accepted == 0 || span > 60 {
            return Err(TokenError::Misuse("a payment code must be valid for at most 60 s (step × steps ≤ 60)".into()));
        }
        Ok(())
    }

    /// The time step at `at`.
    pub fn step_at(&self, at: Timestamp) -> u64 {
        at.unix_secs() / u64::from(self.step_secs.max(1))
    }
}

/// An enrollment index: 9 digits, random, unique per enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PaycodeIndex(u32);

impl PaycodeIndex {
    /// An index below 10⁹.
    pub fn new(v: u32) -> Result<Self, TokenError> {
        if v < INDEX_LIMIT {
            Ok(PaycodeIndex(v))
        } else {
            Err(TokenError::malformed("a payment-code index", "it must be below 1,000,000,000"))
        }
    }

    /// A random index.
    pub(crate) fn random(entropy: &dyn Entropy) -> Self {
        // below() is uniform and < INDEX_LIMIT, which fits u32.
        PaycodeIndex(u32::try_from(entropy.below(u64::from(INDEX_LIMIT))).unwrap_or(0))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for PaycodeIndex {
    type Error = TokenError;
    fn try_from(v: u32) -> Result<Self, TokenError> {
        PaycodeIndex::new(v)
    }
}

impl From<PaycodeIndex> for u32 {
    fn from(i: PaycodeIndex) -> u32 {
        i.0
    }
}

/// An 18-digit payment code that parsed. Debug output is redacted (it pays).
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode {
    prefix: u8,
    index: PaycodeIndex,
    mac: u32,
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentCode({}{:09}[REDACTED])", self.prefix, self.index.0)
    }
}

impl fmt::Display for PaymentCode {
    /// The 18 digits (shown on the payer's screen and in the barcode).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}{:09}{:07}", self.prefix, self.index.0, self.mac)
    }
}

impl PaymentCode {
    /// Parses 18 digits (spaces ignored; a scanner may group them). The prefix must be 10–99.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let m = |why| TokenError::malformed("a payment code", why);
        if input.len() > 64 {
            return Err(m("it must be 18 digits"));
        }
        let digits: String = input.chars().filter(|c| *c != ' ').collect();
        if digits.len() != PAYCODE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(m("it must be 18 digits"));
        }
        let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().map_err(|_| m("it must be 18 digits"));
        let prefix = u8::try_from(num(0..2)?).map_err(|_| m("bad prefix"))?;
        if prefix < 10 {
            return Err(m("it must start with 10 to 99"));
        }
        Ok(PaymentCode { prefix, index: PaycodeIndex(num(2..11)?), mac: num(11..18)? })
    }

    /// The issuer prefix.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The enrollment index.
    pub fn index(&self) -> PaycodeIndex {
        self.index
    }
}

/// The 7-digit MAC of `index` at `step` under `secret`.
pub(crate) fn paycode_mac(secret: &[u8], index: PaycodeIndex, step: u64) -> u32 {
    let mut msg = b"qianbao-paycode/v1".to_vec();
    msg.extend_from_slice(&index.0.to_be_bytes());
    msg.extend_from_slice(&step.to_be_bytes());
    dynamic_truncate(&hmac(OtpAlgorithm::Sha256, secret, &msg)) % MAC_MODULUS
}

/// The device side: generates payment codes offline from the enrollment's secret and index.
#[derive(Clone)]
pub struct PaycodeGenerator {
    params: PaycodeParams,
    index: PaycodeIndex,
    secret: SecretBytes,
}

impl fmt::Debug for PaycodeGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaycodeGenerator").field("index", &self.index).field("params", &self.params).finish()
    }
}

impl PaycodeGenerator {
    /// A generator from what enrollment returned (index, secret, parameters).
    pub fn new(params: PaycodeParams, index: PaycodeIndex, secret: SecretBytes) -> Self {
        PaycodeGenerator { params, index, secret }
    }

    /// The code to show at `at` (the device's clock).
    pub fn code_at(&self, at: Timestamp) -> PaymentCode {
        let step = self.params.step_at(at);
        PaymentCode {
            prefix: self.params.prefix,
            index: self.index,
            mac: paycode_mac(self.secret.expose(), self.index, step),
        }
    }

    /// When the code shown at `at` stops being the newest (the device refreshes then).
    pub fn refresh_at(&self, at: Timestamp) -> Timestamp {
        let step = u64::from(self.params.step_secs.max(1));
        Timestamp::from_unix_secs((self.params.step_at(at) + 1) * step)
    }
}

/// The accepted step (newest first) whose MAC is the code's, if any. Every accepted step is computed.
pub(crate) fn match_step(params: &PaycodeParams, secret: &[u8], code: &PaymentCode, at: Timestamp) -> Option<u64> {
    let now = params.step_at(at);
    let mut found = None;
    for back in 0..u64::from(params.steps_accepted) {
        let Some(step) = now.checked_sub(back) else { break };
        let ok = subtle::ConstantTimeEq::ct_eq(&paycode_mac(secret, code.index, step), &code.mac);
        if bool::from(ok) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_layout_and_verify_for_at_most_a_minute() {
        let params = PaycodeParams::default();
        params.check().unwrap();
        let index = PaycodeIndex::new(12_345).unwrap();
        let g = PaycodeGenerator::new(params, index, SecretBytes::new(vec![9; 32]));
        let t = Timestamp::from_unix_secs(1_800_000_010);
        let code = g.code_at(t);
        let s = code.to_string();
        assert_eq!(s.len(), 18);
        assert!(s.starts_with("16000012345"));
        let parsed = PaymentCode::parse(&s).unwrap();
        assert_eq!(parsed, code);
        assert_eq!(match_step(&params, &[9; 32], &parsed, t), Some(params.step_at(t)));
        let later = t.saturating_add(std::time::Duration::from_secs(30));
        assert_eq!(match_step(&params, &[9; 32], &parsed, later), Some(params.step_at(t)));
        let too_late = t.saturating_add(std::time::Duration::from_secs(60));
        assert_eq!(match_step(&params, &[9; 32], &parsed, too_late), None);
        assert_eq!(match_step(&params, &[8; 32], &parsed, t), None);
        for bad in ["", "1600001234", "16000012345123456x", "0600001234512345678", "060000123451234567"] {
            assert!(PaymentCode::parse(bad).is_err(), "{bad}");
        }
        assert!(PaycodeParams { step_secs: 31, ..params }.check().is_err());
        assert!(PaycodeParams { prefix: 9, ..params }.check().is_err());
        assert!(!format!("{code:?}").contains(&s[11..]));
    }
}
