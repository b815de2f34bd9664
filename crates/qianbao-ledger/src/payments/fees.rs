//! Fees of the products: which schedule product a payment is, and which allowance period a moment
//! falls in (calendar day, month or year in the configured UTC offset).

use qianbao_core::{Timestamp, calendar};

use super::model::{FeeBearer, Owner, PaymentKind};
use crate::fee::{AllowancePeriod, FeeProduct};

/// The fee schedule product of a payment kind (refunds and reversals carry no fee of their own).
pub(crate) fn fee_product(kind: PaymentKind) -> Option<FeeProduct> {
    match kind {
        PaymentKind::TopUp => Some(FeeProduct::TopUp),
        PaymentKind::Withdrawal => Some(FeeProduct::Withdrawal),
        PaymentKind::MerchantPayment => Some(FeeProduct::Payment),
        PaymentKind::Transfer => Some(FeeProduct::Transfer),
        PaymentKind::Refund | PaymentKind::Reversal => None,
    }
}

/// Whose free allowance a payment uses: the party bearing the fee, or the user on the other side
/// when the bearer is the operator's bank settlement (a top-up charged on the card).
pub(crate) fn allowance_owner(payer: Owner, payee: Owner, bearer: FeeBearer) -> Owner {
    let (bearer, other) = match bearer {
        FeeBearer::Payer => (payer, payee),
        FeeBearer::Payee => (payee, payer),
    };
    if bearer == Owner::System { other } else { bearer }
}

/// The number of the allowance period holding `at`: days since 1970-01-01, months since year 0,
/// years, or 0 for a lifetime allowance, in local time `utc_offset_secs` ahead of UTC.
pub(crate) fn period_of(period: AllowancePeriod, at: Timestamp, utc_offset_secs: i32) -> i64 {
    let day = calendar::local_day(at, utc_offset_secs);
    let (year, month, _) = calendar::civil_from_days(day);
    match period {
        AllowancePeriod::Day => day,
        AllowancePeriod::Month => year * 12 + i64::from(month - 1),
        AllowancePeriod::Year => year,
        AllowancePeriod::Lifetime => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_local_calendar() {
        // 2026-01-31T23:30:00+08:00 = 2026-01-31T15:30:00Z; half an hour later it is February in Beijing.
        let jan31 = Timestamp::from_unix_secs(1_769_873_400);
        let feb1 = Timestamp::from_unix_secs(1_769_873_400 + 1_800);
        let bj = 8 * 3_600;
        assert_eq!(period_of(AllowancePeriod::Month, jan31, bj), 2026 * 12);
        assert_eq!(period_of(AllowancePeriod::Month, feb1, bj), 2026 * 12 + 1);
        assert_eq!(period_of(AllowancePeriod::Month, feb1, 0), 2026 * 12, "still January in UTC");
        assert_eq!(period_of(AllowancePeriod::Day, feb1, bj), period_of(AllowancePeriod::Day, jan31, bj) + 1);
        assert_eq!(period_of(AllowancePeriod::Year, feb1, bj), 2026);
        assert_eq!(period_of(AllowancePeriod::Lifetime, feb1, bj), 0);
    }

    #[test]
    fn the_allowance_belongs_to_the_bearer_or_the_user() {
        let u = Owner::User(qianbao_core::UserId::from_u128(1));
        let m = Owner::Merchant(super::super::MerchantId::from_u128(2));
        assert_eq!(allowance_owner(u, m, FeeBearer::Payee), m);
        assert_eq!(allowance_owner(u, m, FeeBearer::Payer), u);
        assert_eq!(allowance_owner(Owner::System, u, FeeBearer::Payer), u);
        assert_eq!(fee_product(PaymentKind::Refund), None);
    }
}
