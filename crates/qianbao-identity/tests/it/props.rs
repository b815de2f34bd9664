//! Property tests over the parsers and decisions.

use proptest::prelude::*;

use super::*;

const VALID: [&str; 4] = [ID_F, ID_M, "110105199003071239", "310115198506124561"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Changing any single character of a valid ID number (to another digit, or X) is detected.
    #[test]
    fn any_single_changed_digit_of_an_id_number_is_detected(which in 0..VALID.len(), pos in 0usize..18, new in 0u8..11) {
        let today = Timestamp::from_unix_secs(START);
        let original = VALID[which];
        let replacement = if new == 10 { b'X' } else { b'0' + new };
        let mut bytes = original.as_bytes().to_vec();
        prop_assume!(bytes[pos] != replacement && !(pos < 17 && replacement == b'X'));
        bytes[pos] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(ResidentId::parse(&changed, today).is_err(), "{changed} was accepted");
        prop_assert!(ResidentId::parse(original, today).is_ok());
    }

    /// Any single changed digit of a card number fails the Luhn check.
    #[test]
    fn any_single_changed_digit_of_a_card_number_is_detected(pos in 0usize..19, new in 0u8..10) {
        let mut bytes = CARD_1.as_bytes().to_vec();
        prop_assume!(bytes[pos] != b'0' + new);
        bytes[pos] = b'0' + new;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(BankCardNumber::parse(&changed).is_err());
    }

    /// Parsers never panic and accept only what they print back unchanged.
    #[test]
    fn parsers_are_total_and_canonical(s in "\\PC{0,40}") {
        let today = Timestamp::from_unix_secs(START);
        if let Ok(id) = ResidentId::parse(&s, today) {
            prop_assert_eq!(ResidentId::parse(id.expose(), today).unwrap(), id);
        }
        if let Ok(c) = BankCardNumber::parse(&s) {
            prop_assert_eq!(BankCardNumber::parse(c.expose()).unwrap(), c);
        }
        if let Ok(n) = RealName::parse(&s) {
            prop_assert_eq!(RealName::parse(n.expose()).unwrap(), n);
        }
        if let Ok(p) = PaymentPassword::parse(&s) {
            prop_assert_eq!(p.expose(), s.as_str());
        }
    }

    /// Every generated valid ID number parses, with its birth date and sex.
    #[test]
    fn generated_id_numbers_parse(days in 0u32..60_000, seq in 1u32..1000, region in prop::sample::select(vec!["110105", "440524", "310115", "650102", "810000"])) {
        let born = time::Date::from_calendar_date(1900, time::Month::January, 1).unwrap() + time::Duration::days(i64::from(days));
        prop_assume!(born.year() < 2027);
        let first17 = format!("{region}{:04}{:02}{:02}{seq:03}", born.year(), born.month() as u8, born.day());
        let weights = [7u32, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17.bytes().zip(weights).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        let id = ResidentId::parse(&format!("{first17}{check}"), Timestamp::from_unix_secs(START)).unwrap();
        prop_assert_eq!(id.birth_date(), born);
        prop_assert_eq!(id.sex() == Sex::Male, seq % 2 == 1);
    }
}
