//! The money policy as plain functions: account class → ledger debit limits, the daily cap of an
//! authentication strength, the Beijing day, what a user paid since a moment.

use std::fmt;

use qianbao_core::{Money, Timestamp, UserId};
use qianbao_identity::{AccountClass, CapPeriod, ClassCaps};
use qianbao_ledger::payments::{Owner, Payment, PaymentKind, PaymentState, RedPacketView};
use qianbao_ledger::{DebitLimit, LimitWindow, TransferCode};
use serde::{Deserialize, Serialize};

use crate::PolicyConfig;

/// The transfer codes of balance payments: what the class caps and daily caps count.
pub(crate) const CAPPED_CODES: [TransferCode; 3] =
    [TransferCode::PAYMENT, TransferCode::TRANSFER, TransferCode::RED_PACKET];

/// Ledger limit slots the facade uses on a wallet.
const SLOT_CLASS_LIFETIME: u8 = 0;
const SLOT_CLASS_YEAR: u8 = 1;
const SLOT_DAY: u8 = 2;

/// Seconds east of UTC of the calendar day caps count in (Beijing time, as the ledger's windows).
const DAY_OFFSET_SECS: u64 = 8 * 3600;

/// How strongly a payment was authorized: what decides its daily cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthStrength {
    /// Fewer than two factors (the payment password alone, a transaction token alone, a payment code).
    SingleFactor,
    /// Two or more factors, none of them a certificate.
    TwoFactors,
    /// A digital certificate is one of the factors (a signed order, or the mutual-TLS certificate).
    Certificate,
}

impl AuthStrength {
    /// The strength of `factors` factors, `certificate` when one of them is a certificate.
    pub(crate) fn of(factors: u32, certificate: bool) -> Self {
        match (certificate, factors) {
            (true, _) => AuthStrength::Certificate,
            (false, 0..=1) => AuthStrength::SingleFactor,
            (false, _) => AuthStrength::TwoFactors,
        }
    }

    /// Its daily cap under `policy`, in minor units.
    pub(crate) fn daily_cap_minor(self, policy: &PolicyConfig) -> i64 {
        match self {
            AuthStrength::SingleFactor => policy.daily_cap_single_factor_minor,
            AuthStrength::TwoFactors => policy.daily_cap_two_factors_minor,
            AuthStrength::Certificate => policy.daily_cap_certificate_minor,
        }
    }
}

impl fmt::Display for AuthStrength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthStrength::SingleFactor => "payments authorized by one factor",
            AuthStrength::TwoFactors => "payments authorized by two factors",
            AuthStrength::Certificate => "certificate-authorized payments",
        })
    }
}

/// The debit limits of a wallet of `class` (an account not yet verified is held to class I): the
/// class cap (lifetime for class I, calendar year for II and III) and a daily backstop at the highest
/// daily cap. Slots and windows never change for a class, so setting them again keeps the usage.
pub(crate) fn wallet_limits(class: Option<AccountClass>, caps: &ClassCaps, policy: &PolicyConfig) -> Vec<DebitLimit> {
    let cap = class.unwrap_or(AccountClass::I).cap(caps);
    let (slot, window) = match cap.period {
        CapPeriod::SinceOpening => (SLOT_CLASS_LIFETIME, LimitWindow::Lifetime),
        _ => (SLOT_CLASS_YEAR, LimitWindow::Year),
    };
    let day_max = policy
        .daily_cap_single_factor_minor
        .max(policy.daily_cap_two_factors_minor)
        .max(policy.daily_cap_certificate_minor);
    let limit = |slot, window, amount: i64| DebitLimit {
        slot,
        window,
        codes: CAPPED_CODES.to_vec(),
        amount_max: u128::try_from(amount.max(0)).unwrap_or(0),
    };
    vec![limit(slot, window, cap.amount.minor()), limit(SLOT_DAY, LimitWindow::Day, day_max)]
}

/// The start of the Beijing calendar day `now` falls in.
pub(crate) fn day_start(now: Timestamp) -> Timestamp {
    let local = now.unix_secs().saturating_add(DAY_OFFSET_SECS);
    let start = local - local % 86_400;
    Timestamp::from_unix_secs(start.saturating_sub(DAY_OFFSET_SECS))
}

/// What `user` paid at or after `since`: merchant payments and transfers not cancelled, and red
/// packets sent. `None` when the sum overflows.
pub(crate) fn spent_since(
    payments: &[Payment],
    packets: &[RedPacketView],
    user: UserId,
    since: Timestamp,
) -> Option<i64> {
    let paid = payments.iter().filter(|p| {
        p.payer == Owner::User(user)
            && matches!(p.kind, PaymentKind::MerchantPayment | PaymentKind::Transfer)
            && !matches!(p.state, PaymentState::Cancelled { .. })
            && p.created_at >= since
    });
    let sent = packets.iter().filter(|r| r.sender == user && r.created_at >= since);
    let mut amounts = paid.map(|p| p.amount.minor()).chain(sent.map(|r| r.total.minor()));
    amounts.try_fold(0i64, i64::checked_add)
}

/// `minor` as money of the wallet's currency.
pub(crate) fn money(minor: i64) -> Money {
    Money::from_minor(minor, crate::WALLET_CURRENCY)
}

#[cfg(test)]
mod tests;
