//! Shared set-up: a service over an in-memory store with a fixed clock, messages and
//! attachments.

use std::sync::Arc;

use coach_plans_bot::{CommandHandler, CommandSettings, IncomingMessage};
use coach_plans_model::{Attachment, ChannelId, CoachId, Plan, PlanDate, UserId};
use coach_plans_service::{FixedClock, PlanService, ServiceSettings};
use coach_plans_storage::MemoryStore;

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
