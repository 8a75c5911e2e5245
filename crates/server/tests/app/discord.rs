//! The application against the fake Discord, in-process: the real twilight shard and HTTP
//! client, the real store, the real API.

use std::time::Duration;

use coach_plans_bot::fake::{FakeDiscord, FakeMessage};
use coach_plans_client::HealthStatus;
use coach_plans_model::wire::BotStatus;
use coach_plans_model::{CoachId, PlanDate};
use coach_plans_server::Exit;

use crate::helpers::{TestApp, spawn_app, token};

const CHANNEL: u64 = 500_000_000_000_000_001;
const DANA: u64 = 400_000_000_000_000_042;
const EVE: u64 = 400_000_000_000_000_043;

async fn with_fake_discord() -> (FakeDiscord, TestApp) {
    let fake = FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let app = spawn_app(|config| {
        config.discord.bot_token = token(fake.token());
        config.discord.gateway_url = Some(fake.gateway_url());
        config.discord.api_url = Some(fake.api_url());
        config.discord.reconnect_delay = Duration::from_millis(200);
    })
    .await;
    fake.wait_for_ready(1).await.unwrap();
    (fake, app)
}

async fn reply_to(fake: &FakeDiscord, id: u64) -> String {
    fake.wait_until(&format!("a reply to {id}"), |seen| {
        seen.messages
            .iter()
            .find(|m| m.reply_to == Some(id))
            .map(|m| m.content.clone())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_posted_in_discord_is_served_by_the_api_and_health_shows_the_bot() {
    let (fake, app) = with_fake_discord().await;
    let id = fake.send_message(FakeMessage::new(
        CHANNEL,
        DANA,
        "dana",
        "!plan d 2024-05-10 NVDA above 950, stop 920",
    ));
    assert!(reply_to(&fake, id).await.starts_with('✅'));

    let plan = app
        .client
        .fetch_coach_plan(
            &CoachId::parse("d").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    let plan = plan.plan().unwrap();
    assert_eq!(plan.text.as_str(), "NVDA above 950, stop 920");
    assert_eq!(plan.author.name, "dana");
    let health = app.client.check_health().await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.components.discord_bot.status, BotStatus::Connected);
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_else_cannot_replace_a_plan_and_the_api_keeps_the_first() {
    let (fake, app) = with_fake_discord().await;
    let first = fake.send_message(FakeMessage::new(
        CHANNEL,
        DANA,
        "dana",
        "!plan s 2024-05-10 dana's swing list",
    ));
    assert!(reply_to(&fake, first).await.starts_with('✅'));
    let second = fake.send_message(FakeMessage::new(
        CHANNEL,
        EVE,
        "eve",
        "!plan s 2024-05-10 eve's overwrite",
    ));
    let reply = reply_to(&fake, second).await;
    assert!(reply.starts_with('❌'), "{reply}");
    let plan = app
        .client
        .fetch_coach_plan(
            &CoachId::parse("s").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    assert_eq!(plan.plan().unwrap().text.as_str(), "dana's swing list");
    assert_eq!(app.stop().await, Exit::Ok);
}
