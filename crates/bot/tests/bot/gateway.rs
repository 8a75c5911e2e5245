//! The real twilight shard and HTTP client against the fake Discord.

use std::time::Duration;

use coach_plans_bot::{
    BotError, BotState, CommandHandler, CommandSettings, DiscordBot, GatewaySettings,
};
use coach_plans_fake_discord::{FakeAttachment, FakeDiscord, FakeMessage};
use coach_plans_model::wire::BotStatus;
use coach_plans_model::{ChannelId, UserId};
use coach_plans_service::ServiceSettings;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::*;

/// A bot running against a fake Discord.
struct RunningBot {
    state: BotState,
    handler: CommandHandler,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), BotError>>,
}

impl RunningBot {
    fn start(fake: &FakeDiscord, handler: CommandHandler) -> Self {
        let settings = GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url());
        Self::start_with(settings, handler)
    }

    fn start_with(settings: GatewaySettings, handler: CommandHandler) -> Self {
        let bot = DiscordBot::new(settings, handler.clone());
        let state = bot.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bot.run(async move {
            let _ = stopped.await;
        }));
        Self {
            state,
            handler,
            stop: Some(stop),
            task,
        }
    }

    /// Waits for the bot to stop by itself (a fatal error) and returns how it ended.
    async fn finished(self) -> Result<(), BotError> {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the bot did not stop")
            .expect("the bot task panicked")
    }

    /// Asks the bot to shut down and returns how it ended.
    async fn shutdown(mut self) -> Result<(), BotError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finished().await
    }
}

async fn connected(fake: &FakeDiscord) -> RunningBot {
    let bot = RunningBot::start(fake, handler());
    fake.wait_for_ready(1).await.expect("the bot identifies");
    bot
}

fn say(author: u64, name: &str, content: &str) -> FakeMessage {
    FakeMessage::new(CHANNEL, author, name, content)
}

async fn bot_state_is(bot: &RunningBot, status: BotStatus) {
    tokio::time::timeout(
        Duration::from_secs(10),
        bot.state.wait_until(|h| h.status == status),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the bot never became {status:?}: {:?}",
            bot.state.snapshot()
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_two_pngs_and_a_pdf_is_stored_with_two_charts_and_the_pdf_named() {
    let fake = FakeDiscord::start().await.unwrap();
    fake.set_channel_name(CHANNEL, Some("trading"));
    let bot = connected(&fake).await;
    bot_state_is(&bot, BotStatus::Connected).await;

    let sent = fake.send_message(
        say(DANA, "dana", "!plan d NVDA above 950, stop 920")
            .nick("Dana (Coach D)")
            .attach(FakeAttachment::png("one.png"))
            .attach(FakeAttachment::pdf("notes.pdf"))
            .attach(FakeAttachment::png("two.png")),
    );
    let replies = fake.wait_for_messages(1).await.unwrap();
    let reply = &replies[0];
    assert!(
        reply
            .content
            .starts_with("✅ Plan created for **Coach D** on 2024-05-10"),
        "{}",
        reply.content
    );
    assert!(
        reply.content.contains("2 charts")
            && reply.content.contains("Skipped: notes.pdf (not an image)")
    );
    assert_eq!((reply.channel_id, reply.reply_to), (CHANNEL, Some(sent)));
    assert!(!reply.may_mention, "replies must not ping anyone");

    let plan = todays_plan(&bot.handler, "d").await.unwrap();
    let charts: Vec<_> = plan
        .charts
        .iter()
        .map(|c| (c.filename().unwrap(), c.position()))
        .collect();
    assert_eq!(charts, [("one.png", 0), ("two.png", 1)]);
    assert!(
        plan.charts[0]
            .url()
            .starts_with("https://cdn.discordapp.com/attachments/")
    );
    assert_eq!(plan.author.name, "Dana (Coach D)");
    assert_eq!(plan.author.id, UserId::new(DANA));
    assert_eq!(plan.channel.name.as_deref(), Some("#trading"));
    assert_eq!(plan.message_id.map(|id| id.get()), Some(sent));
    assert!(bot.state.snapshot().last_event_at.is_some());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_skipped_for_their_name_or_link_say_why_in_a_single_message() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    let long_name = format!("{}.png", "y".repeat(3000));
    fake.send_message(
        say(DANA, "dana", "!plan d NVDA above 950")
            .attach(FakeAttachment::png("kept.png"))
            .attach(FakeAttachment::png(&long_name))
            .attach(FakeAttachment::png("chart\u{202E}gnp.png"))
            .attach(
                FakeAttachment::png("plain.png").with_url("http://cdn.discordapp.com/a/plain.png"),
            ),
    );
    let replies = fake.wait_for_messages(1).await.unwrap();
    let reply = &replies[0].content;
    assert!(
        reply.starts_with("✅") && reply.contains("1 chart"),
        "{reply}"
    );
    for part in [
        "(file name too long)",
        "chartgnp.png (bad file name)",
        "plain.png (not an https link)",
    ] {
        assert!(reply.contains(part), "{part:?} missing from {reply}");
    }
    assert!(reply.chars().count() < 1000, "{reply}");
    // Shut down first: every reply in flight has been posted, so a second one would show.
    bot.shutdown().await.unwrap();
    assert_eq!(fake.seen().messages.len(), 1, "one reply only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_through_the_gateway() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    let script = [
        (
            DANA,
            "!plan s 2024-05-09 swing AAPL",
            "✅ Plan created for **Coach S** on 2024-05-09",
        ),
        (
            DANA,
            "!edit s 2024-05-09 swing AAPL, stop 180",
            "✅ Plan edited for **Coach S** on 2024-05-09",
        ),
        (EVE, "!plans 2024-05-09", "📋 Plans for 2024-05-09 (1):"),
        (
            DANA,
            "!myplans 2024-05-09",
            "📋 Your plans for 2024-05-09 (1):",
        ),
        (
            EVE,
            "!history s 2024-05-09",
            "🕘 History of **Coach S**'s plan for 2024-05-09",
        ),
        (
            EVE,
            "!edit s 2024-05-09 not yours",
            "❌ You can't edit this plan: only its author (dana)",
        ),
        (
            DANA,
            "!delete s 2024-05-09",
            "✅ Plan deleted for **Coach S** on 2024-05-09",
        ),
        (
            EVE,
            "!HELP plan",
            "Usage: `!plan <coach> [YYYY-MM-DD] <text>`",
        ),
    ];
    for (n, (author, content, expected)) in script.iter().enumerate() {
        let name = if *author == DANA { "dana" } else { "eve" };
        fake.send_message(say(*author, name, content));
        let replies = fake.wait_for_messages(n + 1).await.unwrap();
        assert!(
            replies[n].content.starts_with(expected),
            "{content}: {}",
            replies[n].content
        );
    }
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_plans_listing_arrives_as_two_messages() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    for (coach, author) in [("d", DANA), ("i", EVE)] {
        let text: Vec<String> = (0..15)
            .map(|n| format!("level {n}: {}", "x".repeat(90)))
            .collect();
        fake.send_message(say(
            author,
            "poster",
            &format!("!plan {coach} {}", text.join("\n")),
        ));
    }
    fake.wait_for_messages(2).await.unwrap();
    fake.send_message(say(DANA, "dana", "!plans"));
    let replies = fake.wait_for_messages(4).await.unwrap();
    let listing = &replies[2..];
    let total: usize = listing.iter().map(|m| m.content.chars().count()).sum();
    assert!(total > 2900, "{total}");
    assert!(listing.iter().all(|m| m.content.chars().count() <= 2000));
    assert!(
        listing[0]
            .content
            .starts_with("📋 Plans for 2024-05-10 (2):")
    );
    // Give a stray third part the chance to show up before counting.
    fake.send_message(say(DANA, "dana", "!help"));
    let all = fake.wait_for_messages(5).await.unwrap();
    assert!(
        all[4].content.starts_with("**Coach plans: commands**"),
        "the listing had more than two parts"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_and_webhooks_are_ignored() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    fake.send_message(say(DANA, "other-bot", "!plan d from a bot").from_bot());
    fake.send_message(say(DANA, "hook", "!plan d from a webhook").from_webhook(7));
    fake.send_message(say(DANA, "dana", "!planet is another bot's command"));
    // Commands are handled in order: once this one is answered, the ones before were seen.
    fake.send_message(say(DANA, "dana", "!help"));
    let replies = fake.wait_for_messages(1).await.unwrap();
    assert!(
        replies[0].content.starts_with("**Coach plans"),
        "{}",
        replies[0].content
    );
    assert_eq!(fake.seen().messages.len(), 1);
    assert!(todays_plan(&bot.handler, "d").await.is_none());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reconnect_request_the_bot_resumes_and_handles_the_next_message() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    fake.request_reconnect();
    fake.wait_for_resumed(1).await.unwrap();
    fake.send_message(say(DANA, "dana", "!plan d after reconnect"));
    assert!(
        fake.wait_for_messages(1).await.unwrap()[0]
            .content
            .starts_with("✅")
    );
    assert_eq!(fake.seen().readies, 1, "a resume, not a new session");
    bot_state_is(&bot, BotStatus::Connected).await;
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_connection_the_bot_resumes_and_missed_events_are_replayed() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    fake.drop_connection();
    // Sent while the connection is down: Discord replays it on resume.
    fake.send_message(say(DANA, "dana", "!plan d sent while away"));
    fake.wait_for_resumed(1).await.unwrap();
    assert!(
        fake.wait_for_messages(1).await.unwrap()[0]
            .content
            .starts_with("✅")
    );
    fake.send_message(say(DANA, "dana", "!plan i after the drop"));
    assert!(
        fake.wait_for_messages(2).await.unwrap()[1]
            .content
            .starts_with("✅ Plan created for **Coach I**")
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_resumable_invalid_session_the_bot_resumes() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    fake.invalidate_session(true);
    fake.wait_for_resumed(1).await.unwrap();
    fake.send_message(say(DANA, "dana", "!help"));
    fake.wait_for_messages(1).await.unwrap();
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_invalid_session_the_bot_identifies_again_and_catches_up_on_missed_commands() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    fake.send_message(say(DANA, "dana", "!plan d before"));
    fake.wait_for_messages(1).await.unwrap();
    // Posted while the session is lost: Discord never sends it; only the channel history has it.
    fake.add_missed_message(say(EVE, "eve", "!plan i posted while the bot was away"));
    fake.invalidate_session(false);
    fake.wait_for_ready(2).await.unwrap();
    let replies = fake.wait_for_messages(2).await.unwrap();
    assert!(
        replies[1]
            .content
            .starts_with("✅ Plan created for **Coach I**"),
        "{}",
        replies[1].content
    );
    fake.send_message(say(DANA, "dana", "!plan s after the new session"));
    let replies = fake.wait_for_messages(3).await.unwrap();
    assert!(
        replies[2]
            .content
            .starts_with("✅ Plan created for **Coach S**"),
        "{}",
        replies[2].content
    );
    assert!(
        fake.seen()
            .requests
            .iter()
            .any(|r| r.path.contains("/messages?after="))
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_code_4004_leaves_the_bot_disconnected_with_a_reason_about_the_token() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    bot_state_is(&bot, BotStatus::Connected).await;
    fake.close_connection(4004, "Authentication failed.");
    let state = bot.state.clone();
    let ended = bot.finished().await;
    assert!(matches!(ended, Err(BotError::BadToken { .. })), "{ended:?}");
    let reason = state.snapshot().reason.unwrap();
    assert!(
        reason.contains("close code 4004") && reason.contains("check DISCORD_BOT_TOKEN"),
        "{reason}"
    );
    assert_eq!(state.status(), BotStatus::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_code_4014_names_the_message_content_intent() {
    let fake = FakeDiscord::builder()
        .message_content_intent(false)
        .start()
        .await
        .unwrap();
    let bot = RunningBot::start(&fake, handler());
    let state = bot.state.clone();
    let ended = bot.finished().await;
    assert_eq!(ended, Err(BotError::DisallowedIntents { code: 4014 }));
    let reason = state.snapshot().reason.unwrap();
    assert!(
        reason.contains("enable the Message Content intent"),
        "{reason}"
    );
    assert_eq!(fake.seen().identifies, 1, "a fatal close is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_rejected_by_the_rest_api_stops_the_bot_before_it_connects() {
    let fake = FakeDiscord::builder()
        .token("the-right-token")
        .start()
        .await
        .unwrap();
    let settings = GatewaySettings::for_fake("a-wrong-token", fake.gateway_url(), fake.api_url());
    let bot = RunningBot::start_with(settings, handler());
    let state = bot.state.clone();
    let ended = bot.finished().await;
    assert_eq!(
        ended,
        Err(BotError::BadToken {
            detail: "HTTP 401 on GET /gateway/bot".into()
        })
    );
    assert!(
        state
            .snapshot()
            .reason
            .unwrap()
            .contains("check DISCORD_BOT_TOKEN")
    );
    let seen = fake.seen();
    assert_eq!(
        (seen.connections, seen.requests.len()),
        (0, 1),
        "no retry after a 401: {seen}"
    );
    assert!(!format!("{:?}", seen.requests).contains("the-right-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_discord_is_given_up_after_the_configured_attempts() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = GatewaySettings::for_fake(
        "token",
        format!("ws://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    );
    settings.reconnect_attempts = 2;
    settings.reconnect_delay = Duration::from_millis(10);
    let bot = RunningBot::start_with(settings, handler());
    let state = bot.state.clone();
    let ended = bot.finished().await;
    assert!(
        matches!(ended, Err(BotError::Unreachable { attempts: 2, .. })),
        "{ended:?}"
    );
    assert!(
        state
            .snapshot()
            .reason
            .unwrap()
            .contains("could not reach Discord after 2 attempts")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_channel_lookup_does_not_block_posting() {
    let fake = FakeDiscord::start().await.unwrap();
    fake.set_channel_name(CHANNEL, None);
    let bot = connected(&fake).await;
    fake.send_message(say(DANA, "dana", "!plan d still saved"));
    assert!(
        fake.wait_for_messages(1).await.unwrap()[0]
            .content
            .starts_with("✅")
    );
    let plan = todays_plan(&bot.handler, "d").await.unwrap();
    assert_eq!(
        (plan.channel.id, plan.channel.name),
        (ChannelId::new(CHANNEL), None)
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_channels_are_answered() {
    let fake = FakeDiscord::start().await.unwrap();
    let settings = CommandSettings {
        channels: vec![ChannelId::new(CHANNEL).unwrap()],
        ..CommandSettings::default()
    };
    let bot = RunningBot::start(
        &fake,
        handler_with(service_with(ServiceSettings::default()), settings),
    );
    fake.wait_for_ready(1).await.unwrap();
    fake.send_message(FakeMessage::new(
        CHANNEL + 1,
        DANA,
        "dana",
        "!plan d elsewhere",
    ));
    fake.send_message(say(DANA, "dana", "!plan i here"));
    let replies = fake.wait_for_messages(1).await.unwrap();
    assert!(replies[0].content.contains("Coach I"));
    assert!(todays_plan(&bot.handler, "d").await.is_none());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_the_gateway_cleanly() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = connected(&fake).await;
    let state = bot.state.clone();
    bot.shutdown().await.unwrap();
    assert_eq!(state.snapshot().reason.as_deref(), Some("stopped"));
    fake.wait_until("the connection to close", |seen| (!seen.live).then_some(()))
        .await
        .unwrap();
    assert_eq!(fake.seen().identifies, 1, "no reconnect after a shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_roles_from_the_gateway_make_an_admin() {
    let fake = FakeDiscord::start().await.unwrap();
    let admins = ServiceSettings {
        admin_role_ids: vec![coach_plans_model::RoleId::new(77).unwrap()],
        ..ServiceSettings::default()
    };
    let bot = RunningBot::start(
        &fake,
        handler_with(service_with(admins), CommandSettings::default()),
    );
    fake.wait_for_ready(1).await.unwrap();
    fake.send_message(say(DANA, "dana", "!plan d dana's plan"));
    fake.send_message(say(EVE, "eve", "!edit d not an admin"));
    fake.send_message(say(EVE, "eve", "!edit d an admin now").roles(&[5, 77]));
    let replies = fake.wait_for_messages(3).await.unwrap();
    assert!(
        replies[1].content.starts_with("❌"),
        "{}",
        replies[1].content
    );
    assert!(
        replies[2].content.starts_with("✅ Plan edited"),
        "{}",
        replies[2].content
    );
    let plan = todays_plan(&bot.handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "an admin now");
    bot.shutdown().await.unwrap();
}
