//! Money in integer minor units with a currency. Parsing and printing are exact decimal; no floats.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text is not a decimal amount such as `12.34`.
    #[error("{input:?} is not a decimal amount such as \"12.34\"")]
    Malformed {
        /// What was given.
        input: String,
    },
    /// More fractional digits than the currency has minor units.
    #[error("{currency} has {scale} decimal places, {input:?} has more")]
    TooPrecise {
        /// What was given.
        input: String,
        /// The currency.
        currency: Currency,
        /// Its number of decimal places.
        scale: u8,
    },
    /// The result does not fit in 64-bit minor units.
    #[error("amount out of range")]
    Overflow,
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// Not a supported ISO 4217 code.
    #[error("{code:?} is not a supported ISO 4217 currency code")]
    UnknownCurrency {
        /// What was given.
        code: String,
    },
}

/// An ISO 4217 currency: alphabetic code, numeric code and number of minor-unit digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    numeric: u16,
    scale: u8,
}

impl Currency {
    /// Chinese yuan renminbi (fen, 2 places). The default.
    pub const CNY: Currency = Currency::new(*b"CNY", 156, 2);
    /// Hong Kong dollar.
    pub const HKD: Currency = Currency::new(*b"HKD", 344, 2);
    /// US dollar.
    pub const USD: Currency = Currency::new(*b"USD", 840, 2);
    /// Euro.
    pub const EUR: Currency = Currency::new(*b"EUR", 978, 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency::new(*b"JPY", 392, 0);
    /// South Korean won (no minor unit).
    pub const KRW: Currency = Currency::new(*b"KRW", 410, 0);
    /// Bahraini dinar (3 places).
    pub const BHD: Currency = Currency::new(*b"BHD", 48, 3);

    /// Every currency this crate knows.
    pub const ALL: [Currency; 7] =
        [Currency::CNY, Currency::HKD, Currency::USD, Currency::EUR, Currency::JPY, Currency::KRW, Currency::BHD];

    const fn new(code: [u8; 3], numeric: u16, scale: u8) -> Self {
        Currency { code, numeric, scale }
    }

    /// Looks up an alphabetic code such as `"CNY"` (case-insensitive).
    pub fn from_code(code: &str) -> Result<Self, MoneyError> {
        let upper = code.to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == upper)
            .ok_or(MoneyError::UnknownCurrency { code: code.to_owned() })
    }

    /// Looks up an ISO 4217 numeric code such as 156 (used in EMVCo QR codes).
    pub fn from_numeric(numeric: u16) -> Result<Self, MoneyError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.numeric == numeric)
            .ok_or(MoneyError::UnknownCurrency { code: numeric.to_string() })
    }

    /// The alphabetic code, e.g. `"CNY"`.
    pub fn code(&self) -> &str {
        // The codes are ASCII constants.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The numeric code, e.g. 156.
    pub const fn numeric(&self) -> u16 {
        self.numeric
    }

    /// Number of minor-unit digits (2 for CNY).
    pub const fn scale(&self) -> u8 {
        self.scale
    }

    /// Minor units per major unit (100 for CNY).
    pub const fn minor_per_major(&self) -> i64 {
        10i64.pow(self.scale as u32)
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::CNY
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: signed integer minor units (fen for CNY) and a currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// From minor units (e.g. fen).
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in a currency.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// From whole major units (e.g. yuan), checked.
    pub fn from_major(major: i64, currency: Currency) -> Result<Self, MoneyError> {
        major.checked_mul(currency.minor_per_major()).map(|minor| Money { minor, currency }).ok_or(MoneyError::Overflow)
    }

    /// Parses an exact decimal string such as `"12.34"`, `"-0.5"` or `"100"`.
    ///
    /// Refuses exponents, signs other than a leading `-`, grouping, spaces, and more fractional digits
    /// than the currency has.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let malformed = || MoneyError::Malformed { input: input.to_owned() };
        let (negative, body) = match input.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) {
            return Err(malformed());
        }
        let frac = frac_part.unwrap_or("");
        if frac_part.is_some() && (frac.is_empty() || !all_digits(frac)) {
            return Err(malformed());
        }
        let scale = usize::from(currency.scale);
        if frac.len() > scale {
            return Err(MoneyError::TooPrecise { input: input.to_owned(), currency, scale: currency.scale });
        }
        let mut minor: i64 = 0;
        let padded = frac.bytes().chain(std::iter::repeat(b'0')).take(scale);
        for b in int_part.bytes().chain(padded) {
            let digit = i64::from(b - b'0');
            minor = minor
                .checked_mul(10)
                .and_then(|m| if negative { m.checked_sub(digit) } else { m.checked_add(digit) })
                .ok_or(MoneyError::Overflow)?;
        }
        Ok(Money { minor, currency })
    }

    /// The amount in minor units.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// True when zero.
    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// True when below zero.
    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// True when above zero.
    pub const fn is_positive(&self) -> bool {
        self.minor > 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    /// `self + other`, same currency, checked.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, currency: self.currency })
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, same currency, checked.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money { minor, currency: self.currency })
            .ok_or(MoneyError::Overflow)
    }

    /// `self * factor`, checked.
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        self.minor.checked_mul(factor).map(|minor| Money { minor, currency: self.currency }).ok_or(MoneyError::Overflow)
    }

    /// `-self`, checked.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.minor.checked_neg().map(|minor| Money { minor, currency: self.currency }).ok_or(MoneyError::Overflow)
    }

    /// The sum of amounts of one currency; an empty list sums to zero in `currency`.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The decimal string without the currency, e.g. `"12.34"`, `"-0.05"`, `"7"` for JPY.
    pub fn to_decimal_string(&self) -> String {
        let scale = u32::from(self.currency.scale);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if scale == 0 {
            return format!("{sign}{abs}");
        }
        let unit = 10u64.pow(scale);
        format!("{sign}{}.{:0width$}", abs / unit, abs % unit, width = scale as usize)
    }
}

impl fmt::Display for Money {
    /// `"12.34 CNY"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests;
