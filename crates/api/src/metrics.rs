//! Request figures, kept in atomics so that counting never takes a lock.
//!
//! Requests are counted by the route the router matched, labelled with its name from the route
//! table ([`crate::ENDPOINTS`]), so a new route is counted under its own label without being
//! listed here. Requests no route matched share one label, [`UNMATCHED`], whatever their path:
//! clients cannot add labels.
//!
//! Why not the `prometheus-client` crate: its `Family` finds a label set's counter in a hash map
//! behind a read-write lock and its `Histogram::observe` takes a mutex, on every request, from
//! every worker; here a request is a few relaxed atomic additions at a fixed index. The text
//! format written below is small and covered by tests.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::routes::Endpoint;

/// The route label of requests no route matched (404s).
pub(crate) const UNMATCHED: &str = "unmatched";

/// Upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Statuses are counted from 100 to 599.
const STATUSES: usize = 500;

pub(crate) struct Metrics {
    /// The route labels, in table order, then [`UNMATCHED`].
    routes: Vec<&'static str>,
    by_route_status: Vec<AtomicU64>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    errors: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Metrics {
    /// Counters for these routes, each under its [`Endpoint::route_label`], and for
    /// [`UNMATCHED`].
    pub(crate) fn new(endpoints: &[Endpoint]) -> Self {
        let mut routes: Vec<&'static str> = Vec::with_capacity(endpoints.len() + 1);
        for label in endpoints
            .iter()
            .map(Endpoint::route_label)
            .chain([UNMATCHED])
        {
            if !routes.contains(&label) {
                routes.push(label);
            }
        }
        Self {
            by_route_status: (0..routes.len() * STATUSES)
                .map(|_| AtomicU64::new(0))
                .collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            routes,
        }
    }

    /// Counts one request, under the name of the resource the router matched
    /// (`HttpRequest::match_name`), or [`UNMATCHED`] when none did.
    pub(crate) fn record(&self, matched: Option<&str>, status: u16, elapsed: Duration) {
        let unmatched = self.routes.len() - 1;
        let route = matched.map_or(unmatched, |name| {
            let label = crate::routes::route_label(name);
            let found = self.routes.iter().position(|known| *known == label);
            debug_assert!(found.is_some(), "resource {name} is not in the route table");
            found.unwrap_or(unmatched)
        });
        let status_slot = usize::from(status.clamp(100, 599) - 100);
        if let Some(counter) = self.by_route_status.get(route * STATUSES + status_slot) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        if status >= 400 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// (total, errors).
    pub(crate) fn totals(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// Appends the request families in Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP coach_plans_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE coach_plans_http_requests_total counter\n");
        for (route_index, route) in self.routes.iter().enumerate() {
            for status in 0..STATUSES {
                let n =
                    self.by_route_status[route_index * STATUSES + status].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "coach_plans_http_requests_total{{route=\"{route}\",status=\"{}\"}} {n}",
                        status + 100
                    );
                }
            }
        }
        out.push_str(
            "# HELP coach_plans_http_request_duration_seconds Time from request to response.\n",
        );
        out.push_str("# TYPE coach_plans_http_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "coach_plans_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "coach_plans_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "coach_plans_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "coach_plans_http_request_duration_seconds_count {count}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_status_and_duration() {
        let metrics = Metrics::new(crate::ENDPOINTS);
        metrics.record(Some("coach_plan"), 200, Duration::from_micros(80));
        metrics.record(Some("coach_plan.no_slash"), 400, Duration::from_millis(3));
        metrics.record(None, 404, Duration::from_secs(9));
        assert_eq!(metrics.totals(), (3, 2));
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(
            text.contains(
                "coach_plans_http_requests_total{route=\"coach_plan\",status=\"200\"} 1\n"
            )
        );
        assert!(
            text.contains(
                "coach_plans_http_requests_total{route=\"coach_plan\",status=\"400\"} 1\n"
            ),
            "an alias counts under its route: {text}"
        );
        assert!(
            text.contains(
                "coach_plans_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"
            )
        );
        assert!(
            text.contains("coach_plans_http_request_duration_seconds_bucket{le=\"0.0001\"} 1\n")
        );
        assert!(
            text.contains("coach_plans_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n")
        );
        assert!(text.contains("coach_plans_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("coach_plans_http_request_duration_seconds_count 3\n"));
    }
}
