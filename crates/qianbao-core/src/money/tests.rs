use super::*;
use proptest::prelude::*;

#[test]
fn parses_and_prints_exactly() {
    let cases = [
        ("12.34", 1234, "12.34"),
        ("12.3", 1230, "12.30"),
        ("12", 1200, "12.00"),
        ("0.01", 1, "0.01"),
        ("-0.05", -5, "-0.05"),
        ("007.10", 710, "7.10"),
    ];
    for (input, minor, printed) in cases {
        let m = Money::parse(input, Currency::CNY).unwrap();
        assert_eq!(m.minor(), minor, "{input}");
        assert_eq!(m.to_decimal_string(), printed);
    }
    assert_eq!(Money::parse("1500", Currency::JPY).unwrap().to_string(), "1500 JPY");
    assert_eq!(Money::parse("1.234", Currency::BHD).unwrap().minor(), 1234);
    assert_eq!(Money::from_minor(i64::MIN, Currency::CNY).to_decimal_string(), "-92233720368547758.08");
}

#[test]
fn refuses_malformed_input() {
    for bad in ["", "-", ".5", "5.", "1.2.3", "1e3", "+1", " 1", "1 ", "1,000", "١٢", "--1", "0x10", "NaN"] {
        assert!(
            matches!(Money::parse(bad, Currency::CNY), Err(MoneyError::Malformed { .. })),
            "{bad:?} should be malformed"
        );
    }
    assert!(matches!(Money::parse("1.234", Currency::CNY), Err(MoneyError::TooPrecise { .. })));
    assert!(matches!(Money::parse("1.5", Currency::JPY), Err(MoneyError::TooPrecise { .. })));
    assert_eq!(Money::parse("92233720368547758.08", Currency::CNY), Err(MoneyError::Overflow));
    assert!(Money::parse("-92233720368547758.08", Currency::CNY).is_ok());
}

#[test]
fn arithmetic_is_checked() {
    let a = Money::from_minor(i64::MAX, Currency::CNY);
    assert_eq!(a.checked_add(Money::from_minor(1, Currency::CNY)), Err(MoneyError::Overflow));
    assert_eq!(a.checked_mul(2), Err(MoneyError::Overflow));
    assert_eq!(Money::from_minor(i64::MIN, Currency::CNY).checked_neg(), Err(MoneyError::Overflow));
    assert!(matches!(
        Money::zero(Currency::CNY).checked_add(Money::zero(Currency::USD)),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    let sum = Money::checked_sum(Currency::CNY, [1, 2, 3].map(|m| Money::from_minor(m, Currency::CNY)));
    assert_eq!(sum.unwrap().minor(), 6);
}

#[test]
fn currencies_look_up_and_serialize() {
    assert_eq!(Currency::from_code("cny").unwrap(), Currency::CNY);
    assert_eq!(Currency::from_numeric(156).unwrap(), Currency::CNY);
    assert!(Currency::from_code("XYZ").is_err());
    let json = serde_json::to_string(&Money::from_minor(5, Currency::CNY)).unwrap();
    assert_eq!(json, r#"{"minor":5,"currency":"CNY"}"#);
    let back: Money = serde_json::from_str(&json).unwrap();
    assert_eq!(back.minor(), 5);
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn print_then_parse_round_trips(minor in any::<i64>(), c in currency()) {
        let m = Money::from_minor(minor, c);
        prop_assert_eq!(Money::parse(&m.to_decimal_string(), c), Ok(m));
    }

    #[test]
    fn arithmetic_never_panics_and_matches_i128(a in any::<i64>(), b in any::<i64>(), k in any::<i64>()) {
        let x = Money::from_minor(a, Currency::CNY);
        let y = Money::from_minor(b, Currency::CNY);
        let wide = i128::from(a) + i128::from(b);
        match x.checked_add(y) {
            Ok(s) => prop_assert_eq!(i128::from(s.minor()), wide),
            Err(e) => { prop_assert_eq!(e, MoneyError::Overflow); prop_assert!(i64::try_from(wide).is_err()); }
        }
        let wide = i128::from(a) - i128::from(b);
        match x.checked_sub(y) {
            Ok(s) => prop_assert_eq!(i128::from(s.minor()), wide),
            Err(_) => prop_assert!(i64::try_from(wide).is_err()),
        }
        let wide = i128::from(a) * i128::from(k);
        match x.checked_mul(k) {
            Ok(s) => prop_assert_eq!(i128::from(s.minor()), wide),
            Err(_) => prop_assert!(i64::try_from(wide).is_err()),
        }
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,30}") {
        let _ = Money::parse(&s, Currency::CNY);
    }
}
