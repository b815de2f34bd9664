//! The [`Payments`] service: construction, the chart of accounts, and the steps every product shares
//! (submit a chain, finish a recorded payment, resolve a hold).

use std::sync::Arc;

use qianbao_core::{AccountId, Clock, Currency, Entropy, Money, Timestamp, UserId};
use tracing::instrument;

use super::PaymentError;
use super::config::{PaymentsConfig, PaymentsKeys};
use super::error::check_results;
use super::fees::{allowance_owner, fee_product, period_of};
use super::ids::{MerchantId, PaymentId};
use super::model::{AccountKind, ChartEntry, Hold, Owner, Payment, PaymentKind, PaymentState};
use super::plan::{chain, ids_of, leg_accounts, resolve_chain};
use super::port::LedgerPort;
use super::store::{FeeUsageWrite, PaymentUpdate, PaymentsDb, PaymentsStore, RiskWrite, UpdateOutcome};
use crate::bank::BankAdapter;
use crate::risk::{self, RiskContext};
use crate::{Balance, DebitLimit, Ledger, NewAccount, NewTransfer};

/// How many sets of transfer ids the resolution of a hold may use: each refusal the ledger remembers
/// (`id_already_failed`) spends one.
const RESOLVE_ATTEMPTS_MAX: u16 = 64;
/// How often a conditional write is retried after losing a race before giving up.
pub(crate) const RACE_ATTEMPTS_MAX: u32 = 8;

/// The payment products on top of a ledger: top-up and withdrawal through a [`BankAdapter`], payments
/// to merchants (by account or by QR code), transfers between users, refunds, red packets, risk
/// review, and abnormal-transaction cases. See the [module documentation](super) for the model.
#[derive(Debug, Clone)]
pub struct Payments<L> {
    pub(crate) ledger: L,
    pub(crate) store: PaymentsDb,
    pub(crate) config: Arc<PaymentsConfig>,
    pub(crate) keys: Arc<PaymentsKeys>,
    pub(crate) bank: Arc<dyn BankAdapter>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) entropy: Arc<dyn Entropy>,
    /// The operator's accounts per currency, opened at start.
    pub(crate) system: Arc<Vec<ChartEntry>>,
}

impl<L: LedgerPort> Payments<L> {
    /// Opens the service: checks the configuration and opens the operator's accounts (fee income,
    /// bank settlement, red-packet escrow, suspense) in every configured currency.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        ledger: L,
        store: PaymentsDb,
        config: PaymentsConfig,
        keys: PaymentsKeys,
        bank: Arc<dyn BankAdapter>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, PaymentError> {
        config.validate()?;
        let mut payments = Payments {
            ledger,
            store,
            config: Arc::new(config),
            keys: Arc::new(keys),
            bank,
            clock,
            entropy,
            system: Arc::new(Vec::new()),
        };
        let mut system = Vec::new();
        for currency in payments.config.currencies.iter().map(|c| c.currency()) {
            for kind in AccountKind::SYSTEM {
                system.push(payments.ensure_account(Owner::System, kind, currency).await?);
            }
        }
        payments.system = Arc::new(system);
        Ok(payments)
    }

    /// The ledger this service moves money on.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// The payments store.
    pub fn store(&self) -> &PaymentsDb {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &PaymentsConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ---- the chart of accounts ----

    /// Opens (idempotently) the ledger account of (owner, kind, currency): the ledger account first
    /// (its id is derived, so a retry finds it), then the mapping in the store.
    async fn ensure_account(
        &self,
        owner: Owner,
        kind: AccountKind,
        currency: Currency,
    ) -> Result<ChartEntry, PaymentError> {
        if !kind.fits(owner) {
            return Err(PaymentError::InvalidRequest(format!(
                "a {} account cannot belong to {owner:?}",
                kind.as_str()
            )));
        }
        if let Some(e) = self.store.account_of(owner, kind, currency).await? {
            return Ok(e);
        }
        let id = self.keys.ids.account(&owner.to_bytes(), kind.as_str(), currency.code());
        let mut account = NewAccount::new(id, Ledger::of(currency), kind.code()).with_flags(kind.flags());
        let bytes = owner.to_bytes();
        account.user_data_32 = u32::from(bytes[0]);
        account.user_data_128 = u128::from_be_bytes(bytes[1..].try_into().unwrap_or([0; 16]));
        let result = self.ledger.create_accounts(&[account]).await?;
        match result.first() {
            Some(r) if r.is_ok() || *r == crate::CreateAccountResult::Exists => {}
            Some(r) => return Err(PaymentError::AccountRefused { account: id, result: *r }),
            None => return Err(PaymentError::Corrupt("the ledger answered no result for an account".into())),
        }
        let entry = ChartEntry { account: id, owner, kind, currency, opened_at: self.now() };
        Ok(self.store.open_account(entry).await?)
    }

    /// Opens a user's wallet in a currency (idempotent: the same account every time).
    #[instrument(skip(self), err)]
    pub async fn open_wallet(&self, user: UserId, currency: Currency) -> Result<AccountId, PaymentError> {
        self.config.setup(currency)?;
        Ok(self.ensure_account(Owner::User(user), AccountKind::Wallet, currency).await?.account)
    }

    /// Opens a merchant's receiving account in a currency (idempotent).
    #[instrument(skip(self), err)]
    pub async fn open_merchant(&self, merchant: MerchantId, currency: Currency) -> Result<AccountId, PaymentError> {
        self.config.setup(currency)?;
        Ok(self.ensure_account(Owner::Merchant(merchant), AccountKind::Merchant, currency).await?.account)
    }

    /// A user's wallet, if opened.
    pub async fn wallet(&self, user: UserId, currency: Currency) -> Result<Option<AccountId>, PaymentError> {
        Ok(self.store.account_of(Owner::User(user), AccountKind::Wallet, currency).await?.map(|e| e.account))
    }

    pub(crate) async fn wallet_of(&self, user: UserId, currency: Currency) -> Result<AccountId, PaymentError> {
        self.wallet(user, currency).await?.ok_or(PaymentError::NoWallet { user, currency })
    }

    /// A merchant's account, if opened.
    pub async fn merchant_account(
        &self,
        merchant: MerchantId,
        currency: Currency,
    ) -> Result<Option<AccountId>, PaymentError> {
        Ok(self.store.account_of(Owner::Merchant(merchant), AccountKind::Merchant, currency).await?.map(|e| e.account))
    }

    /// The operator's account of a kind in a configured currency.
    pub fn system_account(&self, kind: AccountKind, currency: Currency) -> Result<AccountId, PaymentError> {
        self.system
            .iter()
            .find(|e| e.kind == kind && e.currency == currency)
            .map(|e| e.account)
            .ok_or(PaymentError::UnsupportedCurrency(currency))
    }

    /// Every account of the chart in a currency.
    pub async fn chart(&self, currency: Currency) -> Result<Vec<ChartEntry>, PaymentError> {
        Ok(self.store.accounts(currency).await?)
    }

    /// The counters of a user's wallet.
    pub async fn wallet_balance(&self, user: UserId, currency: Currency) -> Result<Balance, PaymentError> {
        let id = self.wallet_of(user, currency).await?;
        let found = self.ledger.lookup_accounts(&[id]).await?;
        found.first().map(|a| a.balance()).ok_or(PaymentError::Corrupt(format!("wallet {id} is not in the ledger")))
    }

    /// The id of the payment `payer` asks for with `key`: a merchant payment or transfer (`kind`
    /// [`MerchantPayment`](PaymentKind::MerchantPayment) or [`Transfer`](PaymentKind::Transfer): they
    /// share one key space), a top-up or a withdrawal. A caller looks a retry up with it before
    /// authorizing again; `None` for the kinds a user does not ask for.
    pub fn payment_id(&self, payer: UserId, kind: PaymentKind, key: &super::IdempotencyKey) -> Option<PaymentId> {
        let requester = Owner::User(payer).to_bytes();
        let subject = match kind {
            PaymentKind::MerchantPayment | PaymentKind::Transfer => "payment",
            PaymentKind::TopUp | PaymentKind::Withdrawal => kind.as_str(),
            PaymentKind::Refund | PaymentKind::Reversal => return None,
        };
        Some(PaymentId::from_u128(self.keys.ids.subject(subject, &requester, key)))
    }

    /// The id of the red packet `sender` sends with `key`.
    pub fn red_packet_id(&self, sender: UserId, key: &super::IdempotencyKey) -> crate::redpacket::RedPacketId {
        let requester = Owner::User(sender).to_bytes();
        crate::redpacket::RedPacketId::from_u128(self.keys.ids.subject("red_packet", &requester, key))
    }

    /// Records that `user` uses `device`: the new-device risk rule then treats it as known. The facade
    /// calls it for a login from a device that is not new to the account (a device is otherwise known
    /// once it has paid).
    #[instrument(skip(self), err)]
    pub async fn trust_device(&self, user: UserId, device: qianbao_core::DeviceId) -> Result<(), PaymentError> {
        Ok(self.store.mark_device_known(user, device, self.now()).await?)
    }

    /// Replaces the debit limits of a user's wallet (the facade applies account-class caps this way).
    #[instrument(skip(self, limits), err)]
    pub async fn set_wallet_limits(
        &self,
        user: UserId,
        currency: Currency,
        limits: Vec<DebitLimit>,
    ) -> Result<(), PaymentError> {
        let id = self.wallet_of(user, currency).await?;
        Ok(self.ledger.set_debit_limits(id, limits).await?)
    }

    // ---- reads ----

    /// A payment or refund.
    pub async fn payment(&self, id: PaymentId) -> Result<Payment, PaymentError> {
        self.store.payment(id).await?.ok_or(PaymentError::PaymentNotFound(id))
    }

    /// Payments where the owner pays or is paid, newest first.
    pub async fn payments_of(&self, owner: Owner, limit: u32) -> Result<Vec<Payment>, PaymentError> {
        Ok(self.store.payments_of(owner, limit).await?)
    }

    /// The refunds and reversals of a payment.
    pub async fn refunds(&self, id: PaymentId) -> Result<Vec<Payment>, PaymentError> {
        Ok(self.store.refunds_of(id).await?)
    }

    // ---- shared steps ----

    /// Submits one linked chain and reads its results: `Ok` when every transfer exists now.
    ///
    /// A retried chain that was applied before answers `exists` for its first event and
    /// `linked_event_failed` for the others (an `exists` fails a chain, as in TigerBeetle): then the
    /// chain's transfers are looked up, and the chain counts as created when all of them exist.
    pub(crate) async fn submit(
        &self,
        batch: &[NewTransfer],
        accounts: &[(AccountId, AccountId)],
    ) -> Result<(), PaymentError> {
        use crate::CreateTransferResult as R;
        let results = self.ledger.create_transfers(batch).await?;
        let replayed = results.contains(&R::Exists)
            && results.iter().all(|r| matches!(r, R::Ok | R::Exists | R::LinkedEventFailed));
        if replayed && results.len() == batch.len() {
            let ids = ids_of(batch);
            if self.ledger.lookup_transfers(&ids).await?.len() == ids.len() {
                return Ok(());
            }
        }
        check_results(&ids_of(batch), accounts, &results)
    }

    /// Forgets a recorded payment the ledger refused — after checking that none of its transfers
    /// exists (a pair check across the boundary: money that moved is never forgotten).
    async fn forget_refused(&self, p: &Payment) -> Result<(), PaymentError> {
        let existing = self.ledger.lookup_transfers(&p.transfer_ids()).await?;
        if !existing.is_empty() {
            return Err(PaymentError::Corrupt(format!(
                "payment {} was refused but {} of its transfers exist",
                p.id,
                existing.len()
            )));
        }
        if p.refund_of.is_some() {
            self.store.release_refund(p).await?;
        } else {
            self.store.delete_submitting(p.id).await?;
        }
        Ok(())
    }

    /// Finishes a payment recorded as `submitting`: submits its chain (a retry gets `exists`), then
    /// records the new state. When the ledger refuses, the record is removed (a refund gives its
    /// reservation back) and the refusal returned: nothing moved and nothing is kept.
    pub(crate) async fn finish_submitting(&self, p: Payment) -> Result<Payment, PaymentError> {
        let batch = chain(&p.legs, p.pending, p.hold_timeout_secs, p.id.as_u128());
        if let Err(e) = self.submit(&batch, &leg_accounts(&p.legs)).await {
            if e.is_ledger_refusal() {
                self.forget_refused(&p).await?;
            }
            return Err(e);
        }
        let to = match (p.pending, p.kind) {
            (false, _) => PaymentState::Completed,
            (true, PaymentKind::TopUp | PaymentKind::Withdrawal) => PaymentState::Held { hold: Hold::Bank },
            (true, _) => PaymentState::Held { hold: Hold::Review },
        };
        let accepted = matches!(p.kind, PaymentKind::MerchantPayment | PaymentKind::Transfer);
        self.change_state(&p, "submitting", to, None, accepted, Vec::new()).await
    }

    /// Posts (`post`) or voids every pending leg of a held payment, then records `to`. A refusal by
    /// the ledger is returned as is (the caller maps an expired hold).
    pub(crate) async fn resolve_hold(
        &self,
        p: &Payment,
        post: bool,
        to: PaymentState,
        bank_reference: Option<String>,
    ) -> Result<Payment, PaymentError> {
        // A refusal that can pass (a frozen wallet, a limit) is remembered by the ledger for the ids it
        // was given: a later try takes the next attempt's ids. Attempts are tried in order and a
        // pending transfer resolves at most once, so a retry finds the attempt that went through
        // (`exists`) and no two attempts can both move money.
        let mut attempt = 0;
        let batch = loop {
            let batch = resolve_chain(&self.keys.ids, p.id.as_u128(), &p.legs, post, attempt);
            match self.submit(&batch, &leg_accounts(&p.legs)).await {
                Ok(()) => break batch,
                Err(PaymentError::AlreadyFailed) if attempt + 1 < RESOLVE_ATTEMPTS_MAX => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        let from = p.state.code();
        self.change_state(p, from, to, bank_reference, false, ids_of(&batch)).await
    }

    /// Records a state change, with the risk counters (`count_risk`: the payment was just accepted)
    /// and the fee allowance (when it completes). Retries when a concurrent payment changed the risk
    /// counters; returns the stored payment when another writer changed the state first.
    pub(crate) async fn change_state(
        &self,
        p: &Payment,
        from: &'static str,
        to: PaymentState,
        bank_reference: Option<String>,
        count_risk: bool,
        transfers: Vec<qianbao_core::TransferId>,
    ) -> Result<Payment, PaymentError> {
        let fee_usage = if to == PaymentState::Completed { self.fee_usage_write(p)? } else { None };
        for _ in 0..RACE_ATTEMPTS_MAX {
            let at = self.now();
            let risk = if count_risk { self.risk_write(p, at).await? } else { None };
            let update = PaymentUpdate {
                id: p.id,
                from,
                to: to.clone(),
                at,
                bank_reference: bank_reference.clone(),
                risk,
                fee_usage,
                transfers: transfers.clone(),
            };
            match self.store.update_payment(update).await? {
                UpdateOutcome::RiskStale => continue,
                UpdateOutcome::Updated | UpdateOutcome::StateChanged => return self.payment(p.id).await,
            }
        }
        Err(PaymentError::Contended { attempts: RACE_ATTEMPTS_MAX })
    }

    fn fee_usage_write(&self, p: &Payment) -> Result<Option<FeeUsageWrite>, PaymentError> {
        let Some(product) = fee_product(p.kind) else { return Ok(None) };
        let setup = self.config.setup(p.amount.currency())?;
        let Some(free) = setup.fees.rule(product).and_then(|r| r.fields().free) else { return Ok(None) };
        Ok(Some(FeeUsageWrite {
            owner: allowance_owner(p.payer, p.payee, p.fee_bearer),
            product,
            period: period_of(free.period, p.created_at, self.config.fee_period_utc_offset_secs),
            amount_minor: p.amount.minor(),
        }))
    }

    /// The fee of a product on `amount` for `owner`'s allowance at `at`.
    pub(crate) async fn quote_fee(
        &self,
        kind: PaymentKind,
        owner: Owner,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, PaymentError> {
        let Some(product) = fee_product(kind) else { return Ok(Money::zero(amount.currency())) };
        self.quote_product(product, owner, amount, at).await
    }

    pub(crate) async fn quote_product(
        &self,
        product: crate::fee::FeeProduct,
        owner: Owner,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, PaymentError> {
        let setup = self.config.setup(amount.currency())?;
        let usage = match setup.fees.rule(product).and_then(|r| r.fields().free) {
            Some(free) => {
                let period = period_of(free.period, at, self.config.fee_period_utc_offset_secs);
                self.store.fee_usage(owner, product, period).await?
            }
            None => crate::fee::AllowanceUsage::default(),
        };
        Ok(setup.fees.quote(product, amount, usage)?.fee)
    }

    /// The risk counters to write after a payment or transfer of a user was accepted.
    async fn risk_write(&self, p: &Payment, at: Timestamp) -> Result<Option<RiskWrite>, PaymentError> {
        let Owner::User(user) = p.payer else { return Ok(None) };
        let setup = self.config.setup(p.amount.currency())?;
        let state = self.store.risk_state(user, p.device).await?;
        let mut ctx = RiskContext::new(user, p.amount, at);
        ctx.device = p.device;
        ctx.user_counters = state.user.counters;
        ctx.history = state.user.history.clone();
        ctx.device_counters = state.device.as_ref().map(|d| d.counters).unwrap_or_default();
        let recorded = risk::record_payment(&setup.risk, &ctx)?;
        Ok(Some(RiskWrite {
            user,
            user_version: state.user.version,
            device: p.device.zip(state.device.map(|d| d.version)),
            recorded,
            at,
        }))
    }

    /// Finishes every payment left `submitting` (after a crash or a failed call), oldest first, at most
    /// `limit`; returns how each came out. Bank payments continue with the bank.
    #[instrument(skip(self))]
    pub async fn recover(&self, limit: u32) -> Result<Vec<Result<Payment, PaymentError>>, PaymentError> {
        let mut out = Vec::new();
        for p in self.store.payments_in_state("submitting", limit).await? {
            let done = match p.kind {
                PaymentKind::TopUp | PaymentKind::Withdrawal => self.continue_bank(p).await,
                _ => self.finish_submitting(p).await,
            };
            out.push(done);
        }
        Ok(out)
    }
}

impl PaymentError {
    /// True when the ledger refused the request (as opposed to failing): nothing moved.
    pub(crate) fn is_ledger_refusal(&self) -> bool {
        matches!(
            self,
            PaymentError::InsufficientFunds { .. }
                | PaymentError::AccountFrozen { .. }
                | PaymentError::LimitReached { .. }
                | PaymentError::AccountClosed { .. }
                | PaymentError::AlreadyFailed
                | PaymentError::LedgerRefused { .. }
        )
    }
}
