//! The chart of accounts, payments and refunds, and fee allowance usage.

use qianbao_core::{AccountId, Currency, Money, TransferId};
use qianbao_store::sql::{id_from_sql, ts_from_sql, ts_to_sql};
use qianbao_store::{Database, StoreError};

use super::exec::{Param, Row, ScriptResult, Stmt, query, run};
use super::{
    FeeUsageWrite, Inserted, PaymentUpdate, ReserveOutcome, UpdateOutcome, from_json, limit_sql, risk, to_json,
};
use crate::fee::{AllowanceUsage, FeeProduct};
use crate::payments::ids::PaymentId;
use crate::payments::model::{AccountKind, ChartEntry, Owner, Payment};

fn chart_entry(r: &Row) -> Result<ChartEntry, StoreError> {
    let owner = r.bytes(1)?;
    let kind = r.text(2)?;
    let currency = r.text(3)?;
    Ok(ChartEntry {
        account: AccountId::from_raw(id_from_sql(&r.bytes(0)?)?),
        owner: Owner::from_bytes(&owner).ok_or_else(|| StoreError::corrupt("malformed account owner"))?,
        kind: AccountKind::from_name(&kind).ok_or_else(|| StoreError::corrupt(format!("account kind {kind:?}")))?,
        currency: Currency::from_code(&currency).map_err(|_| StoreError::corrupt(format!("currency {currency:?}")))?,
        opened_at: ts_from_sql(r.i64(4)?)?,
    })
}

pub(super) async fn open_account(db: &Database, e: ChartEntry) -> Result<ChartEntry, StoreError> {
    let insert = Stmt::one(
        "INSERT INTO pay_accounts (account_id, owner, kind, currency, opened_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        vec![
            e.account.to_bytes().into(),
            e.owner.to_bytes().into(),
            e.kind.as_str().into(),
            e.currency.code().into(),
            ts_to_sql(e.opened_at).into(),
        ],
    );
    run(db, vec![insert]).await?;
    account_of(db, e.owner, e.kind, e.currency)
        .await?
        .ok_or_else(|| StoreError::corrupt(format!("account {} is recorded for another owner", e.account)))
}

pub(super) async fn account_of(
    db: &Database,
    owner: Owner,
    kind: AccountKind,
    currency: Currency,
) -> Result<Option<ChartEntry>, StoreError> {
    const SQL: &str = concat!(
        "SELECT account_id, owner, kind, currency, opened_at FROM pay_accounts ",
        "WHERE owner = $1 AND kind = $2 AND currency = $3"
    );
    let rows = query(db, SQL, vec![owner.to_bytes().into(), kind.as_str().into(), currency.code().into()]).await?;
    rows.first().map(chart_entry).transpose()
}

pub(super) async fn account(db: &Database, id: AccountId) -> Result<Option<ChartEntry>, StoreError> {
    const SQL: &str = "SELECT account_id, owner, kind, currency, opened_at FROM pay_accounts WHERE account_id = $1";
    let rows = query(db, SQL, vec![id.to_bytes().into()]).await?;
    rows.first().map(chart_entry).transpose()
}

pub(super) async fn accounts(db: &Database, currency: Currency) -> Result<Vec<ChartEntry>, StoreError> {
    const SQL: &str = "SELECT account_id, owner, kind, currency, opened_at FROM pay_accounts WHERE currency = $1 \
                       ORDER BY opened_at, account_id";
    query(db, SQL, vec![currency.code().into()]).await?.iter().map(chart_entry).collect()
}

fn payment_row(r: &Row) -> Result<Payment, StoreError> {
    let mut p: Payment = from_json(&r.text(5)?)?;
    let currency = p.amount.currency();
    p.state = from_json(&r.text(0)?)?;
    p.refunded = Money::from_minor(r.i64(1)?, currency);
    p.fee_refunded = Money::from_minor(r.i64(2)?, currency);
    p.bank_reference = r.opt_text(3)?;
    p.updated_at = ts_from_sql(r.i64(4)?)?;
    Ok(p)
}

fn insert_payment_stmts(p: &Payment) -> Result<Vec<Stmt>, StoreError> {
    let mut script = vec![Stmt::one(
        "INSERT INTO pay_payments (id, kind, state, state_detail, payer, payee, refund_of, amount_minor, \
         refunded_minor, fee_refunded_minor, bank_reference, created_at, updated_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
        vec![
            p.id.to_bytes().into(),
            p.kind.as_str().into(),
            p.state.code().into(),
            to_json(&p.state)?.into(),
            p.payer.to_bytes().into(),
            p.payee.to_bytes().into(),
            Param::Bytes(p.refund_of.map(|r| r.to_bytes().to_vec())),
            p.amount.minor().into(),
            p.refunded.minor().into(),
            p.fee_refunded.minor().into(),
            Param::Text(p.bank_reference.clone()),
            ts_to_sql(p.created_at).into(),
            ts_to_sql(p.updated_at).into(),
            to_json(p)?.into(),
        ],
    )];
    script.extend(p.legs.iter().map(|l| map_transfer(l.transfer_id, p.id)));
    Ok(script)
}

fn map_transfer(transfer: TransferId, payment: PaymentId) -> Stmt {
    Stmt::any(
        "INSERT INTO pay_transfers (transfer_id, payment_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        vec![transfer.to_bytes().into(), payment.to_bytes().into()],
    )
}

pub(super) async fn insert_payment(db: &Database, p: &Payment) -> Result<Inserted<Payment>, StoreError> {
    match run(db, insert_payment_stmts(p)?).await? {
        ScriptResult::Done => Ok(Inserted::New),
        ScriptResult::Stopped(_) => existing(db, p.id).await.map(Inserted::Existing),
    }
}

async fn existing(db: &Database, id: PaymentId) -> Result<Payment, StoreError> {
    payment(db, id).await?.ok_or_else(|| StoreError::corrupt(format!("payment {id} vanished")))
}

pub(super) async fn payment(db: &Database, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    const SQL: &str = "SELECT state_detail, refunded_minor, fee_refunded_minor, bank_reference, updated_at, body \
                       FROM pay_payments WHERE id = $1";
    query(db, SQL, vec![id.to_bytes().into()]).await?.first().map(payment_row).transpose()
}

pub(super) async fn update_payment(db: &Database, u: PaymentUpdate) -> Result<UpdateOutcome, StoreError> {
    let mut script = vec![Stmt::one(
        "UPDATE pay_payments SET state = $1, state_detail = $2, updated_at = $3, \
         bank_reference = COALESCE($4, bank_reference) WHERE id = $5 AND state = $6",
        vec![
            u.to.code().into(),
            to_json(&u.to)?.into(),
            ts_to_sql(u.at).into(),
            Param::Text(u.bank_reference.clone()),
            u.id.to_bytes().into(),
            u.from.into(),
        ],
    )];
    script.extend(u.transfers.iter().map(|t| map_transfer(*t, u.id)));
    if let Some(f) = &u.fee_usage {
        script.push(fee_usage_stmt(f)?);
    }
    let risk_from = script.len();
    if let Some(r) = &u.risk {
        script.extend(risk::write_stmts(r)?);
    }
    Ok(match run(db, script).await? {
        ScriptResult::Done => UpdateOutcome::Updated,
        ScriptResult::Stopped(i) if i >= risk_from => UpdateOutcome::RiskStale,
        ScriptResult::Stopped(_) => UpdateOutcome::StateChanged,
    })
}

pub(super) async fn delete_submitting(db: &Database, id: PaymentId) -> Result<bool, StoreError> {
    let script = vec![
        Stmt::one("DELETE FROM pay_payments WHERE id = $1 AND state = 'submitting'", vec![id.to_bytes().into()]),
        Stmt::any("DELETE FROM pay_transfers WHERE payment_id = $1", vec![id.to_bytes().into()]),
    ];
    Ok(run(db, script).await? == ScriptResult::Done)
}

pub(super) async fn reserve_refund(
    db: &Database,
    refund: &Payment,
    refunded: Money,
    fee_refunded: Money,
) -> Result<ReserveOutcome, StoreError> {
    let original = refund.refund_of.ok_or_else(|| StoreError::corrupt("a refund without its payment"))?;
    let after = refunded.checked_add(refund.amount).map_err(|_| StoreError::corrupt("refund total overflows"))?;
    let fee_after =
        fee_refunded.checked_add(refund.fee).map_err(|_| StoreError::corrupt("fee refund total overflows"))?;
    let mut script = insert_payment_stmts(refund)?;
    let reserve_at = script.len();
    script.push(Stmt::one(
        "UPDATE pay_payments SET refunded_minor = $1, fee_refunded_minor = $2 WHERE id = $3 \
         AND refunded_minor = $4 AND fee_refunded_minor = $5 AND state = 'completed' AND kind IN ('merchant_payment', 'transfer') \
         AND $1 <= amount_minor",
        vec![
            after.minor().into(),
            fee_after.minor().into(),
            original.to_bytes().into(),
            refunded.minor().into(),
            fee_refunded.minor().into(),
        ],
    ));
    Ok(match run(db, script).await? {
        ScriptResult::Done => ReserveOutcome::Reserved,
        ScriptResult::Stopped(i) if i == reserve_at => ReserveOutcome::Stale,
        ScriptResult::Stopped(_) => ReserveOutcome::Existing(Box::new(existing(db, refund.id).await?)),
    })
}

pub(super) async fn release_refund(db: &Database, refund: &Payment) -> Result<bool, StoreError> {
    let original = refund.refund_of.ok_or_else(|| StoreError::corrupt("a refund without its payment"))?;
    let mut script = vec![
        Stmt::one("DELETE FROM pay_payments WHERE id = $1 AND state = 'submitting'", vec![refund.id.to_bytes().into()]),
        Stmt::any("DELETE FROM pay_transfers WHERE payment_id = $1", vec![refund.id.to_bytes().into()]),
    ];
    script.push(Stmt::one(
        "UPDATE pay_payments SET refunded_minor = refunded_minor - $1, fee_refunded_minor = fee_refunded_minor - $2 \
         WHERE id = $3",
        vec![refund.amount.minor().into(), refund.fee.minor().into(), original.to_bytes().into()],
    ));
    Ok(run(db, script).await? == ScriptResult::Done)
}

pub(super) async fn payments_in_state(
    db: &Database,
    state: &'static str,
    limit: u32,
) -> Result<Vec<Payment>, StoreError> {
    const SQL: &str = "SELECT state_detail, refunded_minor, fee_refunded_minor, bank_reference, updated_at, body \
                       FROM pay_payments WHERE state = $1 ORDER BY created_at, id LIMIT $2";
    query(db, SQL, vec![state.into(), limit_sql(limit).into()]).await?.iter().map(payment_row).collect()
}

pub(super) async fn payments_of(db: &Database, owner: Owner, limit: u32) -> Result<Vec<Payment>, StoreError> {
    const SQL: &str = "SELECT state_detail, refunded_minor, fee_refunded_minor, bank_reference, updated_at, body \
                       FROM pay_payments WHERE payer = $1 OR payee = $1 ORDER BY created_at DESC, id LIMIT $2";
    query(db, SQL, vec![owner.to_bytes().into(), limit_sql(limit).into()]).await?.iter().map(payment_row).collect()
}

pub(super) async fn refunds_of(db: &Database, id: PaymentId) -> Result<Vec<Payment>, StoreError> {
    const SQL: &str = "SELECT state_detail, refunded_minor, fee_refunded_minor, bank_reference, updated_at, body \
                       FROM pay_payments WHERE refund_of = $1 ORDER BY created_at, id";
    query(db, SQL, vec![id.to_bytes().into()]).await?.iter().map(payment_row).collect()
}

pub(super) async fn payment_of_transfer(db: &Database, id: TransferId) -> Result<Option<PaymentId>, StoreError> {
    const SQL: &str = "SELECT payment_id FROM pay_transfers WHERE transfer_id = $1";
    let rows = query(db, SQL, vec![id.to_bytes().into()]).await?;
    rows.first().map(|r| Ok(PaymentId::from_u128(id_from_sql(&r.bytes(0)?)?.as_u128()))).transpose()
}

/// Adds one transaction to a fee allowance.
pub(super) fn fee_usage_stmt(f: &FeeUsageWrite) -> Result<Stmt, StoreError> {
    Ok(Stmt::any(
        "INSERT INTO pay_fee_usage (owner, product, period, count, amount_minor) VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (owner, product, period) DO UPDATE SET count = pay_fee_usage.count + 1, \
         amount_minor = pay_fee_usage.amount_minor + excluded.amount_minor",
        vec![f.owner.to_bytes().into(), product_name(f.product)?.into(), f.period.into(), f.amount_minor.into()],
    ))
}

fn product_name(p: FeeProduct) -> Result<String, StoreError> {
    to_json(&p).map(|s| s.trim_matches('"').to_owned())
}

pub(super) async fn fee_usage(
    db: &Database,
    owner: Owner,
    product: FeeProduct,
    period: i64,
) -> Result<AllowanceUsage, StoreError> {
    const SQL: &str = "SELECT count, amount_minor FROM pay_fee_usage WHERE owner = $1 AND product = $2 AND period = $3";
    let rows = query(db, SQL, vec![owner.to_bytes().into(), product_name(product)?.into(), period.into()]).await?;
    let Some(r) = rows.first() else { return Ok(AllowanceUsage::default()) };
    Ok(AllowanceUsage { count: u32::try_from(r.i64(0)?).unwrap_or(u32::MAX), amount_minor: r.i64(1)? })
}
