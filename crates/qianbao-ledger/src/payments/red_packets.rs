//! Red packets on the ledger: the sender funds escrow in one chain (amount and fee), each claim moves
//! one share from escrow to the receiver, and expiry returns the rest to the sender.
//!
//! Order of writes: the packet (with its shares) is recorded as `funding`, its chain submitted, then
//! it opens. A claim is first reserved in the store — the share index advances only if nobody took it,
//! and `(packet, receiver)` is unique, so a share goes to one receiver and a receiver gets one share —
//! then its transfer is submitted and the claim marked paid. Expiry first closes the packet to claims
//! (`returning`), then returns the unclaimed shares, then records what went back. Each step's
//! transfer id derives from the packet, so a retry of any step converges.

use qianbao_core::{Money, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::fees::period_of;
use super::ids::{IdempotencyKey, Role};
use super::model::{AccountKind, FeeBearer, Owner, PacketStatus, RedPacketView};
use super::plan::{Parties, chain, leg, leg_accounts, payment_legs, positive};
use super::port::LedgerPort;
use super::service::RACE_ATTEMPTS_MAX;
use super::store::{
    ClaimOutcome, ClaimState, FeeUsageWrite, Inserted, PacketBody, PaymentsStore, StoredClaim, StoredPacket,
};
use super::{PaymentError, Payments};
use crate::fee::FeeProduct;
use crate::redpacket::{
    Claim, NewRedPacket, PacketState, RedPacket, RedPacketError, RedPacketId, RedPacketRecord, SplitMode,
};
use crate::{NewTransfer, TransferCode};

/// A sender's red packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRedPacket {
    /// Who pays.
    pub sender: UserId,
    /// The whole amount shared.
    pub total: Money,
    /// How many shares.
    pub count: u32,
    /// Equal or random shares.
    pub mode: SplitMode,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

impl<L: LedgerPort> Payments<L> {
    /// Sends a red packet: splits it (random shares from the injected entropy), records it and moves
    /// the amount (and the fee, on top) from the sender's wallet to escrow in one chain.
    #[instrument(skip(self, request), fields(sender = %request.sender, key = %request.key), err)]
    pub async fn send_red_packet(&self, request: SendRedPacket) -> Result<RedPacketView, PaymentError> {
        positive("amount", request.total)?;
        let currency = request.total.currency();
        let sender = Owner::User(request.sender);
        let id = RedPacketId::from_u128(self.keys.ids.subject("red_packet", &sender.to_bytes(), &request.key));
        if let Some(stored) = self.store.packet(id).await? {
            return self.replay_packet(stored, &request).await;
        }
        self.wallet_of(request.sender, currency).await?;
        let now = self.now();
        let new =
            NewRedPacket { id, sender: request.sender, total: request.total, count: request.count, mode: request.mode };
        let packet = RedPacket::new(&new, &self.config.red_packets, now, self.entropy.as_ref())?;
        let fee = self.quote_product(FeeProduct::RedPacket, sender, request.total, now).await?;
        let r = packet.record();
        let body = PacketBody {
            id,
            key: request.key.clone(),
            sender: request.sender,
            total: request.total,
            fee,
            mode: request.mode,
            shares: r.shares.clone(),
            sender_may_claim: r.sender_may_claim,
            created_at: r.created_at,
            expires_at: r.expires_at,
        };
        match self.store.insert_packet(&body).await? {
            Inserted::New => self.fund(body).await,
            Inserted::Existing(stored) => self.replay_packet(stored, &request).await,
        }
    }

    async fn replay_packet(&self, stored: StoredPacket, r: &SendRedPacket) -> Result<RedPacketView, PaymentError> {
        let b = &stored.body;
        if b.sender != r.sender || b.total != r.total || b.shares.len() != r.count as usize || b.mode != r.mode {
            return Err(PaymentError::IdempotencyConflict(format!("red packet {}", b.id)));
        }
        match stored.status {
            PacketStatus::Funding => self.fund(stored.body).await,
            _ => Ok(self.view(&stored)),
        }
    }

    /// Moves the amount and fee into escrow, then opens the packet; a refusal removes the record.
    async fn fund(&self, body: PacketBody) -> Result<RedPacketView, PaymentError> {
        let currency = body.total.currency();
        let parties = Parties {
            payer: self.wallet_of(body.sender, currency).await?,
            payee: self.system_account(AccountKind::RedPacketEscrow, currency)?,
            fee_income: self.system_account(AccountKind::FeeIncome, currency)?,
        };
        let subject = body.id.as_u128();
        let legs = payment_legs(
            &self.keys.ids,
            subject,
            parties,
            body.total,
            body.fee,
            FeeBearer::Payer,
            TransferCode::RED_PACKET,
        )?;
        if let Err(e) = self.submit(&chain(&legs, false, 0, subject), &leg_accounts(&legs)).await {
            if e.is_ledger_refusal() {
                self.store.delete_funding(body.id).await?;
            }
            return Err(e);
        }
        self.store.mark_funded(body.id, self.packet_fee_usage(&body)?).await?;
        self.red_packet(body.id).await
    }

    fn packet_fee_usage(&self, body: &PacketBody) -> Result<Option<FeeUsageWrite>, PaymentError> {
        let setup = self.config.setup(body.total.currency())?;
        let Some(free) = setup.fees.rule(FeeProduct::RedPacket).and_then(|r| r.fields().free) else { return Ok(None) };
        Ok(Some(FeeUsageWrite {
            owner: Owner::User(body.sender),
            product: FeeProduct::RedPacket,
            period: period_of(free.period, body.created_at, self.config.fee_period_utc_offset_secs),
            amount_minor: body.total.minor(),
        }))
    }

    /// A red packet as users see it.
    pub async fn red_packet(&self, id: RedPacketId) -> Result<RedPacketView, PaymentError> {
        let stored = self.store.packet(id).await?.ok_or(PaymentError::RedPacketNotFound(id))?;
        Ok(self.view(&stored))
    }

    /// The red packets `sender` created at or after `since`, newest first (at most `limit`): what the
    /// facade adds to a user's daily spending.
    pub async fn red_packets_sent(
        &self,
        sender: UserId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RedPacketView>, PaymentError> {
        let mut out = Vec::new();
        for id in self.store.packets_sent_since(sender, since, limit).await? {
            out.push(self.red_packet(id).await?);
        }
        Ok(out)
    }

    /// Claims the next share of a red packet for `receiver` (who needs a wallet in its currency).
    /// Refused when the packet expired, every share is claimed, the receiver claimed before
    /// ([`RedPacketError::AlreadyClaimed`]), or the sender may not claim; nothing changes then.
    #[instrument(skip(self), err)]
    pub async fn claim_red_packet(&self, id: RedPacketId, receiver: UserId) -> Result<Claim, PaymentError> {
        for _ in 0..RACE_ATTEMPTS_MAX {
            let stored = self.store.packet(id).await?.ok_or(PaymentError::RedPacketNotFound(id))?;
            if let Some(c) = stored.claims.iter().find(|c| c.claim.receiver == receiver) {
                return self.replay_claim(&stored, *c).await;
            }
            let claim = decide_claim(&stored, receiver, self.now())?;
            self.wallet_of(receiver, stored.body.total.currency()).await?;
            match self.store.reserve_claim(id, &claim).await? {
                ClaimOutcome::Reserved => return self.pay_claim(&stored.body, claim).await,
                ClaimOutcome::Existing(c) => return self.replay_claim(&stored, c).await,
                ClaimOutcome::Stale => continue,
            }
        }
        Err(PaymentError::Contended { attempts: RACE_ATTEMPTS_MAX })
    }

    /// A receiver's claim again: a reserved one (a crash or failure in between) is paid now; a paid or
    /// refused one is a duplicate claim.
    async fn replay_claim(&self, stored: &StoredPacket, c: StoredClaim) -> Result<Claim, PaymentError> {
        match c.state {
            ClaimState::Reserved => self.pay_claim(&stored.body, c.claim).await,
            _ => Err(RedPacketError::AlreadyClaimed { receiver: c.claim.receiver }.into()),
        }
    }

    async fn pay_claim(&self, body: &PacketBody, claim: Claim) -> Result<Claim, PaymentError> {
        let currency = body.total.currency();
        let escrow = self.system_account(AccountKind::RedPacketEscrow, currency)?;
        let wallet = self.wallet_of(claim.receiver, currency).await?;
        let t = self.packet_transfer(
            body,
            Role::Claim,
            claim.share_index,
            escrow,
            wallet,
            claim.amount,
            TransferCode::RED_PACKET_CLAIM,
        );
        match self.submit(&[t], &[(escrow, wallet)]).await {
            Ok(()) => {
                self.store.settle_claim(body.id, claim.share_index, ClaimState::Paid).await?;
                Ok(claim)
            }
            Err(e) if e.is_ledger_refusal() => {
                self.store.settle_claim(body.id, claim.share_index, ClaimState::Failed).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet_transfer(
        &self,
        body: &PacketBody,
        role: Role,
        index: u32,
        debit: qianbao_core::AccountId,
        credit: qianbao_core::AccountId,
        amount: Money,
        code: TransferCode,
    ) -> NewTransfer {
        let subject = body.id.as_u128();
        let mut l = leg(&self.keys.ids, subject, 0, debit, credit, amount, code);
        l.transfer_id = self.keys.ids.transfer(subject, role, index);
        chain(&[l], false, 0, subject).remove(0)
    }

    /// Expires every red packet past its deadline at `now` (at most `limit` per call): no claim gets
    /// in after, and the unclaimed shares (with shares whose payment the ledger refused) go back to
    /// the sender. Returns the packets expired.
    #[instrument(skip(self), err)]
    pub async fn expire_red_packets(&self, now: Timestamp, limit: u32) -> Result<Vec<RedPacketView>, PaymentError> {
        let mut expired = Vec::new();
        for id in self.store.packets_due(now, limit).await? {
            let Some(stored) = self.store.packet(id).await? else { continue };
            if matches!(stored.status, PacketStatus::Open | PacketStatus::Exhausted)
                && !self.store.begin_return(id, now).await?
            {
                continue;
            }
            let returned = unclaimed(&stored)?;
            if returned.is_positive() {
                let currency = returned.currency();
                let escrow = self.system_account(AccountKind::RedPacketEscrow, currency)?;
                let wallet = self.wallet_of(stored.body.sender, currency).await?;
                let t = self.packet_transfer(
                    &stored.body,
                    Role::Return,
                    0,
                    escrow,
                    wallet,
                    returned,
                    TransferCode::RED_PACKET_RETURN,
                );
                if let Err(e) = self.submit(&[t], &[(escrow, wallet)]).await {
                    tracing::warn!(packet = %id, error = %e, "returning a red packet failed; it stays returning");
                    continue;
                }
            }
            self.store.finish_return(id, returned).await?;
            expired.push(self.red_packet(id).await?);
        }
        Ok(expired)
    }

    fn view(&self, s: &StoredPacket) -> RedPacketView {
        let subject = s.body.id.as_u128();
        let legs = if s.body.fee.is_positive() { 2 } else { 1 };
        RedPacketView {
            id: s.body.id,
            sender: s.body.sender,
            total: s.body.total,
            fee: s.body.fee,
            count: s.body.shares.len() as u32,
            mode: s.body.mode,
            claims: s.claims.iter().filter(|c| c.state != ClaimState::Failed).map(|c| c.claim).collect(),
            status: s.status,
            created_at: s.body.created_at,
            expires_at: s.body.expires_at,
            funding: (0..legs).map(|i| self.keys.ids.transfer(subject, Role::Leg, i)).collect(),
        }
    }
}

/// Decides the next claim with the pure red packet rules.
fn decide_claim(stored: &StoredPacket, receiver: UserId, now: Timestamp) -> Result<Claim, PaymentError> {
    let b = &stored.body;
    let state = match stored.status {
        PacketStatus::Funding => return Err(PaymentError::RedPacketNotFound(b.id)),
        PacketStatus::Open => PacketState::Open,
        PacketStatus::Exhausted => PacketState::Exhausted,
        PacketStatus::Returning | PacketStatus::Expired { .. } => {
            return Err(RedPacketError::Expired { expires_at: b.expires_at }.into());
        }
    };
    let record = RedPacketRecord {
        id: b.id,
        sender: b.sender,
        total: b.total,
        mode: b.mode,
        shares: b.shares.clone(),
        claims: stored.claims.iter().map(|c| c.claim).collect(),
        sender_may_claim: b.sender_may_claim,
        created_at: b.created_at,
        expires_at: b.expires_at,
        state,
    };
    let mut packet = RedPacket::from_record(record)?;
    Ok(packet.claim(receiver, now)?)
}

/// What goes back at expiry: the unclaimed shares and the shares of refused claims.
fn unclaimed(stored: &StoredPacket) -> Result<Money, PaymentError> {
    let b = &stored.body;
    let rest = b.shares.iter().skip(stored.claims.len()).copied();
    let refused = stored.claims.iter().filter(|c| c.state == ClaimState::Failed).map(|c| c.claim.amount);
    Money::checked_sum(b.total.currency(), rest.chain(refused))
        .map_err(|_| PaymentError::Corrupt("red packet sums".into()))
}
