//! [`LedgerPort`] for [`DurableLedger`]: the payment products on the durable ledger.

use qianbao_core::{AccountId, TransferId};

use super::DurableLedger;
use crate::payments::LedgerPort;
use crate::{
    Account, CreateAccountResult, CreateTransferResult, DebitLimit, LedgerError, NewAccount, NewTransfer, Transfer,
};

impl LedgerPort for DurableLedger {
    async fn create_accounts(&self, accounts: &[NewAccount]) -> Result<Vec<CreateAccountResult>, LedgerError> {
        DurableLedger::create_accounts(self, accounts).await
    }

    async fn create_transfers(&self, transfers: &[NewTransfer]) -> Result<Vec<CreateTransferResult>, LedgerError> {
        DurableLedger::create_transfers(self, transfers).await
    }

    async fn lookup_accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, LedgerError> {
        DurableLedger::lookup_accounts(self, ids).await
    }

    async fn lookup_transfers(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, LedgerError> {
        DurableLedger::lookup_transfers(self, ids).await
    }

    async fn set_frozen(&self, id: AccountId, frozen: bool) -> Result<(), LedgerError> {
        DurableLedger::set_frozen(self, id, frozen).await
    }

    async fn set_debit_limits(&self, id: AccountId, limits: Vec<DebitLimit>) -> Result<(), LedgerError> {
        DurableLedger::set_debit_limits(self, id, limits).await
    }

    async fn expire_pending(&self) -> Result<Vec<TransferId>, LedgerError> {
        DurableLedger::expire_pending(self).await
    }
}
