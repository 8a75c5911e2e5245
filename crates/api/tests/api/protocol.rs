//! SPEC 6.1 and 6.3 across endpoints: errors in JSON, bearer token, CORS, request ids.

use actix_web::http::StatusCode;
use coach_plans_api::{ApiSettings, StaticBotStatus};
use coach_plans_config::Secret;
use serde_json::json;

use crate::helpers::{Reply, TestApp, keys, spawn_app, spawn_app_with};

#[actix_web::test]
async fn an_unknown_path_is_a_json_404() {
    let app = spawn_app();
    let reply = app.get("/nope?x=1").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.json(),
        json!({"error": "Not Found", "message": "Endpoint /nope not found"})
    );
    assert_eq!(app.get("/api/v2/plans").await.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app();
    for (method, path) in [
        ("POST", "/api/coach-plans/"),
        ("DELETE", "/api/v1/plans/1"),
        ("PUT", "/health"),
    ] {
        let reply = app.request(method, path, &[]).await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            reply.json(),
            json!({"error": "Method Not Allowed", "message": format!("Method {method} not allowed for {path}")})
        );
        assert_eq!(reply.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
}

#[actix_web::test]
async fn an_internal_failure_is_a_json_500_that_leaks_nothing() {
    let app = spawn_app();
    app.fail_reads();
    for uri in [
        "/api/coach-plans/?coach=d",
        "/api/coach-plans/all",
        "/api/v1/plans",
        "/api/v1/plans/1",
    ] {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(
            reply.json(),
            json!({"error": "Internal Server Error", "message": "An unexpected error occurred"})
        );
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains("secret") && !text.contains("I/O"), "{text}");
    }
}

fn with_token() -> crate::helpers::TestApp {
    let settings = ApiSettings {
        auth_token: Some(Secret::new("s3cret-token")),
        ..ApiSettings::default()
    };
    spawn_app_with(settings, StaticBotStatus::mock())
}

#[actix_web::test]
async fn with_a_token_configured_api_and_metrics_need_it() {
    let app = with_token();
    for uri in [
        "/api/coach-plans/?coach=d",
        "/api/v1/plans",
        "/metrics",
        "/metrics/prometheus",
    ] {
        let missing = app.get(uri).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(keys(&missing.json()), ["error", "message"]);
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
        for wrong in [
            "Bearer wrong",
            "Bearer s3cret-toke",
            "Bearer s3cret-token-",
            "Basic s3cret-token",
            "s3cret-token",
        ] {
            assert_eq!(
                app.request("GET", uri, &[("Authorization", wrong)])
                    .await
                    .status,
                StatusCode::UNAUTHORIZED,
                "{wrong}"
            );
        }
        let right = app
            .request("GET", uri, &[("Authorization", "Bearer s3cret-token")])
            .await;
        assert_eq!(right.status, StatusCode::OK, "{uri}");
    }
    for open in ["/", "/health", "/health/live", "/health/ready"] {
        assert_eq!(
            app.get(open).await.status,
            StatusCode::OK,
            "{open} stays open"
        );
    }
}

#[actix_web::test]
async fn the_token_never_appears_in_a_response() {
    let app = with_token();
    for uri in ["/", "/health", "/nope", "/api/v1/plans"] {
        let reply = app
            .request("GET", uri, &[("Authorization", "Bearer wrong")])
            .await;
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("s3cret"),
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn every_response_allows_any_origin_by_default() {
    let app = spawn_app();
    for uri in ["/", "/health", "/nope", "/api/coach-plans/?coach=x"] {
        assert_eq!(
            app.get(uri).await.header("access-control-allow-origin"),
            Some("*"),
            "{uri}"
        );
    }
    let preflight = app
        .request(
            "OPTIONS",
            "/api/coach-plans/",
            &[
                ("Origin", "https://a.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
}

#[actix_web::test]
async fn configured_origins_are_echoed_and_others_get_no_grant() {
    let settings = ApiSettings {
        cors_origins: vec!["https://dash.example".to_owned()],
        ..ApiSettings::default()
    };
    let app = spawn_app_with(settings, StaticBotStatus::mock());
    let allowed = app
        .request("GET", "/health", &[("Origin", "https://dash.example")])
        .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    assert_eq!(allowed.header("vary"), Some("Origin"));
    let other = app
        .request("GET", "/health", &[("Origin", "https://evil.example")])
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn a_valid_request_id_is_echoed_and_any_other_replaced() {
    let app = spawn_app();
    let echoed = app
        .request("GET", "/health", &[("X-Request-ID", "trading-bot.42_a-b")])
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("trading-bot.42_a-b"));
    for bad in ["has space", "semi;colon", &"x".repeat(65)] {
        let replaced = app
            .request("GET", "/health", &[("X-Request-ID", bad)])
            .await;
        let id = replaced.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 16);
    }
    let generated = app.get("/nope").await;
    assert_eq!(
        generated.header("x-request-id").unwrap().len(),
        16,
        "errors carry an id too"
    );
}

#[actix_web::test]
async fn options_answers_a_preflight_only_where_a_route_exists() {
    let app = spawn_app();
    for uri in ["/", "/health", "/api/v1/plans/7", "/api/coach-plans/all"] {
        let reply = app.request("OPTIONS", uri, &[]).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{uri}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD, OPTIONS"), "{uri}");
    }
    for uri in ["/nope", "/api/v2/plans", "/api/v1/plans/7/nope"] {
        let reply = app.request("OPTIONS", uri, &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            reply.json(),
            json!({"error": "Not Found", "message": format!("Endpoint {uri} not found")})
        );
        assert_eq!(reply.header("x-request-id").map(str::len), Some(16));
    }
}

#[actix_web::test]
async fn a_uri_or_headers_too_large_for_the_api_are_refused_in_json_with_a_request_id() {
    let app = spawn_app();
    let long_uri = format!("/api/coach-plans/?coach=d&pad={}", "x".repeat(9_000));
    let pad = "y".repeat(1_000);
    let big: Vec<_> = (0..40)
        .map(|n| (format!("x-pad-{n}"), pad.clone()))
        .collect();
    let many: Vec<_> = (0..70)
        .map(|n| (format!("x-n-{n}"), "1".to_owned()))
        .collect();
    for (what, reply, status) in [
        (
            "a long URI",
            app.get(&long_uri).await,
            StatusCode::URI_TOO_LONG,
        ),
        (
            "long headers",
            get_with(&app, &big).await,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            "many headers",
            get_with(&app, &many).await,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
    ] {
        assert_eq!(reply.status, status, "{what}");
        assert_eq!(keys(&reply.json()), ["error", "message"], "{what}");
        assert_eq!(
            reply.header("x-request-id").map(str::len),
            Some(16),
            "{what}"
        );
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some("*"),
            "{what}"
        );
    }
    let fits = format!("/api/coach-plans/?coach=d&pad={}", "x".repeat(7_000));
    assert_eq!(app.get(&fits).await.status, StatusCode::OK);
}

async fn get_with(app: &TestApp, headers: &[(String, String)]) -> Reply {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.request("GET", "/api/coach-plans/?coach=d", &headers)
        .await
}
