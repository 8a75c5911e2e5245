//! Slash commands through the real twilight shard and HTTP client against the fake Discord:
//! answers that have to wait for a slow store, long answers, channels off the allow-list.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use coach_plans_bot::{BotError, CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::SlashCommands;
use coach_plans_fake_discord::{
    AnswerKind, FakeDiscord, FakeInteraction, InteractionAnswer, WaitTimedOut,
};
use coach_plans_model::ChannelId;
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_storage::testing::{Call, FaultyStore};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::*;

/// A bot with slash commands against a fake Discord.
struct SlashBot {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), BotError>>,
}

impl SlashBot {
    async fn start(fake: &FakeDiscord, handler: CommandHandler, defer_after: Duration) -> Self {
        let settings = GatewaySettings {
            slash_commands: SlashCommands::Off,
            defer_after,
            ..GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url())
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(DiscordBot::new(settings, handler).run(async move {
            let _ = stopped.await;
        }));
        fake.wait_for_ready(1).await.expect("the bot identifies");
        Self { stop, task }
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the bot stops")
            .expect("the bot task ends")
            .expect("the bot ends cleanly");
    }
}

/// Waits until the interaction has `count` answers and returns them.
async fn answers(
    fake: &FakeDiscord,
    id: u64,
    count: usize,
) -> Result<Vec<InteractionAnswer>, WaitTimedOut> {
    fake.wait_until(&format!("{count} answers to {id}"), |seen| {
        let answers = seen.answers_to(id);
        (answers.len() >= count).then(|| answers.into_iter().cloned().collect())
    })
    .await
}

/// Slow storage: while the gate is closed, plan lookups and writes wait for the test to open
/// it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    fn close(&self) {
        *self.0.0.lock().unwrap() = false;
    }

    fn wait(&self) {
        let mut open = self.0.0.lock().unwrap();
        while !*open {
            open = self.0.1.wait(open).unwrap();
        }
    }

    /// A store behind this gate (closed to begin with).
    fn store(&self) -> Arc<FaultyStore> {
        let store = FaultyStore::new();
        let gate = self.clone();
        store.before_each(move |call| {
            if matches!(
                call,
                Call::LivePlan | Call::PlansFor | Call::CreatePlan | Call::RevisePlan
            ) {
                gate.wait();
            }
            Ok(())
        });
        Arc::new(store)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_gets_a_deferred_answer_then_the_reply_in_the_original_response() {
    let fake = FakeDiscord::start().await.unwrap();
    let gate = Gate::default();
    let service = PlanService::new(gate.store(), ServiceSettings::default());
    let handler = CommandHandler::new(service, CommandSettings::default());
    let bot = SlashBot::start(&fake, handler.clone(), Duration::from_millis(20)).await;

    let id = fake.send_interaction(
        FakeInteraction::new(CHANNEL, DANA, "dana", "plan")
            .text("coach", "d")
            .text("text", "NVDA above 950"),
    );
    // The write is held until the deferral is seen: the answer cannot have gone out first.
    let deferred = answers(&fake, id, 1).await.unwrap();
    assert_eq!(deferred[0].kind, AnswerKind::Callback(5), "{deferred:?}");
    assert_eq!(deferred[0].status, 204);
    gate.open();

    let all = answers(&fake, id, 2).await.unwrap();
    let edit = &all[1];
    assert_eq!(edit.kind, AnswerKind::EditOriginal, "{all:?}");
    assert_eq!(edit.status, 200);
    assert!(
        edit.content
            .as_deref()
            .is_some_and(|c| c.starts_with("✅ Plan created for **Coach D**")),
        "{edit:?}"
    );
    assert!(
        handler
            .service()
            .plan(&coach("d"), handler.service().today())
            .await
            .unwrap()
            .is_some()
    );
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_after_a_deferral_replaces_the_public_thinking_message_with_an_ephemeral_one() {
    let fake = FakeDiscord::start().await.unwrap();
    let gate = Gate::default();
    gate.open();
    let service = PlanService::new(gate.store(), ServiceSettings::default());
    let handler = CommandHandler::new(service, CommandSettings::default());
    let bot = SlashBot::start(&fake, handler, Duration::from_millis(20)).await;
    let dana = fake.send_interaction(
        FakeInteraction::new(CHANNEL, DANA, "dana", "plan")
            .text("coach", "d")
            .text("text", "dana's plan"),
    );
    let first = answers(&fake, dana, 1).await.unwrap();
    assert_eq!(first[0].kind, AnswerKind::Callback(4), "{first:?}");
    assert!(!first[0].is_ephemeral());

    gate.close();
    let eve = fake.send_interaction(
        FakeInteraction::new(CHANNEL, EVE, "eve", "plan")
            .text("coach", "d")
            .text("text", "eve's plan"),
    );
    let deferred = answers(&fake, eve, 1).await.unwrap();
    assert_eq!(deferred[0].kind, AnswerKind::Callback(5), "{deferred:?}");
    gate.open();
    let all = answers(&fake, eve, 3).await.unwrap();
    assert_eq!(all[1].kind, AnswerKind::DeleteOriginal, "{all:?}");
    assert_eq!(all[2].kind, AnswerKind::Followup, "{all:?}");
    assert!(all[2].is_ephemeral(), "{all:?}");
    assert!(
        all[2]
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with("❌ You can't replace this plan")),
        "{all:?}"
    );
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_continues_in_follow_up_messages() {
    let fake = FakeDiscord::start().await.unwrap();
    let bot = SlashBot::start(&fake, handler(), Duration::from_secs(2)).await;
    let long = "x".repeat(1500);
    for coach in ["d", "i"] {
        let id = fake.send_interaction(
            FakeInteraction::new(CHANNEL, DANA, "dana", "plan")
                .text("coach", coach)
                .text("text", &long),
        );
        answers(&fake, id, 1).await.unwrap();
    }
    let id = fake.send_interaction(FakeInteraction::new(CHANNEL, DANA, "dana", "plans"));
    let all = answers(&fake, id, 2).await.unwrap();
    assert_eq!(all[0].kind, AnswerKind::Callback(4));
    assert_eq!(all[1].kind, AnswerKind::Followup);
    assert!(all.iter().all(|a| !a.is_ephemeral() && a.status / 100 == 2));
    assert!(
        all[0]
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with("📋 Plans for 2024-05-10 (2)")),
        "{all:?}"
    );
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_off_the_allow_list_gets_an_ephemeral_no() {
    let fake = FakeDiscord::start().await.unwrap();
    let settings = CommandSettings {
        channels: vec![ChannelId::new(CHANNEL + 1).unwrap()],
        ..CommandSettings::default()
    };
    let handler = handler_with(service_with(ServiceSettings::default()), settings);
    let bot = SlashBot::start(&fake, handler.clone(), Duration::from_secs(2)).await;
    let id = fake.send_interaction(
        FakeInteraction::new(CHANNEL, DANA, "dana", "plan")
            .text("coach", "d")
            .text("text", "x"),
    );
    let answer = &answers(&fake, id, 1).await.unwrap()[0];
    assert!(answer.is_ephemeral(), "{answer:?}");
    assert!(
        answer
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with('❌'))
    );
    assert!(todays_plan(&handler, "d").await.is_none());
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_roles_from_the_interaction_make_an_admin() {
    let fake = FakeDiscord::start().await.unwrap();
    let admins = ServiceSettings {
        admin_role_ids: vec![coach_plans_model::RoleId::new(77).unwrap()],
        ..ServiceSettings::default()
    };
    let handler = handler_with(service_with(admins), CommandSettings::default());
    let bot = SlashBot::start(&fake, handler.clone(), Duration::from_secs(2)).await;
    let edit = |user: u64, name: &str, text: &str| {
        FakeInteraction::new(CHANNEL, user, name, "edit")
            .text("text", text)
            .text("coach", "d")
    };
    let dana = fake.send_interaction(
        FakeInteraction::new(CHANNEL, DANA, "dana", "plan")
            .text("coach", "d")
            .text("text", "dana's plan"),
    );
    answers(&fake, dana, 1).await.unwrap();
    let not_admin = fake.send_interaction(edit(EVE, "eve", "not an admin"));
    let refused = &answers(&fake, not_admin, 1).await.unwrap()[0];
    assert!(refused.is_ephemeral(), "{refused:?}");
    assert!(
        refused
            .content
            .as_deref()
            .is_some_and(|c| c.starts_with("❌ You can't edit this plan")),
        "{refused:?}"
    );
    let admin = fake.send_interaction(edit(EVE, "eve", "an admin now").roles(&[5, 77]));
    let done = &answers(&fake, admin, 1).await.unwrap()[0];
    assert!(!done.is_ephemeral());
    assert!(
        done.content
            .as_deref()
            .is_some_and(|c| c.starts_with("✅ Plan edited")),
        "{done:?}"
    );
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "an admin now");
    bot.shutdown().await;
}
