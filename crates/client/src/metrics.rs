//! The client's own counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of what a client has done since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClientMetrics {
    /// Plan lookups asked of the client (`fetch_coach_plan` calls).
    pub requests: u64,
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Lookups that had to ask the server.
    pub cache_misses: u64,
    /// `cache_hits` as a percentage of `requests` (0 when there were none).
    pub hit_rate_percent: f64,
    /// Calls to the server that got a usable answer (a plan, a miss, health or metrics).
    pub api_successes: u64,
    /// Calls to the server that failed after every retry.
    pub errors: u64,
    /// Attempts repeated after a transient failure.
    pub retries: u64,
    /// Entries in the cache now.
    pub cache_size: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) api_successes: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, cache_size: usize) -> ClientMetrics {
        let requests = self.requests.load(Relaxed);
        let cache_hits = self.cache_hits.load(Relaxed);
        ClientMetrics {
            requests,
            cache_hits,
            cache_misses: self.cache_misses.load(Relaxed),
            hit_rate_percent: if requests == 0 {
                0.0
            } else {
                cache_hits as f64 * 100.0 / requests as f64
            },
            api_successes: self.api_successes.load(Relaxed),
            errors: self.errors.load(Relaxed),
            retries: self.retries.load(Relaxed),
            cache_size,
        }
    }
}
