//! Transient failures are retried with backoff; everything else is reported at once, and no
//! failure is ever an error or a panic for a plan lookup.

use std::time::{Duration, Instant};

use coach_plans_client::{ClientBuilder, ClientErrorKind, CoachId, PlanDate, PlanOutcome};
use coach_plans_model::wire::legacy::PlanReply;

use crate::canned::{self, response};

const EMPTY_PAGE: &str = r#"{"plans":[],"next_cursor":null}"#;

fn fast(base: &str) -> ClientBuilder {
    ClientBuilder::new(base)
        .retries(3)
        .retry_delays(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(5))
}

fn d() -> CoachId {
    CoachId::parse("d").unwrap()
}

fn may_10() -> Option<PlanDate> {
    PlanDate::from_ymd(2024, 5, 10)
}

#[tokio::test]
async fn a_503_is_retried_until_the_server_answers() {
    let server = canned::serve(vec![
        response(
            "503 Service Unavailable",
            "",
            r#"{"error":"Service Unavailable"}"#,
        ),
        response(
            "503 Service Unavailable",
            "",
            r#"{"error":"Service Unavailable"}"#,
        ),
        response("200 OK", "", EMPTY_PAGE),
    ])
    .await;
    let client = fast(&server.base).build().unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    assert!(
        matches!(outcome, PlanOutcome::NotPosted { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.requests(), 3);
    let metrics = client.metrics();
    assert_eq!(metrics.retries, 2);
    assert_eq!(metrics.api_successes, 1);
    assert_eq!(metrics.errors, 0);
}

#[tokio::test]
async fn retries_stop_after_the_configured_number_and_report_the_status() {
    let server = canned::serve(vec![response(
        "500 Internal Server Error",
        "",
        r#"{"error":"Internal Server Error","message":"An unexpected error occurred"}"#,
    )])
    .await;
    let client = fast(&server.base).retries(2).build().unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    let PlanOutcome::Unavailable(error) = outcome else {
        panic!("expected unavailable, got {outcome:?}")
    };
    assert_eq!(
        error.kind(),
        &ClientErrorKind::Status {
            status: 500,
            message: Some("An unexpected error occurred".into())
        }
    );
    assert_eq!(server.requests(), 3, "one attempt and two retries");
    assert_eq!(client.metrics().errors, 1);
    assert_eq!(client.metrics().retries, 2);
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_the_server_asks_for() {
    let server = canned::serve(vec![
        response("429 Too Many Requests", "retry-after: 1\r\n", "{}"),
        response("200 OK", "", EMPTY_PAGE),
    ])
    .await;
    // Backoff alone would wait at most 5 ms; only Retry-After explains a one-second wait.
    let client = fast(&server.base).build().unwrap();
    let started = Instant::now();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    assert!(matches!(outcome, PlanOutcome::NotPosted { .. }));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_limit_is_reported_at_once() {
    let server = canned::serve(vec![response(
        "429 Too Many Requests",
        "retry-after: 3600\r\n",
        "{}",
    )])
    .await;
    let client = fast(&server.base)
        .max_retry_after(Duration::from_secs(2))
        .build()
        .unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    assert!(
        matches!(
            outcome,
            PlanOutcome::Unavailable(ref e) if matches!(e.kind(), ClientErrorKind::Status { status: 429, .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = canned::serve(vec![response(
        "400 Bad Request",
        "",
        r#"{"error":"Bad Request","message":"unknown coach 'x'","parameter":"coach"}"#,
    )])
    .await;
    let client = fast(&server.base).build().unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    let PlanOutcome::Unavailable(error) = outcome else {
        panic!("expected unavailable")
    };
    assert_eq!(error.to_string(), "server answered 400: unknown coach 'x'");
    assert_eq!(server.requests(), 1);
    assert_eq!(client.metrics().retries, 0);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_unavailable() {
    let base = canned::refused();
    let client = fast(&base).retries(2).build().unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    let PlanOutcome::Unavailable(error) = &outcome else {
        panic!("expected unavailable, got {outcome:?}")
    };
    assert!(
        matches!(error.kind(), ClientErrorKind::Connect { .. }),
        "{error:?}: {error}"
    );
    assert!(
        std::error::Error::source(error).is_some(),
        "the transport's error stays reachable: {error:?}"
    );
    assert_eq!(client.metrics().retries, 2);
    // What code written for the Python version sees: a plan text starting with "No".
    let PlanReply::Missing(legacy) = outcome.to_legacy() else {
        panic!("unavailable reads as missing")
    };
    assert!(
        legacy.plan.starts_with("No plan available"),
        "{}",
        legacy.plan
    );
    assert!(client.check_health().await.is_err());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = canned::silent().await;
    let client = fast(&server.base)
        .timeout(Duration::from_millis(200))
        .retries(1)
        .build()
        .unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    assert!(
        matches!(
            outcome,
            PlanOutcome::Unavailable(ref e) if e.kind() == &ClientErrorKind::Timeout(Duration::from_millis(200))
        ),
        "{outcome:?}"
    );
    assert_eq!(server.requests(), 2, "a timeout is transient: retried once");
}

#[tokio::test]
async fn an_answer_that_is_not_the_expected_json_is_unavailable_not_a_panic() {
    let server = canned::serve(vec![response("200 OK", "", "<html>proxy login</html>")]).await;
    let client = fast(&server.base).build().unwrap();
    let outcome = client.fetch_coach_plan(&d(), may_10()).await;
    assert!(
        matches!(
            outcome,
            PlanOutcome::Unavailable(ref e) if e.kind() == &ClientErrorKind::InvalidResponse
        ),
        "{outcome:?}"
    );
    assert_eq!(server.requests(), 1, "a malformed answer is not retried");
}
