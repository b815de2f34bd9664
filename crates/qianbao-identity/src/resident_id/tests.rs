use super::*;

fn today() -> Timestamp {
    Timestamp::from_unix_secs(1_800_000_000) // 2027-01-15
}

#[test]
fn published_numbers_verify() {
    for (s, sex, born) in
        [("11010519491231002X", Sex::Female, "1949-12-31"), ("440524188001010014", Sex::Male, "1880-01-01")]
    {
        let id = ResidentId::parse(s, today()).unwrap();
        assert_eq!(id.sex(), sex);
        assert_eq!(id.birth_date().to_string(), born);
        assert_eq!(id.expose(), s);
    }
}

#[test]
fn every_rule_is_checked() {
    let t = today();
    assert_eq!(ResidentId::parse("11010519491231002", t), Err(ResidentIdError::Length(17)));
    assert_eq!(ResidentId::parse("1101051949123100２X", t), Err(ResidentIdError::Characters));
    assert_eq!(ResidentId::parse("1101051949123100AX", t), Err(ResidentIdError::Characters));
    assert_eq!(ResidentId::parse("990105194912310021", t), Err(ResidentIdError::Province(99)));
    assert!(matches!(ResidentId::parse("110000194912310021", t), Err(ResidentIdError::Region(_))));
    assert!(matches!(ResidentId::parse("110105194902300021", t), Err(ResidentIdError::BirthDate(_))));
    assert!(matches!(ResidentId::parse("110105184912310021", t), Err(ResidentIdError::BirthDate(_))));
    assert!(matches!(ResidentId::parse("110105203001010021", t), Err(ResidentIdError::BirthInFuture(_))));
    assert_eq!(ResidentId::parse("110105194912310001", t), Err(ResidentIdError::Sequence));
    assert_eq!(ResidentId::parse("110105194912310021", t), Err(ResidentIdError::CheckCharacter));
    let mut seq0 = b"11010519491231000".to_vec();
    seq0.push(check_character(&seq0));
    assert_eq!(ResidentId::parse(std::str::from_utf8(&seq0).unwrap(), t), Err(ResidentIdError::Sequence));
}

#[test]
fn personal_data_does_not_print() {
    let id = ResidentId::parse(" 11010519491231002x ", today()).unwrap();
    assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
    assert_eq!(id.to_string(), "110105********002X");
    assert_eq!(id.region_code(), "110105");
    assert_eq!(id.birth_digits(), "19491231");
}
