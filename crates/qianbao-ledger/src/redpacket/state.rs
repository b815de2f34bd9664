//! The claim and expiry state machine of a red packet.

use std::collections::HashSet;

use qianbao_core::{Entropy, Money, Timestamp, UserId};

use super::*;

impl RedPacket {
    /// Splits and opens a packet at `now`, open for `config.ttl`.
    pub fn new(
        request: &NewRedPacket,
        config: &RedPacketConfig,
        now: Timestamp,
        entropy: &dyn Entropy,
    ) -> Result<Self, RedPacketError> {
        if !request.total.is_positive() {
            let min_share = Money::from_minor(config.share_min_minor, request.total.currency());
            return Err(RedPacketError::TooSmall { total: request.total, count: request.count, min_share });
        }
        let shares = split_shares(request.total, request.count, request.mode, config, entropy)?;
        Ok(RedPacket {
            record: RedPacketRecord {
                id: request.id,
                sender: request.sender,
                total: request.total,
                mode: request.mode,
                shares,
                claims: Vec::new(),
                sender_may_claim: config.sender_may_claim,
                created_at: now,
                expires_at: now.saturating_add(config.ttl),
                state: PacketState::Open,
            },
        })
    }

    /// A packet from its stored form, after checking every invariant.
    pub fn from_record(record: RedPacketRecord) -> Result<Self, RedPacketError> {
        let bad = |s: &str| Err(RedPacketError::Corrupt(s.to_owned()));
        let currency = record.total.currency();
        if record.shares.is_empty() || record.shares.iter().any(|s| !s.is_positive() || s.currency() != currency) {
            return bad("shares must be positive amounts in the packet's currency");
        }
        if Money::checked_sum(currency, record.shares.iter().copied()) != Ok(record.total) {
            return bad("shares do not sum to the total");
        }
        if record.claims.len() > record.shares.len() {
            return bad("more claims than shares");
        }
        let mut receivers = HashSet::new();
        for (i, c) in record.claims.iter().enumerate() {
            if c.share_index as usize != i || c.amount != record.shares[i] || !receivers.insert(c.receiver) {
                return bad("claim i must take share i, one claim per receiver");
            }
        }
        let all_claimed = record.claims.len() == record.shares.len();
        let consistent = match record.state {
            PacketState::Open => !all_claimed,
            PacketState::Exhausted => all_claimed,
            PacketState::Expired { returned } => returned.is_positive() && Ok(returned) == unclaimed(&record),
        };
        if !consistent || record.expires_at < record.created_at {
            return bad("state does not match the claims");
        }
        Ok(RedPacket { record })
    }

    /// The stored form.
    pub fn record(&self) -> &RedPacketRecord {
        &self.record
    }

    /// The id.
    pub fn id(&self) -> RedPacketId {
        self.record.id
    }

    /// The state.
    pub fn state(&self) -> PacketState {
        self.record.state
    }

    /// The claims so far, in order.
    pub fn claims(&self) -> &[Claim] {
        &self.record.claims
    }

    /// When it expires.
    pub fn expires_at(&self) -> Timestamp {
        self.record.expires_at
    }

    /// What is not claimed yet.
    pub fn unclaimed(&self) -> Money {
        // Claimed shares are a prefix of shares that sum to the total: the rest fits.
        unclaimed(&self.record).unwrap_or(Money::zero(self.record.total.currency()))
    }

    /// Gives `receiver` the next share at `now`. Refused, with the packet unchanged, when the packet
    /// is expired (at or after its deadline) or not open, all shares are claimed, the receiver already
    /// has one, or the receiver is the sender and the packet does not allow it.
    pub fn claim(&mut self, receiver: UserId, now: Timestamp) -> Result<Claim, RedPacketError> {
        let r = &self.record;
        if now >= r.expires_at {
            return Err(RedPacketError::Expired { expires_at: r.expires_at });
        }
        match r.state {
            PacketState::Open => {}
            PacketState::Exhausted => return Err(RedPacketError::SoldOut),
            state => return Err(RedPacketError::NotOpen { state }),
        }
        if r.claims.iter().any(|c| c.receiver == receiver) {
            return Err(RedPacketError::AlreadyClaimed { receiver });
        }
        if receiver == r.sender && !r.sender_may_claim {
            return Err(RedPacketError::SenderCannotClaim);
        }
        let index = r.claims.len();
        let claim = Claim { receiver, amount: r.shares[index], share_index: index as u32, claimed_at: now };
        self.record.claims.push(claim);
        if self.record.claims.len() == self.record.shares.len() {
            self.record.state = PacketState::Exhausted;
        }
        Ok(claim)
    }

    /// Closes an open packet at or after its deadline and returns the unclaimed rest (positive) for
    /// the sender. Refused, with the packet unchanged, before the deadline or when not open.
    pub fn expire(&mut self, now: Timestamp) -> Result<Money, RedPacketError> {
        let r = &self.record;
        if r.state != PacketState::Open {
            return Err(RedPacketError::NotOpen { state: r.state });
        }
        if now < r.expires_at {
            return Err(RedPacketError::NotExpired { expires_at: r.expires_at, now });
        }
        let returned = self.unclaimed();
        assert!(returned.is_positive(), "an open packet has unclaimed shares");
        self.record.state = PacketState::Expired { returned };
        Ok(returned)
    }
}

fn unclaimed(r: &RedPacketRecord) -> Result<Money, qianbao_core::MoneyError> {
    let currency = r.total.currency();
    Money::checked_sum(currency, r.shares[r.claims.len().min(r.shares.len())..].iter().copied())
}
