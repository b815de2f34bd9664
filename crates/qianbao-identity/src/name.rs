//! Real names as written on a resident ID card: Chinese characters, with the middle dot (·) that
//! separates the parts of many minority names (e.g. 阿依古丽·买买提), within length bounds.

use std::fmt;

use qianbao_core::mask::mask_name;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The fewest characters a name has (dots not counted).
pub const NAME_CHARS_MIN: usize = 2;
/// The most characters a name has, dots included (the ID card's field holds 15 per line, two lines).
pub const NAME_CHARS_MAX: usize = 30;

/// The middle dot names are normalized to.
pub const MIDDLE_DOT: char = '\u{00B7}';

/// Why a string is not a valid real name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Too short or too long.
    #[error("a name has {NAME_CHARS_MIN} to {NAME_CHARS_MAX} characters, got {0}")]
    Length(usize),
    /// A character that is neither a Chinese character nor a middle dot.
    #[error("a name has only Chinese characters and the middle dot ·, not {0:?}")]
    Character(char),
    /// A dot at the start or end, or two dots together.
    #[error("the middle dot only separates two parts of a name")]
    Dot,
}

/// A valid real name, normalized: trimmed, every middle-dot variant (·, •, ・, ‧, ･, ⋅, ．, .) turned
/// into U+00B7.
///
/// Personal data: `Debug` and `Display` show the masked form (`王**`); zeroized on drop.
///
/// ```
/// use qianbao_identity::RealName;
/// let name = RealName::parse("阿依古丽•买买提")?;
/// assert_eq!(name.expose(), "阿依古丽·买买提");
/// assert_eq!(name.masked(), "阿*******");
/// assert!(RealName::parse("Zhang San").is_err());
/// # Ok::<(), qianbao_identity::NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct RealName(String);

/// True for a CJK unified or compatibility ideograph (every extension, for rare characters in names) and
/// 〇 (U+3007), which is used in names.
pub fn is_han(c: char) -> bool {
    matches!(u32::from(c),
        0x3007
        | 0x3400..=0x4DBF     // extension A
        | 0x4E00..=0x9FFF     // unified ideographs
        | 0xF900..=0xFAFF     // compatibility ideographs
        | 0x20000..=0x2A6DF   // extension B
        | 0x2A700..=0x2EBEF   // extensions C–F
        | 0x2EBF0..=0x2EE5F   // extension I
        | 0x2F800..=0x2FA1F   // compatibility supplement
        | 0x30000..=0x323AF) // extensions G–H
}

fn is_dot(c: char) -> bool {
    matches!(c, '\u{00B7}' | '\u{2022}' | '\u{30FB}' | '\u{2027}' | '\u{FF65}' | '\u{22C5}' | '\u{FF0E}' | '.')
}

impl RealName {
    /// Parses and normalizes a name.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.trim();
        let total = s.chars().count();
        if total > NAME_CHARS_MAX {
            return Err(NameError::Length(total));
        }
        let mut out = String::with_capacity(s.len());
        let mut han = 0;
        let mut prev_dot = true; // a dot may not come first
        for c in s.chars() {
            if is_dot(c) {
                if prev_dot {
                    return Err(NameError::Dot);
                }
                out.push(MIDDLE_DOT);
                prev_dot = true;
            } else if is_han(c) {
                out.push(c);
                han += 1;
                prev_dot = false;
            } else {
                return Err(NameError::Character(c));
            }
        }
        if prev_dot && han > 0 {
            return Err(NameError::Dot);
        }
        if han < NAME_CHARS_MIN {
            return Err(NameError::Length(total));
        }
        Ok(RealName(out))
    }

    /// The name. Keep the borrow short; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For display: the first character kept, `王**`.
    pub fn masked(&self) -> String {
        mask_name(&self.0)
    }
}

impl fmt::Debug for RealName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RealName({})", self.masked())
    }
}

impl fmt::Display for RealName {
    /// The masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dots() {
        assert_eq!(RealName::parse(" 张三 ").unwrap().expose(), "张三");
        assert_eq!(RealName::parse("欧阳〇娜").unwrap().expose(), "欧阳〇娜");
        assert_eq!(RealName::parse("爱新觉罗・溥仪").unwrap().expose(), "爱新觉罗·溥仪");
        assert_eq!(RealName::parse("张"), Err(NameError::Length(1)));
        assert_eq!(RealName::parse(""), Err(NameError::Length(0)));
        assert_eq!(RealName::parse("·张三"), Err(NameError::Dot));
        assert_eq!(RealName::parse("张三·"), Err(NameError::Dot));
        assert_eq!(RealName::parse("张··三"), Err(NameError::Dot));
        assert_eq!(RealName::parse("张 三"), Err(NameError::Character(' ')));
        assert_eq!(RealName::parse("张3"), Err(NameError::Character('3')));
        assert_eq!(RealName::parse(&"张".repeat(31)), Err(NameError::Length(31)));
        assert!(RealName::parse(&"张".repeat(30)).is_ok());
        assert_eq!(format!("{:?}", RealName::parse("王小明").unwrap()), "RealName(王**)");
    }
}
