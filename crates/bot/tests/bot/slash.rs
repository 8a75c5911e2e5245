//! Slash commands through the real twilight shard and HTTP client against the fake Discord:
//! answers that have to wait for a slow store, long answers, channels off the allow-list.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use coach_plans_bot::{BotError, CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::SlashCommands;
use coach_plans_fake_discord::{
    AnswerKind, FakeDiscord, FakeInteraction, InteractionAnswer, WaitTimedOut,
};
use coach_plans_model::{
    Author, ChannelId, ChartId, CoachId, HistoryEntry, ImageKind, Plan, PlanDate, PlanId, Sha256,
    Timestamp,
};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_storage::{
    ChartCounts, ChartRef, ImportReport, MemoryStore, NewPlan, PlanQuery, PlanStore, Revision,
    StoreError, StoreHealth, StoreStats,
};
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

/// A store whose plan writes and plan lookups wait until the test opens the gate: storage
/// that is slow.
struct GatedStore {
    inner: MemoryStore,
    open: Mutex<bool>,
    opened: Condvar,
}

impl GatedStore {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            open: Mutex::new(false),
            opened: Condvar::new(),
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn close(&self) {
        *self.open.lock().unwrap() = false;
    }

    fn wait_open(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

impl PlanStore for GatedStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        self.wait_open();
        self.inner.create_plan(plan)
    }
    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        self.wait_open();
        self.inner.revise_plan(id, revision)
    }
    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        self.inner.delete_plan(id, by, at)
    }
    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        self.inner.plan(id)
    }
    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        self.wait_open();
        self.inner.live_plan(coach, date)
    }
    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        self.wait_open();
        self.inner.plans_for(coach, date)
    }
    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        self.inner.list_plans(query)
    }
    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(id)
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats()
    }
    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        self.inner.import_plans(plans)
    }
    fn health(&self) -> StoreHealth {
        self.inner.health()
    }
    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        self.inner.charts_to_archive(limit)
    }
    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner
            .record_chart_archived(chart, sha256, size, image, at)
    }
    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError> {
        self.inner
            .record_chart_failure(chart, reason, attempts, last)
    }
    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        self.inner.record_chart_url(chart, url)
    }
    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        self.inner.requeue_failed_charts()
    }
    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        self.inner.requeue_charts_of_blob(sha256, reason)
    }
    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        self.inner.chart_counts()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_gets_a_deferred_answer_then_the_reply_in_the_original_response() {
    let fake = FakeDiscord::start().await.unwrap();
    let store = Arc::new(GatedStore::new());
    let service = PlanService::new(store.clone(), ServiceSettings::default());
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
    store.open();

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
    let store = Arc::new(GatedStore::new());
    store.open();
    let service = PlanService::new(store.clone(), ServiceSettings::default());
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

    store.close();
    let eve = fake.send_interaction(
        FakeInteraction::new(CHANNEL, EVE, "eve", "plan")
            .text("coach", "d")
            .text("text", "eve's plan"),
    );
    let deferred = answers(&fake, eve, 1).await.unwrap();
    assert_eq!(deferred[0].kind, AnswerKind::Callback(5), "{deferred:?}");
    store.open();
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
