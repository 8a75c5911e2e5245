//! Charts: archive state read from the native API, and chart images fetched by either kind of
//! link, with the token sent to the API's host only.

use std::time::Duration;

use coach_plans_client::{
    ArchiveStatus, ClientBuilder, ClientErrorKind, CoachId, PlanClient, PlanDate, PlanId,
    PlanOutcome, Sha256,
};
use coach_plans_model::{Attachment, Channel, PlanText, UserId};
use coach_plans_service::{Actor, NewPost};

use crate::against_api::serve_api;
use crate::canned::{self, bytes_response, response};

/// A PNG's signature and a few bytes more, with its SHA-256 (computed independently with
/// `sha256sum`).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image";
const PNG_SHA: &str = "a987c0d1fac0abc31d18ab48abf7ce4f156642cf3cdb1c86c4e045cbf9a55e07";

fn png_sha() -> Sha256 {
    Sha256::parse(PNG_SHA).unwrap()
}

fn fast(base: &str) -> ClientBuilder {
    ClientBuilder::new(base)
        .retries(2)
        .retry_delays(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(5))
}

fn has_token(head: &str, token: &str) -> bool {
    head.to_ascii_lowercase()
        .contains(&format!("authorization: bearer {token}"))
}

#[tokio::test]
async fn an_archived_chart_comes_back_byte_for_byte_with_its_type_and_the_token_is_sent() {
    let api = canned::serve_bytes(vec![bytes_response("200 OK", "image/png", PNG)]).await;
    let client = fast(&api.base).auth_token("s3cret").build().unwrap();
    let url = format!("{}/api/v1/charts/{PNG_SHA}.png", api.base);
    let chart = client.fetch_chart(&url).await.unwrap();
    assert_eq!(chart.bytes, PNG);
    assert_eq!(chart.content_type, "image/png");
    assert_eq!(chart.sha256, Some(png_sha()));
    let heads = api.heads();
    assert!(
        heads[0].starts_with(&format!("GET /api/v1/charts/{PNG_SHA}.png ")),
        "{}",
        heads[0]
    );
    assert!(has_token(&heads[0], "s3cret"), "{}", heads[0]);
}

#[tokio::test]
async fn a_discord_link_is_fetched_without_the_token() {
    let api = canned::serve(vec![response("500 Internal Server Error", "", "{}")]).await;
    let discord = canned::serve_bytes(vec![bytes_response("200 OK", "image/png", PNG)]).await;
    let client = fast(&api.base).auth_token("s3cret").build().unwrap();
    let link = format!("{}/attachments/1/2/chart.png?ex=1&is=2&hm=3", discord.base);
    let chart = client.fetch_chart(&link).await.unwrap();
    assert_eq!(chart.bytes, PNG);
    assert_eq!(chart.sha256, None, "a Discord link names no hash to check");
    let heads = discord.heads();
    assert_eq!(heads.len(), 1);
    assert!(
        !heads[0].to_ascii_lowercase().contains("authorization"),
        "{}",
        heads[0]
    );
    assert_eq!(api.requests(), 0);
}

#[tokio::test]
async fn a_redirect_from_the_api_to_another_host_does_not_take_the_token_along() {
    let elsewhere = canned::serve_bytes(vec![bytes_response("200 OK", "image/png", PNG)]).await;
    let api = canned::serve(vec![response(
        "302 Found",
        &format!("location: {}/a.png\r\n", elsewhere.base),
        "",
    )])
    .await;
    let client = fast(&api.base).auth_token("s3cret").build().unwrap();
    let chart = client
        .fetch_chart(&format!("{}/some/chart.png", api.base))
        .await
        .unwrap();
    assert_eq!(chart.bytes, PNG);
    assert!(has_token(&api.heads()[0], "s3cret"));
    let heads = elsewhere.heads();
    assert!(
        !heads[0].to_ascii_lowercase().contains("authorization"),
        "{}",
        heads[0]
    );
}

#[tokio::test]
async fn an_archived_url_naming_another_host_is_fetched_from_the_configured_server() {
    let api = canned::serve_bytes(vec![bytes_response("200 OK", "image/png", PNG)]).await;
    let client = fast(&format!("{}/prefix", api.base))
        .auth_token("s3cret")
        .build()
        .unwrap();
    let url = format!("https://plans.example.invalid/api/v1/charts/{PNG_SHA}.png");
    let chart = client.fetch_chart(&url).await.unwrap();
    assert_eq!(chart.bytes, PNG);
    let heads = api.heads();
    assert!(
        heads[0].starts_with(&format!("GET /prefix/api/v1/charts/{PNG_SHA}.png ")),
        "{}",
        heads[0]
    );
    assert!(has_token(&heads[0], "s3cret"));
}

#[tokio::test]
async fn bytes_that_do_not_match_their_name_are_corrupt_and_not_retried() {
    let api = canned::serve_bytes(vec![bytes_response(
        "200 OK",
        "image/png",
        b"\x89PNG\r\n\x1a\ndamaged",
    )])
    .await;
    let client = fast(&api.base).build().unwrap();
    let url = format!("{}/api/v1/charts/{PNG_SHA}.png", api.base);
    let error = client.fetch_chart(&url).await.unwrap_err();
    let ClientErrorKind::Corrupt { expected, found } = error.kind() else {
        panic!("expected Corrupt, got {error:?}")
    };
    assert_eq!(*expected, png_sha());
    assert_ne!(*found, png_sha());
    assert!(!error.is_transient());
    assert_eq!(api.requests(), 1);
}

#[tokio::test]
async fn a_missing_chart_or_an_expired_link_is_not_found() {
    let api = canned::serve(vec![response(
        "404 Not Found",
        "",
        r#"{"error":"Not Found","message":"No chart"}"#,
    )])
    .await;
    let client = fast(&api.base).build().unwrap();
    let url = format!("{}/api/v1/charts/{PNG_SHA}.png", api.base);
    let error = client.fetch_chart(&url).await.unwrap_err();
    assert_eq!(error.kind(), &ClientErrorKind::NotFound);
    assert_eq!(api.requests(), 1, "a 404 is not retried");

    let discord = canned::serve_bytes(vec![bytes_response(
        "404 Not Found",
        "text/plain",
        b"This content is no longer available.",
    )])
    .await;
    let link = format!("{}/attachments/1/2/chart.png?ex=1", discord.base);
    let error = client.fetch_chart(&link).await.unwrap_err();
    assert_eq!(error.kind(), &ClientErrorKind::NotFound);
}

#[tokio::test]
async fn a_chart_fetch_is_retried_on_a_503() {
    let api = canned::serve_bytes(vec![
        bytes_response("503 Service Unavailable", "application/json", b"{}"),
        bytes_response("200 OK", "image/png", PNG),
    ])
    .await;
    let client = fast(&api.base).build().unwrap();
    let url = format!("{}/api/v1/charts/{PNG_SHA}.png", api.base);
    assert_eq!(client.fetch_chart(&url).await.unwrap().bytes, PNG);
    assert_eq!(api.requests(), 2);
}

#[tokio::test]
async fn a_link_that_is_not_an_http_url_is_refused_without_a_request() {
    let api = canned::serve(vec![response("200 OK", "", "{}")]).await;
    let client = fast(&api.base).build().unwrap();
    for bad in ["", "not a url", "ftp://x/a.png", "/api/v1/charts/x.png"] {
        let error = client.fetch_chart(bad).await.unwrap_err();
        assert!(
            matches!(error.kind(), ClientErrorKind::InvalidUrl { .. }),
            "{bad:?}: {error:?}"
        );
    }
    assert_eq!(api.requests(), 0);
}

/// A native plan as a server newer than this client might send it: one chart of each status,
/// one with a status this client does not know (in the flat field and the stored record).
fn native_plan(charts: &str) -> String {
    format!(
        r#"{{"id":7,"coach":"d","date":"2024-05-10","text":"plan","author":{{"id":"42","name":"dana"}},
        "channel":{{"id":null,"name":null}},"message_id":null,"created_at":"2024-05-10T12:00:00.000000+00:00",
        "edited_at":null,"charts":[{charts}],"deleted":false}}"#
    )
}

const CHARTS: &str = r#"
  {"url":"https://cdn.discordapp.com/a.png","filename":"a.png","content_type":"image/png","size":10,"position":0,
   "sha256":"a987c0d1fac0abc31d18ab48abf7ce4f156642cf3cdb1c86c4e045cbf9a55e07",
   "archived_url":"http://127.0.0.1:5000/api/v1/charts/a987c0d1fac0abc31d18ab48abf7ce4f156642cf3cdb1c86c4e045cbf9a55e07.png",
   "discord_url":"https://cdn.discordapp.com/a.png","status":"archived","reason":null},
  {"url":"https://cdn.discordapp.com/b.png","filename":"b.png","content_type":null,"size":null,"position":1,
   "sha256":null,"archived_url":null,"discord_url":"https://cdn.discordapp.com/b.png","status":"pending","reason":null},
  {"url":"https://cdn.discordapp.com/c.png","filename":"c.png","content_type":null,"size":null,"position":2,
   "sha256":null,"archived_url":null,"discord_url":"https://cdn.discordapp.com/c.png","status":"failed",
   "reason":"404 after 5 tries","archive":{"status":"failed","attempts":5,"reason":"404 after 5 tries"}},
  {"url":"https://cdn.discordapp.com/d.png","filename":"d.png","content_type":null,"size":null,"position":3,
   "sha256":null,"archived_url":null,"discord_url":"https://cdn.discordapp.com/d.png","status":"quarantined",
   "reason":null,"archive":{"status":"quarantined","attempts":0}}
"#;

#[tokio::test]
async fn chart_status_is_read_including_a_status_from_a_newer_server() {
    let api = canned::serve(vec![response("200 OK", "", &native_plan(CHARTS))]).await;
    let client = fast(&api.base).build().unwrap();
    let charts = client
        .fetch_plan_charts(PlanId::new(7).unwrap())
        .await
        .unwrap();
    assert!(
        api.heads()[0].starts_with("GET /api/v1/plans/7 "),
        "{}",
        api.heads()[0]
    );
    let statuses: Vec<_> = charts.iter().map(|c| c.status.clone()).collect();
    assert_eq!(
        statuses,
        [
            ArchiveStatus::Archived,
            ArchiveStatus::Pending,
            ArchiveStatus::Failed,
            ArchiveStatus::Unknown("quarantined".into())
        ]
    );
    assert_eq!(charts[0].sha256, Some(png_sha()));
    assert_eq!(
        charts[0].best_url(),
        format!("http://127.0.0.1:5000/api/v1/charts/{PNG_SHA}.png")
    );
    assert_eq!(charts[1].archived_url, None);
    assert_eq!(charts[1].best_url(), "https://cdn.discordapp.com/b.png");
    assert_eq!(charts[2].reason.as_deref(), Some("404 after 5 tries"));
    assert_eq!(charts[3].status.to_string(), "quarantined");
}

#[tokio::test]
async fn a_plan_whose_chart_has_an_unknown_status_is_still_found() {
    let page = format!(
        r#"{{"plans":[{}],"next_cursor":null}}"#,
        native_plan(CHARTS)
    );
    let api = canned::serve(vec![response("200 OK", "", &page)]).await;
    let client = fast(&api.base).build().unwrap();
    let outcome = client
        .fetch_coach_plan(
            &CoachId::parse("d").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    let PlanOutcome::Found(plan) = outcome else {
        panic!("expected the plan, got {outcome:?}")
    };
    assert_eq!(plan.charts.len(), 4);
    assert_eq!(
        plan.charts[2].archive().attempts,
        5,
        "known records are kept"
    );
}

#[tokio::test]
async fn charts_of_a_plan_that_does_not_exist_are_not_found() {
    let api = canned::serve(vec![response(
        "404 Not Found",
        "",
        r#"{"error":"Not Found","message":"No plan with id 9"}"#,
    )])
    .await;
    let client = fast(&api.base).build().unwrap();
    let error = client
        .fetch_plan_charts(PlanId::new(9).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), &ClientErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_api_reports_a_new_chart_as_pending_with_its_discord_link() {
    let served = serve_api(Some("t0ken"));
    let discord_link = "https://cdn.discordapp.com/attachments/1/2/chart.png?ex=1&is=2&hm=3";
    served
        .service()
        .post_plan(
            &Actor::new(UserId::new(42).unwrap(), "dana"),
            NewPost {
                coach: CoachId::parse("d").unwrap(),
                date: PlanDate::from_ymd(2024, 5, 10),
                text: PlanText::parse("with a chart").unwrap(),
                attachments: vec![Attachment {
                    url: discord_link.to_owned(),
                    filename: "chart.png".to_owned(),
                    content_type: Some("image/png".to_owned()),
                    size: Some(10),
                }],
                channel: Channel::default(),
                message_id: None,
            },
        )
        .await
        .unwrap();
    let client = PlanClient::builder(&served.base)
        .auth_token("t0ken")
        .build()
        .unwrap();
    let outcome = client
        .fetch_coach_plan(
            &CoachId::parse("d").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    let plan = outcome.plan().unwrap();
    let charts = client.fetch_plan_charts(plan.id).await.unwrap();
    assert_eq!(charts.len(), 1);
    assert_eq!(charts[0].status, ArchiveStatus::Pending);
    assert_eq!(charts[0].discord_url, discord_link);
    assert_eq!(charts[0].archived_url, None);
    assert_eq!(charts[0].sha256, None);
    assert_eq!(charts[0].best_url(), discord_link);
    assert_eq!(charts[0].filename.as_deref(), Some("chart.png"));
}
