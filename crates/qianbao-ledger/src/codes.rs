//! Ledgers (currencies), account codes and transfer codes: small integers with named constants.

use std::fmt;

use qianbao_core::Currency;
use serde::{Deserialize, Serialize};

/// The partition of accounts that can transact with each other: here, one ledger per currency.
///
/// The value is the ISO 4217 numeric code of the currency (156 for CNY), so it is stable in storage and
/// readable in a database. Zero is reserved: on a post or void it means "the pending transfer's ledger".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ledger(u32);

impl Ledger {
    /// No ledger: only valid on a post or void, where it means "inherit from the pending transfer".
    pub const NONE: Ledger = Ledger(0);
    /// Chinese yuan renminbi (amounts in fen).
    pub const CNY: Ledger = Ledger(Currency::CNY.numeric() as u32);

    /// The ledger of a currency.
    pub const fn of(currency: Currency) -> Ledger {
        Ledger(currency.numeric() as u32)
    }

    /// From the raw value (e.g. read from storage).
    pub const fn from_u32(raw: u32) -> Ledger {
        Ledger(raw)
    }

    /// The raw value.
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// True for [`Ledger::NONE`].
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The currency of this ledger, when it is one `qianbao-core` knows.
    pub fn currency(self) -> Option<Currency> {
        u16::try_from(self.0).ok().and_then(|n| Currency::from_numeric(n).ok())
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.currency() {
            Some(c) => write!(f, "Ledger({c})"),
            None => write!(f, "Ledger({})", self.0),
        }
    }
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $konst:ident = $value:expr => $text:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u16);

        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($value);)*

            /// Every named code.
            pub const NAMED: &'static [$name] = &[$($name::$konst),*];

            /// From the raw value: any `u16` is accepted (zero is refused by the decisions), so an
            /// embedding service can define its own codes beyond the named ones.
            pub const fn from_u16(raw: u16) -> $name {
                $name(raw)
            }

            /// The raw value.
            pub const fn as_u16(self) -> u16 {
                self.0
            }

            /// The snake_case name of a named code, `None` for others.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}", n),
                    None => write!(f, concat!(stringify!($name), "({})"), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

code_type!(
    /// What an account is for. Named codes cover the wallet's own accounts; any other nonzero `u16` is
    /// allowed for accounts an embedding service defines.
    AccountCode {
        /// A user's wallet (balance): credit-normal, usually with `DEBITS_MUST_NOT_EXCEED_CREDITS`.
        WALLET = 1 => "wallet",
        /// A merchant's receiving account.
        MERCHANT = 2 => "merchant",
        /// The operator's fee income.
        FEE_INCOME = 3 => "fee_income",
        /// The settlement account with a bank: money entering (top-up) and leaving (withdrawal) the system.
        BANK_SETTLEMENT = 4 => "bank_settlement",
        /// Money held for red packets until claimed or returned.
        RED_PACKET_ESCROW = 5 => "red_packet_escrow",
        /// Money whose destination is not settled yet (disputes, reversals under review).
        SUSPENSE = 6 => "suspense",
    }
);

code_type!(
    /// Why money moved. Named codes cover the wallet's journeys; any other nonzero `u16` is allowed.
    TransferCode {
        /// Money in from a bank card.
        TOP_UP = 1 => "top_up",
        /// A payment to a merchant.
        PAYMENT = 2 => "payment",
        /// A transfer to another user.
        TRANSFER = 3 => "transfer",
        /// A merchant's refund of a payment.
        REFUND = 4 => "refund",
        /// A fee charged by the operator.
        FEE = 5 => "fee",
        /// Money out to a bank card.
        WITHDRAWAL = 6 => "withdrawal",
        /// A red packet sent (into escrow).
        RED_PACKET = 7 => "red_packet",
        /// A share of a red packet claimed (out of escrow).
        RED_PACKET_CLAIM = 8 => "red_packet_claim",
        /// An unclaimed red packet returned to its sender.
        RED_PACKET_RETURN = 9 => "red_packet_return",
        /// An operator's reversal of an earlier transfer.
        REVERSAL = 10 => "reversal",
        /// A correction by an operator.
        ADJUSTMENT = 11 => "adjustment",
        /// The transfer that empties and closes an account.
        CLOSING = 12 => "closing",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledgers_are_currencies() {
        assert_eq!(Ledger::CNY.as_u32(), 156);
        assert_eq!(Ledger::of(Currency::USD).currency(), Some(Currency::USD));
        assert_eq!(Ledger::from_u32(7).currency(), None);
        assert_eq!(format!("{:?}", Ledger::CNY), "Ledger(CNY)");
        assert!(Ledger::NONE.is_none());
    }

    #[test]
    fn codes_have_names_and_an_escape_hatch() {
        assert_eq!(TransferCode::PAYMENT.name(), Some("payment"));
        assert_eq!(TransferCode::from_u16(900).name(), None);
        assert_eq!(format!("{:?}", TransferCode::from_u16(900)), "TransferCode(900)");
        assert_eq!(AccountCode::WALLET.to_string(), "wallet");
        assert_eq!(serde_json::to_string(&AccountCode::MERCHANT).unwrap(), "2");
        let mut seen = std::collections::HashSet::new();
        assert!(TransferCode::NAMED.iter().all(|c| seen.insert(c.as_u16()) && c.as_u16() != 0));
    }
}
