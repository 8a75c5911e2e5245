//! Slash commands end to end in-process (issue 13): the real twilight shard and HTTP client
//! against the fake Discord, the real store and archiver, the real API.

use std::time::Duration;

use coach_plans_config::{ChartHost, Config, SlashCommands};
use coach_plans_fake_discord::{
    AnswerKind, FakeAttachment, FakeDiscord, FakeInteraction, FakeMessage, GUILD_ID,
    InteractionAnswer, TINY_PNG,
};
use coach_plans_model::wire::BotStatus;
use coach_plans_model::{CoachId, PlanDate};
use coach_plans_server::Exit;

use crate::helpers::{TestApp, spawn_app, spawn_app_in, token};

const CHANNEL: u64 = 500_000_000_000_000_001;
const DANA: u64 = 400_000_000_000_000_042;
const EVE: u64 = 400_000_000_000_000_043;

/// The Message Content intent's bit in IDENTIFY.
const MESSAGE_CONTENT: u64 = 1 << 15;
/// The GUILDS intent's bit in IDENTIFY.
const GUILDS: u64 = 1;
/// GUILD_MESSAGES and DIRECT_MESSAGES: the intents that bring message events.
const MESSAGES: u64 = (1 << 9) | (1 << 12);
/// A guild the bot joins after READY.
const JOINED_LATER: u64 = 1_000_000_000_000_000_077;

async fn start_fake(message_content_intent: bool) -> FakeDiscord {
    FakeDiscord::builder()
        .message_content_intent(message_content_intent)
        .wait_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap()
}

fn against(fake: &FakeDiscord) -> impl FnOnce(&mut Config) + '_ {
    move |config: &mut Config| {
        config.discord.bot_token = token(fake.token());
        config.discord.gateway_url = Some(fake.gateway_url());
        config.discord.api_url = Some(fake.api_url());
        config.discord.reconnect_delay = Duration::from_millis(200);
        config.charts.allowed_hosts = vec![ChartHost::parse(&fake.api_addr().to_string()).unwrap()];
    }
}

async fn answers(fake: &FakeDiscord, id: u64, count: usize) -> Vec<InteractionAnswer> {
    fake.wait_until(&format!("{count} answers to interaction {id}"), |seen| {
        let answers = seen.answers_to(id);
        (answers.len() >= count).then(|| answers.into_iter().cloned().collect())
    })
    .await
    .unwrap()
}

fn plan(user: u64, name: &str, coach: &str, text: &str) -> FakeInteraction {
    FakeInteraction::new(CHANNEL, user, name, "plan")
        .text("coach", coach)
        .text("text", text)
        .text("date", "2024-05-10")
}

async fn text_of(app: &TestApp, coach: &str) -> Option<String> {
    let plan = app
        .client
        .fetch_coach_plan(
            &CoachId::parse(coach).unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    plan.plan().map(|p| p.text.as_str().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_plan_with_an_attachment_stores_the_plan_with_its_chart() {
    let fake = start_fake(true).await;
    let app = spawn_app(against(&fake)).await;
    fake.wait_for_ready(1).await.unwrap();
    let link = fake.host_file(CHANNEL, "levels.png", TINY_PNG);

    let id = fake.send_interaction(
        plan(DANA, "dana", "d", "NVDA above 950, stop 920")
            .attach("chart1", FakeAttachment::png("levels.png").with_url(&link)),
    );
    let answer = &answers(&fake, id, 1).await[0];
    assert_eq!(answer.kind, AnswerKind::Callback(4), "{answer:?}");
    assert!(!answer.is_ephemeral());
    assert_eq!(
        answer.content.as_deref().unwrap_or_default().lines().next(),
        Some("✅ Plan created for **Coach D** on 2024-05-10 (plan 1, 1 chart)")
    );

    let found = app
        .client
        .fetch_coach_plan(
            &CoachId::parse("d").unwrap(),
            PlanDate::from_ymd(2024, 5, 10),
        )
        .await;
    let found = found.plan().unwrap();
    assert_eq!(found.text.as_str(), "NVDA above 950, stop 920");
    assert_eq!(found.author.name, "dana");
    assert_eq!(found.charts.len(), 1);
    assert_eq!(found.charts[0].filename(), Some("levels.png"));
    // The archiver fetched the image from the link the interaction resolved.
    fake.wait_until("the chart downloaded", |seen| {
        (seen.cdn_downloads >= 1).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_slash_plan_over_a_plan_gets_an_ephemeral_refusal() {
    let fake = start_fake(true).await;
    let app = spawn_app(against(&fake)).await;
    fake.wait_for_ready(1).await.unwrap();

    let first = fake.send_interaction(plan(DANA, "dana", "s", "dana's swing list"));
    assert!(!answers(&fake, first, 1).await[0].is_ephemeral());
    let second = fake.send_interaction(plan(EVE, "eve", "s", "eve's overwrite"));
    let refusal = &answers(&fake, second, 1).await[0];
    assert_eq!(refusal.kind, AnswerKind::Callback(4));
    assert!(refusal.is_ephemeral(), "{refusal:?}");
    assert_eq!(
        refusal.content.as_deref(),
        Some("❌ You can't replace this plan: only its author (dana) or an admin may replace it.")
    );
    assert_eq!(
        text_of(&app, "s").await.as_deref(),
        Some("dana's swing list")
    );
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_once_and_not_again_on_a_restart_with_the_same_commands() {
    let fake = start_fake(true).await;
    let app = spawn_app(against(&fake)).await;
    fake.wait_until("the commands registered", |seen| {
        (seen.command_requests("PUT", None) >= 1).then_some(())
    })
    .await
    .unwrap();
    let (exit, dir) = app.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);

    let app = spawn_app_in(dir, against(&fake)).await;
    fake.wait_until("the commands read back after the restart", |seen| {
        (seen.command_requests("GET", None) >= 2).then_some(())
    })
    .await
    .unwrap();
    // A command answered after the comparison: a PUT would have been sent right after the GET.
    let id = fake.send_interaction(FakeInteraction::new(CHANNEL, DANA, "dana", "help"));
    assert!(
        answers(&fake, id, 1).await[0]
            .content
            .as_deref()
            .is_some_and(|c| c.contains("/plan"))
    );
    let seen = fake.seen();
    assert_eq!(seen.command_requests("PUT", None), 1, "{seen}");
    assert_eq!(seen.command_requests("PUT", Some(GUILD_ID)), 0);
    let put = seen.requests.iter().find(|r| r.method == "PUT").unwrap();
    for name in [
        "plan", "edit", "delete", "plans", "myplans", "history", "help",
    ] {
        assert!(put.body.contains(&format!("\"name\":\"{name}\"")), "{name}");
    }
    assert!(put.body.contains("\"chart10\""), "{}", put.body);
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guild_commands_are_registered_in_the_guilds_from_ready_and_joined_and_off_registers_nothing()
 {
    let fake = start_fake(true).await;
    let app = spawn_app(|config| {
        against(&fake)(config);
        config.discord.slash_commands = SlashCommands::Guild;
    })
    .await;
    fake.wait_until("the guild commands registered", |seen| {
        (seen.command_requests("PUT", Some(GUILD_ID)) >= 1).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(fake.seen().command_requests("PUT", None), 0);
    // GUILDS is asked for, so that a guild joined later is heard of.
    assert_ne!(fake.seen().identify_intents[0] & GUILDS, 0);
    fake.send_guild_create(JOINED_LATER);
    fake.wait_until("the commands registered in the guild joined", |seen| {
        (seen.command_requests("PUT", Some(JOINED_LATER)) >= 1).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(fake.seen().command_requests("PUT", Some(GUILD_ID)), 1);
    assert_eq!(app.stop().await, Exit::Ok);

    let fake = start_fake(true).await;
    let app = spawn_app(|config| {
        against(&fake)(config);
        config.discord.slash_commands = SlashCommands::Off;
    })
    .await;
    fake.wait_for_ready(1).await.unwrap();
    let id = fake.send_interaction(FakeInteraction::new(CHANNEL, DANA, "dana", "plans"));
    answers(&fake, id, 1).await;
    let seen = fake.seen();
    assert!(
        !seen.requests.iter().any(|r| r.path.contains("/commands")),
        "{:?}",
        seen.requests
    );
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_message_content_intent_only_slash_commands_work() {
    // The application's Message Content intent is off in the portal: asking for it is fatal.
    let fake = start_fake(false).await;
    let app = spawn_app(|config| {
        against(&fake)(config);
        config.discord.message_content_intent = false;
    })
    .await;
    fake.wait_for_ready(1).await.unwrap();
    let intents = fake.seen().identify_intents;
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0] & MESSAGE_CONTENT, 0, "intents {}", intents[0]);
    // Nor message events: the fake, as Discord, then sends none.
    assert_eq!(intents[0] & MESSAGES, 0, "intents {}", intents[0]);

    fake.send_message(FakeMessage::new(
        CHANNEL,
        DANA,
        "dana",
        "!plan d 2024-05-10 from a message",
    ));
    let id = fake.send_interaction(plan(DANA, "dana", "i", "from a slash command"));
    let answer = &answers(&fake, id, 1).await[0];
    assert!(
        answer
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with('✅'))
    );
    // The message came first; its event never reached the bot: no reply, no plan.
    assert!(fake.seen().messages.is_empty());
    assert_eq!(text_of(&app, "d").await, None);
    assert_eq!(
        text_of(&app, "i").await.as_deref(),
        Some("from a slash command")
    );
    let health = app.client.check_health().await.unwrap();
    assert_eq!(health.components.discord_bot.status, BotStatus::Connected);
    assert_eq!(app.stop().await, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_interaction_does_not_stop_the_bot_and_the_next_one_is_answered() {
    let fake = start_fake(true).await;
    let app = spawn_app(against(&fake)).await;
    fake.wait_for_ready(1).await.unwrap();

    let expired = fake.send_interaction(plan(DANA, "dana", "n", "too late").expired());
    let refused = &answers(&fake, expired, 1).await[0];
    assert_eq!(refused.status, 404);
    let next = fake.send_interaction(plan(DANA, "dana", "d", "on time"));
    let answer = &answers(&fake, next, 1).await[0];
    assert_eq!((answer.kind, answer.status), (AnswerKind::Callback(4), 204));
    assert_eq!(text_of(&app, "d").await.as_deref(), Some("on time"));
    let health = app.client.check_health().await.unwrap();
    assert_eq!(health.components.discord_bot.status, BotStatus::Connected);
    assert_eq!(app.stop().await, Exit::Ok);
}
