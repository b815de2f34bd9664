//! EMVCo merchant-presented QR codes (EMV QRCPS MPM v1.1), and the wallet's own signed codes.
//!
//! Two layers:
//!
//! - [`EmvPayload`]: any merchant-presented payload. [`EmvPayload::decode`] is strict — at most 512
//!   characters; CRC-16/CCITT-FALSE (object 63, last, over every byte through `6304`); 2-digit ids and
//!   lengths counted in characters (so `64` may carry Chinese text); no empty values or duplicate ids
//!   in any template; `00` first with value `01`; the mandatory objects 02–51 (at least one), 52, 53,
//!   58, 59, 60; every value in its format (printable ASCII outside the language template, amounts as
//!   digits with at most one `.`, tip objects consistent). Objects between `00` and `63` may come in
//!   any order as EMVCo allows; [`EmvPayload::encode`] writes them in ascending order.
//! - [`QrCodec`]: our codes. A merchant-account template (id 26 by default) holds our GUID
//!   (`cn.qianbao`), 01 the merchant's [`AccountId`](qianbao_core::AccountId), 02 the signing
//!   [`KeyId`], 03 the expiry (Unix seconds, dynamic codes only) and 04 a signature: HMAC-SHA-256 with
//!   a wallet [`DigestKey`](qianbao_core::DigestKey), truncated to 128 bits, base64url, over the whole
//!   payload through `6304` with the signature's own value left out. Every character of the code —
//!   amount, currency, merchant, order reference (62.05), expiry, even the order of objects — is
//!   covered, so a forged code, an edited one, or a genuine template moved into another code fails
//!   with [`QrError::BadSignature`]. [`QrCodec::scan`] turns a code into a [`PaymentRequest`]; a
//!   well-formed code without our template is [`ScannedCode::Foreign`].
//!
//! ```
//! use qianbao_core::{AccountId, Currency, DigestKey, Money, Timestamp};
//! use qianbao_ledger::qr::*;
//!
//! let keys = QrKeyring::new(KeyId::new("1")?, DigestKey::new(&[7; 32]).unwrap());
//! let codec = QrCodec::new(QrConfig::default(), keys)?;
//! let shop = MerchantProfile {
//!     account: AccountId::from_u128(42),
//!     name: "BEST TRANSPORT".into(),
//!     city: "BEIJING".into(),
//!     mcc: Mcc::parse("4111")?,
//!     country: CountryCode::CN,
//!     currency: Currency::CNY,
//!     local_name: None,
//!     store_label: None,
//!     terminal_label: None,
//! };
//! let now = Timestamp::from_unix_secs(1_800_000_000);
//! let code = codec.dynamic_code(&shop, Money::parse("23.72", Currency::CNY)?, &OrderRef::new("A-1001")?, now)?;
//! let ScannedCode::Qianbao(request) = codec.scan(&code, now)? else { unreachable!() };
//! assert_eq!(request.amount, Some(Money::from_minor(2372, Currency::CNY)));
//! assert_eq!(request.merchant_account, AccountId::from_u128(42));
//!
//! // One changed character: the CRC catches it; with the CRC fixed up, the signature does.
//! let forged = code.replace("23.72", "03.72");
//! assert!(matches!(codec.scan(&forged, now), Err(QrError::CrcMismatch { .. })));
//! let refreshed = format!("{}{}", &forged[..forged.len() - 4], crc16(&forged[..forged.len() - 4]));
//! assert_eq!(codec.scan(&refreshed, now), Err(QrError::BadSignature));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod error;
mod fields;
mod payload;
mod signed;
mod spec;
mod svg;
mod tlv;

pub use error::{FieldPath, QrError};
pub use fields::{CountryCode, EmvAmount, Mcc, OrderRef};
pub use payload::{
    AdditionalData, EmvPayload, Field, Initiation, LanguageTemplate, MerchantAccount, Template, Tip, UnreservedTemplate,
};
pub use signed::{CodeKind, KeyId, MerchantProfile, PaymentRequest, QrCodec, QrConfig, QrKeyring, ScannedCode};
pub use svg::render_svg;
pub use tlv::crc16;

#[cfg(test)]
mod tests;
