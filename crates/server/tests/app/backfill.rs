//! SPEC 15 end to end, in-process: the real twilight shard and HTTP client against the fake
//! Discord, the real SQLite store or PostgreSQL (its delivery log included), read back through
//! the API.

use std::time::Duration;

use coach_plans_config::DatabaseUrl;
use coach_plans_fake_discord::{FakeDiscord, FakeMessage};
use coach_plans_model::{CoachId, PlanDate};
use coach_plans_postgres::testing::TestDatabase;
use coach_plans_server::Exit;

use crate::helpers::{TestApp, spawn_app_in, token};

const CHANNEL: u64 = 500_000_000_000_000_001;
const DANA: u64 = 400_000_000_000_000_042;

async fn app_on(fake: &FakeDiscord, dir: tempfile::TempDir) -> TestApp {
    app_with(fake, dir, None).await
}

/// The application on `dir`'s files, on the PostgreSQL database `database_url` when given.
async fn app_with(
    fake: &FakeDiscord,
    dir: tempfile::TempDir,
    database_url: Option<&str>,
) -> TestApp {
    let readies = fake.seen().readies;
    let app = spawn_app_in(dir, |config| {
        config.database.url = database_url.map(|url| DatabaseUrl::new(url.to_owned()));
        config.discord.bot_token = token(fake.token());
        config.discord.gateway_url = Some(fake.gateway_url());
        config.discord.api_url = Some(fake.api_url());
        config.discord.reconnect_delay = Duration::from_millis(200);
    })
    .await;
    fake.wait_for_ready(readies + 1).await.unwrap();
    app
}

fn dana(content: &str) -> FakeMessage {
    FakeMessage::new(CHANNEL, DANA, "dana", content)
}

async fn replies_to(fake: &FakeDiscord, id: u64, count: usize) -> Vec<String> {
    fake.wait_until(&format!("{count} replies to {id}"), |seen| {
        let replies: Vec<String> = seen
            .messages
            .iter()
            .filter(|m| m.reply_to == Some(id))
            .map(|m| m.content.clone())
            .collect();
        (replies.len() >= count).then_some(replies)
    })
    .await
    .unwrap()
}

async fn plan_text(app: &TestApp, coach: &str) -> Option<String> {
    app.client
        .fetch_coach_plan(
            &CoachId::parse(coach).unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await
        .plan()
        .map(|plan| plan.text.as_str().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_posted_while_the_bot_was_away_land_once_in_order_with_a_late_reply() {
    posted_while_away(None).await;
}

/// The same on PostgreSQL (`database.url`): the bot's delivery log is in the database, so a
/// restart reads back only what it never handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_plans_posted_while_the_bot_was_away_land_once_with_a_late_reply() {
    if coach_plans_postgres::testing::skipped("backfill on PostgreSQL") {
        return;
    }
    // The synchronous client used to set the database up cannot run on the runtime's threads.
    let db = std::thread::spawn(TestDatabase::create).join().unwrap();
    posted_while_away(Some(db.url())).await;
    let recorded: i64 = std::thread::spawn(move || {
        db.client()
            .query_one("SELECT COUNT(*) FROM discord_deliveries", &[])
            .unwrap()
            .get(0)
    })
    .join()
    .unwrap();
    assert_eq!(
        recorded, 5,
        "every command message handled is in PostgreSQL's log"
    );
}

async fn posted_while_away(database_url: Option<&str>) {
    let fake = FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let app = app_with(&fake, tempfile::tempdir().unwrap(), database_url).await;
    let first = fake.send_message(dana("!plan d 2024-05-10 before the outage"));
    replies_to(&fake, first, 1).await;

    // The session is lost; Discord replays nothing.
    let replaced = fake.add_missed_message(dana("!plan s 2024-05-10 first version"));
    let replacing = fake.add_missed_message(dana("!plan s 2024-05-10 second version"));
    fake.invalidate_session(false);
    fake.wait_for_ready(2).await.unwrap();
    let late = replies_to(&fake, replacing, 1).await;
    assert!(
        late[0].starts_with("✅ Plan replaced for **Coach S**"),
        "{}",
        late[0]
    );
    assert!(late[0].contains("🕒 Handled late"), "{}", late[0]);
    let earlier = replies_to(&fake, replaced, 1).await;
    assert!(earlier[0].starts_with("✅ Plan created"), "{}", earlier[0]);
    assert_eq!(
        plan_text(&app, "s").await.as_deref(),
        Some("second version"),
        "handled in the order posted"
    );

    // Stopped, restarted on the same database: what was posted meanwhile is read back once.
    let (exit, dir) = app.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);
    let while_stopped = fake.add_missed_message(dana("!plan n 2024-05-10 while stopped"));
    let app = app_with(&fake, dir, database_url).await;
    let late = replies_to(&fake, while_stopped, 1).await;
    assert!(late[0].contains("🕒 Handled late"), "{}", late[0]);
    assert_eq!(plan_text(&app, "n").await.as_deref(), Some("while stopped"));
    fake.redeliver(first);
    let check = fake.send_message(dana("!plan i 2024-05-10 after the restart"));
    replies_to(&fake, check, 1).await;
    let seen = fake.seen();
    for id in [first, replaced, replacing, while_stopped] {
        let count = seen
            .messages
            .iter()
            .filter(|m| m.reply_to == Some(id))
            .count();
        assert_eq!(count, 1, "message {id} handled once");
    }

    let health = app.client.check_health().await.unwrap();
    let backfill = health.components.discord_bot.backfill.unwrap();
    assert_eq!((backfill.backfills, backfill.messages_recovered), (1, 1));
    let metrics = app.client.server_metrics().await.unwrap();
    assert_eq!(metrics.backfill.unwrap().messages_recovered, 1);
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_plan_message_revises_the_plan_the_api_serves() {
    let fake = FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let app = app_on(&fake, tempfile::tempdir().unwrap()).await;
    let id = fake.send_message(dana("!plan d 2024-05-10 NVDA above 905"));
    replies_to(&fake, id, 1).await;
    fake.edit_message(id, "!plan d 2024-05-10 NVDA above 950");
    let replies = replies_to(&fake, id, 2).await;
    assert!(replies[1].starts_with("✅ Plan edited"), "{}", replies[1]);
    assert!(replies[1].contains("✏️ Revised from your edited message"));
    let plan = app
        .client
        .fetch_coach_plan(
            &CoachId::parse("d").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    let plan = plan.plan().unwrap();
    assert_eq!(plan.text.as_str(), "NVDA above 950");
    assert!(plan.edited_at.is_some());
    assert_eq!(app.stop().await, Exit::Ok);
}
