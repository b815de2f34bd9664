//! QR codes through the public API: round trips, the EMVCo sample, tamper detection, the fuzz corpus.

use proptest::prelude::*;
use qianbao_core::{AccountId, Currency, DigestKey, Money, Timestamp};
use qianbao_ledger::qr::*;

const NOW: u64 = 1_800_000_000;
const EMVCO_SAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A";

fn key(byte: u8) -> DigestKey {
    DigestKey::new(&[byte; 32]).unwrap()
}

fn codec() -> QrCodec {
    QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("k1").unwrap(), key(7))).unwrap()
}

fn now() -> Timestamp {
    Timestamp::from_unix_secs(NOW)
}

fn shop(n: u128, name: &str) -> MerchantProfile {
    MerchantProfile {
        account: AccountId::from_u128(n),
        name: name.into(),
        city: "SHANGHAI".into(),
        mcc: Mcc::parse("5812").unwrap(),
        country: CountryCode::CN,
        currency: Currency::CNY,
        local_name: Some(LanguageTemplate {
            language: "ZH".into(),
            name: "小吃店".into(),
            city: Some("上海".into()),
            other: vec![],
        }),
        store_label: Some("STORE-9".into()),
        terminal_label: None,
    }
}

fn cny(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CNY)
}

fn refresh_crc(text: &str) -> String {
    let body = &text[..text.len() - 4];
    format!("{body}{}", crc16(body))
}

fn qianbao(scanned: ScannedCode) -> PaymentRequest {
    match scanned {
        ScannedCode::Qianbao(r) => r,
        ScannedCode::Foreign(p) => panic!("expected one of our codes, got a foreign one: {p:?}"),
    }
}

#[test]
fn static_and_dynamic_codes_scan_to_payment_requests() {
    let codec = codec();
    let code = codec.static_code(&shop(5, "NOODLE BAR")).unwrap();
    assert!(code.starts_with("00020101021126820010cn.qianbao"), "{code}");
    let r = qianbao(codec.scan(&code, now()).unwrap());
    assert_eq!((r.kind, r.amount, r.expires_at, r.order_ref.clone()), (CodeKind::Static, None, None, None));
    assert_eq!(r.merchant_account, AccountId::from_u128(5));
    assert_eq!((r.merchant_name.as_str(), r.currency, r.key_id.as_str()), ("NOODLE BAR", Currency::CNY, "k1"));
    // Static codes do not expire.
    assert!(codec.scan(&code, Timestamp::from_unix_secs(NOW * 2)).is_ok());

    let order = OrderRef::new("ORDER-000123").unwrap();
    let code = codec.dynamic_code(&shop(5, "NOODLE BAR"), cny(1999), &order, now()).unwrap();
    let r = qianbao(codec.scan(&code, now()).unwrap());
    assert_eq!(r.kind, CodeKind::Dynamic);
    assert_eq!(r.amount, Some(cny(1999)));
    assert_eq!(r.order_ref, Some(order));
    assert_eq!(r.expires_at, Some(Timestamp::from_unix_secs(NOW + 300)));
    // The payload is a valid EMVCo code for any reader.
    let p = EmvPayload::decode(&code).unwrap();
    assert_eq!(p.amount.as_ref().map(EmvAmount::as_str), Some("19.99"));
    assert_eq!(p.initiation, Some(Initiation::Dynamic));
    // Serializable for the wire.
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<PaymentRequest>(&json).unwrap(), r);
}

#[test]
fn dynamic_codes_expire_exactly_at_their_deadline() {
    let codec = codec();
    let code = codec.dynamic_code(&shop(1, "TEA"), cny(500), &OrderRef::new("T1").unwrap(), now()).unwrap();
    let deadline = Timestamp::from_unix_secs(NOW + 300);
    assert!(codec.scan(&code, Timestamp::from_unix_secs(NOW + 299)).is_ok());
    assert_eq!(codec.scan(&code, deadline), Err(QrError::Expired { expires_at: deadline, now: deadline }));
}

#[test]
fn bad_requests_to_encode_are_refused() {
    let codec = codec();
    let order = OrderRef::new("X").unwrap();
    for amount in [cny(0), cny(-5), Money::from_minor(100, Currency::USD)] {
        let err = codec.dynamic_code(&shop(1, "TEA"), amount, &order, now()).unwrap_err();
        assert!(matches!(err, QrError::Unencodable { .. }), "{err}");
    }
    let err = codec.static_code(&shop(1, "A NAME THAT IS MUCH TOO LONG")).unwrap_err();
    assert!(matches!(err, QrError::Unencodable { path, .. } if path == FieldPath::root(59)), "{err}");
    assert!(OrderRef::new("").is_err() && OrderRef::new(&"x".repeat(26)).is_err());
    let mut config = QrConfig::default();
    config.template_id = 52;
    assert!(QrCodec::new(config, QrKeyring::new(KeyId::new("1").unwrap(), key(1))).is_err());
    assert!(KeyId::new("").is_err() && KeyId::new("abcde").is_err() && KeyId::new("a-b").is_err());
}

#[test]
fn keys_rotate_and_unknown_keys_or_wrong_keys_are_refused() {
    let old = codec();
    let code = old.static_code(&shop(3, "BAKERY")).unwrap();
    // A new signing key that still verifies the old one's codes.
    let rotated =
        QrKeyring::new(KeyId::new("k2").unwrap(), key(8)).with_verifying_key(KeyId::new("k1").unwrap(), key(7));
    let new = QrCodec::new(QrConfig::default(), rotated).unwrap();
    assert_eq!(qianbao(new.scan(&code, now()).unwrap()).key_id.as_str(), "k1");
    assert_eq!(qianbao(new.scan(&new.static_code(&shop(3, "BAKERY")).unwrap(), now()).unwrap()).key_id.as_str(), "k2");
    // Without the old key: unknown. With a different key under the same id: bad signature.
    let only_new = QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("k2").unwrap(), key(8))).unwrap();
    assert_eq!(only_new.scan(&code, now()), Err(QrError::UnknownKey { key_id: "k1".into() }));
    let impostor = QrCodec::new(QrConfig::default(), QrKeyring::new(KeyId::new("k1").unwrap(), key(9))).unwrap();
    assert_eq!(impostor.scan(&code, now()), Err(QrError::BadSignature));
}

#[test]
fn a_genuine_template_swapped_into_another_code_is_detected() {
    let codec = codec();
    let victim = codec.static_code(&shop(10, "HONEST SHOP")).unwrap();
    let attacker = codec.static_code(&shop(66, "EVIL SHOP")).unwrap();
    // The attacker's own genuine template (their account) pasted into the victim's printed code: the
    // template is the part between "26" and "52" in both.
    let template = |code: &str| code[12..code.find("5204").unwrap()].to_owned();
    let swapped = victim.replace(&template(&victim), &template(&attacker));
    assert_ne!(swapped, victim);
    assert_eq!(codec.scan(&refresh_crc(&swapped), now()), Err(QrError::BadSignature));
    // A dynamic code's template moved into a code with a different amount.
    let order = OrderRef::new("O-1").unwrap();
    let cheap = codec.dynamic_code(&shop(10, "HONEST SHOP"), cny(100), &order, now()).unwrap();
    let dear = codec.dynamic_code(&shop(10, "HONEST SHOP"), cny(100_000), &order, now()).unwrap();
    let moved = dear.replace(&template(&dear), &template(&cheap));
    assert_eq!(codec.scan(&refresh_crc(&moved), now()), Err(QrError::BadSignature));
    // Dropping our template altogether leaves a foreign code that names no qianbao account.
    let stripped = victim.replace(&template(&victim), "02041234");
    assert!(matches!(codec.scan(&refresh_crc(&stripped), now()), Ok(ScannedCode::Foreign(_))));
}

#[test]
fn emvco_sample_decodes_and_its_crc_checks() {
    assert_eq!(crc16(&EMVCO_SAMPLE[..EMVCO_SAMPLE.len() - 4]), "A13A");
    let p = EmvPayload::decode(EMVCO_SAMPLE).unwrap();
    assert_eq!((p.merchant_name.as_str(), p.amount_money().unwrap()), ("BEST TRANSPORT", Some(cny(2372))));
    let altered = EMVCO_SAMPLE.replace("23.72", "23.73");
    assert!(matches!(EmvPayload::decode(&altered), Err(QrError::CrcMismatch { .. })));
    assert!(matches!(codec().scan(EMVCO_SAMPLE, now()), Ok(ScannedCode::Foreign(_))));
}

fn ans(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~]{{1,{max}}}")).unwrap()
}

fn field(ids: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = Field> {
    (ids, ans(10)).prop_map(|(id, value)| Field { id, value })
}

fn unique(mut fields: Vec<Field>) -> Vec<Field> {
    fields.sort_by_key(|f| f.id);
    fields.dedup_by_key(|f| f.id);
    fields
}

fn template() -> impl Strategy<Value = Template> {
    (ans(12), proptest::collection::vec(field(1..=99), 0..3))
        .prop_map(|(guid, fields)| Template { guid, fields: unique(fields) })
}

fn account() -> impl Strategy<Value = MerchantAccount> {
    prop_oneof![
        (2u8..=25, ans(20)).prop_map(|(id, value)| MerchantAccount::Network { id, value }),
        (26u8..=51, template()).prop_map(|(id, template)| MerchantAccount::Template { id, template }),
    ]
}

fn amount() -> impl Strategy<Value = EmvAmount> {
    "[0-9]{1,10}(\\.[0-9]{0,2})?".prop_map(|s| EmvAmount::parse(&s).unwrap())
}

fn tip() -> impl Strategy<Value = Option<Tip>> {
    prop_oneof![
        Just(None),
        Just(Some(Tip::Prompt)),
        amount().prop_map(|a| Some(Tip::FixedFee(a))),
        (1u32..10_000)
            .prop_map(|h| Some(Tip::PercentageFee(EmvAmount::parse(&format!("{}.{:02}", h / 100, h % 100)).unwrap()))),
    ]
}

fn language() -> impl Strategy<Value = Option<LanguageTemplate>> {
    proptest::option::of(
        ("[A-Z]{2}", "[一-龥a-z]{1,8}", proptest::option::of("[一-龥]{1,6}"))
            .prop_map(|(language, name, city)| LanguageTemplate { language, name, city, other: vec![] }),
    )
}

prop_compose! {
    fn payload()(
        initiation in proptest::option::of(prop_oneof![Just(Initiation::Static), Just(Initiation::Dynamic)]),
        accounts in proptest::collection::vec(account(), 1..3),
        mcc in 0u16..=9999,
        currency in proptest::sample::select(Currency::ALL.to_vec()),
        amount in proptest::option::of(amount()),
        tip in tip(),
        name in ans(25),
        city in ans(15),
        postal in proptest::option::of(ans(10)),
        extra in proptest::collection::vec(field(1..=99), 0..3),
        language in language(),
        unreserved in proptest::option::of((80u8..=99, template())),
    ) -> EmvPayload {
        let mut accounts = accounts;
        accounts.sort_by_key(MerchantAccount::id);
        accounts.dedup_by_key(|a| a.id());
        let mut p = EmvPayload::new(accounts[0].clone(), Mcc::new(mcc).unwrap(), currency, CountryCode::CN, name, city);
        p.merchant_accounts = accounts;
        p.initiation = initiation;
        p.amount = amount;
        p.tip = tip;
        p.postal_code = postal;
        let extra = unique(extra);
        p.additional_data = (!extra.is_empty()).then_some(AdditionalData { fields: extra });
        p.language = language;
        p.unreserved = unreserved.map(|(id, template)| UnreservedTemplate { id, template }).into_iter().collect();
        p
    }
}

fn sanitize(mut p: EmvPayload) -> EmvPayload {
    // Values the generator can produce but the format forbids: 62.09 takes only A/M/E.
    if let Some(data) = &mut p.additional_data {
        data.fields.retain(|f| f.id != 9);
        if data.fields.is_empty() {
            p.additional_data = None;
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_the_identity(p in payload().prop_map(sanitize)) {
        let text = p.encode().unwrap();
        let back = EmvPayload::decode(&text).unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.encode().unwrap(), text);
    }

    #[test]
    fn signed_codes_round_trip(
        account in any::<u128>(),
        minor in 1i64..10_000_000_000,
        order in "[0-9A-Za-z-]{1,25}",
        name in "[A-Z ]{1,25}",
        dynamic in any::<bool>(),
    ) {
        let codec = codec();
        let merchant = shop(account, &name);
        let order = OrderRef::new(&order).unwrap();
        let code = if dynamic {
            codec.dynamic_code(&merchant, cny(minor), &order, now()).unwrap()
        } else {
            codec.static_code(&merchant).unwrap()
        };
        let r = qianbao(codec.scan(&code, now()).unwrap());
        prop_assert_eq!(r.merchant_account, AccountId::from_u128(account));
        prop_assert_eq!(r.merchant_name, name);
        prop_assert_eq!(r.amount, dynamic.then_some(cny(minor)));
        prop_assert_eq!(r.order_ref, dynamic.then_some(order));
    }

    /// Every single changed character of a signed code is a typed error. With the CRC recomputed (a
    /// forger who knows CRC-16), the code is still never accepted as ours: it is refused, or — only when
    /// the change hits our template's id or GUID — reads as a foreign code that names no qianbao account.
    #[test]
    fn every_single_changed_character_is_detected(
        dynamic in any::<bool>(),
        position in any::<proptest::sample::Index>(),
        replacement in prop_oneof![proptest::char::range(' ', '~'), Just('钱'), Just('\n')],
    ) {
        let codec = codec();
        let order = OrderRef::new("ORD-42").unwrap();
        let code = if dynamic {
            codec.dynamic_code(&shop(9, "CAFE"), cny(2500), &order, now()).unwrap()
        } else {
            codec.static_code(&shop(9, "CAFE")).unwrap()
        };
        let chars: Vec<char> = code.chars().collect();
        let i = position.index(chars.len());
        prop_assume!(chars[i] != replacement);
        let mut changed = chars.clone();
        changed[i] = replacement;
        let changed: String = changed.into_iter().collect();
        prop_assert!(codec.scan(&changed, now()).is_err());
        if i < chars.len() - 4 && changed.is_char_boundary(changed.len() - 4) {
            match codec.scan(&refresh_crc(&changed), now()) {
                Err(_) => {}
                Ok(ScannedCode::Foreign(_)) => prop_assert!((12..14).contains(&i) || (20..30).contains(&i), "foreign at {}", i),
                Ok(ScannedCode::Qianbao(r)) => prop_assert!(false, "accepted a tampered code at {}: {:?}", i, r),
            }
        }
    }
}

/// Every file of the `qr_decode` fuzz corpus, sorted by name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    qianbao_store::testing::fuzz_corpus("qr_decode")
}

/// The same checks as `fuzz/fuzz_targets/qr_decode.rs`.
#[test]
fn qr_decode_corpus_holds_the_fuzz_properties() {
    let codec = codec();
    let mut decoded = Vec::new();
    let mut ours = 0;
    for (name, input) in corpus() {
        if let Ok(p) = EmvPayload::decode_bytes(&input) {
            let text = p.encode().unwrap();
            assert_eq!(EmvPayload::decode(&text).unwrap(), p, "{name}: re-encoding changed the value");
            decoded.push(name.clone());
        }
        if let Ok(text) = std::str::from_utf8(&input)
            && let Ok(ScannedCode::Qianbao(_)) = codec.scan(text, now())
        {
            ours += 1;
        }
    }
    assert_eq!(decoded, ["emvco_sample", "minimal", "qianbao_dynamic", "qianbao_static"]);
    assert_eq!(ours, 2, "the two signed seeds verify");
}

/// The fuzz target's checks on one input.
fn fuzz_checks(codec: &QrCodec, input: &[u8]) {
    let decoded = EmvPayload::decode_bytes(input);
    if let Ok(p) = &decoded {
        let text = p.encode().expect("a decoded payload encodes");
        assert_eq!(EmvPayload::decode(&text).as_ref(), Ok(p));
    }
    if let Ok(text) = std::str::from_utf8(input) {
        let scanned = codec.scan(text, now());
        assert!(scanned.is_err() || decoded.is_ok());
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(proptest::sample::Index, usize),
    Insert(proptest::sample::Index, String),
    Replace(proptest::sample::Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let index = any::<proptest::sample::Index>();
    prop_oneof![
        (index.clone(), 1usize..6).prop_map(|(i, n)| Edit::Delete(i, n)),
        (index.clone(), "[0-9]{1,6}|[ -~]{1,4}|钱").prop_map(|(i, s)| Edit::Insert(i, s)),
        (index, proptest::char::any()).prop_map(|(i, c)| Edit::Replace(i, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// A stand-in for running the fuzzer in CI: arbitrary bytes, and the corpus seeds under random
    /// edits (with the CRC recomputed half of the time so the structural checks are reached), hold the
    /// fuzz target's properties and never panic.
    #[test]
    fn mutated_corpus_holds_the_fuzz_properties(
        seed in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..4),
        fix_crc in any::<bool>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let codec = codec();
        fuzz_checks(&codec, &bytes);
        let seeds: Vec<String> = corpus().into_iter().filter_map(|(_, b)| String::from_utf8(b).ok()).collect();
        let mut chars: Vec<char> = seeds[seed.index(seeds.len())].chars().collect();
        for e in edits {
            let at = |i: &proptest::sample::Index| i.index(chars.len() + 1);
            match e {
                Edit::Delete(i, n) => { let p = at(&i); chars.drain(p..(p + n).min(chars.len())); }
                Edit::Insert(i, s) => { let p = at(&i); chars.splice(p..p, s.chars()); }
                Edit::Replace(i, c) => { if !chars.is_empty() { let p = i.index(chars.len()); chars[p] = c; } }
            }
        }
        let mut text: String = chars.into_iter().collect();
        if fix_crc && text.len() >= 4 && text.is_char_boundary(text.len() - 4) {
            text = refresh_crc(&text);
        }
        fuzz_checks(&codec, text.as_bytes());
    }
}
