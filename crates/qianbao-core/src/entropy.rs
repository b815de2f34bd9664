//! Randomness, always injected: [`OsEntropy`] in production, [`SeededEntropy`] to replay a test.

use std::fmt;
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng, rngs::StdRng};

/// A source of random bytes. Implementations must be cryptographically secure in production.
pub trait Entropy: Send + Sync + fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// A random `u64`.
    fn next_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// A uniformly random integer in `0..bound` (rejection sampling, no modulo bias).
    /// Returns 0 when `bound` is 0.
    fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

impl<E: Entropy + ?Sized> Entropy for Arc<E> {
    fn fill(&self, buf: &mut [u8]) {
        (**self).fill(buf)
    }
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom fails only when the OS has no entropy source at all; a wallet cannot run
        // safely then, and continuing with predictable bytes would be worse than stopping.
        if let Err(e) = getrandom::fill(buf) {
            panic!("the operating system's random source failed: {e}");
        }
    }
}

/// A deterministic generator from a seed, for tests and simulations. Never use it in production.
#[derive(Clone)]
pub struct SeededEntropy {
    seed: u64,
    rng: Arc<Mutex<StdRng>>,
}

impl SeededEntropy {
    /// A generator that yields the same bytes for the same seed.
    pub fn new(seed: u64) -> Self {
        SeededEntropy { seed, rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))) }
    }

    /// The seed it was made from (print it when a test fails).
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl fmt::Debug for SeededEntropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededEntropy").field("seed", &self.seed).finish()
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        rng.fill_bytes(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_below_is_in_range() {
        let a = SeededEntropy::new(7);
        let b = SeededEntropy::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        for bound in [1u64, 2, 3, 10, 1_000_003] {
            for _ in 0..100 {
                assert!(a.below(bound) < bound);
            }
        }
        assert_eq!(a.below(0), 0);
        let mut buf = [0u8; 32];
        OsEntropy.fill(&mut buf);
        assert_ne!(buf, [0u8; 32]);
    }
}
