//! The per-object rules of EMV QRCPS merchant-presented mode: names, formats and limits. Encoding and
//! decoding both check values here, so whatever one accepts the other accepts too.

use super::fields::{CountryCode, EmvAmount, check_ans, check_digits, check_text};

/// Payload Format Indicator.
pub(crate) const PAYLOAD_FORMAT: u8 = 0;
/// Point of Initiation Method.
pub(crate) const INITIATION: u8 = 1;
/// Merchant Category Code.
pub(crate) const MCC: u8 = 52;
/// Transaction Currency.
pub(crate) const CURRENCY: u8 = 53;
/// Transaction Amount.
pub(crate) const AMOUNT: u8 = 54;
/// Tip or Convenience Indicator.
pub(crate) const TIP: u8 = 55;
/// Value of Convenience Fee Fixed.
pub(crate) const FEE_FIXED: u8 = 56;
/// Value of Convenience Fee Percentage.
pub(crate) const FEE_PERCENT: u8 = 57;
/// Country Code.
pub(crate) const COUNTRY: u8 = 58;
/// Merchant Name.
pub(crate) const NAME: u8 = 59;
/// Merchant City.
pub(crate) const CITY: u8 = 60;
/// Postal Code.
pub(crate) const POSTAL: u8 = 61;
/// Additional Data Field Template.
pub(crate) const ADDITIONAL: u8 = 62;
/// CRC.
pub(crate) const CRC: u8 = 63;
/// Merchant Information — Language Template.
pub(crate) const LANGUAGE: u8 = 64;

/// The most characters a payload may hold.
pub(crate) const MAX_PAYLOAD_CHARS: usize = 512;

/// Ids of merchant account information: primitive values reserved for payment networks.
pub(crate) const NETWORK_IDS: std::ops::RangeInclusive<u8> = 2..=25;
/// Ids of merchant account information templates (with a GUID at sub-id 00).
pub(crate) const ACCOUNT_TEMPLATE_IDS: std::ops::RangeInclusive<u8> = 26..=51;
/// Ids reserved for future use by EMVCo.
pub(crate) const RFU_IDS: std::ops::RangeInclusive<u8> = 65..=79;
/// Ids of unreserved templates (with a GUID at sub-id 00).
pub(crate) const UNRESERVED_IDS: std::ops::RangeInclusive<u8> = 80..=99;

/// The specification's name of a root object.
pub(crate) fn root_name(id: u8) -> &'static str {
    match id {
        PAYLOAD_FORMAT => "payload format indicator",
        INITIATION => "point of initiation method",
        2..=51 => "merchant account information",
        MCC => "merchant category code",
        CURRENCY => "transaction currency",
        AMOUNT => "transaction amount",
        TIP => "tip or convenience indicator",
        FEE_FIXED => "value of convenience fee fixed",
        FEE_PERCENT => "value of convenience fee percentage",
        COUNTRY => "country code",
        NAME => "merchant name",
        CITY => "merchant city",
        POSTAL => "postal code",
        ADDITIONAL => "additional data field template",
        CRC => "CRC",
        LANGUAGE => "merchant information language template",
        65..=79 => "RFU for EMVCo",
        _ => "unreserved template",
    }
}

/// The specification's name of an object inside template `template`.
pub(crate) fn sub_name(template: u8, id: u8) -> &'static str {
    match (template, id) {
        (ADDITIONAL, 1) => "bill number",
        (ADDITIONAL, 2) => "mobile number",
        (ADDITIONAL, 3) => "store label",
        (ADDITIONAL, 4) => "loyalty number",
        (ADDITIONAL, 5) => "reference label",
        (ADDITIONAL, 6) => "customer label",
        (ADDITIONAL, 7) => "terminal label",
        (ADDITIONAL, 8) => "purpose of transaction",
        (ADDITIONAL, 9) => "additional consumer data request",
        (ADDITIONAL, _) => "additional data (RFU or payment system specific)",
        (LANGUAGE, 0) => "language preference",
        (LANGUAGE, 1) => "merchant name, alternate language",
        (LANGUAGE, 2) => "merchant city, alternate language",
        (LANGUAGE, _) => "language template (RFU)",
        (_, 0) => "globally unique identifier",
        _ => "template data",
    }
}

/// Checks a primitive root object's value (not templates, not the CRC).
pub(crate) fn check_root(id: u8, value: &str) -> Result<(), String> {
    match id {
        PAYLOAD_FORMAT => one_of(value, &["01"]),
        INITIATION => one_of(value, &["11", "12"]),
        MCC => check_digits(value, 4),
        CURRENCY => check_digits(value, 3),
        AMOUNT | FEE_FIXED => EmvAmount::parse(value).map(drop),
        TIP => one_of(value, &["01", "02", "03"]),
        FEE_PERCENT => check_percentage(value),
        COUNTRY => CountryCode::parse(value).map(drop),
        NAME => check_ans(value, 25),
        CITY => check_ans(value, 15),
        POSTAL => check_ans(value, 10),
        _ => check_ans(value, 99),
    }
}

/// Checks a value inside template `template`.
pub(crate) fn check_sub(template: u8, id: u8, value: &str) -> Result<(), String> {
    match (template, id) {
        (ADDITIONAL, 1..=8) => check_ans(value, 25),
        (ADDITIONAL, 9) => check_consumer_request(value),
        (LANGUAGE, 0) => check_language(value),
        (LANGUAGE, 1) => check_text(value, 25),
        (LANGUAGE, 2) => check_text(value, 15),
        (ADDITIONAL | LANGUAGE, _) => check_ans(value, 99),
        (_, 0) => check_ans(value, 32),
        _ => check_ans(value, 99),
    }
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) { Ok(()) } else { Err(format!("{value:?} is not one of {allowed:?}")) }
}

fn check_percentage(value: &str) -> Result<(), String> {
    let amount = EmvAmount::parse_max(value, 5)?;
    let hundredths = amount.to_money(qianbao_core::Currency::CNY)?.minor();
    if (1..10_000).contains(&hundredths) {
        Ok(())
    } else {
        Err(format!("{value:?} is not a percentage between 0.01 and 99.99"))
    }
}

fn check_consumer_request(value: &str) -> Result<(), String> {
    let ok = (1..=3).contains(&value.len())
        && value.bytes().all(|b| matches!(b, b'A' | b'M' | b'E'))
        && !value.bytes().enumerate().any(|(i, b)| value.as_bytes()[..i].contains(&b));
    if ok { Ok(()) } else { Err(format!("{value:?} is not 1 to 3 distinct letters of A, M, E")) }
}

fn check_language(value: &str) -> Result<(), String> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(format!("{value:?} is not a 2-letter ISO 639-1 language code"))
    }
}
