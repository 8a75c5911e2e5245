//! The client's plan cache: least-recently-used eviction at a fixed capacity, and a time to live
//! per entry (shorter for "not posted" answers, so a plan posted later is seen soon).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock, so tests can move time forward instead of sleeping; outside tests (and outside a
// runtime) it is the monotonic system clock.
use tokio::time::Instant;

use coach_plans_model::{CoachId, Plan, PlanDate};
use lru::LruCache;

/// What a lookup is for: a coach on a date, or on the server's "today".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) coach: CoachId,
    /// `None` is "today" as the server sees it.
    pub(crate) date: Option<PlanDate>,
}

/// A cached answer.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Found(Arc<Plan>),
    NotPosted,
}

#[derive(Debug)]
struct Entry {
    value: Cached,
    expires: Instant,
}

/// An LRU map whose entries also expire. Not synchronized: the client wraps it in a mutex held
/// only for the map operation, never across an await.
#[derive(Debug)]
pub(crate) struct PlanCache {
    entries: LruCache<Key, Entry>,
}

impl PlanCache {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: LruCache::new(capacity),
        }
    }

    /// The live entry for `key`, marking it most recently used. An expired entry is removed and
    /// reported as absent.
    pub(crate) fn get(&mut self, key: &Key, now: Instant) -> Option<Cached> {
        match self.entries.get(key) {
            Some(entry) if entry.expires > now => Some(entry.value.clone()),
            Some(_) => {
                self.entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` for `ttl`, evicting the least recently used entry when full. A zero TTL
    /// stores nothing.
    pub(crate) fn put(&mut self, key: Key, value: Cached, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        let expires = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        self.entries.put(key, Entry { value, expires });
    }

    /// Drops every entry and says how many there were (expired or not).
    pub(crate) fn clear(&mut self) -> usize {
        let dropped = self.entries.len();
        self.entries.clear();
        dropped
    }

    /// Entries held, including expired ones not yet looked at.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(coach: &str, day: u8) -> Key {
        Key {
            coach: CoachId::parse(coach).unwrap(),
            date: PlanDate::from_ymd(2024, 5, day),
        }
    }

    fn cache(capacity: usize) -> PlanCache {
        PlanCache::new(NonZeroUsize::new(capacity).unwrap())
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let mut cache = cache(4);
        let t0 = Instant::now();
        cache.put(key("d", 1), Cached::NotPosted, Duration::from_secs(60), t0);
        assert!(
            cache
                .get(&key("d", 1), t0 + Duration::from_secs(59))
                .is_some()
        );
        assert!(
            cache
                .get(&key("d", 1), t0 + Duration::from_secs(60))
                .is_none()
        );
        assert_eq!(cache.len(), 0, "an expired entry is dropped when seen");
    }

    #[test]
    fn the_least_recently_used_entry_is_evicted_at_capacity() {
        let mut cache = cache(2);
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        cache.put(key("d", 1), Cached::NotPosted, ttl, now);
        cache.put(key("d", 2), Cached::NotPosted, ttl, now);
        assert!(
            cache.get(&key("d", 1), now).is_some(),
            "1 is now the newest"
        );
        cache.put(key("d", 3), Cached::NotPosted, ttl, now);
        assert!(cache.get(&key("d", 2), now).is_none(), "2 was evicted");
        assert!(cache.get(&key("d", 1), now).is_some());
        assert!(cache.get(&key("d", 3), now).is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn clearing_reports_what_was_dropped_and_zero_ttl_stores_nothing() {
        let mut cache = cache(4);
        let now = Instant::now();
        cache.put(key("d", 1), Cached::NotPosted, Duration::ZERO, now);
        assert_eq!(cache.len(), 0);
        cache.put(key("d", 1), Cached::NotPosted, Duration::MAX, now);
        cache.put(key("i", 1), Cached::NotPosted, Duration::from_secs(1), now);
        assert!(
            cache.get(&key("d", 1), now).is_some(),
            "a huge TTL does not overflow"
        );
        assert_eq!(cache.clear(), 2);
        assert_eq!(cache.clear(), 0);
    }
}
