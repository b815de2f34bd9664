//! Our own codes: a merchant-account template signed by the wallet, and scanning into a payment request.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use qianbao_core::{AccountId, Currency, DigestKey, Money, Timestamp};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::fields::{CountryCode, EmvAmount, Mcc, OrderRef, check_ans};
use super::payload::*;
use super::spec::{ACCOUNT_TEMPLATE_IDS, ADDITIONAL};
use super::tlv::split;
use super::{FieldPath, QrError};

/// Sub-ids of our merchant-account template.
const SUB_ACCOUNT: u8 = 1;
const SUB_KEY: u8 = 2;
const SUB_EXPIRY: u8 = 3;
const SUB_SIGNATURE: u8 = 4;
/// Bytes of HMAC-SHA-256 kept in a code (128 bits), 22 base64url characters.
const TAG_BYTES: usize = 16;
const TAG_CHARS: usize = 22;
/// The digest purpose: separates these signatures from every other use of the key.
const PURPOSE: &str = "qianbao/qr-mpm/v1";
const NAME: &str = "qianbao merchant template";

/// A signing key's id, carried in each code so keys can be rotated: 1 to 4 ASCII letters or digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    /// Parses 1 to 4 ASCII letters or digits.
    pub fn new(text: &str) -> Result<Self, String> {
        if (1..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(KeyId(text.to_owned()))
        } else {
            Err(format!("{text:?} is not 1 to 4 ASCII letters or digits"))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl TryFrom<String> for KeyId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        KeyId::new(&s)
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.0
    }
}

/// The wallet's QR signing keys: one signs new codes, older ones still verify codes already printed.
#[derive(Debug, Clone)]
pub struct QrKeyring {
    signing: (KeyId, DigestKey),
    verifying: Vec<(KeyId, DigestKey)>,
}

impl QrKeyring {
    /// A keyring whose key `id` signs new codes.
    pub fn new(id: KeyId, key: DigestKey) -> Self {
        QrKeyring { signing: (id, key), verifying: Vec::new() }
    }

    /// Adds a key that verifies codes but signs none (a rotated-out key). Replaces an earlier verifying
    /// key of the same id; the signing key's id is left alone.
    pub fn with_verifying_key(mut self, id: KeyId, key: DigestKey) -> Self {
        if id != self.signing.0 {
            self.verifying.retain(|(k, _)| *k != id);
            self.verifying.push((id, key));
        }
        self
    }

    fn key(&self, id: &str) -> Option<&DigestKey> {
        std::iter::once(&self.signing).chain(&self.verifying).find(|(k, _)| k.as_str() == id).map(|(_, key)| key)
    }
}

/// How our codes look. The defaults suit a wallet operating in China.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QrConfig {
    /// Our template's globally unique identifier (sub-id 00). Default `cn.qianbao`.
    pub guid: String,
    /// The merchant-account template id we write (26 to 51). Default 26.
    pub template_id: u8,
    /// How long a dynamic code stays valid. Default 5 minutes.
    pub dynamic_ttl: Duration,
}

impl Default for QrConfig {
    fn default() -> Self {
        QrConfig { guid: "cn.qianbao".into(), template_id: 26, dynamic_ttl: Duration::from_secs(300) }
    }
}

/// The merchant a code pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantProfile {
    /// The merchant's ledger account.
    pub account: AccountId,
    /// Name shown to the payer (≤ 25 printable ASCII characters).
    pub name: String,
    /// City (≤ 15 printable ASCII characters).
    pub city: String,
    /// Merchant category code.
    pub mcc: Mcc,
    /// Country.
    pub country: CountryCode,
    /// The currency the merchant is paid in.
    pub currency: Currency,
    /// Name and city in another language, e.g. Chinese (`ZH`).
    pub local_name: Option<LanguageTemplate>,
    /// A store label (62.03), e.g. a branch.
    pub store_label: Option<String>,
    /// A terminal label (62.07), e.g. a till.
    pub terminal_label: Option<String>,
}

/// Static or dynamic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Many payments; the payer enters the amount.
    Static,
    /// One order: the amount is in the code and it expires.
    Dynamic,
}

/// What scanning one of our codes asks the payer to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentRequest {
    /// Static or dynamic.
    pub kind: CodeKind,
    /// The merchant's ledger account.
    pub merchant_account: AccountId,
    /// The merchant's name as printed in the code.
    pub merchant_name: String,
    /// The merchant's city.
    pub merchant_city: String,
    /// The merchant category code.
    pub mcc: Mcc,
    /// The currency.
    pub currency: Currency,
    /// The amount; `None` for a static code (the payer enters it).
    pub amount: Option<Money>,
    /// The merchant's order reference (dynamic codes).
    pub order_ref: Option<OrderRef>,
    /// When the code stops being valid (dynamic codes).
    pub expires_at: Option<Timestamp>,
    /// The key that signed it.
    pub key_id: KeyId,
}

/// The result of scanning a valid EMVCo code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScannedCode {
    /// One of ours, signature verified.
    Qianbao(PaymentRequest),
    /// A well-formed EMVCo code without our template: another network's code, unsigned by us. It
    /// cannot be paid through a qianbao merchant account.
    Foreign(Box<EmvPayload>),
}

/// Issues and scans the wallet's signed merchant-presented codes.
#[derive(Debug, Clone)]
pub struct QrCodec {
    config: QrConfig,
    keys: QrKeyring,
}

impl QrCodec {
    /// A codec; refuses a GUID that is not 1 to 32 printable ASCII characters or a template id outside
    /// 26 to 51.
    pub fn new(config: QrConfig, keys: QrKeyring) -> Result<Self, QrError> {
        let path = FieldPath::sub(config.template_id, 0);
        check_ans(&config.guid, 32).map_err(|reason| unencodable(path, reason))?;
        if !ACCOUNT_TEMPLATE_IDS.contains(&config.template_id) {
            return Err(unencodable(FieldPath::root(config.template_id), "our template takes an id 26-51".into()));
        }
        Ok(QrCodec { config, keys })
    }

    /// A static code for `merchant`: no amount, no expiry.
    pub fn static_code(&self, merchant: &MerchantProfile) -> Result<String, QrError> {
        self.sign(merchant, None)
    }

    /// A dynamic code for one order of `amount`, valid for [`QrConfig::dynamic_ttl`] from `now`
    /// (whole seconds). The amount must be positive and in the merchant's currency.
    pub fn dynamic_code(
        &self,
        merchant: &MerchantProfile,
        amount: Money,
        order_ref: &OrderRef,
        now: Timestamp,
    ) -> Result<String, QrError> {
        if !amount.is_positive() || amount.currency() != merchant.currency {
            let reason = format!("{amount} is not a positive amount in {}", merchant.currency);
            return Err(unencodable(FieldPath::root(super::spec::AMOUNT), reason));
        }
        let expires_at = Timestamp::from_unix_secs(now.saturating_add(self.config.dynamic_ttl).unix_secs());
        self.sign(merchant, Some((amount, order_ref, expires_at)))
    }

    fn sign(&self, m: &MerchantProfile, order: Option<(Money, &OrderRef, Timestamp)>) -> Result<String, QrError> {
        let placeholder = "A".repeat(TAG_CHARS);
        let payload = self.payload(m, order, &placeholder)?;
        let unsigned = payload.encode()?;
        let range = self.signature_range(&unsigned)?.ok_or(QrError::BadSignature)?;
        let tag = self.tag(&self.keys.signing.1, &unsigned, range.clone());
        let mut signed = unsigned;
        signed.replace_range(range, &BASE64URL_NOPAD.encode(&tag));
        let crc_at = signed.len() - 4;
        let crc = super::tlv::crc16(&signed[..crc_at]);
        signed.replace_range(crc_at.., &crc);
        Ok(signed)
    }

    fn payload(
        &self,
        m: &MerchantProfile,
        order: Option<(Money, &OrderRef, Timestamp)>,
        signature: &str,
    ) -> Result<EmvPayload, QrError> {
        let mut fields =
            vec![Field::new(SUB_ACCOUNT, m.account.to_string()), Field::new(SUB_KEY, self.keys.signing.0.as_str())];
        if let Some((_, _, expires_at)) = order {
            fields.push(Field::new(SUB_EXPIRY, expires_at.unix_secs().to_string()));
        }
        fields.push(Field::new(SUB_SIGNATURE, signature));
        let template = Template { guid: self.config.guid.clone(), fields };
        let account = MerchantAccount::Template { id: self.config.template_id, template };
        let mut p = EmvPayload::new(account, m.mcc, m.currency, m.country, &m.name, &m.city);
        p.language = m.local_name.clone();
        let mut data = AdditionalData::default();
        if let Some(s) = &m.store_label {
            data.set(3, s.as_str());
        }
        if let Some(t) = &m.terminal_label {
            data.set(7, t.as_str());
        }
        p.initiation = Some(Initiation::Static);
        if let Some((amount, order_ref, _)) = order {
            p.initiation = Some(Initiation::Dynamic);
            p.amount = Some(EmvAmount::from_money(amount).map_err(|r| unencodable(FieldPath::root(54), r))?);
            data.set(5, order_ref.as_str());
        }
        p.additional_data = (!data.fields.is_empty()).then_some(data);
        Ok(p)
    }

    /// The byte range of our signature's value, `None` when the payload has no template of ours.
    fn signature_range(&self, text: &str) -> Result<Option<Range<usize>>, QrError> {
        let mut found = None;
        for o in split(text, None)? {
            if !ACCOUNT_TEMPLATE_IDS.contains(&o.id) {
                continue;
            }
            let subs = split(o.value, Some(o.id))?;
            let ours = subs.iter().any(|s| s.id == 0 && s.value.eq_ignore_ascii_case(&self.config.guid));
            if !ours {
                continue;
            }
            if found.is_some() {
                return Err(QrError::Duplicate { path: FieldPath::root(o.id) });
            }
            let sig =
                subs.iter().find(|s| s.id == SUB_SIGNATURE).ok_or(missing(FieldPath::sub(o.id, SUB_SIGNATURE)))?;
            let r = sig.value_range();
            found = Some(o.value_start + r.start..o.value_start + r.end);
        }
        Ok(found)
    }

    /// HMAC over the whole payload through `6304`, with the signature's value left out.
    fn tag(&self, key: &DigestKey, text: &str, signature: Range<usize>) -> [u8; TAG_BYTES] {
        let mut message = String::with_capacity(text.len());
        message.push_str(&text[..signature.start]);
        message.push_str(&text[signature.end..text.len() - 4]);
        let full = key.digest(PURPOSE, message.as_bytes());
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// Scans a payload at time `now`: checks the CRC and the format strictly, then, when the code has
    /// our template, its signature, its fields and its expiry. A well-formed code without our template
    /// is [`ScannedCode::Foreign`].
    pub fn scan(&self, text: &str, now: Timestamp) -> Result<ScannedCode, QrError> {
        let payload = EmvPayload::decode(text)?;
        let Some(range) = self.signature_range(text)? else {
            return Ok(ScannedCode::Foreign(Box::new(payload)));
        };
        let Some((id, template)) = payload.account_template(&self.config.guid) else {
            return Ok(ScannedCode::Foreign(Box::new(payload)));
        };
        let field = |sub: u8| template.field(sub).ok_or(missing(FieldPath::sub(id, sub)));
        let key_id = field(SUB_KEY)?;
        let key = self.keys.key(key_id).ok_or_else(|| QrError::UnknownKey { key_id: key_id.to_owned() })?;
        let signature = BASE64URL_NOPAD.decode(field(SUB_SIGNATURE)?.as_bytes()).map_err(|_| QrError::BadSignature)?;
        let expected = self.tag(key, text, range);
        if signature.len() != TAG_BYTES || !bool::from(expected.ct_eq(signature.as_slice())) {
            return Err(QrError::BadSignature);
        }
        let request = request(&payload, id, template, now)?;
        Ok(ScannedCode::Qianbao(request))
    }
}

fn request(p: &EmvPayload, id: u8, t: &Template, now: Timestamp) -> Result<PaymentRequest, QrError> {
    let bad = |sub: u8, reason: String| QrError::Invalid { path: FieldPath::sub(id, sub), name: NAME, reason };
    let account_text = t.field(SUB_ACCOUNT).ok_or(missing(FieldPath::sub(id, SUB_ACCOUNT)))?;
    let merchant_account = AccountId::parse(account_text).map_err(|e| bad(SUB_ACCOUNT, e.to_string()))?;
    let key_id = KeyId::new(t.field(SUB_KEY).unwrap_or_default()).map_err(|r| bad(SUB_KEY, r))?;
    let expires_at = match t.field(SUB_EXPIRY) {
        Some(s) => Some(s.parse::<u64>().map(Timestamp::from_unix_secs).map_err(|e| bad(SUB_EXPIRY, e.to_string()))?),
        None => None,
    };
    let order_ref = match p.additional_data.as_ref().and_then(AdditionalData::reference_label) {
        Some(r) => Some(OrderRef::new(r).map_err(bad_ref)?),
        None => None,
    };
    let amount = p.amount_money()?;
    let kind = match (p.initiation, amount, expires_at, &order_ref) {
        (Some(Initiation::Static), None, None, None) => CodeKind::Static,
        (Some(Initiation::Dynamic), Some(a), Some(_), Some(_)) if a.is_positive() => CodeKind::Dynamic,
        _ => {
            let reason = "a static code (01 = 11) has no amount, expiry or reference; a dynamic one (12) has all three";
            return Err(QrError::Invalid { path: FieldPath::root(1), name: NAME, reason: reason.into() });
        }
    };
    if let Some(expires_at) = expires_at.filter(|e| now >= *e) {
        return Err(QrError::Expired { expires_at, now });
    }
    Ok(PaymentRequest {
        kind,
        merchant_account,
        merchant_name: p.merchant_name.clone(),
        merchant_city: p.merchant_city.clone(),
        mcc: p.mcc,
        currency: p.currency()?,
        amount,
        order_ref,
        expires_at,
        key_id,
    })
}

fn bad_ref(reason: String) -> QrError {
    QrError::Invalid { path: FieldPath::sub(ADDITIONAL, 5), name: "reference label", reason }
}

fn unencodable(path: FieldPath, reason: String) -> QrError {
    QrError::Unencodable { path, name: NAME, reason }
}

fn missing(path: FieldPath) -> QrError {
    QrError::Missing { path, name: NAME }
}
