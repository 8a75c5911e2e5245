//! SPEC 6.1 and 6.3: index, health, readiness and metrics.

use actix_web::http::StatusCode;
use std::collections::BTreeMap;

use coach_plans_api::{ApiSettings, ENDPOINTS, StaticBotStatus};
use coach_plans_storage::ChartStore as _;
use serde_json::json;

use crate::helpers::{TODAY, keys, spawn_app, spawn_app_with};

#[actix_web::test]
async fn the_index_names_the_service_and_its_endpoints() {
    let body = spawn_app().get("/").await.json();
    assert_eq!(
        keys(&body),
        ["documentation", "endpoints", "name", "version"]
    );
    assert_eq!(body["name"], "coach-plans");
    assert_eq!(body["endpoints"]["health"], "/health");
}

#[actix_web::test]
async fn health_in_mock_mode_is_healthy_with_the_plan_count() {
    let app = spawn_app();
    app.post("d", "2024-05-10", "x", &[]).await;
    let reply = app.get("/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(keys(&body), ["components", "status", "timestamp"]);
    assert_eq!(body["status"], "healthy");
    assert_eq!(
        body["components"]["database"],
        json!({"status": "up", "plan_count": 1})
    );
    assert_eq!(body["components"]["discord_bot"], json!({"status": "mock"}));
}

#[actix_web::test]
async fn a_follower_replica_is_healthy_and_ready_and_says_it_follows() {
    let app = spawn_app_with(ApiSettings::default(), StaticBotStatus::standby());
    let reply = app.get("/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["components"]["discord_bot"]["status"], "standby");
    assert_eq!(body["components"]["discord_bot"]["role"], "follower");
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);
    assert_eq!(app.get("/metrics").await.json()["role"], "follower");
    let prometheus = String::from_utf8(app.get("/metrics/prometheus").await.body).unwrap();
    assert!(
        prometheus.contains("\ncoach_plans_leader 0\n"),
        "{prometheus}"
    );
}

#[actix_web::test]
async fn health_is_degraded_when_the_bot_is_disconnected() {
    let app = spawn_app_with(
        ApiSettings::default(),
        StaticBotStatus::disconnected("check DISCORD_BOT_TOKEN"),
    );
    let body = app.get("/health").await.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(
        body["components"]["discord_bot"],
        json!({"status": "disconnected", "reason": "check DISCORD_BOT_TOKEN"})
    );
    assert_eq!(
        app.get("/health/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.get("/health/live").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn health_is_503_unhealthy_when_the_database_is_down() {
    let app = spawn_app();
    app.database_down();
    let reply = app.get("/health").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["components"]["database"]["status"], "down");
    assert_eq!(body["components"]["database"]["pending_writes"], 3);
    assert_eq!(
        body["components"]["database"]["error"],
        "database is locked"
    );
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["database"], "down");
    assert_eq!(
        app.get("/health/live").await.json(),
        json!({"status": "alive"})
    );
}

#[actix_web::test]
async fn metrics_count_requests_and_stored_plans() {
    let app = spawn_app();
    let plan = app.post("d", "2024-05-10", "x", &["a.png"]).await;
    app.edit(&plan, "y").await;
    app.get("/api/coach-plans/?coach=d").await;
    app.get("/api/coach-plans/?coach=nobody").await;
    let body = app.get("/metrics").await.json();
    assert_eq!(
        keys(&body),
        [
            "charts",
            "database",
            "requests",
            "timestamp",
            "uptime_seconds"
        ]
    );
    assert_eq!(
        keys(&body["requests"]),
        ["error", "error_rate_percent", "success", "total"]
    );
    assert_eq!(body["requests"]["total"], 2);
    assert_eq!(body["requests"]["error"], 1);
    assert_eq!(body["requests"]["error_rate_percent"], 50.0);
    assert_eq!(
        body["database"],
        json!({"total_plans": 1, "total_charts": 1, "total_edits": 1, "latest_plan": "2024-05-10"})
    );
}

#[actix_web::test]
async fn prometheus_text_carries_every_family() {
    let app = spawn_app();
    app.get("/api/coach-plans/?coach=d").await;
    let reply = app.get("/metrics/prometheus").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(reply.body).unwrap();
    for family in [
        "coach_plans_http_requests_total{route=\"coach_plan\",status=\"200\"} 1",
        "coach_plans_http_request_duration_seconds_bucket{le=\"+Inf\"} 1",
        "coach_plans_plans_stored 0",
        "coach_plans_bot_connected 1",
        "coach_plans_leader 1",
        "coach_plans_database_up 1",
        "coach_plans_read_cache_misses_total 1",
    ] {
        assert!(text.contains(family), "missing {family} in:\n{text}");
    }
}

/// The request counters of a Prometheus scrape: (route, status) to count.
fn requests_by_route(text: &str) -> BTreeMap<(String, String), u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("coach_plans_http_requests_total{route=\""))
        .map(|rest| {
            let (route, rest) = rest.split_once("\",status=\"").unwrap();
            let (status, count) = rest.split_once("\"} ").unwrap();
            (
                (route.to_owned(), status.to_owned()),
                count.parse().unwrap(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn requests_are_counted_under_the_route_the_router_matched_and_unknown_paths_under_one_label()
{
    let app = spawn_app();
    let plan = app.post("d", TODAY, "one plan", &[]).await;
    let chart = app.charts.put(b"\x89PNG\r\n\x1a\nchart").unwrap().sha256;
    for endpoint in ENDPOINTS {
        let uri = endpoint
            .path()
            .replace("{id}", &plan.id.get().to_string())
            .replace("{file}", &format!("{chart}.png"))
            .replace("{asset}", "dashboard.css");
        let reply = app.get(&format!("{uri}?coach=d&date={TODAY}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
    }
    for unknown in ["/nope", "/api/v1/plans/1/nope", "/metrics/prometheus/x%20y"] {
        assert_eq!(app.get(unknown).await.status, StatusCode::NOT_FOUND);
    }
    let scrape = app.get("/metrics/prometheus").await;
    let counted = requests_by_route(&String::from_utf8(scrape.body).unwrap());

    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    // An alias (`/api/coach-plans` for `/api/coach-plans/`) counts under its route's label.
    for endpoint in ENDPOINTS {
        *expected
            .entry((endpoint.route_label().to_owned(), "200".to_owned()))
            .or_default() += 1;
    }
    expected.insert(("unmatched".to_owned(), "404".to_owned()), 3);
    assert_eq!(counted, expected);
}
