use super::*;

/// The example payload of EMV QRCPS merchant-presented mode (CRC A13A), as reproduced by many libraries.
const EMVCO_SAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A";

fn with_crc(body: &str) -> String {
    let through = format!("{body}6304");
    let crc = crc16(&through);
    format!("{through}{crc}")
}

#[test]
fn crc_of_the_emvco_sample_is_a13a() {
    let body = &EMVCO_SAMPLE[..EMVCO_SAMPLE.len() - 4];
    assert_eq!(crc16(body), "A13A");
    // CRC-16/CCITT-FALSE check value.
    assert_eq!(crc16("123456789"), "29B1");
}

#[test]
fn emvco_sample_decodes_field_by_field() {
    let p = EmvPayload::decode(EMVCO_SAMPLE).unwrap();
    assert_eq!(p.initiation, Some(Initiation::Dynamic));
    assert_eq!(p.merchant_accounts.len(), 2);
    let MerchantAccount::Template { id: 29, template } = &p.merchant_accounts[0] else { panic!() };
    assert_eq!(template.guid, "D15600000000");
    assert_eq!(template.field(5), Some("A93FO3230Q"));
    assert_eq!(p.mcc.code(), 4111);
    assert_eq!(p.currency().unwrap(), qianbao_core::Currency::CNY);
    assert_eq!(p.amount_money().unwrap().unwrap().minor(), 2372);
    assert_eq!(p.tip, Some(Tip::Prompt));
    assert_eq!(p.country, CountryCode::CN);
    assert_eq!(p.merchant_name, "BEST TRANSPORT");
    assert_eq!(p.merchant_city, "BEIJING");
    let lang = p.language.as_ref().unwrap();
    assert_eq!((lang.language.as_str(), lang.name.as_str(), lang.city.as_deref()), ("ZH", "最佳运输", Some("北京")));
    let data = p.additional_data.as_ref().unwrap();
    assert_eq!(data.store_label(), Some("1234"));
    assert_eq!(data.get(6), Some("***"));
    assert_eq!(data.terminal_label(), Some("A6008667"));
    assert_eq!(data.get(9), Some("ME"));
    assert_eq!(p.unreserved[0].id, 91);
    assert_eq!(p.unreserved[0].template.guid, "A011223344998877");
    // Re-encoding writes ascending order with a fresh CRC and decodes to the same value.
    let again = p.encode().unwrap();
    assert_ne!(again, EMVCO_SAMPLE);
    assert_eq!(EmvPayload::decode(&again).unwrap(), p);
}

#[test]
fn emvco_sample_is_foreign_to_our_codec() {
    let keys = QrKeyring::new(KeyId::new("1").unwrap(), qianbao_core::DigestKey::new(&[1; 32]).unwrap());
    let codec = QrCodec::new(QrConfig::default(), keys).unwrap();
    let scanned = codec.scan(EMVCO_SAMPLE, qianbao_core::Timestamp::ZERO).unwrap();
    assert!(matches!(scanned, ScannedCode::Foreign(p) if p.merchant_name == "BEST TRANSPORT"));
}

#[test]
fn library_sample_with_a_16_character_city_is_refused() {
    // A payload from a public library's README: its CRC is right but its city has 16 characters (max 15).
    let text = "00020101021252044131153137210116372101160123456789ABCDE6016Banteay Meanchey5913Kuntheas Shop5802KH540510.005303840621201081234567863041FF2";
    let err = EmvPayload::decode(text).unwrap_err();
    assert!(matches!(err, QrError::Invalid { path, .. } if path == FieldPath::root(60)), "{err}");
    assert!(err.to_string().contains("1 to 15"), "{err}");
}

const MINIMAL: &str = "000201021612345678901234565204581253031565802CN5904SHOP6007BEIJING";

#[test]
fn minimal_payload_round_trips_byte_for_byte() {
    let text = with_crc(MINIMAL);
    let p = EmvPayload::decode(&text).unwrap();
    assert_eq!(p.encode().unwrap(), text);
    assert_eq!(p.amount_money().unwrap(), None);
    assert_eq!(p.initiation, None);
}

fn decode_err(body: &str) -> QrError {
    EmvPayload::decode(&with_crc(body)).unwrap_err()
}

#[test]
fn structural_errors_are_typed() {
    assert!(matches!(decode_err("0002010216123456789012345652045812530315600005802CN"), QrError::ZeroLength { .. }));
    assert!(matches!(decode_err("0002010299123"), QrError::Overrun { length: 99, .. }));
    assert!(matches!(decode_err(&format!("{MINIMAL}6203010")), QrError::Truncated { at: 0 }));
    assert!(matches!(decode_err("000201x1"), QrError::BadHeader { at: 6, .. }));
    let dup = format!("{MINIMAL}5904SHOP");
    assert_eq!(decode_err(&dup), QrError::Duplicate { path: FieldPath::root(59) });
    let late = format!("{}000201", &MINIMAL[6..]);
    assert!(matches!(decode_err(&late), QrError::Misplaced { path, .. } if path.id == 2));
    let no_city = MINIMAL.replace("6007BEIJING", "");
    assert_eq!(decode_err(&no_city), QrError::Missing { path: FieldPath::root(60), name: "merchant city" });
    let crc_inside = format!("{}{}", with_crc(MINIMAL), "5802CN");
    assert!(matches!(EmvPayload::decode(&crc_inside), Err(QrError::Misplaced { .. })));
    let dup_sub = MINIMAL.replace("02161234567890123456", "26180002ab0102cd0102ef");
    assert!(matches!(decode_err(&dup_sub), QrError::Duplicate { path } if path == FieldPath::sub(26, 1)));
    let no_guid = MINIMAL.replace("02161234567890123456", "26060102ab");
    assert!(matches!(decode_err(&no_guid), QrError::Missing { path, .. } if path == FieldPath::sub(26, 0)));
}

#[test]
fn value_errors_are_typed() {
    let bad_format = MINIMAL.replacen("000201", "000202", 1);
    assert!(matches!(decode_err(&bad_format), QrError::Invalid { path, .. } if path.id == 0));
    for amount in ["1,00", "-1", "1.2.3", "1e3", " 12", "12345678901234"] {
        let body = format!("{MINIMAL}54{:02}{amount}", amount.len());
        let err = decode_err(&body);
        assert!(matches!(err, QrError::Invalid { path, .. } if path.id == 54), "{amount}: {err}");
    }
    let long_name = MINIMAL.replace("5904SHOP", "5926ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    assert!(matches!(decode_err(&long_name), QrError::Invalid { path, .. } if path.id == 59));
    let non_ascii = MINIMAL.replace("5904SHOP", "5904SHÖP");
    assert!(matches!(decode_err(&non_ascii), QrError::Invalid { path, .. } if path.id == 59));
    let stray_fee = format!("{MINIMAL}56031.0");
    assert!(matches!(decode_err(&stray_fee), QrError::Misplaced { path, .. } if path.id == 56));
    let fee_missing = format!("{MINIMAL}550202");
    assert!(matches!(decode_err(&fee_missing), QrError::Missing { path, .. } if path.id == 56));
    let bad_lower = format!("{MINIMAL}6304{}", crc16(&format!("{MINIMAL}6304")).to_lowercase());
    assert!(matches!(EmvPayload::decode(&bad_lower), Err(QrError::Invalid { .. } | QrError::CrcMismatch { .. })));
    let yen_decimals = MINIMAL.replace("5303156", "5303392") + "54031.5";
    let p = EmvPayload::decode(&with_crc(&yen_decimals)).unwrap();
    assert!(matches!(p.amount_money(), Err(QrError::Invalid { .. })));
    let unknown = MINIMAL.replace("5303156", "5303764");
    assert_eq!(
        EmvPayload::decode(&with_crc(&unknown)).unwrap().currency(),
        Err(QrError::UnknownCurrency { numeric: 764 })
    );
}

#[test]
fn envelope_errors_are_typed() {
    assert_eq!(EmvPayload::decode_bytes(&[0x30, 0xff, 0x30]), Err(QrError::NotUtf8));
    assert!(matches!(EmvPayload::decode(&"0".repeat(513)), Err(QrError::TooLong { chars: 513, max: 512 })));
    assert!(matches!(EmvPayload::decode(""), Err(QrError::Missing { .. })));
    let text = with_crc(MINIMAL);
    let wrong = format!("{}0000", &text[..text.len() - 4]);
    assert!(matches!(EmvPayload::decode(&wrong), Err(QrError::CrcMismatch { .. })));
}

#[test]
fn encode_refuses_what_decode_would_refuse() {
    let mut p = EmvPayload::decode(&with_crc(MINIMAL)).unwrap();
    p.merchant_city = "A CITY FAR TOO LONG".into();
    assert!(matches!(p.encode(), Err(QrError::Unencodable { path, .. }) if path.id == 60));
    p.merchant_city = "BEIJING".into();
    p.merchant_accounts.push(MerchantAccount::Network { id: 30, value: "x".into() });
    assert!(matches!(p.encode(), Err(QrError::Unencodable { path, .. }) if path.id == 30));
    p.merchant_accounts.pop();
    p.merchant_accounts.push(p.merchant_accounts[0].clone());
    assert!(matches!(p.encode(), Err(QrError::Duplicate { .. })));
    p.merchant_accounts.pop();
    let mut data = AdditionalData::default();
    data.set(1, "x".repeat(26));
    p.additional_data = Some(data);
    assert!(matches!(p.encode(), Err(QrError::Unencodable { path, .. }) if path == FieldPath::sub(62, 1)));
}

#[test]
fn svg_renders_and_refuses_oversized_input() {
    let svg = render_svg(EMVCO_SAMPLE, 200).unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));
    assert!(matches!(render_svg(&"x".repeat(5000), 200), Err(QrError::Render(_))));
}
