//! SPEC 17: what the API answers is what `/api/openapi.json` says, checked in process on every
//! route, including the answers schemathesis cannot provoke against the mock server (storage
//! down or failing, a token configured, 304).
//!
//! The schema check is a small subset of JSON Schema (`$ref`, `type`, `enum`, `properties`,
//! `required`, `items`, `additionalProperties`, `anyOf`, `oneOf`, `minimum`), stricter than
//! the standard in one way: an object key the schema does not name is a failure, so a field
//! added to a response without its schema is caught. Patterns and formats are left to
//! schemathesis (`cargo xtask schemathesis`).

use actix_web::http::StatusCode;
use coach_plans_api::{ApiSettings, ENDPOINTS, StaticBotStatus};
use coach_plans_config::Secret;
use coach_plans_storage::StoreError;
use serde_json::Value;

use crate::dashboard::log_in;
use crate::helpers::{Reply, TODAY, TestApp, spawn_app, spawn_app_with};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nthe chart's bytes";

/// Why `value` does not match `schema`, one line per problem (empty when it matches).
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, value, at, &mut out);
    out
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        let resolved = &doc["components"]["schemas"][name];
        if resolved.is_null() {
            out.push(format!("{at}: {target} is not defined"));
        } else {
            check(doc, resolved, value, at, out);
        }
        return;
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(choices) = schema[keyword].as_array() {
            let matching = choices
                .iter()
                .filter(|choice| mismatches(doc, choice, value, at).is_empty())
                .count();
            if matching == 0 || (exactly_one && matching > 1) {
                out.push(format!(
                    "{at}: {matching} of the {keyword} schemas match {value}"
                ));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        out.push(format!("{at}: {value} is not of type {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(number)) = (schema["minimum"].as_f64(), value.as_f64())
        && number < minimum
    {
        out.push(format!("{at}: {number} is below the minimum {minimum}"));
    }
    if let Value::Array(items) = value
        && schema["items"].is_object()
    {
        for (n, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{n}]"), out);
        }
    }
    if let Value::Object(fields) = value
        && (schema["properties"].is_object() || schema["additionalProperties"].is_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !fields.contains_key(name) {
                out.push(format!("{at}: the required {name} is missing"));
            }
        }
        for (name, field) in fields {
            let field_at = format!("{at}.{name}");
            match (&schema["properties"][name], &schema["additionalProperties"]) {
                (Value::Object(_), _) => {
                    check(doc, &schema["properties"][name], field, &field_at, out)
                }
                (_, additional @ Value::Object(_)) => check(doc, additional, field, &field_at, out),
                _ => out.push(format!("{field_at}: not in the schema")),
            }
        }
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

/// Checks an answer to `GET uri` (of the route `path`) against the document: its status is
/// listed for the route, and a JSON body matches the schema listed for that status.
fn conforms(
    doc: &Value,
    path: &str,
    uri: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    conforms_to("get", doc, path, uri, status, content_type, body)
}

/// [`conforms`] for an answer to `method` (lowercase, as the document spells it).
fn conforms_to(
    method: &str,
    doc: &Value,
    path: &str,
    uri: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let responses = &doc["paths"][path][method]["responses"];
    let documented = &responses[status.as_str()];
    if !documented.is_object() {
        return vec![format!(
            "{method} {uri}: {status} is not documented for {path}"
        )];
    }
    let Some(content_type) = content_type else {
        return if documented["content"].is_object() && !body.is_empty() {
            vec![format!("GET {uri}: {status} without a content type")]
        } else {
            Vec::new()
        };
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let listed = documented["content"].as_object().and_then(|content| {
        content
            .iter()
            .find(|(t, _)| t.split(';').next().unwrap_or_default().trim() == essence)
    });
    let Some((_, media)) = listed else {
        return vec![format!(
            "GET {uri}: {status} {content_type} is not documented"
        )];
    };
    if essence != "application/json" {
        return Vec::new();
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return vec![format!("GET {uri}: not JSON: {error}")],
    };
    mismatches(
        doc,
        &media["schema"],
        &value,
        &format!("GET {uri} {status}"),
    )
}

/// The app with data for every route: plans of two coaches, one with an archived chart and
/// an edit (so history has an entry with charts), one with a chart not archived.
async fn app_with_plans(app: &TestApp) -> (i64, String) {
    let plan = app.post("d", TODAY, "SPY above 520", &["spy.png"]).await;
    app.archive_charts(PNG).await;
    app.edit(&plan, "SPY above 521").await;
    app.post("i", TODAY, "QQQ below 440", &["qqq.png"]).await;
    let date = TODAY.parse().unwrap();
    let plans = app.service.plans_on(date).await.unwrap();
    let sha = plans
        .iter()
        .find_map(|p| p.charts.first().and_then(|c| c.archive().sha256))
        .unwrap();
    (plan.id.get(), format!("{sha}.png"))
}

fn concrete(path: &str, plan_id: i64, chart: &str) -> String {
    let filled = path
        .replace("{id}", &plan_id.to_string())
        .replace("{file}", chart)
        .replace("{asset}", "dashboard.css");
    if path.starts_with("/api/coach-plans") {
        format!("{filled}?coach=d&date={TODAY}")
    } else {
        filled
    }
}

/// Every route (and `extra` requests, as `(route, uri)`) answered by `app`, checked.
async fn check_all(
    app: &TestApp,
    plan_id: i64,
    chart: &str,
    headers: &[(&str, &str)],
    extra: &[(&str, String)],
) -> (Vec<String>, Vec<StatusCode>) {
    let doc = app.get("/api/openapi.json").await.json();
    let mut problems = Vec::new();
    let mut statuses = Vec::new();
    let requests = ENDPOINTS
        .iter()
        .map(|e| (e.path(), concrete(e.path(), plan_id, chart)))
        .chain(extra.iter().map(|(path, uri)| (*path, uri.clone())));
    for (path, uri) in requests {
        let reply = app.request("GET", &uri, headers).await;
        statuses.push(reply.status);
        let content_type = reply.header("content-type").map(str::to_owned);
        problems.extend(conforms(
            &doc,
            path,
            &uri,
            reply.status,
            content_type.as_deref(),
            &reply.body,
        ));
        // A second request with the entity tag: 304, documented wherever it happens.
        if let Some(etag) = reply
            .header("etag")
            .filter(|_| reply.status == StatusCode::OK)
        {
            let mut with_tag = headers.to_vec();
            with_tag.push(("If-None-Match", etag));
            let again = app.request("GET", &uri, &with_tag).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
            problems.extend(conforms(&doc, path, &uri, again.status, None, &again.body));
        }
    }
    (problems, statuses)
}

#[actix_web::test]
async fn every_route_answers_as_the_document_says_with_data_and_with_bad_input() {
    let app = spawn_app();
    let (plan_id, chart) = app_with_plans(&app).await;
    let bad = [
        (
            "/api/coach-plans/",
            "/api/coach-plans/?coach=nobody".to_owned(),
        ),
        ("/api/coach-plans/", "/api/coach-plans/".to_owned()),
        (
            "/api/coach-plans/",
            "/api/coach-plans/?coach=d&date=2021-01-01".to_owned(),
        ),
        (
            "/api/coach-plans/all",
            "/api/coach-plans/all?date=2024-02-30".to_owned(),
        ),
        (
            "/api/coach-plans/history",
            "/api/coach-plans/history?coach=d&date=x".to_owned(),
        ),
        ("/api/v1/plans", "/api/v1/plans?limit=0".to_owned()),
        (
            "/api/v1/plans",
            "/api/v1/plans?coach=d&from=2024-05-11&to=2024-05-10".to_owned(),
        ),
        ("/api/v1/plans", "/api/v1/plans?limit=1".to_owned()),
        ("/api/v1/plans/{id}", "/api/v1/plans/999999".to_owned()),
        ("/api/v1/plans/{id}", "/api/v1/plans/abc".to_owned()),
        (
            "/api/v1/plans/{id}/history",
            "/api/v1/plans/999999/history".to_owned(),
        ),
        (
            "/api/v1/charts/{file}",
            "/api/v1/charts/nope.png".to_owned(),
        ),
    ];
    let (problems, statuses) = check_all(&app, plan_id, &chart, &[], &bad).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for expected in [200, 400, 404] {
        assert!(
            statuses.iter().any(|s| s.as_u16() == expected),
            "no {expected} in {statuses:?}"
        );
    }
}

#[actix_web::test]
async fn answers_while_storage_is_down_or_failing_are_documented() {
    let app = spawn_app();
    let (plan_id, chart) = app_with_plans(&app).await;
    app.database_down();
    let (problems, down) = check_all(&app, plan_id, &chart, &[], &[]).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(down.contains(&StatusCode::SERVICE_UNAVAILABLE), "{down:?}");
    app.fail_reads();
    let (problems, failing) = check_all(&app, plan_id, &chart, &[], &[]).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        failing.contains(&StatusCode::INTERNAL_SERVER_ERROR),
        "{failing:?}"
    );
}

#[actix_web::test]
async fn with_a_token_the_refusals_and_the_answers_are_documented() {
    let settings = ApiSettings {
        auth_token: Some(Secret::new("openapi-token")),
        ..ApiSettings::default()
    };
    let app = spawn_app_with(settings, StaticBotStatus::mock());
    let (plan_id, chart) = app_with_plans(&app).await;
    let (problems, refused) = check_all(&app, plan_id, &chart, &[], &[]).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(refused.contains(&StatusCode::UNAUTHORIZED), "{refused:?}");
    let token = [("Authorization", "Bearer openapi-token")];
    let (problems, served) = check_all(&app, plan_id, &chart, &token, &[]).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(served.iter().all(|s| *s == StatusCode::OK), "{served:?}");
}

/// What a browser sends.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// Checks `reply` (to `method uri` of the route `path`) against the document, and that
/// every header the document names for its status that the server always sends is there.
fn conforms_reply(doc: &Value, method: &str, path: &str, uri: &str, reply: &Reply) -> Vec<String> {
    let mut problems = conforms_to(
        method,
        doc,
        path,
        uri,
        reply.status,
        reply.header("content-type"),
        &reply.body,
    );
    if reply.status == StatusCode::SEE_OTHER && reply.header("location").is_none() {
        problems.push(format!("{method} {uri}: 303 without Location"));
    }
    problems
}

/// A browser (and `cookie`, when given) on every dashboard page: the pages, their 304, the
/// 400 and 404 pages, the stylesheet, the login and logout forms, each checked.
async fn browse(
    app: &TestApp,
    plan_id: i64,
    cookie: Option<&str>,
) -> (Vec<String>, Vec<StatusCode>) {
    let doc = app.get("/api/openapi.json").await.json();
    let mut headers = vec![("Accept", BROWSER)];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    let plan = format!("/plans/{plan_id}");
    let pages = [
        ("/", "/"),
        ("/", "/?date=2024-05-10"),
        ("/", "/?date=today"),
        ("/", "/?date=2024-02-30"),
        ("/plans/{id}", plan.as_str()),
        ("/plans/{id}", "/plans/999999"),
        ("/plans/{id}", "/plans/abc"),
        ("/assets/{asset}", "/assets/dashboard.css"),
        ("/assets/{asset}", "/assets/dashboard.js"),
        ("/login", "/login"),
        ("/logout", "/logout"),
    ];
    let (mut problems, mut statuses) = (Vec::new(), Vec::new());
    for (path, uri) in pages {
        let reply = app.request("GET", uri, &headers).await;
        statuses.push(reply.status);
        problems.extend(conforms_reply(&doc, "get", path, uri, &reply));
        if let Some(etag) = reply
            .header("etag")
            .filter(|_| reply.status == StatusCode::OK)
        {
            let mut with_tag = headers.clone();
            with_tag.push(("If-None-Match", etag));
            let again = app.request("GET", uri, &with_tag).await;
            statuses.push(again.status);
            problems.extend(conforms_reply(&doc, "get", path, uri, &again));
        }
    }
    let logout = app.request("POST", "/logout", &headers).await;
    statuses.push(logout.status);
    problems.extend(conforms_reply(&doc, "post", "/logout", "/logout", &logout));
    (problems, statuses)
}

#[actix_web::test]
async fn a_browser_on_every_dashboard_route_gets_what_the_document_says() {
    let app = spawn_app();
    let (plan_id, _chart) = app_with_plans(&app).await;
    let (problems, statuses) = browse(&app, plan_id, None).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for expected in [200, 304, 400, 404] {
        assert!(
            statuses.iter().any(|s| s.as_u16() == expected),
            "no {expected} in {statuses:?}"
        );
    }
    let doc = app.get("/api/openapi.json").await.json();
    let sign_in = log_in(&app, "token=anything").await;
    assert_eq!(
        sign_in.status,
        StatusCode::OK,
        "no token, nothing to log in to"
    );
    let problems = conforms_reply(&doc, "post", "/login", "/login", &sign_in);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[actix_web::test]
async fn with_a_token_a_browser_is_asked_to_log_in_then_served_as_documented() {
    let settings = ApiSettings {
        auth_token: Some(Secret::new("openapi-token")),
        ..ApiSettings::default()
    };
    let app = spawn_app_with(settings, StaticBotStatus::mock());
    let (plan_id, _chart) = app_with_plans(&app).await;
    let doc = app.get("/api/openapi.json").await.json();
    let (problems, refused) = browse(&app, plan_id, None).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(refused.contains(&StatusCode::UNAUTHORIZED), "{refused:?}");
    let wrong = log_in(&app, "token=not-it&next=%2Fplans%2F1").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = log_in(&app, "token=openapi-token&next=%2Fplans%2F1").await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    for reply in [&wrong, &right] {
        let problems = conforms_reply(&doc, "post", "/login", "/login", reply);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
    let cookie = right
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let (problems, served) = browse(&app, plan_id, Some(&cookie)).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!served.contains(&StatusCode::UNAUTHORIZED), "{served:?}");
    assert!(served.contains(&StatusCode::OK), "{served:?}");
}

#[actix_web::test]
async fn dashboard_pages_while_storage_is_down_or_failing_are_documented() {
    let app = spawn_app();
    let (plan_id, _chart) = app_with_plans(&app).await;
    app.store.before_each(|call| {
        if call.is_read() {
            Err(StoreError::Unavailable("database is locked".into()))
        } else {
            Ok(())
        }
    });
    let (problems, down) = browse(&app, plan_id, None).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(down.contains(&StatusCode::SERVICE_UNAVAILABLE), "{down:?}");
    app.fail_reads();
    let (problems, failing) = browse(&app, plan_id, None).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        failing.contains(&StatusCode::INTERNAL_SERVER_ERROR),
        "{failing:?}"
    );
}

#[actix_web::test]
async fn post_is_answered_exactly_where_the_document_lists_it() {
    let app = spawn_app();
    let (plan_id, chart) = app_with_plans(&app).await;
    let doc = app.get("/api/openapi.json").await.json();
    let mut posted = Vec::new();
    for endpoint in ENDPOINTS {
        let uri = concrete(endpoint.path(), plan_id, &chart);
        let reply = app.request("POST", &uri, &[]).await;
        if doc["paths"][endpoint.path()]["post"].is_object() {
            posted.push(endpoint.path());
            assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "POST {uri}");
            let problems = conforms_reply(&doc, "post", endpoint.path(), &uri, &reply);
            assert!(problems.is_empty(), "{}", problems.join("\n"));
        } else {
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "POST {uri}");
        }
        let put = app.request("PUT", &uri, &[]).await;
        assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED, "PUT {uri}");
        let allow = if doc["paths"][endpoint.path()]["post"].is_object() {
            "GET, HEAD, POST, OPTIONS"
        } else {
            "GET, HEAD, OPTIONS"
        };
        assert_eq!(put.header("allow"), Some(allow), "PUT {uri}");
        let preflight = app.request("OPTIONS", &uri, &[]).await;
        assert_eq!(preflight.header("allow"), Some(allow), "OPTIONS {uri}");
    }
    assert_eq!(posted, ["/login", "/logout"]);
}

#[test]
fn the_schema_check_finds_a_wrong_type_a_missing_field_and_an_undocumented_one() {
    let doc = serde_json::json!({"components": {"schemas": {"P": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}}
    }}}});
    let schema = serde_json::json!({"$ref": "#/components/schemas/P"});
    assert!(
        mismatches(
            &doc,
            &schema,
            &serde_json::json!({"id": 1, "note": null}),
            "x"
        )
        .is_empty()
    );
    assert_eq!(
        mismatches(&doc, &schema, &serde_json::json!({"id": "1"}), "x").len(),
        1
    );
    assert_eq!(
        mismatches(&doc, &schema, &serde_json::json!({"note": "a"}), "x").len(),
        1
    );
    assert_eq!(
        mismatches(
            &doc,
            &schema,
            &serde_json::json!({"id": 1, "extra": 2}),
            "x"
        )
        .len(),
        1
    );
}
