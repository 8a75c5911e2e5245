//! Shared set-up: a service over an in-memory store with a fixed clock, messages, attachments,
//! and a bot running against a fake Discord.

use std::sync::Arc;

use coach_plans_bot::{
    BotError, BotState, CommandHandler, CommandSettings, DiscordBot, GatewaySettings,
    IncomingMessage,
};
use coach_plans_fake_discord::FakeDiscord;
use coach_plans_model::{Attachment, ChannelId, CoachId, Plan, PlanDate, UserId};
use coach_plans_service::{FixedClock, PlanService, ServiceSettings};
use coach_plans_storage::MemoryStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The channel most tests post in.
pub(crate) const CHANNEL: u64 = 500;
/// Dana, a coach's assistant who posts plans.
pub(crate) const DANA: u64 = 42;
/// Eve, another member.
pub(crate) const EVE: u64 = 43;
/// "Today" for every test: 2024-05-10 in New York.
pub(crate) const TODAY: &str = "2024-05-10";

pub(crate) fn service_with(settings: ServiceSettings) -> PlanService {
    let now: jiff::Timestamp = "2024-05-10T14:00:00Z".parse().unwrap();
    PlanService::with_clock(
        Arc::new(MemoryStore::new()),
        settings,
        Arc::new(FixedClock::new(now)),
    )
}

pub(crate) fn handler_with(service: PlanService, settings: CommandSettings) -> CommandHandler {
    CommandHandler::new(service, settings)
}

pub(crate) fn handler() -> CommandHandler {
    handler_with(
        service_with(ServiceSettings::default()),
        CommandSettings::default(),
    )
}

pub(crate) fn message(author: u64, name: &str, content: &str) -> IncomingMessage {
    IncomingMessage::new(
        ChannelId::new(CHANNEL).unwrap(),
        UserId::new(author).unwrap(),
        name,
        content,
    )
}

pub(crate) fn attachment(filename: &str, content_type: &str) -> Attachment {
    Attachment {
        url: format!("https://cdn.discordapp.com/attachments/500/1/{filename}"),
        filename: filename.to_owned(),
        content_type: Some(content_type.to_owned()),
        size: Some(1000),
    }
}

pub(crate) fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap()
}

pub(crate) fn date(s: &str) -> PlanDate {
    PlanDate::parse(s).unwrap()
}

/// The coach's live plan for today, as the service has it now.
pub(crate) async fn todays_plan(handler: &CommandHandler, coach_id: &str) -> Option<Plan> {
    handler
        .service()
        .plan(&coach(coach_id), date(TODAY))
        .await
        .unwrap()
}

/// One reply, asserting there is exactly one.
pub(crate) async fn reply(handler: &CommandHandler, message: &IncomingMessage) -> String {
    let mut replies = handler.handle(message).await;
    assert_eq!(
        replies.len(),
        1,
        "expected one reply to {:?}, got {replies:?}",
        message.content
    );
    replies.remove(0)
}

/// A bot running against a fake Discord.
pub(crate) struct RunningBot {
    pub(crate) state: BotState,
    pub(crate) handler: CommandHandler,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), BotError>>,
}

impl RunningBot {
    pub(crate) fn start(fake: &FakeDiscord, handler: CommandHandler) -> Self {
        let settings = GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url());
        Self::start_with(settings, handler)
    }

    pub(crate) fn start_with(settings: GatewaySettings, handler: CommandHandler) -> Self {
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
    pub(crate) async fn finished(self) -> Result<(), BotError> {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the bot did not stop")
            .expect("the bot task panicked")
    }

    /// Asks the bot to shut down and returns how it ended.
    pub(crate) async fn shutdown(mut self) -> Result<(), BotError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finished().await
    }
}
