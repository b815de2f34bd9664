//! QR confirmation ("verify by QR code"): a new device shows a short-lived challenge as a QR payload; a
//! logged-in device of the same user scans it and approves or denies. The pure parts: the payload format.
//!
//! Payload: `qianbao://qr-confirm/v1?c=` then 43 base64url characters (32 random bytes). The server keeps
//! only the keyed digest of those bytes. The new device additionally holds a separate poll secret (never
//! in the QR code) to collect the outcome, so someone who photographs the code cannot finish the login.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use qianbao_core::{Entropy, SecretString};
use serde::{Deserialize, Serialize};

use crate::TokenError;

const PAYLOAD_PREFIX: &str = "qianbao://qr-confirm/v1?c=";

/// What the new device is trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QrPurpose {
    /// Log in on a new device.
    Login,
    /// Finish registering a new device.
    Register,
    /// A step-up confirmation requested by the risk rules.
    StepUp,
}

impl QrPurpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            QrPurpose::Login => "login",
            QrPurpose::Register => "register",
            QrPurpose::StepUp => "step_up",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        [QrPurpose::Login, QrPurpose::Register, QrPurpose::StepUp].into_iter().find(|p| p.as_str() == s)
    }
}

/// A random 32-byte secret rendered as 43 base64url characters (QR nonces and poll secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct QrSecret(SecretString);

impl fmt::Debug for QrSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QrSecret([REDACTED])")
    }
}

impl QrSecret {
    pub(crate) fn generate(entropy: &dyn Entropy) -> Self {
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        entropy.fill(raw.as_mut());
        QrSecret(SecretString::new(BASE64URL_NOPAD.encode(raw.as_ref())))
    }

    /// Parses the 43-character form.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        if s.len() != 43 || BASE64URL_NOPAD.decode(s.as_bytes()).is_err() {
            return Err(TokenError::malformed("a QR secret", "it must be 43 canonical base64url characters"));
        }
        Ok(QrSecret(SecretString::new(s.to_string())))
    }

    /// The text.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Renders the QR payload for a challenge nonce.
pub fn qr_payload(nonce: &QrSecret) -> String {
    format!("{PAYLOAD_PREFIX}{}", nonce.expose())
}

/// Parses a scanned QR payload into its nonce.
pub fn parse_qr_payload(input: &str) -> Result<QrSecret, TokenError> {
    let rest = input.trim().strip_prefix(PAYLOAD_PREFIX).ok_or_else(|| {
        TokenError::malformed("a QR confirmation payload", "it must start with qianbao://qr-confirm/v1?c=")
    })?;
    QrSecret::parse(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qianbao_core::SeededEntropy;

    #[test]
    fn payloads_round_trip() {
        let n = QrSecret::generate(&SeededEntropy::new(5));
        let p = qr_payload(&n);
        assert_eq!(parse_qr_payload(&p).unwrap(), n);
        for bad in ["", "qianbao://qr-confirm/v1?c=", "https://x/?c=abc", &format!("{p}x"), &p[..p.len() - 1]] {
            assert!(parse_qr_payload(bad).is_err(), "{bad}");
        }
    }
}
