//! Value types of the payload's fields, each valid once it exists, and the character-set checks.

use std::fmt;

use qianbao_core::{Currency, Money};
use serde::{Deserialize, Serialize};

/// Checks the EMVCo "ans" set (printable ASCII, 0x20 to 0x7E) and a length of 1 to `max` characters.
pub(crate) fn check_ans(value: &str, max: usize) -> Result<(), String> {
    check_len(value, max)?;
    match value.chars().find(|c| !(' '..='~').contains(c)) {
        Some(c) => Err(format!("{c:?} is outside the allowed printable ASCII (0x20 to 0x7E)")),
        None => Ok(()),
    }
}

/// Checks alternate-language text: any characters but control characters, 1 to `max` characters.
pub(crate) fn check_text(value: &str, max: usize) -> Result<(), String> {
    check_len(value, max)?;
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("control character {c:?} is not allowed")),
        None => Ok(()),
    }
}

fn check_len(value: &str, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n == 0 || n > max {
        return Err(format!("{n} characters; 1 to {max} are allowed"));
    }
    Ok(())
}

/// Checks exactly `n` decimal digits.
pub(crate) fn check_digits(value: &str, n: usize) -> Result<(), String> {
    if value.len() == n && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("{value:?} is not exactly {n} decimal digits"))
    }
}

/// A merchant category code (ISO 18245), four digits, `0000` to `9999`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mcc(u16);

impl Mcc {
    /// From a number up to 9999.
    pub fn new(code: u16) -> Option<Self> {
        (code <= 9999).then_some(Mcc(code))
    }

    /// Parses exactly four digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        check_digits(text, 4)?;
        text.parse().map(Mcc).map_err(|_| format!("{text:?} is not four digits"))
    }

    /// The code as a number.
    pub const fn code(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Mcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl fmt::Debug for Mcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mcc({self})")
    }
}

impl TryFrom<String> for Mcc {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Mcc::parse(&s)
    }
}

impl From<Mcc> for String {
    fn from(m: Mcc) -> String {
        m.to_string()
    }
}

/// An ISO 3166-1 alpha-2 country code in upper case, e.g. `CN`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// China.
    pub const CN: CountryCode = CountryCode(*b"CN");

    /// Parses two upper-case ASCII letters.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(CountryCode([*a, *b])),
            _ => Err(format!("{text:?} is not two upper-case letters (ISO 3166-1 alpha-2)")),
        }
    }

    /// The code, e.g. `"CN"`.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters (checked by `parse`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({self})")
    }
}

impl TryFrom<String> for CountryCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        CountryCode::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.to_string()
    }
}

/// An amount as EMVCo writes it (objects 54 and 56): decimal digits with at most one `.` as the
/// decimal mark, at most 13 characters, e.g. `23.72`. No sign, no grouping, no exponent.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmvAmount(String);

impl EmvAmount {
    /// The longest amount EMVCo allows.
    pub const MAX_CHARS: usize = 13;

    /// Parses the text form. At least one digit; `"10."` and `".5"` are accepted as the format allows.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_max(text, Self::MAX_CHARS)
    }

    pub(crate) fn parse_max(text: &str, max: usize) -> Result<Self, String> {
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        let dots = text.bytes().filter(|b| *b == b'.').count();
        if text.len() > max || digits == 0 || dots > 1 || digits + dots != text.len() {
            return Err(format!(
                "{text:?} is not an amount: 1 to {max} characters of digits with at most one '.' (e.g. \"23.72\")"
            ));
        }
        Ok(EmvAmount(text.to_owned()))
    }

    /// The canonical text of a non-negative amount, e.g. `12.34` for 1234 fen.
    pub fn from_money(money: Money) -> Result<Self, String> {
        if money.is_negative() {
            return Err(format!("{money} is negative"));
        }
        Self::parse(&money.to_decimal_string())
    }

    /// The amount in `currency`; refuses more fractional digits than the currency has.
    pub fn to_money(&self, currency: Currency) -> Result<Money, String> {
        let (int, frac) = self.0.split_once('.').unwrap_or((&self.0, ""));
        let scale = usize::from(currency.scale());
        if frac.len() > scale {
            return Err(format!("{:?} has more than {scale} decimal places for {currency}", self.0));
        }
        let mut minor: i64 = 0;
        let padded = frac.bytes().chain(std::iter::repeat(b'0')).take(scale);
        for b in int.bytes().chain(padded) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(|| format!("{:?} is too large", self.0))?;
        }
        Ok(Money::from_minor(minor, currency))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmvAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmvAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmvAmount({})", self.0)
    }
}

impl TryFrom<String> for EmvAmount {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EmvAmount::parse(&s)
    }
}

impl From<EmvAmount> for String {
    fn from(a: EmvAmount) -> String {
        a.0
    }
}

/// The merchant's order reference carried in a dynamic code (object 62.05, the EMVCo "reference
/// label"): 1 to 25 printable ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderRef(String);

impl OrderRef {
    /// Parses 1 to 25 printable ASCII characters.
    pub fn new(text: &str) -> Result<Self, String> {
        check_ans(text, 25)?;
        Ok(OrderRef(text.to_owned()))
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderRef({})", self.0)
    }
}

impl TryFrom<String> for OrderRef {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        OrderRef::new(&s)
    }
}

impl From<OrderRef> for String {
    fn from(r: OrderRef) -> String {
        r.0
    }
}
