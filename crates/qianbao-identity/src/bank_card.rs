//! Bank card numbers (PAN): 12 to 19 digits, the Luhn check digit, and an issuer prefix of a scheme
//! that cards bound to a wallet in China come from.

use std::fmt;

use qianbao_core::mask::mask_middle;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a string is not a valid bank card number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BankCardError {
    /// A character other than a digit, space or dash.
    #[error("a bank card number has only digits (spaces and dashes between groups are ignored)")]
    Characters,
    /// Fewer than 12 or more than 19 digits.
    #[error("a bank card number has 12 to 19 digits, got {0}")]
    Length(usize),
    /// The Luhn check digit does not match (a mistyped digit).
    #[error("the card number's check digit is wrong: a digit was mistyped")]
    Luhn,
    /// The issuer prefix belongs to no supported card scheme.
    #[error("the card number's prefix {0} belongs to no supported card scheme")]
    Issuer(String),
}

/// The card scheme, from the issuer identification number (the leading digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CardScheme {
    /// China UnionPay (62, 81).
    UnionPay,
    /// Visa (4).
    Visa,
    /// Mastercard (51–55, 2221–2720).
    Mastercard,
    /// American Express (34, 37).
    Amex,
    /// JCB (3528–3589).
    Jcb,
    /// Discover (6011, 644–649, 65).
    Discover,
    /// Diners Club (300–305, 36, 38–39).
    DinersClub,
    /// A domestic bank card of an older mainland numbering (9-prefixed, e.g. 9558, 9559).
    DomesticBank,
}

/// A valid card number: digits only, 12–19 long, Luhn-valid, from a known scheme.
///
/// Personal data: `Debug` and `Display` show only the masked form, the value is zeroized on drop and
/// stored only sealed. Read it with [`BankCardNumber::expose`].
///
/// ```
/// use qianbao_identity::{BankCardNumber, CardScheme};
/// let card = BankCardNumber::parse("6222 0212 3456 7890 128")?;
/// assert_eq!(card.scheme(), CardScheme::UnionPay);
/// assert_eq!(card.masked(), "6222***********0128");
/// assert_eq!(card.last4(), "0128");
/// assert!(BankCardNumber::parse("6222021234567890127").is_err()); // Luhn
/// # Ok::<(), qianbao_identity::BankCardError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct BankCardNumber(String);

/// True when `digits` (ASCII digits) pass the Luhn check.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 1 {
                let x = v * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn prefix(d: &[u8], n: usize) -> u32 {
    d.iter().take(n).fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// The scheme of a card number's leading digits, if any.
pub fn scheme_of(d: &[u8]) -> Option<CardScheme> {
    let (p1, p2, p3, p4) = (prefix(d, 1), prefix(d, 2), prefix(d, 3), prefix(d, 4));
    Some(match () {
        _ if p2 == 62 || p2 == 81 => CardScheme::UnionPay,
        _ if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => CardScheme::Discover,
        _ if p1 == 4 => CardScheme::Visa,
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => CardScheme::Mastercard,
        _ if p2 == 34 || p2 == 37 => CardScheme::Amex,
        _ if (3528..=3589).contains(&p4) => CardScheme::Jcb,
        _ if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 => CardScheme::DinersClub,
        _ if p1 == 9 => CardScheme::DomesticBank,
        _ => return None,
    })
}

impl BankCardNumber {
    /// Parses a card number; spaces and dashes between digit groups are ignored.
    pub fn parse(input: &str) -> Result<Self, BankCardError> {
        let mut digits = String::with_capacity(19);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(BankCardError::Characters),
            }
            if digits.len() > 19 {
                break;
            }
        }
        let d = digits.as_bytes();
        if !(12..=19).contains(&d.len()) {
            let n = input.chars().filter(char::is_ascii_digit).count();
            return Err(BankCardError::Length(n));
        }
        if !luhn_valid(d) {
            return Err(BankCardError::Luhn);
        }
        if scheme_of(d).is_none() {
            return Err(BankCardError::Issuer(digits[..2].to_string()));
        }
        Ok(BankCardNumber(digits))
    }

    /// The digits. Keep the borrow short; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The card scheme.
    pub fn scheme(&self) -> CardScheme {
        // Checked by `parse`.
        scheme_of(self.0.as_bytes()).unwrap_or(CardScheme::DomesticBank)
    }

    /// The bank identification number: the first six digits.
    pub fn bin(&self) -> &str {
        &self.0[..6]
    }

    /// The last four digits (what a user recognizes a card by).
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// For display: the first four and last four kept, `6222***********0128`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 4, 4)
    }
}

impl fmt::Debug for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankCardNumber({})", self.masked())
    }
}

impl fmt::Display for BankCardNumber {
    /// The masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_luhn_and_lengths() {
        for (s, scheme) in [
            ("4111 1111 1111 1111", CardScheme::Visa),
            ("5555555555554444", CardScheme::Mastercard),
            ("2223000048400011", CardScheme::Mastercard),
            ("378282246310005", CardScheme::Amex),
            ("3530111333300000", CardScheme::Jcb),
            ("6011111111111117", CardScheme::Discover),
            ("30569309025904", CardScheme::DinersClub),
            ("6212345678901265", CardScheme::UnionPay),
        ] {
            assert_eq!(BankCardNumber::parse(s).map(|c| c.scheme()), Ok(scheme), "{s}");
        }
        assert_eq!(BankCardNumber::parse("4111-1111-1111-1112"), Err(BankCardError::Luhn));
        assert_eq!(BankCardNumber::parse("41111111111"), Err(BankCardError::Length(11)));
        assert_eq!(BankCardNumber::parse("41111111111111111111"), Err(BankCardError::Length(20)));
        assert_eq!(BankCardNumber::parse("4111a11111111111"), Err(BankCardError::Characters));
        assert_eq!(BankCardNumber::parse("0000000000000000"), Err(BankCardError::Issuer("00".into())));
        let c = BankCardNumber::parse("4111111111111111").unwrap();
        assert_eq!(format!("{c:?}"), "BankCardNumber(4111********1111)");
        assert_eq!(c.bin(), "411111");
    }
}
