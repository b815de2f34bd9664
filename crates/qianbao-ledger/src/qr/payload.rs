//! The decoded form of a merchant-presented payload and its canonical encoding.

use qianbao_core::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::fields::{CountryCode, EmvAmount, Mcc};
use super::spec::{self, *};
use super::tlv::{crc16, push};
use super::{FieldPath, QrError};

/// Point of initiation method (object 01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiation {
    /// `11`: the same code serves many payments (a sticker at the till).
    Static,
    /// `12`: a code for one payment, usually with its amount.
    Dynamic,
}

/// A data object inside a template: a sub-id and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// The sub-id, `00` to `99`.
    pub id: u8,
    /// The value, 1 to 99 characters.
    pub value: String,
}

impl Field {
    /// A field.
    pub fn new(id: u8, value: impl Into<String>) -> Self {
        Field { id, value: value.into() }
    }
}

/// A template with a globally unique identifier (sub-id 00) and its own fields (sub-ids 01 to 99).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Template {
    /// Who defines the template: a reverse domain name, an AID or a UUID without hyphens (≤ 32 chars).
    pub guid: String,
    /// The other fields, in ascending sub-id order.
    pub fields: Vec<Field>,
}

impl Template {
    /// The value of sub-id `id`.
    pub fn field(&self, id: u8) -> Option<&str> {
        self.fields.iter().find(|f| f.id == id).map(|f| f.value.as_str())
    }
}

/// Merchant account information (objects 02 to 51).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantAccount {
    /// Ids 02 to 25: a value reserved for a payment network (Visa, Mastercard, UnionPay, …).
    Network {
        /// The id, 02 to 25.
        id: u8,
        /// The network's value.
        value: String,
    },
    /// Ids 26 to 51: a template with a GUID.
    Template {
        /// The id, 26 to 51.
        id: u8,
        /// The template.
        template: Template,
    },
}

impl MerchantAccount {
    /// The object id.
    pub fn id(&self) -> u8 {
        match self {
            MerchantAccount::Network { id, .. } | MerchantAccount::Template { id, .. } => *id,
        }
    }
}

/// An unreserved template (objects 80 to 99).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnreservedTemplate {
    /// The id, 80 to 99.
    pub id: u8,
    /// The template.
    pub template: Template,
}

/// Tip or convenience fee (objects 55, 56, 57).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tip {
    /// `01`: the app asks the payer for a tip.
    Prompt,
    /// `02`: a fixed convenience fee (object 56).
    FixedFee(EmvAmount),
    /// `03`: a percentage convenience fee (object 57), `0.01` to `99.99`.
    PercentageFee(EmvAmount),
}

/// Additional data (object 62): sub-ids 01 bill number, 02 mobile number, 03 store label, 04 loyalty
/// number, 05 reference label, 06 customer label, 07 terminal label, 08 purpose, 09 consumer data
/// request, 10–49 RFU, 50–99 payment-system specific.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdditionalData {
    /// The fields in ascending sub-id order.
    pub fields: Vec<Field>,
}

impl AdditionalData {
    /// The value of sub-id `id`.
    pub fn get(&self, id: u8) -> Option<&str> {
        self.fields.iter().find(|f| f.id == id).map(|f| f.value.as_str())
    }

    /// Sets sub-id `id`, replacing an earlier value.
    pub fn set(&mut self, id: u8, value: impl Into<String>) {
        self.fields.retain(|f| f.id != id);
        self.fields.push(Field::new(id, value));
        self.fields.sort_by_key(|f| f.id);
    }

    /// 62.01, the bill number.
    pub fn bill_number(&self) -> Option<&str> {
        self.get(1)
    }

    /// 62.03, the store label.
    pub fn store_label(&self) -> Option<&str> {
        self.get(3)
    }

    /// 62.05, the reference label (our order reference).
    pub fn reference_label(&self) -> Option<&str> {
        self.get(5)
    }

    /// 62.07, the terminal label.
    pub fn terminal_label(&self) -> Option<&str> {
        self.get(7)
    }
}

/// Merchant information in an alternate language (object 64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LanguageTemplate {
    /// 64.00, ISO 639-1 code, e.g. `ZH`.
    pub language: String,
    /// 64.01, the merchant's name in that language (≤ 25 characters, any script).
    pub name: String,
    /// 64.02, the city in that language (≤ 15 characters).
    pub city: Option<String>,
    /// Sub-ids 03 to 99 (RFU), ascending.
    pub other: Vec<Field>,
}

/// A merchant-presented EMVCo payload, decoded. Lists are kept in ascending id order; [`encode`]
/// writes objects in ascending id order with the CRC last.
///
/// [`encode`]: EmvPayload::encode
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmvPayload {
    /// Object 01, when present.
    pub initiation: Option<Initiation>,
    /// Objects 02 to 51; at least one.
    pub merchant_accounts: Vec<MerchantAccount>,
    /// Object 52.
    pub mcc: Mcc,
    /// Object 53, the ISO 4217 numeric code (see [`EmvPayload::currency`]).
    pub currency_numeric: u16,
    /// Object 54; absent when the payer enters the amount.
    pub amount: Option<EmvAmount>,
    /// Objects 55 to 57.
    pub tip: Option<Tip>,
    /// Object 58.
    pub country: CountryCode,
    /// Object 59, ≤ 25 printable ASCII characters.
    pub merchant_name: String,
    /// Object 60, ≤ 15 printable ASCII characters.
    pub merchant_city: String,
    /// Object 61, ≤ 10 characters.
    pub postal_code: Option<String>,
    /// Object 62.
    pub additional_data: Option<AdditionalData>,
    /// Object 64.
    pub language: Option<LanguageTemplate>,
    /// Objects 65 to 79 (reserved by EMVCo), kept as found.
    pub rfu: Vec<Field>,
    /// Objects 80 to 99.
    pub unreserved: Vec<UnreservedTemplate>,
}

impl EmvPayload {
    /// A payload with the mandatory objects; set the optional ones on the value.
    pub fn new(
        account: MerchantAccount,
        mcc: Mcc,
        currency: Currency,
        country: CountryCode,
        merchant_name: impl Into<String>,
        merchant_city: impl Into<String>,
    ) -> Self {
        EmvPayload {
            initiation: None,
            merchant_accounts: vec![account],
            mcc,
            currency_numeric: currency.numeric(),
            amount: None,
            tip: None,
            country,
            merchant_name: merchant_name.into(),
            merchant_city: merchant_city.into(),
            postal_code: None,
            additional_data: None,
            language: None,
            rfu: Vec::new(),
            unreserved: Vec::new(),
        }
    }

    /// The transaction currency, when this wallet supports it.
    pub fn currency(&self) -> Result<Currency, QrError> {
        Currency::from_numeric(self.currency_numeric)
            .map_err(|_| QrError::UnknownCurrency { numeric: self.currency_numeric })
    }

    /// The transaction amount as money, `None` when the payer enters it.
    pub fn amount_money(&self) -> Result<Option<Money>, QrError> {
        let Some(amount) = &self.amount else { return Ok(None) };
        let currency = self.currency()?;
        amount.to_money(currency).map(Some).map_err(|reason| QrError::Invalid {
            path: FieldPath::root(AMOUNT),
            name: root_name(AMOUNT),
            reason,
        })
    }

    /// The merchant account template with this GUID (compared ignoring ASCII case), and its id.
    pub fn account_template(&self, guid: &str) -> Option<(u8, &Template)> {
        self.merchant_accounts.iter().find_map(|a| match a {
            MerchantAccount::Template { id, template } if template.guid.eq_ignore_ascii_case(guid) => {
                Some((*id, template))
            }
            _ => None,
        })
    }

    /// The canonical text: objects in ascending id order, then the CRC. Every value is checked
    /// against the format; a value that would not decode is refused.
    pub fn encode(&self) -> Result<String, QrError> {
        let mut out = self.encode_body()?;
        out.push_str("6304");
        let crc = crc16(&out);
        out.push_str(&crc);
        let chars = out.chars().count();
        if chars > MAX_PAYLOAD_CHARS {
            return Err(QrError::TooLong { chars, max: MAX_PAYLOAD_CHARS });
        }
        Ok(out)
    }

    fn encode_body(&self) -> Result<String, QrError> {
        let mut out = String::with_capacity(256);
        root(&mut out, PAYLOAD_FORMAT, "01")?;
        if let Some(i) = self.initiation {
            root(&mut out, INITIATION, if i == Initiation::Static { "11" } else { "12" })?;
        }
        self.encode_accounts(&mut out)?;
        root(&mut out, MCC, &self.mcc.to_string())?;
        root(&mut out, CURRENCY, &format!("{:03}", self.currency_numeric))?;
        if let Some(a) = &self.amount {
            root(&mut out, AMOUNT, a.as_str())?;
        }
        match &self.tip {
            None => {}
            Some(Tip::Prompt) => root(&mut out, TIP, "01")?,
            Some(Tip::FixedFee(a)) => {
                root(&mut out, TIP, "02")?;
                root(&mut out, FEE_FIXED, a.as_str())?;
            }
            Some(Tip::PercentageFee(p)) => {
                root(&mut out, TIP, "03")?;
                root(&mut out, FEE_PERCENT, p.as_str())?;
            }
        }
        root(&mut out, COUNTRY, self.country.as_str())?;
        root(&mut out, NAME, &self.merchant_name)?;
        root(&mut out, CITY, &self.merchant_city)?;
        if let Some(p) = &self.postal_code {
            root(&mut out, POSTAL, p)?;
        }
        self.encode_templates(&mut out)?;
        Ok(out)
    }

    fn encode_accounts(&self, out: &mut String) -> Result<(), QrError> {
        if self.merchant_accounts.is_empty() {
            return Err(unencodable(FieldPath::root(2), "at least one merchant account is required".into()));
        }
        let mut accounts: Vec<&MerchantAccount> = self.merchant_accounts.iter().collect();
        accounts.sort_by_key(|a| a.id());
        check_unique(accounts.iter().map(|a| a.id()), None)?;
        for account in accounts {
            match account {
                MerchantAccount::Network { id, value } if NETWORK_IDS.contains(id) => root(out, *id, value)?,
                MerchantAccount::Template { id, template } if ACCOUNT_TEMPLATE_IDS.contains(id) => {
                    template_object(out, *id, template)?
                }
                other => {
                    let reason = "network values take ids 02-25, templates 26-51".to_owned();
                    return Err(unencodable(FieldPath::root(other.id()), reason));
                }
            }
        }
        Ok(())
    }

    fn encode_templates(&self, out: &mut String) -> Result<(), QrError> {
        if let Some(data) = &self.additional_data {
            let mut inner = String::new();
            write_fields(&mut inner, ADDITIONAL, &data.fields)?;
            wrap(out, ADDITIONAL, &inner)?;
        }
        if let Some(lang) = &self.language {
            let mut inner = String::new();
            sub(&mut inner, LANGUAGE, 0, &lang.language)?;
            sub(&mut inner, LANGUAGE, 1, &lang.name)?;
            if let Some(city) = &lang.city {
                sub(&mut inner, LANGUAGE, 2, city)?;
            }
            if lang.other.iter().any(|f| f.id < 3) {
                return Err(unencodable(FieldPath::root(LANGUAGE), "other fields take sub-ids 03-99".into()));
            }
            write_fields(&mut inner, LANGUAGE, &lang.other)?;
            wrap(out, LANGUAGE, &inner)?;
        }
        let mut rfu: Vec<&Field> = self.rfu.iter().collect();
        rfu.sort_by_key(|f| f.id);
        check_unique(rfu.iter().map(|f| f.id), None)?;
        for f in rfu {
            if !RFU_IDS.contains(&f.id) {
                return Err(unencodable(FieldPath::root(f.id), "RFU objects take ids 65-79".into()));
            }
            root(out, f.id, &f.value)?;
        }
        let mut unreserved: Vec<&UnreservedTemplate> = self.unreserved.iter().collect();
        unreserved.sort_by_key(|t| t.id);
        check_unique(unreserved.iter().map(|t| t.id), None)?;
        for t in unreserved {
            if !UNRESERVED_IDS.contains(&t.id) {
                return Err(unencodable(FieldPath::root(t.id), "unreserved templates take ids 80-99".into()));
            }
            template_object(out, t.id, &t.template)?;
        }
        Ok(())
    }
}

fn unencodable(path: FieldPath, reason: String) -> QrError {
    let name = match path.template {
        Some(t) => spec::sub_name(t, path.id),
        None => root_name(path.id),
    };
    QrError::Unencodable { path, name, reason }
}

fn root(out: &mut String, id: u8, value: &str) -> Result<(), QrError> {
    spec::check_root(id, value).map_err(|reason| unencodable(FieldPath::root(id), reason))?;
    push(out, id, value);
    Ok(())
}

fn sub(out: &mut String, template: u8, id: u8, value: &str) -> Result<(), QrError> {
    spec::check_sub(template, id, value).map_err(|reason| unencodable(FieldPath::sub(template, id), reason))?;
    push(out, id, value);
    Ok(())
}

fn wrap(out: &mut String, id: u8, inner: &str) -> Result<(), QrError> {
    let n = inner.chars().count();
    if !(1..=99).contains(&n) {
        return Err(unencodable(FieldPath::root(id), format!("the template takes {n} characters; 1 to 99 fit")));
    }
    push(out, id, inner);
    Ok(())
}

fn check_unique(ids: impl Iterator<Item = u8>, template: Option<u8>) -> Result<(), QrError> {
    let mut last = None;
    for id in ids {
        if last == Some(id) {
            return Err(QrError::Duplicate { path: FieldPath { template, id } });
        }
        last = Some(id);
    }
    Ok(())
}

fn write_fields(out: &mut String, template: u8, fields: &[Field]) -> Result<(), QrError> {
    let mut sorted: Vec<&Field> = fields.iter().collect();
    sorted.sort_by_key(|f| f.id);
    check_unique(sorted.iter().map(|f| f.id), Some(template))?;
    for f in sorted {
        if f.id > 99 {
            return Err(unencodable(FieldPath::sub(template, f.id), "sub-ids are 00 to 99".into()));
        }
        sub(out, template, f.id, &f.value)?;
    }
    Ok(())
}

fn template_object(out: &mut String, id: u8, template: &Template) -> Result<(), QrError> {
    let mut inner = String::new();
    sub(&mut inner, id, 0, &template.guid)?;
    if template.fields.iter().any(|f| f.id == 0) {
        return Err(unencodable(FieldPath::sub(id, 0), "the GUID is set once, in `guid`".into()));
    }
    write_fields(&mut inner, id, &template.fields)?;
    wrap(out, id, &inner)
}
