//! Resident identity card numbers (居民身份证号码, GB 11643-1999): 6-digit region code, 8-digit birth
//! date, 3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character.

use std::fmt;

use qianbao_core::Timestamp;
use qianbao_core::mask::mask_middle;
use time::{Date, Month};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a string is not a valid resident ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResidentIdError {
    /// Not 18 characters (first-generation 15-digit numbers expired in 2013 and are not accepted).
    #[error("a resident ID number has 18 characters, got {0}")]
    Length(usize),
    /// A character other than a digit in the first 17 places, or other than a digit or X in the last.
    #[error("a resident ID number is 17 digits followed by a digit or X")]
    Characters,
    /// The first two digits are not a province-level region code of GB/T 2260.
    #[error("{0:02} is not a province-level region code (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81–83)")]
    Province(u8),
    /// The prefecture and county digits are not a possible region code.
    #[error("the region code {0} is not a county-level code")]
    Region(String),
    /// The birth date is not a real calendar date (or is before 1850).
    #[error("the birth date {0} is not a real date from 1850 on")]
    BirthDate(String),
    /// The birth date is after today.
    #[error("the birth date {0} is in the future")]
    BirthInFuture(String),
    /// The sequence code is 000, which is never issued.
    #[error("the sequence code 000 is never issued")]
    Sequence,
    /// The check character does not match (a mistyped or altered number).
    #[error("the check character is wrong: a digit was mistyped or changed")]
    CheckCharacter,
}

/// Sex as encoded in the 17th character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    /// Odd sequence code.
    Male,
    /// Even sequence code.
    Female,
}

/// A valid 18-character resident ID number, normalized (a final `x` is upper-cased).
///
/// Personal data: `Debug` and `Display` show only the masked form (`110105********002X`), the value is
/// zeroized on drop, and it is stored only sealed ([`crate::privacy`]). Read it with [`ResidentId::expose`].
///
/// ```
/// use qianbao_identity::{ResidentId, Sex};
/// use qianbao_core::Timestamp;
/// let today = Timestamp::from_unix_secs(1_800_000_000);
/// let id = ResidentId::parse("11010519491231002x", today)?;
/// assert_eq!(id.expose(), "11010519491231002X");
/// assert_eq!(id.sex(), Sex::Female);
/// assert_eq!(id.birth_date().to_string(), "1949-12-31");
/// assert_eq!(id.masked(), "110105********002X");
/// assert!(ResidentId::parse("110105194912310021", today).is_err()); // wrong check character
/// # Ok::<(), qianbao_identity::ResidentIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct ResidentId(String);

/// The weights of the 17 digits in the ISO 7064 MOD 11-2 check: 2^(17-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";

/// Province-level codes of GB/T 2260 (plus 71 Taiwan, 81 Hong Kong, 82 Macao, 83 Taiwan residence permits).
fn province_ok(p: u8) -> bool {
    matches!(p, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

/// The check character of the first 17 digits (which must be ASCII digits).
pub fn check_character(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

fn digits_value(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

fn birth_date(b: &[u8]) -> Result<Date, ResidentIdError> {
    let text = || String::from_utf8_lossy(b).into_owned();
    let year = i32::try_from(digits_value(&b[0..4])).map_err(|_| ResidentIdError::BirthDate(text()))?;
    let month = u8::try_from(digits_value(&b[4..6])).ok().and_then(|m| Month::try_from(m).ok());
    let day = u8::try_from(digits_value(&b[6..8])).ok();
    match (year >= 1850, month, day) {
        (true, Some(m), Some(d)) => {
            Date::from_calendar_date(year, m, d).map_err(|_| ResidentIdError::BirthDate(text()))
        }
        _ => Err(ResidentIdError::BirthDate(text())),
    }
}

impl ResidentId {
    /// Parses an 18-character number: length, characters, region, birth date (a real date, not after
    /// `today`), sequence and check character. Surrounding whitespace is ignored; a final `x` is accepted.
    pub fn parse(input: &str, today: Timestamp) -> Result<Self, ResidentIdError> {
        let s = input.trim();
        let n = s.chars().count();
        if n != 18 {
            return Err(ResidentIdError::Length(n));
        }
        let b = s.as_bytes();
        let last = b[17].to_ascii_uppercase();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
            return Err(ResidentIdError::Characters);
        }
        Self::check_region(&b[..6])?;
        let born = birth_date(&b[6..14])?;
        if born > today.to_datetime().date() {
            return Err(ResidentIdError::BirthInFuture(born.to_string()));
        }
        if &b[14..17] == b"000" {
            return Err(ResidentIdError::Sequence);
        }
        if check_character(&b[..17]) != last {
            return Err(ResidentIdError::CheckCharacter);
        }
        let mut normalized = s[..17].to_string();
        normalized.push(char::from(last));
        Ok(ResidentId(normalized))
    }

    fn check_region(r: &[u8]) -> Result<(), ResidentIdError> {
        let province = u8::try_from(digits_value(&r[..2])).unwrap_or(0);
        if !province_ok(province) {
            return Err(ResidentIdError::Province(province));
        }
        // Codes are retired and renamed over time while old cards stay valid, so the full county table is
        // not enforced; but a province alone (xx0000) is only issued for 71 and 81–83 (residence permits).
        let rest = &r[2..6];
        if rest == b"0000" && !matches!(province, 71 | 81..=83) {
            return Err(ResidentIdError::Region(String::from_utf8_lossy(r).into_owned()));
        }
        Ok(())
    }

    /// The 18 characters. Keep the borrow short; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The 6-digit region code where the number was first issued.
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date.
    pub fn birth_date(&self) -> Date {
        // Checked by `parse`: a value that exists has a real birth date.
        birth_date(&self.0.as_bytes()[6..14]).unwrap_or(Date::MIN)
    }

    /// The birth date as the 8 digits `YYYYMMDD`.
    pub fn birth_digits(&self) -> &str {
        &self.0[6..14]
    }

    /// Sex, from the parity of the 17th character.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// For display: region code and last four kept, `110105********002X`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 6, 4)
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    /// The masked form: the full number is shown only through [`ResidentId::expose`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests;
