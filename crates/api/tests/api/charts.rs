//! SPEC 14: archived charts served by their SHA-256, and how plans point at them.

use actix_web::http::StatusCode;
use coach_plans_api::{ApiSettings, StaticBotStatus};
use coach_plans_config::Secret;
use coach_plans_model::Sha256;
use coach_plans_storage::ChartStore as _;
use serde_json::{Value, json};

use crate::helpers::{PUBLIC_URL, TODAY, TestApp, spawn_app, spawn_app_with};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nthe chart's bytes";
const DISCORD: &str = "https://cdn.discordapp.com/attachments/1/2/spy.png";

/// A plan with one chart, archived as `PNG`; returns the blob's name.
async fn archived_chart(app: &TestApp) -> Sha256 {
    app.post("d", TODAY, "SPY above 520", &["spy.png"]).await;
    archive_as_png(app).await
}

/// Archives the app's pending charts as `PNG`; returns the blob's name.
async fn archive_as_png(app: &TestApp) -> Sha256 {
    let summary = app.archive_charts(PNG).await;
    assert!(summary.archived > 0 && summary.failed.is_empty());
    let date = TODAY.parse().unwrap();
    let plans = app.service.plans_on(date).await.unwrap();
    plans[0].charts[0].archive().sha256.unwrap()
}

#[actix_web::test]
async fn an_archived_chart_is_served_with_its_exact_bytes_and_immutable_caching() {
    let app = spawn_app();
    let sha = archived_chart(&app).await;
    let reply = app.get(&format!("/api/v1/charts/{sha}.png")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, PNG);
    assert_eq!(reply.header("content-type"), Some("image/png"));
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(reply.header("etag"), Some(format!("\"{sha}\"").as_str()));
    let head = app
        .request("HEAD", &format!("/api/v1/charts/{sha}.png"), &[])
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-type"), Some("image/png"));
}

#[actix_web::test]
async fn a_client_holding_the_chart_gets_304_without_a_body() {
    let app = spawn_app();
    let sha = archived_chart(&app).await;
    let etag = format!("\"{sha}\"");
    let reply = app
        .request(
            "GET",
            &format!("/api/v1/charts/{sha}.png"),
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("etag"), Some(etag.as_str()));
}

#[actix_web::test]
async fn names_that_are_not_a_stored_charts_are_404_in_json() {
    let app = spawn_app();
    let sha = archived_chart(&app).await;
    let hex = sha.to_string();
    let unknown = "0".repeat(64);
    for name in [
        format!("{}.png", hex.to_ascii_uppercase()),
        format!("{}.png", &hex[..63]),
        format!("{hex}0.png"),
        format!("{}z.png", &hex[..63]),
        format!("{hex}.bmp"),
        format!("{hex}.png.png"),
        hex.clone(),
        format!("{hex}."),
        // Another image type than the bytes are.
        format!("{hex}.gif"),
        format!("{unknown}.png"),
    ] {
        let reply = app.get(&format!("/api/v1/charts/{name}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(reply.json()["error"], "Not Found", "{name}");
    }
}

#[actix_web::test]
async fn charts_need_the_token_when_one_is_set() {
    let settings = ApiSettings {
        auth_token: Some(Secret::new("chart-token")),
        ..ApiSettings::default()
    };
    let app = spawn_app_with(settings, StaticBotStatus::mock());
    let sha = archived_chart(&app).await;
    let uri = format!("/api/v1/charts/{sha}.png");
    assert_eq!(app.get(&uri).await.status, StatusCode::UNAUTHORIZED);
    let served = app
        .request("GET", &uri, &[("Authorization", "Bearer chart-token")])
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body, PNG);
}

#[actix_web::test]
async fn a_damaged_chart_is_not_served_is_removed_and_goes_back_in_the_queue() {
    let app = spawn_app();
    let sha = archived_chart(&app).await;
    assert!(app.charts.damage(&sha, b"\x89PNG\r\n\x1a\nflipped bits"));
    let reply = app.get(&format!("/api/v1/charts/{sha}.png")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&reply.body).contains("flipped"));
    assert!(!app.charts.contains(&sha).unwrap());
    // Its chart waits to be fetched again, and the compat endpoint lists the Discord link.
    let plan = app
        .get(&format!("/api/coach-plans/?coach=d&date={TODAY}"))
        .await
        .json();
    assert_eq!(plan["charts"], json!([DISCORD]));
    let counts = app.service.chart_counts().await.unwrap();
    assert_eq!((counts.pending, counts.archived), (1, 0));
}

#[actix_web::test]
async fn compat_endpoints_list_the_discord_link_until_the_chart_is_archived() {
    let app = spawn_app();
    app.post("d", TODAY, "SPY above 520", &["spy.png"]).await;
    let uri = format!("/api/coach-plans/?coach=d&date={TODAY}");
    let all = format!("/api/coach-plans/all?date={TODAY}");
    // Twice each, so the read cache holds the bodies.
    for _ in 0..2 {
        assert_eq!(app.get(&uri).await.json()["charts"], json!([DISCORD]));
        assert_eq!(
            app.get(&all).await.json()["coach_d"]["charts"],
            json!([DISCORD])
        );
    }
    app.archive_charts(PNG).await;
    let plan = app.get(&uri).await.json();
    let link = plan["charts"][0].as_str().unwrap().to_owned();
    let sha = link
        .strip_prefix(&format!("{PUBLIC_URL}/api/v1/charts/"))
        .and_then(|name| name.strip_suffix(".png"))
        .unwrap_or_else(|| panic!("not an archived chart's URL: {link}"));
    assert!(Sha256::parse(sha).is_ok(), "{link}");
    assert_eq!(
        app.get(&all).await.json()["coach_d"]["charts"],
        json!([link])
    );
    // The link serves the image.
    let path = link.strip_prefix(PUBLIC_URL).unwrap();
    assert_eq!(app.get(path).await.body, PNG);
}

fn chart_fields(entry: &Value) -> Value {
    json!({
        "sha256": entry["sha256"],
        "archived_url": entry["archived_url"],
        "discord_url": entry["discord_url"],
        "status": entry["status"],
        "reason": entry["reason"],
        "url": entry["url"],
    })
}

#[actix_web::test]
async fn native_chart_entries_say_where_the_archived_image_is() {
    let app = spawn_app();
    let plan = app.post("d", TODAY, "SPY above 520", &["spy.png"]).await;
    let uri = format!("/api/v1/plans/{}", plan.id);
    let entry = &app.get(&uri).await.json()["charts"][0];
    assert_eq!(
        chart_fields(entry),
        json!({
            "sha256": null, "archived_url": null, "discord_url": DISCORD,
            "status": "pending", "reason": null, "url": DISCORD,
        })
    );
    assert_eq!(entry["filename"], "spy.png");

    let sha = archive_as_png(&app).await;
    let archived_url = format!("{PUBLIC_URL}/api/v1/charts/{sha}.png");
    for body in [
        app.get(&uri).await.json(),
        app.get(&format!("/api/v1/plans?date={TODAY}")).await.json()["plans"][0].clone(),
    ] {
        assert_eq!(
            chart_fields(&body["charts"][0]),
            json!({
                "sha256": sha.to_string(), "archived_url": archived_url,
                "discord_url": DISCORD, "status": "archived", "reason": null, "url": DISCORD,
            })
        );
    }
}

#[actix_web::test]
async fn a_chart_given_up_on_shows_its_reason_and_degrades_health() {
    let app = spawn_app();
    let plan = app.post("d", TODAY, "SPY above 520", &["spy.png"]).await;
    let summary = app.archive_charts(b"<html>not an image</html>").await;
    assert_eq!(summary.failed.len(), 1);
    let entry = &app.get(&format!("/api/v1/plans/{}", plan.id)).await.json()["charts"][0];
    assert_eq!(entry["status"], "failed");
    assert_eq!(entry["archived_url"], Value::Null);
    assert_eq!(entry["reason"], "not an image");
    // The compatibility endpoints still list Discord's link.
    let compat = app
        .get(&format!("/api/coach-plans/?coach=d&date={TODAY}"))
        .await
        .json();
    assert_eq!(compat["charts"], json!([DISCORD]));

    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let health = health.json();
    assert_eq!(health["status"], "degraded");
    assert_eq!(
        health["components"]["charts"],
        json!({"archived": 0, "pending": 0, "failed": 1})
    );
}

#[actix_web::test]
async fn metrics_count_charts_by_state_and_the_bytes_stored() {
    let app = spawn_app();
    app.post("d", TODAY, "one", &["a.png", "b.png"]).await;
    app.archive_charts(PNG).await;
    app.post("i", TODAY, "two", &["c.png"]).await;
    let metrics = app.get("/metrics").await.json();
    assert_eq!(
        metrics["charts"],
        json!({
            "charts_archived": 2, "charts_pending": 1, "charts_failed": 0,
            "chart_bytes_stored": PNG.len(),
        })
    );
    let text = String::from_utf8(app.get("/metrics/prometheus").await.body).unwrap();
    for line in [
        "coach_plans_charts_archived 2".to_owned(),
        "coach_plans_charts_pending 1".to_owned(),
        "coach_plans_charts_failed 0".to_owned(),
        format!("coach_plans_chart_bytes_stored {}", PNG.len()),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert_eq!(app.get("/health").await.json()["status"], "healthy");
}
