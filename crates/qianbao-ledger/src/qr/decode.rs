//! Strict decoding of a merchant-presented payload.

use super::fields::{CountryCode, EmvAmount, Mcc};
use super::payload::*;
use super::spec::{self, *};
use super::tlv::{RawObject, crc16, split};
use super::{FieldPath, QrError};

fn invalid(path: FieldPath, reason: String) -> QrError {
    let name = match path.template {
        Some(t) => spec::sub_name(t, path.id),
        None => root_name(path.id),
    };
    QrError::Invalid { path, name, reason }
}

fn missing(path: FieldPath) -> QrError {
    let name = match path.template {
        Some(t) => spec::sub_name(t, path.id),
        None => root_name(path.id),
    };
    QrError::Missing { path, name }
}

/// Checks the CRC: the payload must end with `6304` and four uppercase hex digits computed over
/// everything before them.
pub(crate) fn check_crc(text: &str) -> Result<(), QrError> {
    let crc_path = FieldPath::root(CRC);
    let body_len = text.len().checked_sub(4).filter(|n| text.is_char_boundary(*n)).ok_or(missing(crc_path))?;
    let (body, found) = text.split_at(body_len);
    if !body.ends_with("6304") {
        return Err(QrError::Misplaced { path: crc_path, rule: "the payload must end with 6304 and the CRC" });
    }
    let computed = crc16(body);
    if found.bytes().any(|b| !(b.is_ascii_digit() || (b'A'..=b'F').contains(&b))) {
        let reason = format!("{found:?} is not 4 uppercase hexadecimal digits");
        return Err(invalid(crc_path, reason));
    }
    if found != computed {
        return Err(QrError::CrcMismatch { computed, found: found.to_owned() });
    }
    Ok(())
}

impl EmvPayload {
    /// Decodes scanned bytes: they must be UTF-8, then as [`EmvPayload::decode`].
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, QrError> {
        std::str::from_utf8(bytes).map_err(|_| QrError::NotUtf8).and_then(Self::decode)
    }

    /// Decodes a payload strictly: at most 512 characters, a valid CRC, well-formed TLV (2-digit ids
    /// and lengths counted in characters, no empty values, no duplicate ids in any template), `00`
    /// first with value `01`, `63` last, every mandatory object present and every value in its format.
    /// Objects between `00` and `63` may come in any order, as EMVCo allows.
    pub fn decode(text: &str) -> Result<Self, QrError> {
        let chars = text.chars().count();
        if chars > MAX_PAYLOAD_CHARS {
            return Err(QrError::TooLong { chars, max: MAX_PAYLOAD_CHARS });
        }
        check_crc(text)?;
        let objects = split(text, None)?;
        check_order(&objects)?;
        let mut b = Builder::default();
        for o in &objects[..objects.len() - 1] {
            b.take(o)?;
        }
        b.finish()
    }
}

fn check_order(objects: &[RawObject<'_>]) -> Result<(), QrError> {
    match objects.first() {
        Some(o) if o.id == PAYLOAD_FORMAT => {}
        Some(o) => {
            return Err(QrError::Misplaced {
                path: FieldPath::root(o.id),
                rule: "the payload format indicator (00) must come first",
            });
        }
        None => return Err(missing(FieldPath::root(PAYLOAD_FORMAT))),
    }
    match objects.last() {
        Some(o) if o.id == CRC && o.value.len() == 4 => Ok(()),
        _ => Err(QrError::Misplaced { path: FieldPath::root(CRC), rule: "the CRC (63, length 04) must come last" }),
    }
}

#[derive(Default)]
struct Builder {
    initiation: Option<Initiation>,
    accounts: Vec<MerchantAccount>,
    mcc: Option<Mcc>,
    currency: Option<u16>,
    amount: Option<EmvAmount>,
    tip: Option<String>,
    fee_fixed: Option<EmvAmount>,
    fee_percent: Option<EmvAmount>,
    country: Option<CountryCode>,
    name: Option<String>,
    city: Option<String>,
    postal: Option<String>,
    additional: Option<AdditionalData>,
    language: Option<LanguageTemplate>,
    rfu: Vec<Field>,
    unreserved: Vec<UnreservedTemplate>,
}

impl Builder {
    fn take(&mut self, o: &RawObject<'_>) -> Result<(), QrError> {
        let path = FieldPath::root(o.id);
        let v = o.value;
        match o.id {
            ADDITIONAL => self.additional = Some(AdditionalData { fields: fields(ADDITIONAL, v)? }),
            LANGUAGE => self.language = Some(language(v)?),
            id if ACCOUNT_TEMPLATE_IDS.contains(&id) => {
                self.accounts.push(MerchantAccount::Template { id, template: template(id, v)? })
            }
            id if UNRESERVED_IDS.contains(&id) => {
                self.unreserved.push(UnreservedTemplate { id, template: template(id, v)? })
            }
            CRC => return Err(QrError::Misplaced { path, rule: "the CRC (63) must come last" }),
            id => {
                spec::check_root(id, v).map_err(|reason| invalid(path, reason))?;
                self.primitive(id, v);
            }
        }
        Ok(())
    }

    /// Stores a primitive whose value `check_root` accepted.
    fn primitive(&mut self, id: u8, v: &str) {
        let amount = || EmvAmount::parse_max(v, EmvAmount::MAX_CHARS).ok();
        match id {
            INITIATION => self.initiation = Some(if v == "11" { Initiation::Static } else { Initiation::Dynamic }),
            MCC => self.mcc = Mcc::parse(v).ok(),
            CURRENCY => self.currency = v.parse().ok(),
            AMOUNT => self.amount = amount(),
            TIP => self.tip = Some(v.to_owned()),
            FEE_FIXED => self.fee_fixed = amount(),
            FEE_PERCENT => self.fee_percent = amount(),
            COUNTRY => self.country = CountryCode::parse(v).ok(),
            NAME => self.name = Some(v.to_owned()),
            CITY => self.city = Some(v.to_owned()),
            POSTAL => self.postal = Some(v.to_owned()),
            id if NETWORK_IDS.contains(&id) => self.accounts.push(MerchantAccount::Network { id, value: v.to_owned() }),
            id if RFU_IDS.contains(&id) => self.rfu.push(Field::new(id, v)),
            _ => {}
        }
    }

    fn tip(&mut self) -> Result<Option<Tip>, QrError> {
        let stray = |id| QrError::Misplaced { path: FieldPath::root(id), rule: "56 needs 55 = 02, 57 needs 55 = 03" };
        let tip = match self.tip.as_deref() {
            None => None,
            Some("01") => Some(Tip::Prompt),
            Some("02") => Some(Tip::FixedFee(self.fee_fixed.take().ok_or(missing(FieldPath::root(FEE_FIXED)))?)),
            Some(_) => Some(Tip::PercentageFee(self.fee_percent.take().ok_or(missing(FieldPath::root(FEE_PERCENT)))?)),
        };
        match (self.fee_fixed.is_some(), self.fee_percent.is_some()) {
            (true, _) => Err(stray(FEE_FIXED)),
            (_, true) => Err(stray(FEE_PERCENT)),
            _ => Ok(tip),
        }
    }

    fn finish(mut self) -> Result<EmvPayload, QrError> {
        let need = |id| missing(FieldPath::root(id));
        if self.accounts.is_empty() {
            return Err(need(2));
        }
        let tip = self.tip()?;
        self.accounts.sort_by_key(MerchantAccount::id);
        self.rfu.sort_by_key(|f| f.id);
        self.unreserved.sort_by_key(|t| t.id);
        Ok(EmvPayload {
            initiation: self.initiation,
            merchant_accounts: self.accounts,
            mcc: self.mcc.ok_or(need(MCC))?,
            currency_numeric: self.currency.ok_or(need(CURRENCY))?,
            amount: self.amount,
            tip,
            country: self.country.ok_or(need(COUNTRY))?,
            merchant_name: self.name.ok_or(need(NAME))?,
            merchant_city: self.city.ok_or(need(CITY))?,
            postal_code: self.postal,
            additional_data: self.additional,
            language: self.language,
            rfu: self.rfu,
            unreserved: self.unreserved,
        })
    }
}

/// Splits and checks a template's fields, sorted by sub-id.
fn fields(template: u8, value: &str) -> Result<Vec<Field>, QrError> {
    let mut out = Vec::new();
    for o in split(value, Some(template))? {
        spec::check_sub(template, o.id, o.value).map_err(|reason| invalid(FieldPath::sub(template, o.id), reason))?;
        out.push(Field::new(o.id, o.value));
    }
    out.sort_by_key(|f| f.id);
    Ok(out)
}

fn template(id: u8, value: &str) -> Result<Template, QrError> {
    let mut all = fields(id, value)?;
    match all.first() {
        Some(f) if f.id == 0 => {
            let guid = all.remove(0).value;
            Ok(Template { guid, fields: all })
        }
        _ => Err(missing(FieldPath::sub(id, 0))),
    }
}

fn language(value: &str) -> Result<LanguageTemplate, QrError> {
    let mut all = fields(LANGUAGE, value)?;
    let mut take = |sub: u8| all.iter().position(|f| f.id == sub).map(|i| all.remove(i).value);
    let language = take(0).ok_or(missing(FieldPath::sub(LANGUAGE, 0)))?;
    let name = take(1).ok_or(missing(FieldPath::sub(LANGUAGE, 1)))?;
    let city = take(2);
    Ok(LanguageTemplate { language, name, city, other: all })
}
