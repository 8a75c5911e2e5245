//! The read cache: serialized response bodies for the hot compatibility endpoints, kept until
//! the service reports a change.
//!
//! Each entry remembers the service generation it was built under; an entry from an older
//! generation is never served. Readers take the generation *before* reading the data, so an entry
//! built from data older than a write can only be stored under an older generation.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use actix_web::web::Bytes;
use coach_plans_model::PlanDate;
use lru::LruCache;

/// Entries kept at most: enough for every coach over years of dates, bounded against clients
/// that walk every date there is.
const CAPACITY: usize = 16_384;

/// What a cached body answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    /// `/api/coach-plans/?coach=&date=`: the coach's position in the roster and the date.
    Plan(u16, PlanDate),
    /// `/api/coach-plans/all?date=`.
    All(PlanDate),
}

/// A serialized JSON body and its entity tag.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    generation: u64,
    pub(crate) body: Bytes,
    pub(crate) etag: String,
}

impl Cached {
    /// A body built under `generation`.
    pub(crate) fn new(generation: u64, body: Vec<u8>) -> Self {
        let etag = entity_tag(&body);
        Self {
            generation,
            body: Bytes::from(body),
            etag,
        }
    }
}

/// Serialized bodies by key.
///
/// Hits take a shared lock and do not reorder entries (`peek`), so the API's workers never wait
/// for each other on the hot path; eviction at capacity therefore drops the oldest entry rather
/// than the least recently read, which suits a cache that is emptied on every write anyway.
pub(crate) struct ReadCache {
    entries: RwLock<LruCache<CacheKey, Cached>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ReadCache {
    pub(crate) fn new() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: RwLock::new(LruCache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The body for `key` if it was built under the current generation.
    pub(crate) fn get(&self, key: CacheKey, generation: u64) -> Option<Cached> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.peek(&key) {
            Some(cached) if cached.generation == generation => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(cached.clone())
            }
            _ => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub(crate) fn put(&self, key: CacheKey, cached: Cached) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, cached);
    }

    /// (hits, misses, entries).
    pub(crate) fn figures(&self) -> (u64, u64, usize) {
        let len = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            len,
        )
    }
}

/// A strong entity tag for a body: FNV-1a, 64 bits, quoted. Not a security measure; it only has
/// to change when the body does.
pub(crate) fn entity_tag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_from_an_older_generation_are_not_served() {
        let cache = ReadCache::new();
        let key = CacheKey::All(PlanDate::UNIX_EPOCH);
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        assert!(cache.get(key, 1).is_some());
        assert!(cache.get(key, 2).is_none());
        assert_eq!(cache.figures(), (1, 1, 1));
    }

    #[test]
    fn entity_tags_follow_the_body() {
        assert_eq!(entity_tag(b"a"), entity_tag(b"a"));
        assert_ne!(entity_tag(b"a"), entity_tag(b"b"));
        assert!(entity_tag(b"").starts_with('"'));
    }
}
