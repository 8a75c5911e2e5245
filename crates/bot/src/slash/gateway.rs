//! Slash commands over twilight: what is registered with Discord (and when), interactions turned
//! into [`SlashCall`]s, and answers posted to the interaction's callback within Discord's 3 s.
//!
//! Registration is idempotent by comparison: the commands registered now are read back
//! (`GET /applications/{id}/commands`, or the guild's) and compared with the ones this build
//! and roster want, by what a user sees (names, descriptions, option kinds, required flags,
//! choices); only a difference is written (`PUT`, a bulk overwrite). Discord's own state is the
//! record, so nothing is stored locally, a restart with the same commands writes nothing, and
//! a roster change (new coach choices) is registered at the next start.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use coach_plans_config::SlashCommands;
use coach_plans_model::{Attachment, ChannelId, Roster, UserId};
use tokio::sync::Mutex;
use twilight_http::Client;
use twilight_http::error::ErrorType;
use twilight_model::application::command::{
    Command as DiscordCommand, CommandOption, CommandOptionChoice, CommandOptionChoiceValue,
    CommandOptionType, CommandType,
};
use twilight_model::application::interaction::application_command::{
    CommandData, CommandOptionValue,
};
use twilight_model::application::interaction::{
    Interaction, InteractionContextType, InteractionData, InteractionType,
};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, GuildMarker, InteractionMarker};

use super::{MAX_CHART_OPTIONS, SlashCall, SlashOption, SlashValue, option, slash_command};
use crate::handler::{Answer, CommandHandler, CommandStyle, IncomingMessage};
use crate::parse::CommandName;

/// Discord's limit on choices per option: a larger roster gets a free-text coach option.
const MAX_CHOICES: usize = 25;

/// The answer to an interaction in a channel off the allow-list (prefix commands there are
/// ignored silently; an interaction must be answered or Discord shows an error).
const NOT_HERE: &str = "❌ Plan commands are not taken in this channel.";

/// The answer to a command this build does not know (registered by an older version).
const UNKNOWN: &str = "❌ This command is no longer available. Type `/help` to see the commands.";

// ---------------------------------------------------------------------------------------------
// Registration

/// The commands this build registers, with the roster's coaches as choices.
pub(crate) fn definitions(roster: &Roster) -> Vec<DiscordCommand> {
    let coach = |required: bool| {
        let choices: Option<Vec<CommandOptionChoice>> = (roster.coaches().len() <= MAX_CHOICES)
            .then(|| {
                roster
                    .coaches()
                    .iter()
                    .map(|c| CommandOptionChoice {
                        name: shorten_to(&c.display_name, 100),
                        name_localizations: None,
                        value: CommandOptionChoiceValue::String(c.id.to_string()),
                    })
                    .collect()
            });
        CommandOption {
            choices,
            ..text_option(option::COACH, "The coach", required)
        }
    };
    let text = |description: &str| CommandOption {
        max_length: Some(4000),
        ..text_option(option::TEXT, description, true)
    };
    let date = || text_option(option::DATE, "The date, YYYY-MM-DD (default: today)", false);
    let plan_id = || CommandOption {
        min_value: Some(twilight_model::application::command::CommandOptionValue::Integer(1)),
        ..option_of(
            CommandOptionType::Integer,
            option::PLAN_ID,
            "The plan id (instead of coach and date)",
            false,
        )
    };
    let charts = || {
        (1..=MAX_CHART_OPTIONS).map(|n| {
            option_of(
                CommandOptionType::Attachment,
                &format!("{}{n}", option::CHART),
                "A chart image (png, jpg, gif or webp)",
                false,
            )
        })
    };
    let target = || vec![coach(false), date(), plan_id()];
    let help_topic = CommandOption {
        choices: Some(
            CommandName::ALL
                .iter()
                .map(|name| CommandOptionChoice {
                    name: name.as_str().to_owned(),
                    name_localizations: None,
                    value: CommandOptionChoiceValue::String(name.as_str().to_owned()),
                })
                .collect(),
        ),
        ..text_option(option::COMMAND, "The command to explain", false)
    };
    let mut commands = Vec::new();
    for name in CommandName::ALL {
        let options: Vec<CommandOption> = match name {
            CommandName::Plan => [coach(true), text("The plan"), date()]
                .into_iter()
                .chain(charts())
                .collect(),
            CommandName::Edit => [text("The new text"), coach(false), date(), plan_id()]
                .into_iter()
                .chain(charts())
                .collect(),
            CommandName::Delete | CommandName::History => target(),
            CommandName::Plans | CommandName::MyPlans => vec![date()],
            CommandName::Help => vec![help_topic.clone()],
        };
        commands.push(command(name.as_str(), description(name), options));
    }
    commands
}

fn description(name: CommandName) -> &'static str {
    match name {
        CommandName::Plan => "Post (or replace) a coach's plan, with chart images",
        CommandName::Edit => "Change a plan's text; attached images replace its charts",
        CommandName::Delete => "Delete a plan (its history is kept)",
        CommandName::Plans => "Every plan for a date",
        CommandName::MyPlans => "The plans you posted for a date",
        CommandName::History => "A plan's earlier versions, newest first",
        CommandName::Help => "How to use the plan commands",
    }
}

fn shorten_to(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[allow(deprecated)] // `dm_permission` is deprecated in favour of `contexts`, which is used.
fn command(name: &str, description: &str, options: Vec<CommandOption>) -> DiscordCommand {
    DiscordCommand {
        application_id: None,
        contexts: Some(vec![InteractionContextType::Guild]),
        default_member_permissions: None,
        description: description.to_owned(),
        description_localizations: None,
        dm_permission: None,
        guild_id: None,
        id: None,
        integration_types: None,
        kind: CommandType::ChatInput,
        name: name.to_owned(),
        name_localizations: None,
        nsfw: None,
        options,
        version: Id::new(1),
    }
}

fn text_option(name: &str, description: &str, required: bool) -> CommandOption {
    option_of(CommandOptionType::String, name, description, required)
}

fn option_of(
    kind: CommandOptionType,
    name: &str,
    description: &str,
    required: bool,
) -> CommandOption {
    CommandOption {
        autocomplete: None,
        channel_types: None,
        choices: None,
        description: description.to_owned(),
        description_localizations: None,
        kind,
        max_length: None,
        max_value: None,
        min_length: None,
        min_value: None,
        name: name.to_owned(),
        name_localizations: None,
        options: None,
        file_types: None,
        required: required.then_some(true),
    }
}

/// What a user sees of a command: the part compared to decide whether to register.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    name: String,
    description: String,
    options: Vec<OptionShape>,
}

#[derive(Debug, PartialEq, Eq)]
struct OptionShape {
    kind: CommandOptionType,
    name: String,
    description: String,
    required: bool,
    max_length: Option<u16>,
    min_value: Option<String>,
    choices: Vec<(String, String)>,
}

fn shapes(commands: &[DiscordCommand]) -> Vec<Shape> {
    let mut shapes: Vec<Shape> = commands
        .iter()
        .filter(|c| c.kind == CommandType::ChatInput)
        .map(|c| Shape {
            name: c.name.clone(),
            description: c.description.clone(),
            options: c
                .options
                .iter()
                .map(|o| OptionShape {
                    kind: o.kind,
                    name: o.name.clone(),
                    description: o.description.clone(),
                    required: o.required.unwrap_or(false),
                    max_length: o.max_length,
                    min_value: o.min_value.map(|v| match v {
                        twilight_model::application::command::CommandOptionValue::Integer(n) => {
                            n.to_string()
                        }
                        twilight_model::application::command::CommandOptionValue::Number(n) => {
                            n.to_string()
                        }
                    }),
                    choices: o
                        .choices
                        .iter()
                        .flatten()
                        .map(|choice| {
                            let value = match &choice.value {
                                CommandOptionChoiceValue::String(s) => s.clone(),
                                CommandOptionChoiceValue::Integer(n) => n.to_string(),
                                CommandOptionChoiceValue::Number(n) => n.to_string(),
                            };
                            (choice.name.clone(), value)
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    shapes.sort_by(|a, b| a.name.cmp(&b.name));
    shapes
}

/// Where commands are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Global,
    Guild(Id<GuildMarker>),
}

/// Registers the slash commands once per scope and process: globally at the first READY, or
/// in each guild at READY and GUILD_CREATE (`discord.slash_commands`).
pub(crate) struct Registrar {
    mode: SlashCommands,
    commands: Arc<Vec<DiscordCommand>>,
    application_id: Option<Id<ApplicationMarker>>,
    done: HashSet<Scope>,
}

impl Registrar {
    pub(crate) fn new(mode: SlashCommands, roster: &Roster) -> Self {
        Self {
            mode,
            commands: Arc::new(definitions(roster)),
            application_id: None,
            done: HashSet::new(),
        }
    }

    /// At READY: the application id, and the guilds the bot is in.
    pub(crate) fn on_ready(
        &mut self,
        http: &Arc<Client>,
        application_id: Id<ApplicationMarker>,
        guilds: impl IntoIterator<Item = Id<GuildMarker>>,
    ) {
        self.application_id = Some(application_id);
        match self.mode {
            SlashCommands::Off => {}
            SlashCommands::Global => self.register(http, Scope::Global),
            SlashCommands::Guild => {
                for guild in guilds {
                    self.register(http, Scope::Guild(guild));
                }
            }
        }
    }

    /// At GUILD_CREATE (a guild joined, or becoming available).
    pub(crate) fn on_guild(&mut self, http: &Arc<Client>, guild: Id<GuildMarker>) {
        if self.mode == SlashCommands::Guild {
            self.register(http, Scope::Guild(guild));
        }
    }

    fn register(&mut self, http: &Arc<Client>, scope: Scope) {
        let Some(application_id) = self.application_id else {
            return;
        };
        if !self.done.insert(scope) {
            return;
        }
        let http = Arc::clone(http);
        let commands = Arc::clone(&self.commands);
        tokio::spawn(async move {
            if let Err(error) = register(&http, application_id, scope, &commands).await {
                let place = match scope {
                    Scope::Global => "globally".to_owned(),
                    Scope::Guild(guild) => format!("in guild {guild}"),
                };
                log::warn!(
                    "could not register the slash commands {place}: {error}; they are tried again at the next start"
                );
            }
        });
    }
}

async fn register(
    http: &Client,
    application_id: Id<ApplicationMarker>,
    scope: Scope,
    wanted: &[DiscordCommand],
) -> Result<(), String> {
    let client = http.interaction(application_id);
    let current = match scope {
        Scope::Global => client.global_commands().await,
        Scope::Guild(guild) => client.guild_commands(guild).await,
    }
    .map_err(|e| e.to_string())?
    .models()
    .await
    .map_err(|e| e.to_string())?;
    let place = match scope {
        Scope::Global => "globally".to_owned(),
        Scope::Guild(guild) => format!("in guild {guild}"),
    };
    if shapes(&current) == shapes(wanted) {
        log::info!("slash commands already registered {place}, unchanged");
        return Ok(());
    }
    match scope {
        Scope::Global => client.set_global_commands(wanted).await,
        Scope::Guild(guild) => client.set_guild_commands(guild, wanted).await,
    }
    .map_err(|e| e.to_string())?;
    log::info!("registered {} slash commands {place}", wanted.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Interactions

/// A slash command received, waiting for its turn in the command worker.
pub(crate) struct Received {
    call: SlashCall,
    message: IncomingMessage,
    responder: Responder,
}

/// Reads an INTERACTION_CREATE: a slash command becomes a [`Received`] (and its deferral
/// clock starts now); anything else (autocomplete, buttons, DMs) is `None`.
pub(crate) fn receive(
    http: &Arc<Client>,
    interaction: Interaction,
    defer_after: Duration,
) -> Option<Received> {
    if interaction.kind != InteractionType::ApplicationCommand {
        return None;
    }
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
        return None;
    };
    let message = incoming(&interaction)?;
    let call = call(data);
    let responder = Responder::new(http, &interaction);
    responder.defer_after(defer_after);
    Some(Received {
        call,
        message,
        responder,
    })
}

/// The command's options in plain values, attachments resolved.
fn call(data: &CommandData) -> SlashCall {
    let files = data.resolved.as_ref().map(|r| &r.attachments);
    let options = data
        .options
        .iter()
        .filter_map(|o| {
            let value = match &o.value {
                CommandOptionValue::String(text) => SlashValue::Text(text.clone()),
                CommandOptionValue::Integer(n) => SlashValue::Integer(*n),
                CommandOptionValue::Attachment(id) => {
                    let file = files?.get(id)?;
                    SlashValue::Attachment(Attachment {
                        url: file.url.clone(),
                        filename: file.filename.clone(),
                        content_type: file.content_type.clone(),
                        size: Some(file.size),
                    })
                }
                _ => return None,
            };
            Some(SlashOption {
                name: o.name.clone(),
                value,
            })
        })
        .collect();
    SlashCall {
        name: data.name.clone(),
        options,
    }
}

/// Who asked, where, with which roles: the interaction's member (roles) and channel (name).
#[allow(deprecated)] // `channel_id`, still sent by Discord, as a fallback for `channel`.
fn incoming(interaction: &Interaction) -> Option<IncomingMessage> {
    let member = interaction.member.as_ref()?;
    let user = member.user.as_ref()?;
    let channel = interaction.channel.as_ref();
    let channel_id = channel.map(|c| c.id).or(interaction.channel_id)?;
    Some(IncomingMessage {
        id: None,
        channel_id: ChannelId::new(channel_id.get())?,
        channel_name: channel.and_then(|c| c.name.clone()),
        author_id: UserId::new(user.id.get())?,
        author_name: member
            .nick
            .clone()
            .or_else(|| user.global_name.clone())
            .unwrap_or_else(|| user.name.clone()),
        author_is_bot: user.bot,
        from_webhook: false,
        role_ids: member
            .roles
            .iter()
            .filter_map(|r| coach_plans_model::RoleId::new(r.get()))
            .collect(),
        content: String::new(),
        attachments: Vec::new(),
    })
}

/// Carries out a received slash command (in the worker, in turn with messages) and sends the
/// answer without holding the worker up.
pub(crate) async fn answer(handler: &CommandHandler, received: Received) {
    let Received {
        call,
        mut message,
        responder,
    } = received;
    let answer = if !handler.listens_to(&message) {
        refusal(NOT_HERE)
    } else {
        match slash_command(&call, handler.service().roster()) {
            None => refusal(UNKNOWN),
            Some(parsed) => {
                message.attachments = call.charts();
                handler.answer(parsed, &message, CommandStyle::Slash).await
            }
        }
    };
    tokio::spawn(async move { responder.send(answer).await });
}

fn refusal(text: &str) -> Answer {
    Answer {
        messages: vec![text.to_owned()],
        refused: true,
        plan: None,
    }
}

/// Where an interaction's answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Deferred,
    Answered,
}

/// Answers one interaction: type 4 with the reply, or type 5 first when the reply is slow and
/// then an edit of the original response.
#[derive(Clone)]
struct Responder {
    http: Arc<Client>,
    application_id: Id<ApplicationMarker>,
    id: Id<InteractionMarker>,
    token: Arc<str>,
    /// Held while a callback is sent, so a deferral and the answer never cross.
    phase: Arc<Mutex<Phase>>,
}

impl Responder {
    fn new(http: &Arc<Client>, interaction: &Interaction) -> Self {
        Self {
            http: Arc::clone(http),
            application_id: interaction.application_id,
            id: interaction.id,
            token: Arc::from(interaction.token.as_str()),
            phase: Arc::new(Mutex::new(Phase::Waiting)),
        }
    }

    /// Sends "thinking..." (type 5) if no answer went out within `after` of now.
    fn defer_after(&self, after: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let mut phase = this.phase.lock().await;
            if *phase != Phase::Waiting {
                return;
            }
            let response = InteractionResponse {
                kind: InteractionResponseType::DeferredChannelMessageWithSource,
                data: None,
            };
            let sent = this
                .http
                .interaction(this.application_id)
                .create_response(this.id, &this.token, &response)
                .await;
            match sent {
                Ok(_) => {
                    log::info!(
                        "slash command {} is slow to answer: deferred (type 5)",
                        this.id
                    );
                    *phase = Phase::Deferred;
                }
                Err(error) => {
                    this.log_failure("defer", &error);
                    // Nothing more can reach the caller.
                    *phase = Phase::Answered;
                }
            }
        });
    }

    async fn send(self, answer: Answer) {
        let mut phase = self.phase.lock().await;
        let was = *phase;
        *phase = Phase::Answered;
        let no_pings = AllowedMentions::default();
        let flags = if answer.refused {
            MessageFlags::EPHEMERAL
        } else {
            MessageFlags::empty()
        };
        let client = self.http.interaction(self.application_id);
        let (first, rest) = match answer.messages.split_first() {
            Some((first, rest)) => (first.as_str(), rest),
            None => return,
        };
        let result = match was {
            Phase::Answered => return,
            Phase::Waiting => {
                let response = InteractionResponse {
                    kind: InteractionResponseType::ChannelMessageWithSource,
                    data: Some(InteractionResponseData {
                        content: Some(first.to_owned()),
                        flags: Some(flags),
                        allowed_mentions: Some(no_pings.clone()),
                        ..InteractionResponseData::default()
                    }),
                };
                client
                    .create_response(self.id, &self.token, &response)
                    .await
                    .map(drop)
            }
            // The deferred response is public; a refusal goes to the caller alone, so the
            // "thinking" message is removed and the refusal follows as an ephemeral message.
            Phase::Deferred if answer.refused => {
                if let Err(error) = client.delete_response(&self.token).await {
                    self.log_failure("remove the deferred response", &error);
                }
                client
                    .create_followup(&self.token)
                    .content(first)
                    .flags(flags)
                    .allowed_mentions(Some(&no_pings))
                    .await
                    .map(drop)
            }
            Phase::Deferred => client
                .update_response(&self.token)
                .content(Some(first))
                .allowed_mentions(Some(&no_pings))
                .await
                .map(drop),
        };
        if let Err(error) = result {
            self.log_failure("answer", &error);
            return;
        }
        for more in rest {
            let sent = client
                .create_followup(&self.token)
                .content(more)
                .flags(flags)
                .allowed_mentions(Some(&no_pings))
                .await;
            if let Err(error) = sent {
                self.log_failure("send the rest of the answer to", &error);
                return;
            }
        }
    }

    fn log_failure(&self, what: &str, error: &twilight_http::Error) {
        let expired = matches!(
            error.kind(),
            ErrorType::Response { status, .. } if status.get() == 404
        );
        if expired {
            log::warn!(
                "could not {what} slash command {}: the interaction expired (Discord answered 404; answers must start within 3 s)",
                self.id
            );
        } else {
            log::warn!("could not {what} slash command {}: {error}", self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_definitions_follow_discords_rules() {
        for command in definitions(&Roster::default()) {
            assert!(command.options.len() <= 25, "{}", command.name);
            let first_optional = command
                .options
                .iter()
                .position(|o| o.required != Some(true))
                .unwrap_or(command.options.len());
            assert!(
                command.options[first_optional..]
                    .iter()
                    .all(|o| o.required != Some(true)),
                "{}: required options come first",
                command.name
            );
            assert!(command.description.chars().count() <= 100);
        }
    }

    #[test]
    fn registered_commands_compare_equal_to_what_discord_gives_back() {
        let wanted = definitions(&Roster::default());
        // Discord answers with ids, versions and its own defaults filled in.
        let mut back = wanted.clone();
        for command in &mut back {
            command.id = Some(Id::new(7));
            command.application_id = Some(Id::new(3));
            command.version = Id::new(99);
        }
        back.reverse();
        assert_eq!(shapes(&back), shapes(&wanted));
        back[0].options[0].description.push('!');
        assert_ne!(shapes(&back), shapes(&wanted));
    }
}
