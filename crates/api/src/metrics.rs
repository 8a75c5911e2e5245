//! Request figures, kept in atomics so that counting never takes a lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The routes requests are counted by: each resource's name, plus `unmatched`.
pub(crate) const ROUTES: &[&str] = &[
    "index",
    "health",
    "health_live",
    "health_ready",
    "metrics",
    "metrics_prometheus",
    "coach_plan",
    "coach_plans_all",
    "coach_plan_history",
    "v1_coaches",
    "v1_plans",
    "v1_plan",
    "v1_plan_history",
    "unmatched",
];

/// Upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Statuses are counted from 100 to 599.
const STATUSES: usize = 500;

pub(crate) struct Metrics {
    by_route_status: Vec<AtomicU64>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    errors: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Self {
            by_route_status: (0..ROUTES.len() * STATUSES)
                .map(|_| AtomicU64::new(0))
                .collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Counts one request.
    pub(crate) fn record(&self, route: Option<&str>, status: u16, elapsed: Duration) {
        // An alias of a route is named `<route>.<alias>` and counted under the route.
        let route = route
            .map(|r| r.split_once('.').map_or(r, |(base, _)| base))
            .and_then(|r| ROUTES.iter().position(|known| *known == r))
            .unwrap_or(ROUTES.len() - 1);
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
        for (route_index, route) in ROUTES.iter().enumerate() {
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
        let metrics = Metrics::new();
        metrics.record(Some("coach_plan"), 200, Duration::from_micros(80));
        metrics.record(Some("coach_plan"), 400, Duration::from_millis(3));
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
