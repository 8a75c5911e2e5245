//! SPEC 15 against the fake Discord with the real twilight shard and HTTP client: the backfill
//! after a new session (paged, through a rate limit, past a forbidden channel), each message
//! handled once (re-delivered, across restarts), and plans that follow message edits.

use std::sync::Arc;
use std::time::Duration;

use coach_plans_bot::{
    BotError, BotState, CommandHandler, CommandSettings, DiscordBot, GatewaySettings,
};
use coach_plans_config::DatabaseConfig;
use coach_plans_fake_discord::{FakeDiscord, FakeMessage, SentMessage};
use coach_plans_model::wire::BackfillHealth;
use coach_plans_model::{ChannelId, MessageId, PlanText};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::{DeliveryLog, MemoryDeliveryLog};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::*;

const OTHER_CHANNEL: u64 = 600;

/// A bot with a delivery log, running against a fake Discord.
struct Bot {
    state: BotState,
    handler: CommandHandler,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), BotError>>,
}

impl Bot {
    async fn start(fake: &FakeDiscord, handler: CommandHandler, log: Arc<dyn DeliveryLog>) -> Self {
        let readies = fake.seen().readies;
        let settings = GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url());
        let bot = DiscordBot::new(settings, handler.clone()).with_delivery_log(log);
        let state = bot.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bot.run(async move {
            let _ = stopped.await;
        }));
        fake.wait_for_ready(readies + 1).await.unwrap();
        let bot = Self {
            state,
            handler,
            stop,
            task,
        };
        bot.backfills(1).await;
        bot
    }

    /// Waits until the bot has finished `count` backfills in all (one per READY) and returns
    /// what health says about them.
    async fn backfills(&self, count: u64) -> BackfillHealth {
        tokio::time::timeout(
            Duration::from_secs(30),
            self.state.wait_until(|health| {
                health
                    .backfill
                    .as_ref()
                    .is_some_and(|b| b.backfills >= count)
            }),
        )
        .await
        .expect("the backfill finished");
        self.state.snapshot().backfill.unwrap()
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the bot stopped")
            .expect("the bot task did not panic")
            .expect("the bot stopped cleanly");
    }
}

fn say(author: u64, name: &str, content: &str) -> FakeMessage {
    FakeMessage::new(CHANNEL, author, name, content)
}

/// The replies posted to message `id`, in order.
fn replies_to(seen: &[SentMessage], id: u64) -> Vec<String> {
    seen.iter()
        .filter(|m| m.reply_to == Some(id))
        .map(|m| m.content.clone())
        .collect()
}

/// Posts `!help` and waits for its answer: every event sent before it has been handled (the
/// bot handles events in order), so a test can then check that one changed nothing.
async fn handled_so_far(fake: &FakeDiscord) -> Vec<SentMessage> {
    let id = fake.send_message(say(EVE, "eve", "!help"));
    fake.wait_until("the answer to !help", |seen| {
        seen.messages
            .iter()
            .any(|m| m.reply_to == Some(id))
            .then(|| seen.messages.clone())
    })
    .await
    .unwrap()
}

fn text(s: &str) -> PlanText {
    PlanText::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_missed_plans_are_read_back_in_pages_through_a_rate_limit_in_order_and_once() {
    let fake = FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let bot = Bot::start(&fake, handler(), Arc::new(MemoryDeliveryLog::new())).await;
    // A first command gives the channel a cursor.
    let first = fake.send_message(say(DANA, "dana", "!plan d before the outage"));
    fake.wait_for_messages(1).await.unwrap();

    // 1,000 plans posted while the session is lost: 250 days for each of the four coaches.
    let day = |n: i64| {
        jiff::civil::date(2023, 1, 1)
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
    };
    let mut missed = Vec::new();
    for n in 0..250 {
        for coach in ["d", "i", "s", "n"] {
            let content = format!("!plan {coach} {} missed plan {n}", day(n));
            missed.push(fake.add_missed_message(say(DANA, "dana", &content)));
        }
    }
    // The fourth page asked for is refused once with a 429; twilight waits and asks again.
    fake.rate_limit_history(3, 0.05);
    fake.invalidate_session(false);
    fake.wait_for_ready(2).await.unwrap();
    let health = bot.backfills(2).await;
    assert_eq!(health.messages_recovered, 1000);
    assert_eq!(health.channels_skipped, 0);

    // Replies go out on a task of their own: wait for the last.
    fake.wait_for_messages(1001).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen.rate_limited, 1, "the 429 was sent");
    let pages: Vec<_> = seen
        .requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/messages?"))
        .collect();
    // Ten full pages, the one refused with 429 asked again, and a last empty one.
    assert_eq!(pages.len(), 12, "{pages:#?}");
    assert!(
        pages[0].path.contains(&format!("after={first}")),
        "{}",
        pages[0].path
    );

    // One reply per missed plan, in the order posted, each saying it was handled late.
    let late: Vec<&SentMessage> = seen.messages.iter().skip(1).collect();
    assert_eq!(late.len(), 1000);
    for (reply, id) in late.iter().zip(&missed) {
        assert_eq!(reply.reply_to, Some(*id));
        assert!(
            reply.content.starts_with("✅ Plan created"),
            "{}",
            reply.content
        );
        assert!(
            reply.content.contains("🕒 Handled late: posted "),
            "{}",
            reply.content
        );
    }
    let service = bot.handler.service();
    for n in [0, 123, 249] {
        let plans = service.plans_on(date(&day(n).to_string())).await.unwrap();
        assert_eq!(plans.len(), 4, "day {n}");
        assert_eq!(plans[0].text, text(&format!("missed plan {n}")));
    }
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_the_bot_can_no_longer_read_is_skipped_and_the_others_are_read_back() {
    let fake = FakeDiscord::start().await.unwrap();
    let settings = CommandSettings {
        channels: vec![
            ChannelId::new(CHANNEL).unwrap(),
            ChannelId::new(OTHER_CHANNEL).unwrap(),
        ],
        ..CommandSettings::default()
    };
    let handler = handler_with(service_with(ServiceSettings::default()), settings);
    // Allowed channels get a cursor at the first session, with nothing posted in them yet.
    let bot = Bot::start(&fake, handler, Arc::new(MemoryDeliveryLog::new())).await;
    let hidden = fake.add_missed_message(FakeMessage::new(
        OTHER_CHANNEL,
        DANA,
        "dana",
        "!plan i in a channel the bot lost access to",
    ));
    let readable = fake.add_missed_message(say(DANA, "dana", "!plan d missed but readable"));
    fake.deny_history(OTHER_CHANNEL);
    fake.invalidate_session(false);
    fake.wait_for_ready(2).await.unwrap();
    let health = bot.backfills(2).await;
    assert_eq!((health.messages_recovered, health.channels_skipped), (1, 1));

    fake.wait_for_messages(1).await.unwrap();
    let seen = fake.seen();
    let replies = replies_to(&seen.messages, readable);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].starts_with("✅ Plan created for **Coach D**"));
    assert!(replies_to(&seen.messages, hidden).is_empty());
    assert!(todays_plan(&bot.handler, "i").await.is_none());
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_older_than_the_maximum_age_are_not_read_back() {
    let fake = FakeDiscord::start().await.unwrap();
    // The bot's last message in the channel is four days old: it was away that long.
    let old = fake.add_old_message(
        say(DANA, "dana", "!plan s before the long outage"),
        Duration::from_secs(96 * 3600),
    );
    let too_old = fake.add_old_message(
        say(DANA, "dana", "!plan i three days and a bit ago"),
        Duration::from_secs(73 * 3600),
    );
    let recent = fake.add_missed_message(say(DANA, "dana", "!plan d this morning"));
    let log = Arc::new(MemoryDeliveryLog::new());
    log.advance_cursor(
        ChannelId::new(CHANNEL).unwrap(),
        MessageId::new(old).unwrap(),
    )
    .unwrap();
    let bot = Bot::start(&fake, handler(), log).await;
    // Handled in order: a reply to the older one would come first.
    let seen = fake.wait_for_messages(1).await.unwrap();
    assert_eq!(replies_to(&seen, too_old), Vec::<String>::new());
    assert_eq!(replies_to(&seen, recent).len(), 1);
    assert_eq!(bot.backfills(1).await.messages_recovered, 1);
    assert!(todays_plan(&bot.handler, "i").await.is_none());
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_again_changes_nothing_even_after_a_restart() {
    let fake = FakeDiscord::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig {
        path: dir.path().join("plans.db"),
        ..DatabaseConfig::default()
    };
    let open = || {
        let store = Arc::new(SqliteStore::open(&config).unwrap().0);
        let service = PlanService::new(store.clone(), ServiceSettings::default());
        (handler_with(service, CommandSettings::default()), store)
    };
    let (handler, store) = open();
    let bot = Bot::start(&fake, handler, store).await;
    let posted = fake.send_message(say(DANA, "dana", "!plan d 2024-05-10 once"));
    fake.wait_for_messages(1).await.unwrap();
    fake.redeliver(posted);
    let seen = handled_so_far(&fake).await;
    assert_eq!(replies_to(&seen, posted).len(), 1, "handled once");
    bot.shutdown().await;

    // Posted while the bot was stopped.
    let missed = fake.add_missed_message(say(DANA, "dana", "!plan i 2024-05-10 while stopped"));
    let (handler, store) = open();
    let bot = Bot::start(&fake, handler, store).await;
    fake.redeliver(posted);
    let seen = handled_so_far(&fake).await;
    assert_eq!(replies_to(&seen, posted).len(), 1, "still handled once");
    let late = replies_to(&seen, missed);
    assert_eq!(late.len(), 1);
    assert!(late[0].contains("🕒 Handled late"), "{}", late[0]);
    let history = bot
        .handler
        .service()
        .history(coach_plans_service::PlanRef::CoachDate(
            coach("d"),
            Some(date(TODAY)),
        ))
        .await
        .unwrap();
    assert!(history.history.is_empty(), "no second version: {history:?}");
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_plan_message_revises_the_plan_and_says_so() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = Bot::start(&fake, handler(), Arc::new(MemoryDeliveryLog::new())).await;
    let id = fake.send_message(say(DANA, "dana", "!plan d NVDA above 905"));
    fake.wait_for_messages(1).await.unwrap();
    fake.edit_message(id, "!plan d NVDA above 950");
    let replies = fake.wait_for_messages(2).await.unwrap();
    assert_eq!(replies[1].reply_to, Some(id));
    assert!(
        replies[1]
            .content
            .starts_with("✅ Plan edited for **Coach D**"),
        "{}",
        replies[1].content
    );
    assert!(
        replies[1]
            .content
            .contains("✏️ Revised from your edited message")
    );
    let plan = todays_plan(&bot.handler, "d").await.unwrap();
    assert_eq!(plan.text, text("NVDA above 950"));
    let history = bot
        .handler
        .service()
        .history(coach_plans_service::PlanRef::Id(plan.id))
        .await
        .unwrap();
    assert_eq!(history.history.len(), 1);
    assert_eq!(history.history[0].text, text("NVDA above 905"));

    // Deleting the message leaves the plan alone.
    fake.delete_message(id);
    handled_so_far(&fake).await;
    assert_eq!(
        todays_plan(&bot.handler, "d").await.unwrap().text,
        text("NVDA above 950")
    );
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_by_someone_else_a_preview_or_of_an_unhandled_message_changes_nothing() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = Bot::start(&fake, handler(), Arc::new(MemoryDeliveryLog::new())).await;
    let id = fake.send_message(say(DANA, "dana", "!plan d NVDA above 950"));
    fake.wait_for_messages(1).await.unwrap();
    // Shown as Eve's: not the author.
    fake.send_update_as(id, EVE, "!plan d taken over by eve");
    // A link preview: the same text with an embed.
    fake.add_embed(id);
    // Chatter the bot never handled, edited into a command.
    let chatter = fake.send_message(say(DANA, "dana", "good morning"));
    fake.edit_message(chatter, "!plan i sneaked in by an edit");
    let seen = handled_so_far(&fake).await;
    assert_eq!(
        replies_to(&seen, id).len(),
        1,
        "only the plan was answered: {seen:#?}"
    );
    assert_eq!(replies_to(&seen, chatter), Vec::<String>::new());
    assert_eq!(
        todays_plan(&bot.handler, "d").await.unwrap().text,
        text("NVDA above 950")
    );
    assert!(todays_plan(&bot.handler, "i").await.is_none());
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_edited_twice_quickly_ends_with_the_last_text() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = Bot::start(&fake, handler(), Arc::new(MemoryDeliveryLog::new())).await;
    let id = fake.send_message(say(DANA, "dana", "!plan d first"));
    fake.wait_for_messages(1).await.unwrap();
    fake.edit_message(id, "!plan d second");
    fake.edit_message(id, "!plan d third");
    fake.wait_for_messages(3).await.unwrap();
    let plan = todays_plan(&bot.handler, "d").await.unwrap();
    assert_eq!(plan.text, text("third"));
    let history = bot
        .handler
        .service()
        .history(coach_plans_service::PlanRef::Id(plan.id))
        .await
        .unwrap();
    let texts: Vec<_> = history.history.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(texts, ["second", "first"], "newest first");
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_names_another_coach_is_refused_and_changes_nothing() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = Bot::start(&fake, handler(), Arc::new(MemoryDeliveryLog::new())).await;
    let id = fake.send_message(say(DANA, "dana", "!plan d NVDA above 950"));
    fake.wait_for_messages(1).await.unwrap();
    fake.edit_message(id, "!plan i NVDA above 950");
    let replies = fake.wait_for_messages(2).await.unwrap();
    assert!(
        replies[1]
            .content
            .starts_with("❌ Editing a message cannot move"),
        "{}",
        replies[1].content
    );
    assert_eq!(
        todays_plan(&bot.handler, "d").await.unwrap().text,
        text("NVDA above 950")
    );
    assert!(todays_plan(&bot.handler, "i").await.is_none());
    bot.shutdown().await;
}
