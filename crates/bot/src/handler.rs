//! The command handler: plain messages in, plain replies out. No Discord library types here.

use coach_plans_config::DiscordConfig;
use coach_plans_model::{Attachment, Channel, ChannelId, MessageId, PlanId, RoleId, UserId};
use coach_plans_service::{
    Actor, NewPost, PlanEdit, PlanRef, PlanService, RefusedChange, ServiceError,
};

use crate::parse::{Command, CommandName, parse};
use crate::reply::{self, MAX_MESSAGE_CHARS, split_reply};

/// A chat message as the command layer sees it, whatever delivered it (the Discord gateway, the
/// mock bot, a test).
///
/// Direct messages are not part of it: the bot asks Discord for guild messages only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The Discord message id, when there is one (synthesized messages may have none).
    pub id: Option<MessageId>,
    /// The channel it was posted in.
    pub channel_id: ChannelId,
    /// The channel's name without `#` (`trading`), when known; stored with the plan as
    /// `#trading`, as the Python version did.
    pub channel_name: Option<String>,
    /// Who wrote it.
    pub author_id: UserId,
    /// The author's display name (server nickname, else global name, else user name).
    pub author_name: String,
    /// Whether the author is a bot (bots are ignored).
    pub author_is_bot: bool,
    /// Whether a webhook posted it (webhooks are ignored).
    pub from_webhook: bool,
    /// The author's role ids in the server (for admin and poster checks).
    pub role_ids: Vec<RoleId>,
    /// The text.
    pub content: String,
    /// Attached files, in order.
    pub attachments: Vec<Attachment>,
}

impl IncomingMessage {
    /// A message from a person, without roles or attachments.
    pub fn new(
        channel_id: ChannelId,
        author_id: UserId,
        author_name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            id: None,
            channel_id,
            channel_name: None,
            author_id,
            author_name: author_name.into(),
            author_is_bot: false,
            from_webhook: false,
            role_ids: Vec::new(),
            content: content.into(),
            attachments: Vec::new(),
        }
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor {
            id: self.author_id,
            name: self.author_name.clone(),
            role_ids: self.role_ids.clone(),
        }
    }

    fn channel(&self) -> Channel {
        Channel {
            id: Some(self.channel_id),
            name: self.channel_name.as_ref().map(|name| format!("#{name}")),
        }
    }
}

/// What the command layer needs from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSettings {
    /// The command prefix, `!` by default.
    pub prefix: String,
    /// Channels the bot answers in; empty means every channel.
    pub channels: Vec<ChannelId>,
    /// The bot's own user id, when known: its own messages are ignored (they are also ignored
    /// as a bot's).
    pub bot_user_id: Option<UserId>,
}

impl Default for CommandSettings {
    /// Prefix `!`, every channel.
    fn default() -> Self {
        Self {
            prefix: "!".to_owned(),
            channels: Vec::new(),
            bot_user_id: None,
        }
    }
}

impl CommandSettings {
    /// The settings from the `discord` configuration section.
    pub fn from_config(config: &DiscordConfig) -> Self {
        Self {
            prefix: config.command_prefix.clone(),
            channels: config.channels.clone(),
            bot_user_id: None,
        }
    }
}

/// Turns chat messages into service calls and replies. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CommandHandler {
    service: PlanService,
    settings: CommandSettings,
}

impl CommandHandler {
    /// A handler over this service.
    pub fn new(service: PlanService, settings: CommandSettings) -> Self {
        Self { service, settings }
    }

    /// The service behind the handler.
    pub fn service(&self) -> &PlanService {
        &self.service
    }

    /// The settings.
    pub fn settings(&self) -> &CommandSettings {
        &self.settings
    }

    /// Whether a message is one the bot should read at all: not its own, not another bot's or a
    /// webhook's, and in an allowed channel.
    pub fn listens_to(&self, message: &IncomingMessage) -> bool {
        let settings = &self.settings;
        !message.author_is_bot
            && !message.from_webhook
            && settings.bot_user_id != Some(message.author_id)
            && (settings.channels.is_empty() || settings.channels.contains(&message.channel_id))
    }

    /// Handles one message and returns the replies to send, in order, each at most 2000
    /// characters. No replies means the message is not for us (ignore it silently).
    pub async fn handle(&self, message: &IncomingMessage) -> Vec<String> {
        self.handle_tracked(message).await.0
    }

    /// [`handle`](Self::handle), also giving the plan a `!plan` or `!edit` created or changed
    /// (what an edit of the message later revises).
    pub(crate) async fn handle_tracked(
        &self,
        message: &IncomingMessage,
    ) -> (Vec<String>, Option<PlanId>) {
        if !self.listens_to(message) {
            return (Vec::new(), None);
        }
        let roster = self.service.roster();
        let prefix = self.settings.prefix.as_str();
        let (reply, plan) = match parse(&message.content, prefix, roster) {
            None => return (Vec::new(), None),
            Some(Err(error)) => {
                log::debug!(
                    "command refused: {error} (author {} ({}), channel {})",
                    message.author_name,
                    message.author_id,
                    message.channel_id
                );
                let reply =
                    reply::parse_error(prefix, &error, roster, !message.attachments.is_empty());
                (reply, None)
            }
            Some(Ok(command)) => self.run(command, message).await,
        };
        (split_reply(&reply, MAX_MESSAGE_CHARS), plan)
    }

    /// The replies telling an author that a change held while the database was unavailable was
    /// refused when it came back; whoever delivers messages posts them as a reply to the message
    /// that made the change (`change.plan.message_id`).
    pub fn refusal_replies(&self, change: &RefusedChange) -> Vec<String> {
        let text = reply::held_change_refused(self.service.roster(), change);
        split_reply(&text, MAX_MESSAGE_CHARS)
    }

    async fn run(&self, command: Command, message: &IncomingMessage) -> (String, Option<PlanId>) {
        let name = command.name();
        log_received(&command, message);
        let mut plan = None;
        let outcome = self.execute(command, message, &mut plan).await;
        let reply = match outcome {
            Ok(reply) => reply,
            Err(error) => {
                match &error {
                    ServiceError::Internal(_) => log::error!("!{} failed: {error}", name.as_str()),
                    ServiceError::Unavailable(_) => {
                        log::warn!("!{} failed: {error}", name.as_str())
                    }
                    _ => log::info!(
                        "!{} refused for {} ({}): {error}",
                        name.as_str(),
                        message.author_name,
                        message.author_id
                    ),
                }
                reply::service_error(&error, self.service.roster(), self.service.today())
            }
        };
        (reply, plan)
    }

    async fn execute(
        &self,
        command: Command,
        message: &IncomingMessage,
        plan: &mut Option<PlanId>,
    ) -> Result<String, ServiceError> {
        let service = &self.service;
        let roster = service.roster();
        let actor = message.actor();
        Ok(match command {
            Command::Post { coach, date, text } => {
                let post = NewPost {
                    coach,
                    date,
                    text,
                    attachments: message.attachments.clone(),
                    channel: message.channel(),
                    message_id: message.id,
                };
                let saved = service.post_plan(&actor, post).await?;
                *plan = Some(saved.plan.id);
                reply::saved(roster, CommandName::Plan, &saved, false)
            }
            Command::Edit { target, text } => {
                let edit = PlanEdit {
                    target,
                    text,
                    attachments: message.attachments.clone(),
                    message_id: message.id,
                };
                let saved = service.edit_plan(&actor, edit).await?;
                *plan = Some(saved.plan.id);
                // The charts were replaced if any attachment became a chart.
                let charts_replaced = message.attachments.len() > saved.skipped.len();
                reply::saved(roster, CommandName::Edit, &saved, charts_replaced)
            }
            Command::Delete { target } => {
                let plan = service.delete_plan(&actor, target).await?;
                reply::deleted(roster, &plan, &self.settings.prefix)
            }
            Command::Plans { date } => {
                let date = date.unwrap_or_else(|| service.today());
                reply::plan_list(roster, &service.plans_on(date).await?, date, false)
            }
            Command::MyPlans { date } => {
                let date = date.unwrap_or_else(|| service.today());
                reply::plan_list(
                    roster,
                    &service.plans_by_author(&actor, date).await?,
                    date,
                    true,
                )
            }
            Command::History { target } => reply::history(roster, &service.history(target).await?),
            Command::Help { topic } => reply::help(&self.settings.prefix, topic, roster),
        })
    }
}

/// A plan reference for the log: `17`, `d/2024-05-10`, `d/today`.
fn describe(target: &PlanRef) -> String {
    match target {
        PlanRef::Id(id) => id.to_string(),
        PlanRef::CoachDate(coach, date) => {
            format!(
                "{coach}/{}",
                date.map_or_else(|| "today".to_owned(), |d| d.to_string())
            )
        }
    }
}

/// One line per command received; never the text itself (it may be long or private).
fn log_received(command: &Command, message: &IncomingMessage) {
    let author = format!("{} ({})", message.author_name, message.author_id);
    let channel = message.channel_id;
    let images = message.attachments.iter().filter(|a| a.is_image()).count();
    match command {
        Command::Post { coach, date, text } => {
            let date = date.map_or_else(|| "today".to_owned(), |d| d.to_string());
            log::info!(
                "plan received: coach={coach} date={date} author={author} channel={channel} chars={} charts={images} attachments={}",
                text.char_count(),
                message.attachments.len()
            );
        }
        Command::Edit { target, text } => {
            let plan = describe(target);
            log::info!(
                "edit received: plan={plan} author={author} channel={channel} chars={} charts={images}",
                text.char_count()
            );
        }
        Command::Delete { target } => {
            let plan = describe(target);
            log::info!("delete received: plan={plan} author={author} channel={channel}");
        }
        other => log::debug!(
            "!{} received from {author} in {channel}",
            other.name().as_str()
        ),
    }
}
