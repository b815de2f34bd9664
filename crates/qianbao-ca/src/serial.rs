//! Certificate serial numbers: 16 bytes of AES-128 output under the CA's serial key, of a certificate
//! number that the store hands out in blocks.
//!
//! A serial is `E(tag ‖ id)`, the encryption of a fixed 8-byte tag and the certificate's 64-bit number
//! `id` under a random 128-bit key made once per CA (the construction of NIST SP 800-90A's CTR_DRBG,
//! keyed once): 16 bytes that no one without the key can tell from random or predict, as RFC 5280 and
//! the CA/Browser Forum ask of serials (at least 64 bits of CSPRNG output, non-sequential). The
//! encryption is *cycle-walked* onto the serials this CA writes — first byte 1..=0x7f, so a positive
//! DER INTEGER of exactly 16 bytes (RFC 5280 §4.1.2.2): a ciphertext outside that set is encrypted
//! again until it falls inside, which keeps the map a permutation of that set, so distinct numbers give
//! distinct serials by construction. Never derived from the device key: a renewal gets a new number and
//! so a new serial.
//!
//! Why not draw 16 bytes from the entropy source directly: a certificate is found by its serial (status
//! checks, revocation), and an index keyed by random bytes takes every issuance as an insert at a random
//! place — one more page to write to the log and to checkpoint, per certificate, at any database size.
//! Decrypting the serial gives the number, which is the certificate row's key: rows are appended in
//! issuance order and no index by serial is written at all.

use aes_gcm::aes::Aes128;
use aes_gcm::aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use qianbao_core::Entropy;
use zeroize::Zeroizing;

use crate::CaError;
use crate::record::CertSerial;
use crate::store::{CaDb, CaStore};

/// The first 8 bytes of every encrypted block: a serial whose decryption does not start with them was
/// not made by this key (a serial from before serial keys, or not ours at all).
const TAG: [u8; 8] = *b"\x01qbsn\x00\x00\x01";

/// The length of a serial key.
pub const SERIAL_KEY_LEN: usize = 16;

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

    /// The serial of certificate number `id`.
    pub fn serial(&self, id: u64) -> CertSerial {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&TAG);
        block[8..].copy_from_slice(&id.to_be_bytes());
        // The plaintext is in the domain (TAG starts with 0x01), so the walk ends (a permutation's cycle
        // through it returns to the domain); each step lands in it with probability 127/256.
        loop {
            let mut b = Array::from(block);
            self.aes.encrypt_block(&mut b);
            block = b.into();
            if in_domain(&block) {
                break;
            }
        }
        CertSerial::from_bytes(block).expect("a block in the domain is a valid serial")
    }

    /// The certificate number of `serial`, or `None` when it was not made by this key.
    pub fn id(&self, serial: CertSerial) -> Option<u64> {
        let mut block = serial.to_bytes();
        loop {
            let mut b = Array::from(block);
            self.aes.decrypt_block(&mut b);
            block = b.into();
            if in_domain(&block) {
                break;
            }
        }
        (block[..8] == TAG).then(|| u64::from_be_bytes(block[8..].try_into().expect("8 bytes")))
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
}

impl SerialSource {
    /// The store's serial key, made now from `entropy` when the store has none yet.
    pub async fn open(store: &CaDb, entropy: &dyn Entropy) -> Result<Self, CaError> {
        let mut candidate = Zeroizing::new([0u8; SERIAL_KEY_LEN]);
        entropy.fill(candidate.as_mut_slice());
        let key = Zeroizing::new(store.serial_key(*candidate).await?);
        Ok(SerialSource { cipher: SerialCipher::new(&key), block: tokio::sync::Mutex::new(0..0) })
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
        let id = block.next().ok_or_else(|| CaError::Misuse("an empty block of certificate numbers".into()))?;
        Ok((id, self.cipher.serial(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cipher(k: u8) -> SerialCipher {
        SerialCipher::new(&[k; SERIAL_KEY_LEN])
    }

    #[test]
    fn serials_are_valid_distinct_and_not_sequential() {
        let c = cipher(7);
        let serials: Vec<CertSerial> = (0..20_000u64).map(|i| c.serial(i)).collect();
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
    fn other_keys_and_foreign_serials_decode_to_none() {
        let (a, b) = (cipher(1), cipher(2));
        for id in [0, 1, 42, u64::MAX] {
            assert_eq!(a.id(a.serial(id)), Some(id));
            assert_eq!(b.id(a.serial(id)), None);
        }
        assert_ne!(a.serial(5), b.serial(5));
        assert_eq!(a.id(CertSerial::from_bytes([0x11; 16]).unwrap()), None);
    }

    proptest! {
        #[test]
        fn a_serial_decodes_to_its_number(key in any::<[u8; 16]>(), id in any::<u64>()) {
            let c = SerialCipher::new(&key);
            let s = c.serial(id);
            prop_assert!(in_domain(&s.to_bytes()));
            prop_assert_eq!(c.id(s), Some(id));
        }

        #[test]
        fn a_random_serial_almost_never_decodes(key in any::<[u8; 16]>(), bytes in any::<[u8; 16]>()) {
            let mut b = bytes;
            b[0] = (b[0] & 0x7f).max(1);
            let s = CertSerial::from_bytes(b).unwrap();
            // Decoding must terminate and, for a serial not made by the key, say so (a 2^-64 chance
            // otherwise, never seen in a test run).
            prop_assert_eq!(SerialCipher::new(&key).id(s), None);
        }
    }
}
