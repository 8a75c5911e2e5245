//! Charts that outlive Discord's CDN (SPEC 14), end to end in-process: the real twilight bot
//! against the fake Discord, whose CDN serves real image bytes and can expire every link; the
//! real archiver, downloader and directory chart store; the real API.

use std::time::Duration;

use coach_plans_config::{ChartHost, Config};
use coach_plans_fake_discord::{FakeAttachment, FakeDiscord, FakeMessage};
use coach_plans_server::Exit;
use serde_json::Value;

use crate::helpers::{TestApp, blob_files, spawn_app, spawn_app_in, token};

const CHANNEL: u64 = 500_000_000_000_000_001;
const DANA: u64 = 400_000_000_000_000_042;

/// A real 1x1 PNG.
const PNG: &[u8] = coach_plans_fake_discord::TINY_PNG;

/// The start of a JPEG (JFIF) file, enough for any reader to tell what it is.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

fn charts_from(fake: &FakeDiscord) -> impl FnOnce(&mut Config) + '_ {
    move |config: &mut Config| {
        config.discord.bot_token = token(fake.token());
        config.discord.gateway_url = Some(fake.gateway_url());
        config.discord.api_url = Some(fake.api_url());
        config.discord.reconnect_delay = Duration::from_millis(200);
        config.charts.allowed_hosts = vec![ChartHost::parse(&fake.api_addr().to_string()).unwrap()];
    }
}

async fn start_fake() -> FakeDiscord {
    FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap()
}

/// Posts `!plan COACH 2024-05-10 ...` with these attachments and waits for the ✅.
async fn post_plan(fake: &FakeDiscord, coach: &str, links: &[(&str, String)]) {
    let mut message = FakeMessage::new(
        CHANNEL,
        DANA,
        "dana",
        &format!("!plan {coach} 2024-05-10 levels on the charts"),
    );
    for (filename, url) in links {
        let mut attachment = FakeAttachment::png(filename);
        attachment.url = Some(url.clone());
        message = message.attach(attachment);
    }
    let id = fake.send_message(message);
    let reply = fake
        .wait_until(&format!("a reply to {id}"), |seen| {
            seen.messages
                .iter()
                .find(|m| m.reply_to == Some(id))
                .map(|m| m.content.clone())
        })
        .await
        .unwrap();
    assert!(reply.starts_with('✅'), "{reply}");
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn json(url: &str) -> Value {
    get(url).await.json().await.unwrap()
}

/// The native chart entries of coach's plan on 2024-05-10, once none is pending any more.
async fn settled_charts(app: &TestApp, coach: &str) -> Vec<Value> {
    let url = format!("{}/api/v1/plans?date=2024-05-10&coach={coach}", app.base);
    for _ in 0..200 {
        let page = json(&url).await;
        let charts = page["plans"][0]["charts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !charts.is_empty() && charts.iter().all(|c| c["status"] != "pending") {
            return charts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("charts still pending: {}", json(&url).await);
}

/// The chart links the compatibility endpoint lists for coach on 2024-05-10.
async fn compat_links(app: &TestApp, coach: &str) -> Vec<String> {
    let page = json(&format!(
        "{}/api/coach-plans/?coach={coach}&date=2024-05-10",
        app.base
    ))
    .await;
    page["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_are_archived_and_served_after_their_links_expire_and_after_a_restart() {
    let fake = start_fake().await;
    let app = spawn_app(charts_from(&fake)).await;
    fake.wait_for_ready(1).await.unwrap();

    let png = fake.host_file(CHANNEL, "levels.png", PNG);
    let jpeg = fake.host_file(CHANNEL, "tape.jpg", JPEG);
    post_plan(
        &fake,
        "d",
        &[("levels.png", png), ("tape.jpg", jpeg.clone())],
    )
    .await;
    let charts = settled_charts(&app, "d").await;
    assert_eq!(charts[0]["status"], "archived", "{charts:?}");
    assert_eq!(charts[1]["status"], "archived", "{charts:?}");
    assert_eq!(charts[1]["discord_url"], jpeg.as_str());

    // Discord's links die; the API's keep answering the exact bytes.
    fake.expire_links();
    let links = compat_links(&app, "d").await;
    assert_eq!(links.len(), 2);
    for (link, bytes, kind) in [
        (&links[0], PNG, "image/png"),
        (&links[1], JPEG, "image/jpeg"),
    ] {
        assert!(
            link.starts_with(&format!("{}/api/v1/charts/", app.base)),
            "{link}"
        );
        let answer = get(link).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], kind);
        assert_eq!(answer.bytes().await.unwrap().as_ref(), bytes);
    }
    assert_eq!(
        get(&jpeg).await.status(),
        404,
        "the Discord link has expired"
    );

    // The same image posted again, for another coach, is stored once.
    let again = fake.host_file(CHANNEL, "same.png", PNG);
    post_plan(&fake, "i", &[("same.png", again)]).await;
    assert_eq!(settled_charts(&app, "i").await[0]["status"], "archived");
    assert_eq!(compat_links(&app, "i").await[0], links[0]);

    // After a restart on the same files, the same links answer the same bytes.
    let (exit, dir) = app.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);
    assert_eq!(
        blob_files(&dir.path().join("data/charts")),
        2,
        "two images, three charts"
    );
    let again = spawn_app_in(dir, charts_from(&fake)).await;
    for (link, bytes) in [(&links[0], PNG), (&links[1], JPEG)] {
        let path = link.split("/api/").nth(1).unwrap();
        let answer = get(&format!("{}/api/{path}", again.base)).await;
        assert_eq!(answer.bytes().await.unwrap().as_ref(), bytes);
    }
    assert_eq!(again.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_has_already_expired_is_refreshed_through_discord_then_archived() {
    let fake = start_fake().await;
    let app = spawn_app(charts_from(&fake)).await;
    fake.wait_for_ready(1).await.unwrap();

    let link = fake.host_file(CHANNEL, "old.png", PNG);
    fake.expire_links();
    post_plan(&fake, "s", &[("old.png", link)]).await;
    let charts = settled_charts(&app, "s").await;
    assert_eq!(charts[0]["status"], "archived", "{charts:?}");
    let seen = fake.seen();
    let refreshes = seen.refresh_requests();
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    assert!(refreshes[0].authorized, "asked with the bot token");
    let served = get(&compat_links(&app, "s").await[0]).await;
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(app.stop().await, Exit::Ok);
}
