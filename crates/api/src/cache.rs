//! The read cache: serialized response bodies for the hot compatibility endpoints, kept until
//! the service reports a change.
//!
//! Each entry remembers the service generation it was built under; an entry from an older
//! generation is never served. Readers take the generation *before* reading the data, so an entry
//! built from data older than a write can only be stored under an older generation.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use actix_web::http::header::HeaderValue;
use actix_web::web::Bytes;
use coach_plans_model::PlanDate;
use lru::LruCache;

/// What an entry costs beyond its body and tag: the key, the entry, the list node and its slot
/// in the hash table (measured sizes rounded up), so the budget bounds real memory.
const ENTRY_OVERHEAD: usize = 128;

/// Keys whose first miss is remembered. A key is cached on its second miss while its first is
/// still remembered, so a sweep over history that asks each body once inserts (and evicts)
/// nothing.
const DOORKEEPER_SLOTS: usize = 4096;

/// What a cached body answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    /// `/api/coach-plans/?coach=&date=`: the coach's position in the roster and the date.
    Plan(u16, PlanDate),
    /// `/api/coach-plans/all?date=`.
    All(PlanDate),
    /// The dashboard's day page (`/` in HTML) for a date.
    Day(PlanDate),
}

/// A serialized JSON body and its entity tag. Both are reference-counted: answering from the
/// cache copies neither.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    generation: u64,
    pub(crate) body: Bytes,
    /// The `ETag` header's value, as [`entity_tag`] writes it.
    pub(crate) etag: HeaderValue,
}

impl Cached {
    /// A body built under `generation`.
    pub(crate) fn new(generation: u64, body: Vec<u8>) -> Self {
        // Quoted hex digits: always a valid header value.
        let etag = HeaderValue::from_str(&entity_tag(&body))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            generation,
            body: Bytes::from(body),
            etag,
        }
    }

    /// The memory the entry holds, as counted against the budget.
    fn cost(&self) -> usize {
        self.body.len() + self.etag.len() + ENTRY_OVERHEAD
    }
}

/// Serialized bodies by key, within a budget of bytes.
///
/// Hits take a shared lock and do not reorder entries (`peek`), so the API's workers never wait
/// for each other on the hot path; eviction when the budget is full therefore drops the oldest
/// entry rather than the least recently read, which suits a cache that is emptied on every
/// write anyway. A body is stored only when its key missed before (see [`DOORKEEPER_SLOTS`]):
/// the doorkeeper is a table of atomics, so a body asked once takes no write lock at all.
pub(crate) struct ReadCache {
    entries: RwLock<Entries>,
    budget: usize,
    doorkeeper: Box<[AtomicU64]>,
    hasher: RandomState,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Entries {
    lru: LruCache<CacheKey, Cached>,
    bytes: usize,
}

impl ReadCache {
    /// A cache holding at most `budget` bytes; 0 caches nothing.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            entries: RwLock::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
            doorkeeper: (0..DOORKEEPER_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The body for `key` if it was built under the current generation.
    pub(crate) fn get(&self, key: CacheKey, generation: u64) -> Option<Cached> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.lru.peek(&key) {
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

    /// Offers a freshly built body: kept when `key` missed recently before (or replaces a stale
    /// entry), evicting the oldest entries while over budget.
    pub(crate) fn put(&self, key: CacheKey, cached: Cached) {
        let cost = cached.cost();
        if cost > self.budget {
            return;
        }
        let hash = self.hasher.hash_one(key) | 1;
        let slot = &self.doorkeeper[(hash as usize) % DOORKEEPER_SLOTS];
        let seen = slot.swap(hash, Ordering::Relaxed) == hash;
        let mut entries = if seen {
            self.entries.write().unwrap_or_else(PoisonError::into_inner)
        } else {
            // First miss: only a stale entry under the same key is worth replacing.
            let stale = self
                .entries
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .lru
                .contains(&key);
            if !stale {
                return;
            }
            self.entries.write().unwrap_or_else(PoisonError::into_inner)
        };
        slot.store(0, Ordering::Relaxed);
        if let Some(old) = entries.lru.put(key, cached) {
            entries.bytes -= old.cost();
        }
        entries.bytes += cost;
        while entries.bytes > self.budget {
            match entries.lru.pop_lru() {
                Some((_, evicted)) => entries.bytes -= evicted.cost(),
                None => break,
            }
        }
    }

    /// (hits, misses, entries).
    pub(crate) fn figures(&self) -> (u64, u64, usize) {
        let len = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .lru
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

    fn day(n: i64) -> PlanDate {
        PlanDate::UNIX_EPOCH.checked_add_days(n).unwrap()
    }

    #[test]
    fn entries_from_an_older_generation_are_not_served() {
        let cache = ReadCache::new(1 << 20);
        let key = CacheKey::All(PlanDate::UNIX_EPOCH);
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        assert!(cache.get(key, 1).is_some());
        assert!(cache.get(key, 2).is_none());
        assert_eq!(cache.figures(), (1, 1, 1));
    }

    #[test]
    fn a_body_is_kept_on_its_second_miss_not_its_first() {
        let cache = ReadCache::new(1 << 20);
        let key = CacheKey::Plan(0, day(3));
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        assert!(cache.get(key, 1).is_none(), "asked once: not kept");
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        assert!(cache.get(key, 1).is_some(), "asked twice: kept");
        // After a write, the stale entry is replaced on the next miss.
        cache.put(key, Cached::new(2, b"[]".to_vec()));
        assert_eq!(
            cache.get(key, 2).map(|c| c.body),
            Some(Bytes::from_static(b"[]"))
        );
    }

    #[test]
    fn the_cache_never_holds_more_than_its_budget() {
        let body = vec![b'x'; 1000];
        let budget = 10 * (1000 + ENTRY_OVERHEAD + 18);
        let cache = ReadCache::new(budget);
        for n in 0..100 {
            let key = CacheKey::Plan(0, day(n));
            cache.put(key, Cached::new(1, body.clone()));
            cache.put(key, Cached::new(1, body.clone()));
            let entries = cache.entries.read().unwrap();
            assert!(entries.bytes <= budget, "{} > {budget}", entries.bytes);
        }
        let (_, _, len) = cache.figures();
        assert!((9..=10).contains(&len), "{len} entries");
        assert!(
            cache.get(CacheKey::Plan(0, day(99)), 1).is_some(),
            "newest kept"
        );
        assert!(
            cache.get(CacheKey::Plan(0, day(0)), 1).is_none(),
            "oldest evicted"
        );
    }

    #[test]
    fn a_budget_of_zero_caches_nothing() {
        let cache = ReadCache::new(0);
        let key = CacheKey::All(PlanDate::UNIX_EPOCH);
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        cache.put(key, Cached::new(1, b"{}".to_vec()));
        assert!(cache.get(key, 1).is_none());
    }

    #[test]
    fn entity_tags_follow_the_body() {
        assert_eq!(entity_tag(b"a"), entity_tag(b"a"));
        assert_ne!(entity_tag(b"a"), entity_tag(b"b"));
        assert!(entity_tag(b"").starts_with('"'));
    }
}
