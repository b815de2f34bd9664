//! Random bytes for serial numbers, drawn from the CA's [`Entropy`] a block at a time: one system call
//! (for the OS entropy) per [`POOL_BYTES`] instead of one per certificate. Only public values come from it
//! (serials are printed in every certificate); the CA's keys take their entropy directly.

use std::fmt;
use std::sync::{Arc, Mutex};

use qianbao_core::Entropy;

/// The bytes drawn from the source at once (enough for 256 serials).
pub(crate) const POOL_BYTES: usize = 4096;

/// See the module docs.
pub(crate) struct EntropyPool {
    source: Arc<dyn Entropy>,
    pool: Mutex<Pool>,
}

struct Pool {
    buf: Box<[u8; POOL_BYTES]>,
    /// Bytes of `buf` already handed out (zeroed), from the start.
    used: usize,
}

impl EntropyPool {
    /// A pool over `source`, filled on first use.
    pub fn new(source: Arc<dyn Entropy>) -> Self {
        EntropyPool { source, pool: Mutex::new(Pool { buf: Box::new([0; POOL_BYTES]), used: POOL_BYTES }) }
    }
}

impl fmt::Debug for EntropyPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntropyPool").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Entropy for EntropyPool {
    fn fill(&self, out: &mut [u8]) {
        if out.len() > POOL_BYTES / 8 {
            return self.source.fill(out);
        }
        // A poisoned lock only means another thread panicked while copying bytes: the pool is still
        // bytes from the source, and each byte is handed out once (zeroed after), so keep going.
        let mut p = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if POOL_BYTES - p.used < out.len() {
            self.source.fill(&mut p.buf[..]);
            p.used = 0;
        }
        let (from, to) = (p.used, p.used + out.len());
        out.copy_from_slice(&p.buf[from..to]);
        p.buf[from..to].fill(0);
        p.used = to;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use qianbao_core::OsEntropy;

    use super::*;

    /// Counts the calls that reach the source.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl Entropy for Counting {
        fn fill(&self, buf: &mut [u8]) {
            self.0.fetch_add(1, Ordering::Relaxed);
            OsEntropy.fill(buf);
        }
    }

    #[test]
    fn draws_a_block_at_a_time_and_never_hands_out_a_byte_twice() {
        let source = Arc::new(Counting::default());
        let pool = EntropyPool::new(source.clone());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(POOL_BYTES / 16 + 5) {
            let mut b = [0u8; 16];
            pool.fill(&mut b);
            assert!(seen.insert(b), "16 random bytes repeated");
        }
        assert_eq!(source.0.load(Ordering::Relaxed), 2, "one refill after {} draws", POOL_BYTES / 16);
        let mut big = vec![0u8; POOL_BYTES];
        pool.fill(&mut big);
        assert_eq!(source.0.load(Ordering::Relaxed), 3, "a large request goes to the source");
        assert!(big.iter().any(|&b| b != 0));
    }
}
