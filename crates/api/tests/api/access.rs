//! SPEC 6.3 bearer token, attacked (issue 9): every registered route, under every spelling of
//! its path that a router might treat as the same, is refused without the token.

use actix_web::http::{StatusCode, Uri};
use coach_plans_api::{ApiSettings, ENDPOINTS, StaticBotStatus};
use coach_plans_config::Secret;
use coach_plans_storage::ChartStore as _;

use crate::helpers::{TODAY, TestApp, spawn_app_with};

const TOKEN: &str = "walk-the-routes-token";
/// Text only the posted plan contains: a response that holds it leaked plan data.
const MARKER: &str = "MARKER-7f3a plan text";
/// The routes SPEC 6.3 keeps open when a token is configured, the OpenAPI document, and the
/// dashboard's login, logout and stylesheet (SPEC 17).
const PUBLIC: [&str; 8] = [
    "/",
    "/health",
    "/health/live",
    "/health/ready",
    "/api/openapi.json",
    "/login",
    "/logout",
    "/assets/{asset}",
];
/// Dashboard pages: without a session, the login form (401).
const DASHBOARD: [&str; 1] = ["/plans/{id}"];

fn with_token() -> TestApp {
    let settings = ApiSettings {
        auth_token: Some(Secret::new(TOKEN)),
        ..ApiSettings::default()
    };
    spawn_app_with(settings, StaticBotStatus::mock())
}

/// Spellings of `path` that differ only in ways a router, a proxy or a decoder may normalise.
fn variants(path: &str) -> Vec<String> {
    let encode_letters = |upper: bool, only_first: bool| {
        let mut done = false;
        path.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() && !(only_first && done) {
                    done = true;
                    if upper {
                        format!("%{:02X}", c as u32)
                    } else {
                        format!("%{:02x}", c as u32)
                    }
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
    };
    let alternating: String = path
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let (first, rest) = path[1..].split_once('/').unwrap_or((&path[1..], ""));
    vec![
        encode_letters(false, true),
        encode_letters(true, true),
        encode_letters(false, false),
        encode_letters(true, false),
        format!("/{path}"),
        path.replace('/', "//"),
        match path.strip_suffix('/') {
            Some(without) if !without.is_empty() => without.to_owned(),
            _ => format!("{path}/"),
        },
        format!("/{first}/./{rest}"),
        format!("/./{}", &path[1..]),
        format!("/x/..{path}"),
        format!("/{first}/../{first}/{rest}"),
        path.to_ascii_uppercase(),
        alternating,
        path.replace('/', "%2F"),
        format!("{path}%00"),
        format!("{path}%20"),
    ]
}

/// The endpoint's path with its parameters filled in (a plan id, a stored chart's file name),
/// and a query every endpoint accepts.
fn concrete(pattern: &str, plan_id: i64, chart: &str) -> String {
    format!(
        "{}?coach=d&date={TODAY}",
        pattern
            .replace("{id}", &plan_id.to_string())
            .replace("{file}", chart)
            .replace("{asset}", "dashboard.css")
    )
}

#[actix_web::test]
async fn every_route_under_every_spelling_needs_the_token_unless_public() {
    let app = with_token();
    let plan = app.post("d", TODAY, MARKER, &[]).await;
    // An edit puts the marker in the history routes' answers too.
    app.edit(&plan, "MARKER-7f3a edited").await;
    let plan_id = plan.id.get();
    let chart = format!(
        "{}.png",
        app.charts.put(b"\x89PNG\r\n\x1a\nchart").unwrap().sha256
    );
    let authorized = [("Authorization", "Bearer walk-the-routes-token")];
    assert!(ENDPOINTS.len() >= 18, "the table lists every route");
    let mut leaking_routes = 0;
    for endpoint in ENDPOINTS {
        let path = endpoint.path();
        let uri = concrete(path, plan_id, &chart);
        let public = PUBLIC.contains(&path);
        let served = app.request("GET", &uri, &authorized).await;
        assert_eq!(served.status, StatusCode::OK, "{uri} with the token");
        let body = String::from_utf8_lossy(&served.body);
        if body.contains("MARKER-7f3a") {
            leaking_routes += 1;
        }
        let plain = app.get(&uri).await;
        let expected = if public {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(plain.status, expected, "{uri} without the token");
        for variant in variants(path) {
            let uri = concrete(&variant, plan_id, &chart);
            if uri.parse::<Uri>().is_err() {
                // Not a request target (`//?...` reads as an authority): the HTTP layer
                // refuses it before any route is matched.
                continue;
            }
            let reply = app.get(&uri).await;
            let body = String::from_utf8_lossy(&reply.body);
            assert!(
                !body.contains("MARKER-7f3a"),
                "{uri} leaked plan data: {body}"
            );
            if !public {
                assert!(
                    matches!(
                        reply.status,
                        StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND
                    ),
                    "{uri} (a spelling of {path}) answered {} without the token: {body}",
                    reply.status
                );
            }
        }
    }
    assert!(
        leaking_routes >= 7,
        "the walk reaches the routes that serve plan data ({leaking_routes})"
    );
}

#[actix_web::test]
async fn with_a_token_unknown_paths_and_wrong_methods_are_refused_alike() {
    let app = with_token();
    for (method, uri) in [
        ("GET", "/nope"),
        ("GET", "/api/v2/plans"),
        ("POST", "/api/v1/plans"),
        ("DELETE", "/metrics"),
    ] {
        let reply = app.request(method, uri, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    let authorized = [("Authorization", "Bearer walk-the-routes-token")];
    let unknown = app.request("GET", "/nope", &authorized).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let wrong_method = app.request("POST", "/api/v1/plans", &authorized).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        app.request("PUT", "/health", &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "a public route says what it serves"
    );
}

#[actix_web::test]
async fn a_preflight_to_a_protected_route_needs_no_token() {
    let app = with_token();
    let reply = app
        .request(
            "OPTIONS",
            "/api/v1/plans",
            &[
                ("Origin", "https://dash.example"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(
        reply
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization")
    );
}

/// What Chromium sends when it navigates.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[actix_web::test]
async fn every_route_asked_by_a_browser_without_a_session_shows_no_plan_data() {
    let app = with_token();
    let plan = app.post("d", TODAY, MARKER, &[]).await;
    let chart = format!(
        "{}.png",
        app.charts.put(b"\x89PNG\r\n\x1a\nchart").unwrap().sha256
    );
    let browser = [("Accept", BROWSER)];
    for endpoint in ENDPOINTS {
        let path = endpoint.path();
        let uri = concrete(path, plan.id.get(), &chart);
        let mut spellings = variants(path);
        spellings.push(path.to_owned());
        for spelling in spellings {
            let uri = concrete(&spelling, plan.id.get(), &chart);
            if uri.parse::<Uri>().is_err() {
                continue;
            }
            let reply = app.request("GET", &uri, &browser).await;
            let body = String::from_utf8_lossy(&reply.body);
            assert!(
                !body.contains("MARKER-7f3a"),
                "{uri} leaked plan data: {body}"
            );
        }
        let reply = app.request("GET", &uri, &browser).await;
        let body = String::from_utf8_lossy(&reply.body);
        if path == "/" || DASHBOARD.contains(&path) {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
            assert!(
                body.contains(r#"action="/login""#),
                "{uri} shows the login form: {body}"
            );
        }
    }
}

#[actix_web::test]
async fn a_session_cookie_opens_the_dashboard_and_chart_images_only() {
    let app = with_token();
    let plan = app.post("d", TODAY, MARKER, &[]).await;
    let chart = format!(
        "{}.png",
        app.charts.put(b"\x89PNG\r\n\x1a\nchart").unwrap().sha256
    );
    let login = {
        let request = actix_web::test::TestRequest::post()
            .uri("/login")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(format!("token={TOKEN}"));
        let service = actix_web::test::init_service(app.api.app()).await;
        actix_web::test::call_service(&service, request.to_request()).await
    };
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let set_cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap();
    let headers = [("Accept", BROWSER), ("Cookie", cookie)];
    for endpoint in ENDPOINTS {
        let path = endpoint.path();
        let uri = concrete(path, plan.id.get(), &chart);
        let reply = app.request("GET", &uri, &headers).await;
        let expected = if PUBLIC.contains(&path)
            || DASHBOARD.contains(&path)
            || path == "/api/v1/charts/{file}"
        {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(reply.status, expected, "{uri} with the session cookie");
    }
}
