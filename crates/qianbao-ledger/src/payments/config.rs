//! Configuration of the payments layer and the keys it holds.

use qianbao_core::{Currency, DigestKey};
use serde::{Deserialize, Serialize};

use super::PaymentError;
use super::ids::IdDeriver;
use super::model::FeeBearer;
use crate::fee::FeeSchedule;
use crate::qr::QrCodec;
use crate::redpacket::RedPacketConfig;
use crate::risk::RiskConfig;

/// The fees and risk rules of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencySetup {
    /// The fees (its `currency` is this setup's currency).
    pub fees: FeeSchedule,
    /// The risk rules (same currency).
    pub risk: RiskConfig,
}

impl CurrencySetup {
    /// Free of fees, with the default risk rules of `currency`.
    pub fn default_for(currency: Currency) -> Self {
        CurrencySetup { fees: FeeSchedule::free(currency), risk: RiskConfig::default_for(currency) }
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.fees.currency
    }
}

/// Who bears the fee of each product (red packets: always the sender, on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeBearers {
    /// Top-ups: `payee` (default) deducts the fee from what reaches the wallet; `payer` charges the
    /// card the amount plus the fee.
    pub top_up: FeeBearer,
    /// Withdrawals: `payer` (default) takes the fee from the wallet on top; `payee` sends the amount
    /// less the fee to the card.
    pub withdrawal: FeeBearer,
    /// Merchant payments: `payee` (default) — the merchant's service fee.
    pub payment: FeeBearer,
    /// Transfers: `payer` (default).
    pub transfer: FeeBearer,
}

impl Default for FeeBearers {
    fn default() -> Self {
        FeeBearers {
            top_up: FeeBearer::Payee,
            withdrawal: FeeBearer::Payer,
            payment: FeeBearer::Payee,
            transfer: FeeBearer::Payer,
        }
    }
}

/// The configuration of [`Payments`](super::Payments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentsConfig {
    /// One setup per supported currency (at least one).
    pub currencies: Vec<CurrencySetup>,
    /// Who bears the fees.
    #[serde(default)]
    pub fee_bearers: FeeBearers,
    /// Red packet limits.
    #[serde(default)]
    pub red_packets: RedPacketConfig,
    /// How long a payment held for review waits for an operator before the ledger voids it, seconds
    /// (zero: forever). Default three days.
    #[serde(default = "default_review_hold_secs")]
    pub review_hold_secs: u32,
    /// The UTC offset at which fee allowance periods (day, month, year) start. Default +08:00.
    #[serde(default = "beijing")]
    pub fee_period_utc_offset_secs: i32,
}

fn default_review_hold_secs() -> u32 {
    3 * 86_400
}

fn beijing() -> i32 {
    8 * 3_600
}

impl PaymentsConfig {
    /// One currency, free of fees, default risk rules, red packet limits and review hold.
    pub fn default_for(currency: Currency) -> Self {
        PaymentsConfig {
            currencies: vec![CurrencySetup::default_for(currency)],
            fee_bearers: FeeBearers::default(),
            red_packets: RedPacketConfig::default(),
            review_hold_secs: default_review_hold_secs(),
            fee_period_utc_offset_secs: beijing(),
        }
    }

    /// The same configuration with the setup of its currency replaced (or added).
    pub fn with_currency(mut self, setup: CurrencySetup) -> Self {
        self.currencies.retain(|c| c.currency() != setup.currency());
        self.currencies.push(setup);
        self
    }

    /// The same configuration with other fee bearers.
    pub fn with_fee_bearers(mut self, fee_bearers: FeeBearers) -> Self {
        self.fee_bearers = fee_bearers;
        self
    }

    /// The same configuration with other red packet limits.
    pub fn with_red_packets(mut self, red_packets: RedPacketConfig) -> Self {
        self.red_packets = red_packets;
        self
    }

    /// The same configuration with another review hold.
    pub fn with_review_hold_secs(mut self, secs: u32) -> Self {
        self.review_hold_secs = secs;
        self
    }

    /// Checks it: at least one currency, no currency twice, fees and risk in their setup's currency,
    /// coherent red packet limits, an offset within ±14 hours.
    pub fn validate(&self) -> Result<(), PaymentError> {
        let bad = |s: String| Err(PaymentError::InvalidConfig(s));
        if self.currencies.is_empty() {
            return bad("configure at least one currency".into());
        }
        for (i, c) in self.currencies.iter().enumerate() {
            if c.risk.fields().currency != c.currency() {
                return bad(format!("the {} setup has risk rules in {}", c.currency(), c.risk.fields().currency));
            }
            if self.currencies[..i].iter().any(|o| o.currency() == c.currency()) {
                return bad(format!("currency {} is configured twice", c.currency()));
            }
        }
        if self.fee_period_utc_offset_secs.abs() > 14 * 3_600 {
            return bad("fee_period_utc_offset_secs is beyond ±14 hours".into());
        }
        self.red_packets.validate().map_err(PaymentError::RedPacket)
    }

    /// The setup of a currency.
    pub fn setup(&self, currency: Currency) -> Result<&CurrencySetup, PaymentError> {
        self.currencies.iter().find(|c| c.currency() == currency).ok_or(PaymentError::UnsupportedCurrency(currency))
    }
}

/// The keys the payments layer holds: the key ids are derived under, and the QR codec that verifies
/// scanned merchant codes.
#[derive(Debug, Clone)]
pub struct PaymentsKeys {
    pub(crate) ids: IdDeriver,
    pub(crate) qr: QrCodec,
}

impl PaymentsKeys {
    /// Keys from the id-derivation key (it must never change for a deployment: a retry after a
    /// change would not be recognised) and the wallet's QR codec.
    pub fn new(id_key: DigestKey, qr: QrCodec) -> Self {
        PaymentsKeys { ids: IdDeriver::new(id_key), qr }
    }

    /// The id deriver.
    pub fn ids(&self) -> &IdDeriver {
        &self.ids
    }

    /// The QR codec.
    pub fn qr(&self) -> &QrCodec {
        &self.qr
    }
}
