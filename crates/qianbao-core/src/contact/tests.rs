use super::*;
use proptest::prelude::*;

#[test]
fn phones_normalize_to_e164() {
    for (input, want) in [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008619912345678", "+8619912345678"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ] {
        assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), want, "{input}");
    }
}

#[test]
fn phones_refuse_malformed_input_with_typed_errors() {
    use ContactError::*;
    for (input, want) in [
        ("", NotMainlandMobile),
        ("12812345678", NotMainlandMobile),
        ("1381234567", NotMainlandMobile),
        ("+8601012345678", NotMainlandMobile),
        ("+86 10 6552 9988", NotMainlandMobile),
        ("138a2345678", PhoneCharacters),
        ("++8613812345678", PhoneCharacters),
        ("+0123456789", PhoneLength),
        ("+1234567", PhoneLength),
        ("+1234567890123456", PhoneLength),
        ("4155552671", NotMainlandMobile),
    ] {
        assert_eq!(PhoneNumber::parse(input), Err(want), "{input:?}");
    }
}

#[test]
fn phone_masks_and_debug_hide_digits() {
    let p = PhoneNumber::parse("13812345678").unwrap();
    assert_eq!(p.masked(), "+86 138****5678");
    assert_eq!(format!("{p:?}"), "PhoneNumber(+86 138****5678)");
    assert_eq!(PhoneNumber::parse("+14155552671").unwrap().masked(), "+141******71");
}

#[test]
fn emails_normalize_and_refuse_malformed() {
    assert_eq!(Email::parse("  Zhang.San@Example.COM ").unwrap().as_str(), "zhang.san@example.com");
    assert_eq!(Email::parse("a+tag@mail.qq.com").unwrap().masked(), "a***@mail.qq.com");
    for bad in [
        "",
        "a",
        "@x.com",
        "a@",
        "a@com",
        "a@@x.com",
        "a b@x.com",
        ".a@x.com",
        "a..b@x.com",
        "a@-x.com",
        "a@x..com",
        "a@x_y.com",
        "张@x.com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Email::parse(&format!("{}@x.com", "a".repeat(65))), Err(ContactError::EmailLength));
    let e = Email::parse("wang@example.com").unwrap();
    assert!(!format!("{e:?}").contains("wang"));
}

proptest! {
    #[test]
    fn parsers_never_panic_and_normalized_forms_reparse(s in "\\PC{0,40}") {
        if let Ok(p) = PhoneNumber::parse(&s) {
            prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
        }
        if let Ok(e) = Email::parse(&s) {
            prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
        }
    }

    #[test]
    fn every_mainland_mobile_parses(second in 3u8..=9, rest in "[0-9]{9}") {
        let n = format!("1{second}{rest}");
        let p = PhoneNumber::parse(&n).unwrap();
        prop_assert_eq!(p.as_str(), format!("+86{n}"));
    }
}
