//! Red packets (红包): sent from the wallet into escrow, split among receivers who claim a share each;
//! what is unclaimed at expiry goes back ([`Operator::expire_red_packets`](crate::Operator::expire_red_packets)).

use qianbao_core::Money;
use qianbao_ledger::PaymentError;
use qianbao_ledger::payments::{AccountKind, IdempotencyKey, RedPacketView, SendRedPacket};
use qianbao_ledger::redpacket::{Claim, RedPacketId, SplitMode};
use serde::{Deserialize, Serialize};

use super::{Authorization, Target};
use crate::{Caller, WALLET_CURRENCY, Wallet, WalletError};

/// A red packet to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRedPacket {
    /// The whole amount.
    pub total: Money,
    /// Into how many shares.
    pub count: u32,
    /// Equal or random shares.
    pub mode: SplitMode,
    /// The client's idempotency key.
    pub key: IdempotencyKey,
}

impl Wallet {
    /// Sends a red packet: the sender must be active and real-name verified; authorized and capped as
    /// a payment (the packet counts toward the day's payments and the class cap). A retry with the
    /// same key returns the packet.
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, key = %req.key))]
    pub async fn send_red_packet(
        &self,
        caller: &Caller,
        req: NewRedPacket,
        auth: &Authorization,
    ) -> Result<RedPacketView, WalletError> {
        let a = self.authenticate(caller).await?;
        Self::check_amount(req.total)?;
        let payments = &self.inner.payments;
        let request =
            SendRedPacket { sender: a.user(), total: req.total, count: req.count, mode: req.mode, key: req.key };
        let id = payments.red_packet_id(a.user(), &request.key);
        match payments.red_packet(id).await {
            Ok(_) => return Ok(payments.send_red_packet(request).await?),
            Err(PaymentError::RedPacketNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let user = self.require_payer(a.user(), true).await?;
        self.ensure_wallet(&user).await?;
        let payee = payments.system_account(AccountKind::RedPacketEscrow, WALLET_CURRENCY)?;
        let target = Target { payee, amount: req.total, payment: id.as_u128(), capped: true };
        self.debit(&a, caller, auth, target, || payments.send_red_packet(request)).await
    }

    /// Claims a share of a red packet for the caller (active or frozen, real-name verified; the wallet
    /// is opened on first use). Each receiver claims once: a second claim is refused
    /// ([`RedPacketError::AlreadyClaimed`](qianbao_ledger::RedPacketError::AlreadyClaimed)).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, packet = %packet))]
    pub async fn claim_red_packet(&self, caller: &Caller, packet: RedPacketId) -> Result<Claim, WalletError> {
        let a = self.authenticate(caller).await?;
        let receiver = self.receiver(a.user()).await?;
        self.ensure_wallet(&receiver).await?;
        Ok(self.inner.payments.claim_red_packet(packet, a.user()).await?)
    }

    /// A red packet as its sender and receivers see it (unclaimed shares are not shown).
    #[tracing::instrument(skip_all, fields(user = tracing::field::Empty, packet = %packet))]
    pub async fn red_packet(&self, caller: &Caller, packet: RedPacketId) -> Result<RedPacketView, WalletError> {
        self.authenticate(caller).await?;
        Ok(self.inner.payments.red_packet(packet).await?)
    }
}
