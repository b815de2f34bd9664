//! Result codes of `create_accounts` and `create_transfers`, in descending precedence: when several apply,
//! the first listed is returned. They follow TigerBeetle's names and order; codes TigerBeetle does not
//! have are marked "(qianbao)".

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! result_type {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:expr => $text:expr,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant = $code,)*
        }

        impl $name {
            /// Every result, in precedence order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The snake_case name, e.g. `"exceeds_credits"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The stable numeric code (for storage; never reused).
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// From the numeric code.
            pub const fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// From the snake_case name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// True for `ok` only.
            pub const fn is_ok(self) -> bool {
                self as u8 == 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

result_type!(
    /// The result of one account in `create_accounts`.
    CreateAccountResult {
        /// Created.
        Ok = 0 => "ok",
        /// Not created: another account of its linked chain failed.
        LinkedEventFailed = 1 => "linked_event_failed",
        /// Not created: the last account of the batch has `LINKED` set (an open chain).
        LinkedEventChainOpen = 2 => "linked_event_chain_open",
        /// Not created: a reserved flag bit is set.
        ReservedFlag = 3 => "reserved_flag",
        /// Not created: the id is zero.
        IdMustNotBeZero = 4 => "id_must_not_be_zero",
        /// Not created: the id is `u128::MAX`.
        IdMustNotBeIntMax = 5 => "id_must_not_be_int_max",
        /// An account with this id exists with other flags (state flags `CLOSED`/`FROZEN` are not compared).
        ExistsWithDifferentFlags = 6 => "exists_with_different_flags",
        /// An account with this id exists with another `user_data_128`.
        ExistsWithDifferentUserData128 = 7 => "exists_with_different_user_data_128",
        /// An account with this id exists with another `user_data_64`.
        ExistsWithDifferentUserData64 = 8 => "exists_with_different_user_data_64",
        /// An account with this id exists with another `user_data_32`.
        ExistsWithDifferentUserData32 = 9 => "exists_with_different_user_data_32",
        /// An account with this id exists with another ledger.
        ExistsWithDifferentLedger = 10 => "exists_with_different_ledger",
        /// An account with this id exists with another code.
        ExistsWithDifferentCode = 11 => "exists_with_different_code",
        /// An identical account exists: treat as success.
        Exists = 12 => "exists",
        /// Not created: `DEBITS_MUST_NOT_EXCEED_CREDITS` and `CREDITS_MUST_NOT_EXCEED_DEBITS` together.
        FlagsAreMutuallyExclusive = 13 => "flags_are_mutually_exclusive",
        /// Not created: `CLOSED` is set only by closing transfers (qianbao).
        ClosedFlagMustNotBeSet = 14 => "closed_flag_must_not_be_set",
        /// Not created: the ledger is zero.
        LedgerMustNotBeZero = 15 => "ledger_must_not_be_zero",
        /// Not created: the code is zero.
        CodeMustNotBeZero = 16 => "code_must_not_be_zero",
    }
);

result_type!(
    /// The result of one transfer in `create_transfers`.
    CreateTransferResult {
        /// Created.
        Ok = 0 => "ok",
        /// Not created: another transfer of its linked chain failed.
        LinkedEventFailed = 1 => "linked_event_failed",
        /// Not created: the last transfer of the batch has `LINKED` set (an open chain).
        LinkedEventChainOpen = 2 => "linked_event_chain_open",
        /// Not created: a reserved flag bit is set.
        ReservedFlag = 3 => "reserved_flag",
        /// Not created: the id is zero.
        IdMustNotBeZero = 4 => "id_must_not_be_zero",
        /// Not created: the id is `u128::MAX`.
        IdMustNotBeIntMax = 5 => "id_must_not_be_int_max",
        /// A transfer with this id exists with other flags.
        ExistsWithDifferentFlags = 6 => "exists_with_different_flags",
        /// A transfer with this id exists with another `pending_id`.
        ExistsWithDifferentPendingId = 7 => "exists_with_different_pending_id",
        /// A transfer with this id exists with another timeout.
        ExistsWithDifferentTimeout = 8 => "exists_with_different_timeout",
        /// A transfer with this id exists with another debit account.
        ExistsWithDifferentDebitAccountId = 9 => "exists_with_different_debit_account_id",
        /// A transfer with this id exists with another credit account.
        ExistsWithDifferentCreditAccountId = 10 => "exists_with_different_credit_account_id",
        /// A transfer with this id exists with another amount (for a balancing transfer: a larger one than
        /// this request allows).
        ExistsWithDifferentAmount = 11 => "exists_with_different_amount",
        /// A transfer with this id exists with another `user_data_128`.
        ExistsWithDifferentUserData128 = 12 => "exists_with_different_user_data_128",
        /// A transfer with this id exists with another `user_data_64`.
        ExistsWithDifferentUserData64 = 13 => "exists_with_different_user_data_64",
        /// A transfer with this id exists with another `user_data_32`.
        ExistsWithDifferentUserData32 = 14 => "exists_with_different_user_data_32",
        /// A transfer with this id exists with another ledger.
        ExistsWithDifferentLedger = 15 => "exists_with_different_ledger",
        /// A transfer with this id exists with another code.
        ExistsWithDifferentCode = 16 => "exists_with_different_code",
        /// An identical transfer exists: treat as success (a retry).
        Exists = 17 => "exists",
        /// Not created: the first transfer with this id failed for a reason that depends on the state
        /// (see [`CreateTransferResult::is_transient`]), so it can never succeed: a retry cannot flip an
        /// outcome. Use a new id.
        IdAlreadyFailed = 18 => "id_already_failed",
        /// Not created: the flags cannot be combined (pending/post/void are exclusive; post and void
        /// exclude balancing and closing).
        FlagsAreMutuallyExclusive = 19 => "flags_are_mutually_exclusive",
        /// Not created: the debit account id is zero.
        DebitAccountIdMustNotBeZero = 20 => "debit_account_id_must_not_be_zero",
        /// Not created: the debit account id is `u128::MAX`.
        DebitAccountIdMustNotBeIntMax = 21 => "debit_account_id_must_not_be_int_max",
        /// Not created: the credit account id is zero.
        CreditAccountIdMustNotBeZero = 22 => "credit_account_id_must_not_be_zero",
        /// Not created: the credit account id is `u128::MAX`.
        CreditAccountIdMustNotBeIntMax = 23 => "credit_account_id_must_not_be_int_max",
        /// Not created: debit and credit account are the same.
        AccountsMustBeDifferent = 24 => "accounts_must_be_different",
        /// Not created: only a post or void may name a pending transfer.
        PendingIdMustBeZero = 25 => "pending_id_must_be_zero",
        /// Not created: a post or void must name a pending transfer.
        PendingIdMustNotBeZero = 26 => "pending_id_must_not_be_zero",
        /// Not created: the pending id is `u128::MAX`.
        PendingIdMustNotBeIntMax = 27 => "pending_id_must_not_be_int_max",
        /// Not created: the pending id is the transfer's own id.
        PendingIdMustBeDifferent = 28 => "pending_id_must_be_different",
        /// Not created: only pending transfers have a timeout.
        TimeoutReservedForPendingTransfer = 29 => "timeout_reserved_for_pending_transfer",
        /// Not created: a closing transfer must be pending (so it can be undone by voiding it).
        ClosingTransferMustBePending = 30 => "closing_transfer_must_be_pending",
        /// Not created: the amount is zero (only a void may say zero, meaning the pending amount).
        AmountMustNotBeZero = 31 => "amount_must_not_be_zero",
        /// Not created: the ledger is zero.
        LedgerMustNotBeZero = 32 => "ledger_must_not_be_zero",
        /// Not created: the code is zero.
        CodeMustNotBeZero = 33 => "code_must_not_be_zero",
        /// Not created: no debit account with this id (transient: it may be created later).
        DebitAccountNotFound = 34 => "debit_account_not_found",
        /// Not created: no credit account with this id (transient).
        CreditAccountNotFound = 35 => "credit_account_not_found",
        /// Not created: the two accounts are on different ledgers.
        AccountsMustHaveTheSameLedger = 36 => "accounts_must_have_the_same_ledger",
        /// Not created: the transfer's ledger differs from its accounts' ledger.
        TransferMustHaveTheSameLedgerAsAccounts = 37 => "transfer_must_have_the_same_ledger_as_accounts",
        /// Not created: no pending transfer with this id (transient: it may be created later).
        PendingTransferNotFound = 38 => "pending_transfer_not_found",
        /// Not created: the transfer named by `pending_id` is not a pending transfer.
        PendingTransferNotPending = 39 => "pending_transfer_not_pending",
        /// Not created: the pending transfer has another debit account.
        PendingTransferHasDifferentDebitAccountId = 40 => "pending_transfer_has_different_debit_account_id",
        /// Not created: the pending transfer has another credit account.
        PendingTransferHasDifferentCreditAccountId = 41 => "pending_transfer_has_different_credit_account_id",
        /// Not created: the pending transfer has another ledger.
        PendingTransferHasDifferentLedger = 42 => "pending_transfer_has_different_ledger",
        /// Not created: the pending transfer has another code.
        PendingTransferHasDifferentCode = 43 => "pending_transfer_has_different_code",
        /// Not created: a post of more than the pending amount.
        ExceedsPendingTransferAmount = 44 => "exceeds_pending_transfer_amount",
        /// Not created: a void whose amount is neither zero nor the pending amount.
        PendingTransferHasDifferentAmount = 45 => "pending_transfer_has_different_amount",
        /// Not created: the pending transfer was already posted.
        PendingTransferAlreadyPosted = 46 => "pending_transfer_already_posted",
        /// Not created: the pending transfer was already voided.
        PendingTransferAlreadyVoided = 47 => "pending_transfer_already_voided",
        /// Not created: the pending transfer's timeout has passed (it is, or will be, voided by expiry).
        PendingTransferExpired = 48 => "pending_transfer_expired",
        /// Not created: the debit account is closed (transient: voiding the closing transfer reopens it).
        DebitAccountAlreadyClosed = 49 => "debit_account_already_closed",
        /// Not created: the credit account is closed (transient).
        CreditAccountAlreadyClosed = 50 => "credit_account_already_closed",
        /// Not created: the debit account is frozen for debits (transient) (qianbao).
        DebitAccountFrozen = 51 => "debit_account_frozen",
        /// Not created: `debits_pending + amount` would overflow (transient).
        OverflowsDebitsPending = 52 => "overflows_debits_pending",
        /// Not created: `credits_pending + amount` would overflow (transient).
        OverflowsCreditsPending = 53 => "overflows_credits_pending",
        /// Not created: `debits_posted + amount` would overflow (transient).
        OverflowsDebitsPosted = 54 => "overflows_debits_posted",
        /// Not created: `credits_posted + amount` would overflow (transient).
        OverflowsCreditsPosted = 55 => "overflows_credits_posted",
        /// Not created: `debits_pending + debits_posted + amount` would overflow (transient).
        OverflowsDebits = 56 => "overflows_debits",
        /// Not created: `credits_pending + credits_posted + amount` would overflow (transient).
        OverflowsCredits = 57 => "overflows_credits",
        /// Not created: `timestamp + timeout` would pass the end of time (transient).
        OverflowsTimeout = 58 => "overflows_timeout",
        /// Not created: the debit account's debits would exceed its credits (transient).
        ExceedsCredits = 59 => "exceeds_credits",
        /// Not created: the credit account's credits would exceed its debits (transient).
        ExceedsDebits = 60 => "exceeds_debits",
        /// Not created: a debit limit of the debit account would be exceeded in its current window
        /// (transient: the window rolls over) (qianbao).
        ExceedsDebitLimit = 61 => "exceeds_debit_limit",
    }
);

impl CreateTransferResult {
    /// True for failures that depend on the ledger's state rather than on the request alone: retrying
    /// the same request later could succeed. The first such failure of an id is remembered, and every
    /// later request with that id gets [`CreateTransferResult::IdAlreadyFailed`], so that a retry never
    /// flips an outcome the client has already seen.
    pub const fn is_transient(self) -> bool {
        use CreateTransferResult::*;
        matches!(
            self,
            DebitAccountNotFound
                | CreditAccountNotFound
                | PendingTransferNotFound
                | DebitAccountAlreadyClosed
                | CreditAccountAlreadyClosed
                | DebitAccountFrozen
                | OverflowsDebitsPending
                | OverflowsCreditsPending
                | OverflowsDebitsPosted
                | OverflowsCreditsPosted
                | OverflowsDebits
                | OverflowsCredits
                | OverflowsTimeout
                | ExceedsCredits
                | ExceedsDebits
                | ExceedsDebitLimit
        )
    }

    /// True for `ok` and `exists` (a retry of a transfer that was created).
    pub const fn is_created(self) -> bool {
        matches!(self, CreateTransferResult::Ok | CreateTransferResult::Exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_order_are_consistent() {
        for (i, r) in CreateTransferResult::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.code()), i, "{r} is out of order");
            assert_eq!(CreateTransferResult::from_code(r.code()), Some(*r));
            assert_eq!(CreateTransferResult::from_name(r.as_str()), Some(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for (i, r) in CreateAccountResult::ALL.iter().enumerate() {
            assert_eq!(usize::from(r.code()), i, "{r} is out of order");
            assert_eq!(CreateAccountResult::from_code(r.code()), Some(*r));
            assert_eq!(CreateAccountResult::from_name(r.as_str()), Some(*r));
        }
        assert_eq!(CreateTransferResult::from_code(200), None);
        assert!(CreateTransferResult::Ok.is_ok() && !CreateTransferResult::Exists.is_ok());
        assert!(CreateTransferResult::Exists.is_created());
        assert!(CreateTransferResult::ExceedsCredits.is_transient());
        assert!(!CreateTransferResult::PendingTransferExpired.is_transient());
        assert!(!CreateTransferResult::IdAlreadyFailed.is_transient());
    }
}
