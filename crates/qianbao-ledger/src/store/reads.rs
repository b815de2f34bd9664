//! The queries of [`DurableLedger`]: an account's transfers, balance history, spending analysis.

use qianbao_core::{AccountId, Timestamp};
use qianbao_store::Database;

use super::DurableLedger;
use super::query::{Accumulator, BalancePage, Bounds, Cursor, Direction, SpendingReport, TransferFilter, TransferPage};
use crate::{AccountBalance, LedgerError, Transfer};

impl DurableLedger {
    /// An account's transfers matching `filter`, newest first, at most `limit` (1 to
    /// [`PAGE_ROWS_MAX`](super::PAGE_ROWS_MAX)) per page; pass the page's `next` cursor for the next one.
    pub async fn account_transfers(
        &self,
        account: AccountId,
        filter: &TransferFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<TransferPage, LedgerError> {
        let b = Bounds::new(filter.from, filter.until, cursor, limit);
        let code = filter.code.map_or(-1, |c| i32::from(c.as_u16()));
        let transfers = self.transfers_page(account, &b, filter.direction.code(), code).await?;
        let next = b.next(transfers.len(), transfers.last().map(|t| t.timestamp));
        Ok(TransferPage { transfers, next })
    }

    async fn transfers_page(
        &self,
        account: AccountId,
        b: &Bounds,
        dir: i32,
        code: i32,
    ) -> Result<Vec<Transfer>, LedgerError> {
        match &self.shared.db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(db) => {
                let b = *b;
                Ok(db.read(move |c| super::sqlite_read::transfers_page(c, account, &b, dir, code)).await?)
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => super::postgres_read::transfers_page(pg, account, b, dir, code).await,
            #[allow(unreachable_patterns)]
            _ => Err(LedgerError::InvalidConfig { reason: "unsupported database backend".into() }),
        }
    }

    /// The balance history of an account with the `HISTORY` flag: its counters after each change in
    /// `[from, until)`, newest first, at most `limit` per page.
    pub async fn balance_history(
        &self,
        account: AccountId,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<BalancePage, LedgerError> {
        let b = Bounds::new(from, until, cursor, limit);
        let balances: Vec<AccountBalance> = match &self.shared.db {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(db) => db.read(move |c| super::sqlite_read::balances_page(c, account, &b)).await?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => super::postgres_read::balances_page(pg, account, &b).await?,
            #[allow(unreachable_patterns)]
            _ => return Err(LedgerError::InvalidConfig { reason: "unsupported database backend".into() }),
        };
        let next = b.next(balances.len(), balances.last().map(|x| x.timestamp));
        Ok(BalancePage { balances, next })
    }

    /// What an account spent in `[from, until)`: posted debits totalled by calendar month (in the
    /// ledger's UTC offset), by transfer code and by counter-party.
    pub async fn spending(
        &self,
        account: AccountId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<SpendingReport, LedgerError> {
        let filter = TransferFilter { from: Some(from), until: Some(until), code: None, direction: Direction::Debits };
        let mut acc = Accumulator::default();
        let mut cursor = None;
        loop {
            let page = self.account_transfers(account, &filter, cursor, super::PAGE_ROWS_MAX).await?;
            super::query::tally(&mut acc, self.config(), &page.transfers);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(acc.finish()),
            }
        }
    }
}
