//! The in-process introspection cache: access-token digest → grant, bounded, with a freshness TTL.
//!
//! Keys are HMAC outputs, uniformly distributed and not choosable by a caller without the key, so the
//! map hashes them by taking their first 8 bytes (no SipHash work, no hash-flooding risk).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use qianbao_core::{SessionId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bearer::TokenDigest;
use crate::service::sessions::AccessGrant;

#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
    }
}

struct Entry {
    grant: Arc<AccessGrant>,
    cached_at: Timestamp,
}

type Map = HashMap<TokenDigest, Entry, BuildHasherDefault<DigestHasher>>;

/// Statistics of the introspection cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Entries held.
    pub entries: usize,
    /// The most entries held before the cache is emptied.
    pub capacity: usize,
}

pub(crate) struct IntrospectionCache {
    map: RwLock<Map>,
    max: usize,
    ttl: Duration,
}

impl IntrospectionCache {
    pub(crate) fn new(max: usize, ttl: Duration) -> Self {
        IntrospectionCache { map: RwLock::new(Map::default()), max, ttl }
    }

    /// The cached grant, if it was cached less than the TTL ago and has not expired.
    pub(crate) fn get(&self, digest: &TokenDigest, now: Timestamp) -> Option<Arc<AccessGrant>> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let e = map.get(digest)?;
        let fresh = now < e.cached_at.saturating_add(self.ttl) && now >= e.cached_at;
        (fresh && now < e.grant.expires_at).then(|| e.grant.clone())
    }

    pub(crate) fn put(&self, digest: TokenDigest, grant: Arc<AccessGrant>, now: Timestamp) {
        if self.max == 0 || self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(digest, Entry { grant, cached_at: now });
    }

    pub(crate) fn remove(&self, digest: &TokenDigest) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(digest);
    }

    /// Drops every entry of these sessions (they were just revoked through this instance).
    pub(crate) fn remove_sessions(&self, sessions: &[SessionId]) {
        if sessions.is_empty() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| !sessions.contains(&e.grant.session));
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats { entries: self.map.read().unwrap_or_else(|p| p.into_inner()).len(), capacity: self.max }
    }
}
