//! The EMVCo TLV layer: a 2-digit id, a 2-digit length counted in characters, the value.

use std::ops::Range;

use super::{FieldPath, QrError};

/// One data object as found in the text, borrowing its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawObject<'a> {
    pub(crate) id: u8,
    pub(crate) value: &'a str,
    /// Byte offset of the id in the parsed text.
    pub(crate) start: usize,
    /// Byte offset of the value in the parsed text.
    pub(crate) value_start: usize,
}

impl RawObject<'_> {
    /// The value's byte range in the parsed text.
    pub(crate) fn value_range(&self) -> Range<usize> {
        self.value_start..self.value_start + self.value.len()
    }
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [t, u] if t.is_ascii_digit() && u.is_ascii_digit() => Some((t - b'0') * 10 + (u - b'0')),
        _ => None,
    }
}

/// Splits `text` into data objects. `template` names the enclosing template for error paths.
/// Refuses malformed headers, zero lengths, overruns and duplicate ids.
pub(crate) fn split(text: &str, template: Option<u8>) -> Result<Vec<RawObject<'_>>, QrError> {
    let bytes = text.as_bytes();
    let mut seen = [false; 100];
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 4).ok_or(QrError::Truncated { at: pos })?;
        let (Some(id), Some(length)) = (two_digits(&header[..2]), two_digits(&header[2..])) else {
            let found: String = text[pos..].chars().take(4).collect();
            return Err(QrError::BadHeader { at: pos, found });
        };
        let path = FieldPath { template, id };
        if length == 0 {
            return Err(QrError::ZeroLength { path });
        }
        let value_start = pos + 4;
        let rest = &text[value_start..];
        let length = usize::from(length);
        let value_len = match rest.char_indices().nth(length) {
            Some((offset, _)) => offset,
            None => {
                let available = rest.chars().count();
                if available < length {
                    return Err(QrError::Overrun { path, length, available });
                }
                rest.len()
            }
        };
        let seen_before = std::mem::replace(&mut seen[usize::from(id)], true);
        if seen_before {
            return Err(QrError::Duplicate { path });
        }
        out.push(RawObject { id, value: &rest[..value_len], start: pos, value_start });
        pos = value_start + value_len;
    }
    Ok(out)
}

/// Appends one data object; `value` must be 1 to 99 characters (checked by the caller).
pub(crate) fn push(out: &mut String, id: u8, value: &str) {
    let length = value.chars().count();
    debug_assert!((1..=99).contains(&length));
    out.push_str(&format!("{id:02}{length:02}"));
    out.push_str(value);
}

/// The CRC of a payload: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over its UTF-8 bytes up to and
/// including `6304`, as 4 uppercase hex digits.
pub fn crc16(payload_through_6304: &str) -> String {
    const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);
    format!("{:04X}", CRC.checksum(payload_through_6304.as_bytes()))
}
