//! Why a QR payload was refused.

use std::fmt;

use qianbao_core::Timestamp;

/// Where in a payload a data object sits: a root id (`54`) or a sub-id inside a template (`62.05`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// The template the object sits in, `None` at the root.
    pub template: Option<u8>,
    /// The object's id.
    pub id: u8,
}

impl FieldPath {
    /// A root object.
    pub const fn root(id: u8) -> Self {
        FieldPath { template: None, id }
    }

    /// An object inside template `template`.
    pub const fn sub(template: u8, id: u8) -> Self {
        FieldPath { template: Some(template), id }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.template {
            Some(t) => write!(f, "{t:02}.{:02}", self.id),
            None => write!(f, "{:02}", self.id),
        }
    }
}

/// Everything that can be wrong with an EMVCo merchant-presented QR payload, and with encoding,
/// signing or scanning one. Each message says what was found and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The scanned bytes are not UTF-8.
    #[error("a QR payload is UTF-8 text; these bytes are not")]
    NotUtf8,
    /// More characters than EMVCo allows.
    #[error("a QR payload holds at most {max} characters, this one has {chars}")]
    TooLong {
        /// Characters found.
        chars: usize,
        /// The limit (512).
        max: usize,
    },
    /// The text ended where an id and a length were expected.
    #[error("expected a 2-digit id and a 2-digit length at byte {at}, the text ends first")]
    Truncated {
        /// Byte offset in the parsed text.
        at: usize,
    },
    /// An id or a length is not two decimal digits.
    #[error("expected a 2-digit id and a 2-digit length at byte {at}, found {found:?}")]
    BadHeader {
        /// Byte offset in the parsed text.
        at: usize,
        /// The four characters found.
        found: String,
    },
    /// A data object declares length `00`; lengths are `01` to `99`.
    #[error("data object {path} has length 00; lengths are 01 to 99")]
    ZeroLength {
        /// The object.
        path: FieldPath,
    },
    /// A declared length runs past the end of the text.
    #[error("data object {path} declares {length} characters but only {available} follow")]
    Overrun {
        /// The object.
        path: FieldPath,
        /// The declared length.
        length: usize,
        /// Characters left.
        available: usize,
    },
    /// The same id appears twice in one scope.
    #[error("data object {path} appears more than once; each id may appear once per template")]
    Duplicate {
        /// The object.
        path: FieldPath,
    },
    /// An object is in a place the format forbids.
    #[error("data object {path} is misplaced: {rule}")]
    Misplaced {
        /// The object.
        path: FieldPath,
        /// The ordering rule that was broken.
        rule: &'static str,
    },
    /// A mandatory object is absent.
    #[error("mandatory data object {path} ({name}) is missing")]
    Missing {
        /// The object.
        path: FieldPath,
        /// Its name in the specification.
        name: &'static str,
    },
    /// An object's value breaks its format.
    #[error("data object {path} ({name}) is invalid: {reason}")]
    Invalid {
        /// The object.
        path: FieldPath,
        /// Its name in the specification.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The CRC (object 63) does not match the payload.
    #[error("CRC mismatch: the payload computes to {computed}, the code carries {found:?}")]
    CrcMismatch {
        /// The CRC computed over the payload (4 uppercase hex digits).
        computed: String,
        /// What object 63 holds.
        found: String,
    },
    /// The currency's ISO 4217 numeric code is not one this wallet handles.
    #[error(
        "currency {numeric:03} is not supported; supported: 156 CNY, 344 HKD, 840 USD, 978 EUR, 392 JPY, 410 KRW, 48 BHD"
    )]
    UnknownCurrency {
        /// The numeric code.
        numeric: u16,
    },
    /// A dynamic code scanned at or after its expiry.
    #[error("this payment code expired at {expires_at} (now {now}); ask the merchant for a new one")]
    Expired {
        /// When it expired.
        expires_at: Timestamp,
        /// The time of the scan.
        now: Timestamp,
    },
    /// Our template names a signing key this wallet does not hold.
    #[error("signing key {key_id:?} is unknown to this wallet")]
    UnknownKey {
        /// The key id found in the code.
        key_id: String,
    },
    /// Our template's signature does not match the payload: forged, altered or swapped.
    #[error("the code's signature does not match its content: the code was forged or altered")]
    BadSignature,
    /// The request to encode is not valid (a field too long, a bad character, a missing amount...).
    #[error("cannot encode {path} ({name}): {reason}")]
    Unencodable {
        /// The object.
        path: FieldPath,
        /// Its name in the specification.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The payload does not fit in a QR symbol.
    #[error("cannot render the payload as a QR symbol: {0}")]
    Render(String),
}
