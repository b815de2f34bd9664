//! Account and transfer flags: `u16` bit sets with named bits, as TigerBeetle has them.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use serde::{Deserialize, Serialize};

macro_rules! flag_type {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $konst:ident = $bit:expr => $text:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u16);

        impl $name {
            /// No flag set.
            pub const NONE: $name = $name(0);
            $($(#[$fdoc])* pub const $konst: $name = $name(1 << $bit);)*
            /// Every defined bit; the others are reserved.
            pub const ALL: $name = $name(0 $(| (1 << $bit))*);

            /// From raw bits, keeping reserved bits (so a decision can refuse them with `reserved_flag`).
            pub const fn from_bits_retain(bits: u16) -> $name {
                $name(bits)
            }

            /// The raw bits.
            pub const fn bits(self) -> u16 {
                self.0
            }

            /// True when every bit of `other` is set here.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when any bit of `other` is set here.
            pub const fn intersects(self, other: $name) -> bool {
                self.0 & other.0 != 0
            }

            /// True when a reserved bit is set.
            pub const fn has_reserved(self) -> bool {
                self.0 & !$name::ALL.0 != 0
            }

            /// These flags with `other` added.
            pub const fn with(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// These flags with `other` removed.
            pub const fn without(self, other: $name) -> $name {
                $name(self.0 & !other.0)
            }

            /// `with` or `without` by a condition.
            pub const fn set(self, other: $name, on: bool) -> $name {
                if on { self.with(other) } else { self.without(other) }
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                self.with(rhs)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                *self = self.with(rhs);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut names = Vec::new();
                $(if self.contains($name::$konst) { names.push($text); })*
                let reserved = self.0 & !$name::ALL.0;
                if reserved != 0 {
                    return write!(f, "{}({}, reserved {:#06x})", stringify!($name), names.join(" | "), reserved);
                }
                write!(f, "{}({})", stringify!($name), names.join(" | "))
            }
        }
    };
}

flag_type!(
    /// How an account behaves.
    AccountFlags {
        /// This account creation succeeds or fails together with the next one in the batch.
        LINKED = 0 => "linked",
        /// `debits_pending + debits_posted` may never exceed `credits_posted` (a wallet cannot go negative).
        DEBITS_MUST_NOT_EXCEED_CREDITS = 1 => "debits_must_not_exceed_credits",
        /// `credits_pending + credits_posted` may never exceed `debits_posted`.
        CREDITS_MUST_NOT_EXCEED_DEBITS = 2 => "credits_must_not_exceed_debits",
        /// Every change of this account's balance is recorded as an [`AccountBalance`](crate::AccountBalance).
        HISTORY = 3 => "history",
        /// Closed by a closing transfer: no new transfer may touch it (set only by the ledger).
        CLOSED = 5 => "closed",
        /// Frozen (for example after the user reported an abnormal transaction): no debits.
        FROZEN = 6 => "frozen",
    }
);

impl AccountFlags {
    /// Flags that describe the account's current state rather than how it was created; a retried
    /// creation ignores them when comparing with the existing account.
    pub const STATE: AccountFlags = AccountFlags::CLOSED.with(AccountFlags::FROZEN);
}

flag_type!(
    /// How a transfer behaves.
    TransferFlags {
        /// This transfer succeeds or fails together with the next one in the batch.
        LINKED = 0 => "linked",
        /// A two-phase transfer: reserve the amount now, post or void it later.
        PENDING = 1 => "pending",
        /// Post (complete) the pending transfer named by `pending_id`, fully or partially.
        POST_PENDING_TRANSFER = 2 => "post_pending_transfer",
        /// Void (cancel) the pending transfer named by `pending_id`.
        VOID_PENDING_TRANSFER = 3 => "void_pending_transfer",
        /// Move at most `amount`, less if the debit account's constraints (balance, limits) allow less.
        BALANCING_DEBIT = 4 => "balancing_debit",
        /// Move at most `amount`, less if the credit account's balance constraint allows less.
        BALANCING_CREDIT = 5 => "balancing_credit",
        /// Close the debit account when this (pending) transfer succeeds; voiding it reopens the account.
        CLOSING_DEBIT = 6 => "closing_debit",
        /// Close the credit account when this (pending) transfer succeeds; voiding it reopens the account.
        CLOSING_CREDIT = 7 => "closing_credit",
    }
);

impl TransferFlags {
    /// Either post or void.
    pub const POST_OR_VOID: TransferFlags =
        TransferFlags::POST_PENDING_TRANSFER.with(TransferFlags::VOID_PENDING_TRANSFER);
    /// Either balancing flag.
    pub const BALANCING: TransferFlags = TransferFlags::BALANCING_DEBIT.with(TransferFlags::BALANCING_CREDIT);
    /// Either closing flag.
    pub const CLOSING: TransferFlags = TransferFlags::CLOSING_DEBIT.with(TransferFlags::CLOSING_CREDIT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine_and_print() {
        let f = TransferFlags::PENDING | TransferFlags::LINKED;
        assert!(f.contains(TransferFlags::PENDING) && f.intersects(TransferFlags::LINKED));
        assert!(!f.contains(TransferFlags::POST_OR_VOID));
        assert_eq!(format!("{f:?}"), "TransferFlags(linked | pending)");
        let reserved = TransferFlags::from_bits_retain(1 << 12);
        assert!(reserved.has_reserved());
        assert!(format!("{reserved:?}").contains("reserved 0x1000"));
        assert!(!AccountFlags::ALL.has_reserved());
        assert!(AccountFlags::from_bits_retain(1 << 4).has_reserved(), "bit 4 (imported in TigerBeetle) is reserved");
        assert_eq!(AccountFlags::FROZEN.set(AccountFlags::FROZEN, false), AccountFlags::NONE);
        assert_eq!(serde_json::to_string(&TransferFlags::PENDING).unwrap(), "2");
    }
}
