//! The 6-digit payment password (支付密码): format, and refusal of trivial choices.

use std::fmt;

use qianbao_core::SecretString;

/// Why a payment password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentPasswordError {
    /// Not exactly six ASCII digits.
    #[error("a payment password is exactly 6 digits")]
    Format,
    /// One digit six times (111111) or a short block repeated (121212, 123123).
    #[error("a payment password may not repeat digits or a block of digits (like 111111 or 121212)")]
    Repeated,
    /// A run of consecutive digits up or down (123456, 654321).
    #[error("a payment password may not be consecutive digits (like 123456 or 987654)")]
    Sequential,
    /// Taken from the birth date (YYMMDD, MMDDYY, DDMMYY or YYYYMM).
    #[error("a payment password may not be taken from the birth date")]
    BirthDate,
    /// The new payment password is the current one.
    #[error("the new payment password must differ from the current one")]
    Unchanged,
    /// The last six characters of the ID number or the phone number.
    #[error("a payment password may not be the end of the ID or phone number")]
    PersonalNumber,
}

/// A payment password: exactly six digits. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentPassword(SecretString);

impl fmt::Debug for PaymentPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentPassword([REDACTED])")
    }
}

/// What a new payment password must not be derived from.
#[derive(Debug, Clone, Default)]
pub struct PaymentPasswordContext {
    /// The birth date as `YYYYMMDD`, when the user is real-name verified.
    pub birth_digits: Option<String>,
    /// Other personal numbers whose last six digits are refused (ID number, phone numbers).
    pub personal_numbers: Vec<String>,
}

fn repeated(d: &[u8]) -> bool {
    [1usize, 2, 3].iter().any(|&block| d.chunks(block).all(|c| c == &d[..block]))
}

fn sequential(d: &[u8]) -> bool {
    let up = d.windows(2).all(|w| w[1] == w[0] + 1);
    let down = d.windows(2).all(|w| w[0] == w[1] + 1);
    up || down
}

fn birth_forms(birth: &str) -> Vec<String> {
    if birth.len() != 8 || !birth.is_ascii() {
        return Vec::new();
    }
    let (yyyy, yy, mm, dd) = (&birth[..4], &birth[2..4], &birth[4..6], &birth[6..8]);
    vec![
        format!("{yy}{mm}{dd}"),
        format!("{mm}{dd}{yy}"),
        format!("{dd}{mm}{yy}"),
        format!("{yyyy}{mm}"),
        format!("{mm}{dd}{}", &yyyy[..2]),
    ]
}

impl PaymentPassword {
    /// Parses exactly six ASCII digits (no trimming: what the keypad sent is what counts).
    pub fn parse(input: &str) -> Result<Self, PaymentPasswordError> {
        if input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PaymentPasswordError::Format);
        }
        Ok(PaymentPassword(SecretString::from(input)))
    }

    /// The digits. Keep the borrow short.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Refuses trivial choices: repeated digits or blocks, consecutive runs, birth-date forms, and the
    /// last six digits of a personal number. Used when a payment password is set, not when it is checked.
    pub fn check_not_trivial(&self, ctx: &PaymentPasswordContext) -> Result<(), PaymentPasswordError> {
        let s = self.expose();
        let d = s.as_bytes();
        if repeated(d) {
            return Err(PaymentPasswordError::Repeated);
        }
        if sequential(d) {
            return Err(PaymentPasswordError::Sequential);
        }
        if let Some(b) = &ctx.birth_digits
            && birth_forms(b).iter().any(|f| f == s)
        {
            return Err(PaymentPasswordError::BirthDate);
        }
        let tail_of = |n: &String| {
            let digits: String = n.chars().filter(char::is_ascii_digit).collect();
            digits.len() >= 6 && digits.ends_with(s)
        };
        if ctx.personal_numbers.iter().any(tail_of) {
            return Err(PaymentPasswordError::PersonalNumber);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str, ctx: &PaymentPasswordContext) -> Result<(), PaymentPasswordError> {
        PaymentPassword::parse(s)?.check_not_trivial(ctx)
    }

    #[test]
    fn trivial_passwords_are_refused() {
        let none = PaymentPasswordContext::default();
        for bad in ["12345", "1234567", "12345a", " 12345", "１２３４５６"] {
            assert_eq!(check(bad, &none), Err(PaymentPasswordError::Format), "{bad}");
        }
        for rep in ["111111", "121212", "123123", "000000"] {
            assert_eq!(check(rep, &none), Err(PaymentPasswordError::Repeated), "{rep}");
        }
        for seq in ["123456", "654321", "012345", "987654", "345678"] {
            assert_eq!(check(seq, &none), Err(PaymentPasswordError::Sequential), "{seq}");
        }
        let ctx = PaymentPasswordContext {
            birth_digits: Some("19491231".into()),
            personal_numbers: vec!["11010519491231002X".into(), "+8613812345678".into()],
        };
        for b in ["491231", "123149", "311249", "194912"] {
            assert_eq!(check(b, &ctx), Err(PaymentPasswordError::BirthDate), "{b}");
        }
        assert_eq!(check("310022", &ctx), Ok(())); // not the tail once X is dropped? it is "231002"
        assert_eq!(check("231002", &ctx), Err(PaymentPasswordError::PersonalNumber));
        assert_eq!(check("345678", &ctx), Err(PaymentPasswordError::Sequential));
        assert_eq!(check("245678", &ctx), Ok(()));
        assert_eq!(check("315926", &ctx), Ok(()));
        assert_eq!(format!("{:?}", PaymentPassword::parse("315926").unwrap()), "PaymentPassword([REDACTED])");
    }
}
