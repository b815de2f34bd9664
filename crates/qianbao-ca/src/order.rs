//! Signed payment orders and renewal proofs: canonical, versioned byte encodings a device signs with its
//! certificate's key (ECDSA P-256 / SHA-256, DER signature).
//!
//! # Payment order, version 1 (88 bytes, all integers big-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `QBPO` |
//! | 1 | version `0x01` |
//! | 16 | payer ([`UserId`]; must be the certificate's user) |
//! | 16 | payee ([`AccountId`], the ledger account credited) |
//! | 8 | amount in minor units (`i64`, > 0) |
//! | 3 | currency, ISO 4217 alphabetic code in ASCII |
//! | 16 | order id ([`TransferId`], the ledger's idempotency key) |
//! | 16 | nonce ([`OrderNonce`], random, usable once) |
//! | 8 | signing time, Unix nanoseconds (`u64`) |
//!
//! The signature covers exactly these bytes. On the wire a [`SignedOrder`] is the 88 order bytes followed
//! by the DER `ECDSA-Sig-Value` (8 to 72 bytes). Decoding is strict — any byte string decodes to at most
//! one order, and re-encoding gives the same bytes — so there is one encoding to sign.
//!
//! # Renewal proof, version 1 (61 bytes)
//!
//! `QBRN` · `0x01` · the current certificate's serial (16) · SHA-256 of the new CSR's DER (32) · signing
//! time in Unix nanoseconds (8). Signed by the current certificate's key, it proves possession and binds
//! the new CSR, so a captured proof cannot carry another key.

use qianbao_core::{AccountId, Currency, Entropy, Money, Timestamp, TransferId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CaError;
use crate::record::CertSerial;

const ORDER_MAGIC: &[u8; 4] = b"QBPO";
const RENEWAL_MAGIC: &[u8; 4] = b"QBRN";
/// The order encoding version this build writes and reads.
pub const ORDER_VERSION: u8 = 1;
/// The length of an encoded version-1 order.
pub const ORDER_LEN: usize = 4 + 1 + 16 + 16 + 8 + 3 + 16 + 16 + 8;
/// The shortest DER ECDSA signature accepted.
pub const SIGNATURE_LEN_MIN: usize = 8;
/// The longest DER ECDSA P-256 signature (two 33-byte INTEGERs and headers).
pub const SIGNATURE_LEN_MAX: usize = 72;

/// A payment order's nonce: 16 random bytes chosen by the device, accepted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderNonce(pub [u8; 16]);

impl OrderNonce {
    /// A fresh random nonce.
    pub fn random(entropy: &dyn Entropy) -> Self {
        let mut b = [0u8; 16];
        entropy.fill(&mut b);
        OrderNonce(b)
    }
}

/// A payment order as the device signs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrder {
    /// Who pays: the certificate's user.
    pub payer: UserId,
    /// The ledger account credited.
    pub payee: AccountId,
    /// How much (positive).
    pub amount: Money,
    /// The order id (the ledger transfer id).
    pub order_id: TransferId,
    /// Usable once.
    pub nonce: OrderNonce,
    /// When the device signed it.
    pub signed_at: Timestamp,
}

impl PaymentOrder {
    /// The canonical version-1 encoding (what is signed). Fails only for a non-positive amount.
    pub fn encode(&self) -> Result<[u8; ORDER_LEN], CaError> {
        if !self.amount.is_positive() {
            return Err(CaError::OrderMalformed("the amount must be positive"));
        }
        let mut b = [0u8; ORDER_LEN];
        let mut w = Writer { buf: &mut b, at: 0 };
        w.put(ORDER_MAGIC);
        w.put(&[ORDER_VERSION]);
        w.put(&self.payer.to_bytes());
        w.put(&self.payee.to_bytes());
        w.put(&self.amount.minor().to_be_bytes());
        w.put(self.amount.currency().code().as_bytes());
        w.put(&self.order_id.to_bytes());
        w.put(&self.nonce.0);
        w.put(&self.signed_at.unix_nanos().to_be_bytes());
        Ok(b)
    }

    /// Strictly decodes a version-1 encoding.
    pub fn decode(b: &[u8]) -> Result<Self, CaError> {
        if b.len() != ORDER_LEN {
            return Err(CaError::OrderMalformed("a version-1 order is 88 bytes"));
        }
        let mut r = Reader { buf: b, at: 0 };
        if r.take::<4>() != *ORDER_MAGIC {
            return Err(CaError::OrderMalformed("not a payment order (magic)"));
        }
        if r.take::<1>()[0] != ORDER_VERSION {
            return Err(CaError::OrderMalformed("unsupported order version"));
        }
        let payer = UserId::from_bytes(r.take());
        let payee = AccountId::from_bytes(r.take());
        let minor = i64::from_be_bytes(r.take());
        let code = r.take::<3>();
        let code = std::str::from_utf8(&code).map_err(|_| CaError::OrderMalformed("currency code is not ASCII"))?;
        let currency = Currency::from_code(code).map_err(|_| CaError::OrderMalformed("unknown currency"))?;
        if currency.code() != code {
            return Err(CaError::OrderMalformed("currency code not in canonical form"));
        }
        if minor <= 0 {
            return Err(CaError::OrderMalformed("the amount must be positive"));
        }
        let order_id = TransferId::from_bytes(r.take());
        let nonce = OrderNonce(r.take());
        let signed_at = Timestamp::from_unix_nanos(u64::from_be_bytes(r.take()));
        Ok(PaymentOrder { payer, payee, amount: Money::from_minor(minor, currency), order_id, nonce, signed_at })
    }
}

/// A payment order with the device's DER ECDSA signature over its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOrder {
    /// The order.
    pub order: PaymentOrder,
    /// DER `ECDSA-Sig-Value` over [`PaymentOrder::encode`].
    pub signature: Vec<u8>,
}

impl SignedOrder {
    /// The wire form: order bytes then signature.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CaError> {
        let mut v = self.order.encode()?.to_vec();
        v.extend_from_slice(&self.signature);
        Ok(v)
    }

    /// Decodes the wire form. The signature is only length-checked here; it is verified against the
    /// certificate by the CA.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CaError> {
        if b.len() < ORDER_LEN + SIGNATURE_LEN_MIN || b.len() > ORDER_LEN + SIGNATURE_LEN_MAX {
            return Err(CaError::OrderMalformed("a signed order is 88 order bytes and an 8..=72 byte signature"));
        }
        let (order, signature) = b.split_at(ORDER_LEN);
        Ok(SignedOrder { order: PaymentOrder::decode(order)?, signature: signature.to_vec() })
    }
}

/// The bytes a device signs to prove possession of `current`'s key when renewing with `csr_der`.
pub fn renewal_message(current: CertSerial, csr_der: &[u8], signed_at: Timestamp) -> [u8; 61] {
    let mut b = [0u8; 61];
    let mut w = Writer { buf: &mut b, at: 0 };
    w.put(RENEWAL_MAGIC);
    w.put(&[1]);
    w.put(&current.to_bytes());
    w.put(&Sha256::digest(csr_der));
    w.put(&signed_at.unix_nanos().to_be_bytes());
    b
}

struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// The next `N` bytes. Callers check the total length first, so this never runs past the end.
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.at..self.at + N]);
        self.at += N;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> PaymentOrder {
        PaymentOrder {
            payer: UserId::from_u128(1),
            payee: AccountId::from_u128(2),
            amount: Money::from_minor(1234, Currency::CNY),
            order_id: TransferId::from_u128(3),
            nonce: OrderNonce([9; 16]),
            signed_at: Timestamp::from_unix_secs(1_800_000_000),
        }
    }

    #[test]
    fn encoding_is_canonical_and_strict() {
        let o = order();
        let b = o.encode().unwrap();
        assert_eq!(&b[..5], b"QBPO\x01");
        assert_eq!(PaymentOrder::decode(&b).unwrap(), o);
        let mut bad = b;
        bad[4] = 2;
        assert!(PaymentOrder::decode(&bad).is_err());
        let mut neg = b;
        neg[37..45].copy_from_slice(&(-5i64).to_be_bytes());
        assert!(PaymentOrder::decode(&neg).is_err());
        let mut cur = b;
        cur[45..48].copy_from_slice(b"cny");
        assert!(PaymentOrder::decode(&cur).is_err());
        assert!(PaymentOrder { amount: Money::zero(Currency::CNY), ..o }.encode().is_err());
        let s = SignedOrder { order: o, signature: vec![0x30; 70] };
        assert_eq!(SignedOrder::from_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        assert!(SignedOrder::from_bytes(&b).is_err());
    }
}
