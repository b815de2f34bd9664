//! Certificate serial numbers: 16 bytes of AES-128 output under the CA's serial key, of 71 fresh random
//! bits and a certificate number that the store hands out in blocks.
//!
//! A serial is `E(r ‖ id)`: the encryption, under a random 128-bit key made once per CA, of 10 bytes
//! `r` drawn from the CA's entropy (71 random bits: its first byte is kept in 1..=0x7f) and the
//! certificate's 48-bit number `id`. It is a permutation of those 16 bytes, so the serial carries all
//! 71 bits of fresh randomness (at least 64 bits of CSPRNG output, as the CA/Browser Forum asks of
//! serials) and no one without the key can tell it from random or learn the number. The encryption is
//! *cycle-walked* onto the serials this CA writes — first byte 1..=0x7f, so a positive DER INTEGER of
//! exactly 16 bytes (RFC 5280 §4.1.2.2): a ciphertext outside that set is encrypted again until it falls
//! inside, which keeps the map a permutation of that set — so distinct numbers give distinct serials by
//! construction, and a number handed out twice (a database restored from an old backup) still gives a
//! new serial but for a 2^-71 chance. Never derived from the device key: a renewal gets a new number and
//! new random bits.
//!
//! Why not draw 16 bytes from the entropy source directly: a certificate is found by its serial (status
//! checks, revocation), and an index keyed by random bytes takes every issuance as an insert at a random
//! place — one more page to write to the log and to checkpoint, per certificate, at any database size.
//! The serial key is kept in the store as is (`ca_serials`), not sealed like the CA's signing keys: it
//! keeps serials unpredictable to outsiders and unlinkable to issuance order, and protects no secret —
//! whoever can read it can read every certificate in the same database.
//!
//! Decrypting the serial gives the number, which is the certificate row's key: rows are appended in
//! issuance order and no index by serial is written at all. The row must hold that very serial (the
//! store compares), so a serial this key did not make — which decrypts to some number too — finds
//! nothing.

use aes_gcm::aes::Aes128;
use aes_gcm::aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use std::sync::Arc;

use qianbao_core::Entropy;
use zeroize::Zeroizing;

use crate::CaError;
use crate::entropy_pool::EntropyPool;
use crate::record::CertSerial;
use crate::store::{CaDb, CaStore};

/// The length of a serial key.
pub const SERIAL_KEY_LEN: usize = 16;

/// The random bytes in a serial's plaintext (the first kept in 1..=0x7f: 71 random bits).
pub const SERIAL_RANDOM_LEN: usize = 10;

/// The largest certificate number (48 bits: the rest of the block is random).
pub const SERIAL_ID_MAX: u64 = (1 << 48) - 1;

/// Maps certificate numbers to serials and back (see the module docs).
#[derive(Clone)]
pub struct SerialCipher {
    aes: Aes128,
}

impl std::fmt::Debug for SerialCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SerialCipher(..)")
    }
}

/// Whether `b` is a block this CA writes as a serial: first byte 1..=0x7f.
fn in_domain(b: &[u8; 16]) -> bool {
    b[0] != 0 && b[0] & 0x80 == 0
}

impl SerialCipher {
    /// The cipher of `key`.
    pub fn new(key: &[u8; SERIAL_KEY_LEN]) -> Self {
        SerialCipher { aes: Aes128::new(&Array::from(*key)) }
    }

    /// The serial of certificate number `id` (at most [`SERIAL_ID_MAX`]) with the random bytes `random`;
    /// `None` for a larger number.
    pub fn serial(&self, id: u64, random: [u8; SERIAL_RANDOM_LEN]) -> Option<CertSerial> {
        if id > SERIAL_ID_MAX {
            return None;
        }
        let mut block = [0u8; 16];
        block[..SERIAL_RANDOM_LEN].copy_from_slice(&random);
        block[0] = match block[0] & 0x7f {
            0 => 1,
            b => b,
        };
        block[SERIAL_RANDOM_LEN..].copy_from_slice(&id.to_be_bytes()[2..]);
        // The plaintext is in the domain, so the walk ends (a permutation's cycle through it returns to
        // the domain); each step lands in it with probability 127/256.
        loop {
            let mut b = Array::from(block);
            self.aes.encrypt_block(&mut b);
            block = b.into();
            if in_domain(&block) {
                break;
            }
        }
        CertSerial::from_bytes(block)
    }

    /// The certificate number `serial` decrypts to. Every serial decrypts to some number: only the row
    /// of that number holding this very serial shows that this key made it.
    pub fn id(&self, serial: CertSerial) -> u64 {
        let mut block = serial.to_bytes();
        loop {
            let mut b = Array::from(block);
            self.aes.decrypt_block(&mut b);
            block = b.into();
            if in_domain(&block) {
                break;
            }
        }
        let mut id = [0u8; 8];
        id[2..].copy_from_slice(&block[SERIAL_RANDOM_LEN..]);
        u64::from_be_bytes(id)
    }
}

/// How many certificate numbers an instance reserves at once (one store write per block).
pub(crate) const ID_BLOCK: u32 = 1024;

/// The numbers and serials of one CA instance's issuances: the store's serial key, and a block of
/// numbers reserved from the store ([`CaStore::reserve_certificate_ids`]) a block at a time. Numbers
/// left in a block when the instance stops are never used: numbers need not be dense, only unique.
#[derive(Debug)]
pub(crate) struct SerialSource {
    cipher: SerialCipher,
    block: tokio::sync::Mutex<std::ops::Range<u64>>,
    /// The random bytes of serials, drawn from the CA's entropy 4 KiB at a time.
    random: EntropyPool,
}

impl SerialSource {
    /// The store's serial key, made now from `entropy` when the store has none yet.
    pub async fn open(store: &CaDb, entropy: Arc<dyn Entropy>) -> Result<Self, CaError> {
        let mut candidate = Zeroizing::new([0u8; SERIAL_KEY_LEN]);
        entropy.fill(candidate.as_mut_slice());
        let key = Zeroizing::new(store.serial_key(*candidate).await?);
        let block = tokio::sync::Mutex::new(0..0);
        Ok(SerialSource { cipher: SerialCipher::new(&key), block, random: EntropyPool::new(entropy) })
    }

    /// A fresh certificate number and its serial.
    pub async fn next(&self, store: &CaDb) -> Result<(u64, CertSerial), CaError> {
        let mut block = self.block.lock().await;
        if block.is_empty() {
            let first = store.reserve_certificate_ids(ID_BLOCK).await?;
            let end = first
                .checked_add(u64::from(ID_BLOCK))
                .ok_or_else(|| CaError::Misuse("certificate numbers are exhausted".into()))?;
            *block = first..end;
        }
        let exhausted = || CaError::Misuse("certificate numbers are exhausted".into());
        let id = block.next().ok_or_else(exhausted)?;
        let mut random = [0u8; SERIAL_RANDOM_LEN];
        self.random.fill(&mut random);
        Ok((id, self.cipher.serial(id, random).ok_or_else(exhausted)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cipher(k: u8) -> SerialCipher {
        SerialCipher::new(&[k; SERIAL_KEY_LEN])
    }

    /// A serial with fixed random bytes: what remains is the number, and the key.
    fn serial(c: &SerialCipher, id: u64) -> CertSerial {
        c.serial(id, [0x5a; SERIAL_RANDOM_LEN]).unwrap()
    }

    #[test]
    fn serials_are_valid_distinct_and_not_sequential() {
        let c = cipher(7);
        // Even with the random bytes fixed, the numbers alone give distinct, random-looking serials.
        let serials: Vec<CertSerial> = (0..20_000u64).map(|i| serial(&c, i)).collect();
        let mut sorted = serials.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), serials.len(), "distinct numbers give distinct serials");
        // Each byte position takes many values: nothing sequential or constant shows through.
        for pos in 0..16 {
            let mut seen = [false; 256];
            for s in &serials {
                seen[s.to_bytes()[pos] as usize] = true;
            }
            let distinct = seen.iter().filter(|x| **x).count();
            assert!(distinct >= if pos == 0 { 120 } else { 250 }, "byte {pos}: {distinct} values");
        }
        // About half of the bits of consecutive serials differ.
        let flips: u32 = serials
            .windows(2)
            .map(|w| u128::from_be_bytes(w[0].to_bytes()) ^ u128::from_be_bytes(w[1].to_bytes()))
            .map(u128::count_ones)
            .sum();
        let mean = f64::from(flips) / (serials.len() - 1) as f64;
        assert!((60.0..68.0).contains(&mean), "mean bit flips {mean}");
    }

    #[test]
    fn one_number_with_new_random_bytes_is_a_new_serial() {
        let c = cipher(3);
        let a = c.serial(9, [1; SERIAL_RANDOM_LEN]).unwrap();
        let b = c.serial(9, [2; SERIAL_RANDOM_LEN]).unwrap();
        assert_ne!(a, b, "a number handed out twice still gets a new serial");
        assert_eq!((c.id(a), c.id(b)), (9, 9));
        // The first random byte's top bit and zero are folded into the domain.
        let first = |b: u8| {
            let mut r = [5; SERIAL_RANDOM_LEN];
            r[0] = b;
            c.serial(9, r)
        };
        assert_eq!(first(0x81), first(0x01));
        assert_eq!(first(0x00), first(0x01));
        assert_ne!(first(0x02), first(0x01));
    }

    #[test]
    fn numbers_past_48_bits_and_other_keys_are_refused_or_miss() {
        let (a, b) = (cipher(1), cipher(2));
        assert!(a.serial(SERIAL_ID_MAX, [7; SERIAL_RANDOM_LEN]).is_some());
        assert_eq!(a.serial(SERIAL_ID_MAX + 1, [7; SERIAL_RANDOM_LEN]), None);
        for id in [0, 1, 42, SERIAL_ID_MAX] {
            assert_eq!(a.id(serial(&a, id)), id);
            // Another key decrypts it to some other number, whose row would not hold this serial.
            assert_ne!(serial(&b, id), serial(&a, id));
        }
    }

    proptest! {
        #[test]
        fn a_serial_decodes_to_its_number(
            key in any::<[u8; 16]>(),
            id in 0..=SERIAL_ID_MAX,
            random in any::<[u8; SERIAL_RANDOM_LEN]>(),
        ) {
            let c = SerialCipher::new(&key);
            let s = c.serial(id, random).unwrap();
            prop_assert!(in_domain(&s.to_bytes()));
            prop_assert_eq!(c.id(s), id);
        }

        #[test]
        fn any_serial_decodes_to_a_48_bit_number(key in any::<[u8; 16]>(), bytes in any::<[u8; 16]>()) {
            // Decryption terminates for every serial (a permutation: the walk returns to the domain).
            let mut b = bytes;
            b[0] = (b[0] & 0x7f).max(1);
            let s = CertSerial::from_bytes(b).unwrap();
            let c = SerialCipher::new(&key);
            let id = c.id(s);
            prop_assert!(id <= SERIAL_ID_MAX);
        }
    }
}
