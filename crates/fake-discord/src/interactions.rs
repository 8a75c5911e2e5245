//! Slash commands in the fake: INTERACTION_CREATE with resolved attachments, the interaction
//! callback and webhook (`@original`, follow-up) endpoints, and command registration.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::rest::json_reply;
use super::{APPLICATION_ID, BOT_USER_ID, GUILD_ID, State};
use crate::message::FakeAttachment;

/// A slash command a user runs: built with [`FakeInteraction::new`] and the builder methods,
/// sent with [`FakeDiscord::send_interaction`](crate::FakeDiscord::send_interaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeInteraction {
    /// The channel it is run in.
    pub channel_id: u64,
    /// The user's id.
    pub user_id: u64,
    /// The user's name.
    pub user_name: String,
    /// The user's role ids in the guild.
    pub role_ids: Vec<u64>,
    /// The command's name, without the slash.
    pub command: String,
    /// The options, in the order the user filled them in.
    pub options: Vec<(String, FakeOptionValue)>,
    /// Whether the token has expired already, so that its callback gets 404 (as an answer
    /// later than 3 s does).
    pub expired: bool,
}

/// The value of an option of a [`FakeInteraction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeOptionValue {
    /// A string option.
    Text(String),
    /// An integer option.
    Integer(i64),
    /// An attachment option: the file, delivered in `data.resolved.attachments`.
    Attachment(FakeAttachment),
}

impl FakeInteraction {
    /// `/command` run by a user in a guild channel, without options.
    pub fn new(channel_id: u64, user_id: u64, user_name: &str, command: &str) -> Self {
        Self {
            channel_id,
            user_id,
            user_name: user_name.to_owned(),
            role_ids: Vec::new(),
            command: command.to_owned(),
            options: Vec::new(),
            expired: false,
        }
    }

    /// A string option.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.options
            .push((name.to_owned(), FakeOptionValue::Text(value.to_owned())));
        self
    }

    /// An integer option.
    pub fn integer(mut self, name: &str, value: i64) -> Self {
        self.options
            .push((name.to_owned(), FakeOptionValue::Integer(value)));
        self
    }

    /// An attachment option.
    pub fn attach(mut self, name: &str, file: FakeAttachment) -> Self {
        self.options
            .push((name.to_owned(), FakeOptionValue::Attachment(file)));
        self
    }

    /// Gives the user roles.
    pub fn roles(mut self, role_ids: &[u64]) -> Self {
        self.role_ids = role_ids.to_vec();
        self
    }

    /// Makes the token expired from the start: every callback gets 404 "Unknown interaction".
    pub fn expired(mut self) -> Self {
        self.expired = true;
        self
    }

    /// The interaction as Discord sends it in INTERACTION_CREATE.
    pub(super) fn to_json(&self, id: u64, token: &str) -> String {
        let mut resolved = serde_json::Map::new();
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(n, (name, value))| match value {
                FakeOptionValue::Text(text) => json!({ "name": name, "type": 3, "value": text }),
                FakeOptionValue::Integer(i) => json!({ "name": name, "type": 4, "value": i }),
                FakeOptionValue::Attachment(file) => {
                    let attachment_id = (id + 100 + n as u64).to_string();
                    let url = file.url.clone().unwrap_or_else(|| {
                        format!(
                            "https://cdn.discordapp.com/ephemeral-attachments/{}/{attachment_id}/{}?ex=6650a0b0&is=664f4f30&hm=0abc",
                            self.channel_id, file.filename
                        )
                    });
                    resolved.insert(
                        attachment_id.clone(),
                        json!({
                            "id": attachment_id,
                            "filename": file.filename,
                            "size": file.size,
                            "url": url,
                            "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                            "content_type": file.content_type,
                            "ephemeral": true,
                        }),
                    );
                    json!({ "name": name, "type": 11, "value": attachment_id })
                }
            })
            .collect();
        let mut data = json!({
            "id": (id + 1).to_string(),
            "name": self.command,
            "type": 1,
            "options": options,
        });
        if !resolved.is_empty() {
            data["resolved"] = json!({ "attachments": resolved });
        }
        json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": 2,
            "token": token,
            "version": 1,
            "attachment_size_limit": 26_214_400,
            "authorizing_integration_owners": { "0": GUILD_ID.to_string() },
            "entitlements": [],
            "context": 0,
            "locale": "en-US",
            "guild_locale": "en-US",
            "guild_id": GUILD_ID.to_string(),
            "channel_id": self.channel_id.to_string(),
            "channel": { "id": self.channel_id.to_string(), "type": 0, "name": format!("channel-{}", self.channel_id) },
            "member": {
                "user": {
                    "id": self.user_id.to_string(),
                    "username": self.user_name,
                    "discriminator": "0",
                    "global_name": null,
                    "avatar": null,
                },
                "roles": self.role_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
                "nick": null,
                "deaf": false,
                "mute": false,
                "flags": 0,
                "permissions": "0",
                "joined_at": "2023-01-01T00:00:00.000000+00:00",
                "communication_disabled_until": null,
            },
            "data": data,
        })
        .to_string()
    }
}

/// How the bot answered an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// `POST /interactions/{id}/{token}/callback` with this type (4 message, 5 deferred).
    Callback(u8),
    /// `PATCH /webhooks/{application}/{token}/messages/@original`.
    EditOriginal,
    /// `DELETE /webhooks/{application}/{token}/messages/@original`.
    DeleteOriginal,
    /// `POST /webhooks/{application}/{token}`: a follow-up message.
    Followup,
}

/// One answer the bot gave to an interaction, accepted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionAnswer {
    /// The interaction's id ([`FakeDiscord::send_interaction`](crate::FakeDiscord::send_interaction)'s
    /// return value).
    pub interaction_id: u64,
    /// What was sent.
    pub kind: AnswerKind,
    /// The message content, if any.
    pub content: Option<String>,
    /// The message flags (64 = ephemeral).
    pub flags: u64,
    /// The status the fake answered with (204, 200, 404 for an expired token, 400 for a second
    /// callback).
    pub status: u16,
}

impl InteractionAnswer {
    /// Whether only the caller sees the message (flags 64).
    pub fn is_ephemeral(&self) -> bool {
        self.flags & 64 != 0
    }
}

/// The fake's interaction and command state.
#[derive(Default)]
pub(super) struct Interactions {
    /// Token -> interaction id, for every interaction sent.
    tokens: HashMap<String, u64>,
    expired: HashSet<String>,
    /// Interactions whose callback was accepted.
    acknowledged: HashSet<u64>,
    /// Registered commands: `None` for global, else the guild.
    commands: HashMap<Option<u64>, Vec<Value>>,
    next_command_id: u64,
}

impl State {
    /// Sends INTERACTION_CREATE for `interaction`; returns its id.
    pub(super) fn send_interaction(&mut self, interaction: &FakeInteraction) -> u64 {
        let id = self.new_id();
        // Leave room for the data id and the attachments' ids derived from it.
        self.next_message_id += 200;
        let token = format!("fake-interaction-token-{id}");
        if interaction.expired {
            self.interactions.expired.insert(token.clone());
        }
        self.interactions.tokens.insert(token.clone(), id);
        let json = interaction.to_json(id, &token);
        self.dispatch("INTERACTION_CREATE", &json, true);
        id
    }
}

impl State {
    /// Sends GUILD_CREATE for a guild the bot joins, in the short form Discord uses for a guild
    /// that is not available yet (`{"id", "unavailable": true}`): enough to name the guild.
    pub(super) fn send_guild_create(&mut self, guild_id: u64) {
        let json = json!({ "id": guild_id.to_string(), "unavailable": true });
        self.dispatch("GUILD_CREATE", &json.to_string(), true);
    }
}

type Reply = Response<Full<Bytes>>;

/// The interaction and command routes; `None` for any other path. Interaction routes are
/// authorized by their token (twilight sends no bot token there); command routes need the bot
/// token.
pub(super) fn route(
    state: &mut State,
    method: &Method,
    path: &str,
    body: &str,
    authorized: bool,
) -> Option<Reply> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let payload = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
    Some(match (method, segments.as_slice()) {
        (&Method::POST, ["interactions", _id, token, "callback"]) => {
            let kind = payload["type"].as_u64().unwrap_or_default();
            let data = &payload["data"];
            let (status, reply) = match state.interactions.tokens.get(*token).copied() {
                Some(id) if !state.interactions.expired.contains(*token) => {
                    if state.interactions.acknowledged.insert(id) {
                        (StatusCode::NO_CONTENT, empty(StatusCode::NO_CONTENT))
                    } else {
                        let reply = error(
                            StatusCode::BAD_REQUEST,
                            "Interaction has already been acknowledged.",
                            40060,
                        );
                        (StatusCode::BAD_REQUEST, reply)
                    }
                }
                _ => (
                    StatusCode::NOT_FOUND,
                    error(StatusCode::NOT_FOUND, "Unknown interaction", 10062),
                ),
            };
            record(
                state,
                token,
                AnswerKind::Callback(u8::try_from(kind).unwrap_or(u8::MAX)),
                data,
                status,
            );
            reply
        }
        (&Method::PATCH | &Method::DELETE, ["webhooks", _app, token, "messages", "@original"]) => {
            let kind = if method == Method::PATCH {
                AnswerKind::EditOriginal
            } else {
                AnswerKind::DeleteOriginal
            };
            webhook(state, token, kind, &payload)
        }
        (&Method::POST, ["webhooks", _app, token]) => {
            webhook(state, token, AnswerKind::Followup, &payload)
        }
        (_, ["applications", _app, "commands"]) => {
            commands(state, method, None, &payload, authorized)
        }
        (_, ["applications", _app, "guilds", guild, "commands"]) => {
            let guild = guild.parse().ok();
            commands(
                state,
                method,
                Some(guild.unwrap_or_default()),
                &payload,
                authorized,
            )
        }
        _ => return None,
    })
}

/// The `@original` and follow-up routes: known only once the callback was accepted.
fn webhook(state: &mut State, token: &str, kind: AnswerKind, payload: &Value) -> Reply {
    let usable = state
        .interactions
        .tokens
        .get(token)
        .is_some_and(|id| state.interactions.acknowledged.contains(id))
        && !state.interactions.expired.contains(token);
    if !usable {
        record(state, token, kind, payload, StatusCode::NOT_FOUND);
        return error(StatusCode::NOT_FOUND, "Unknown Webhook", 10015);
    }
    record(state, token, kind, payload, StatusCode::OK);
    if kind == AnswerKind::DeleteOriginal {
        return empty(StatusCode::NO_CONTENT);
    }
    let message_id = state.new_id();
    json_reply(
        StatusCode::OK,
        &json!({
            "id": message_id.to_string(),
            "channel_id": "1",
            "author": { "id": BOT_USER_ID.to_string(), "username": "coach-plans", "discriminator": "0", "bot": true },
            "content": payload["content"].as_str().unwrap_or_default(),
            "timestamp": "2024-05-10T13:30:01.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 20,
            "flags": payload["flags"].as_u64().unwrap_or_default(),
        }),
    )
}

fn record(state: &mut State, token: &str, kind: AnswerKind, data: &Value, status: StatusCode) {
    let interaction_id = state
        .interactions
        .tokens
        .get(token)
        .copied()
        .unwrap_or_default();
    state.seen.interaction_answers.push(InteractionAnswer {
        interaction_id,
        kind,
        content: data["content"].as_str().map(str::to_owned),
        flags: data["flags"].as_u64().unwrap_or_default(),
        status: status.as_u16(),
    });
}

/// `GET` and `PUT` (bulk overwrite) of the global or a guild's commands.
fn commands(
    state: &mut State,
    method: &Method,
    guild: Option<u64>,
    payload: &Value,
    authorized: bool,
) -> Reply {
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "401: Unauthorized", 0);
    }
    match *method {
        Method::GET => {
            let current = state
                .interactions
                .commands
                .get(&guild)
                .cloned()
                .unwrap_or_default();
            json_reply(StatusCode::OK, &Value::Array(current))
        }
        Method::PUT => {
            let Some(list) = payload.as_array() else {
                return error(StatusCode::BAD_REQUEST, "Invalid Form Body", 50035);
            };
            let mut stored = Vec::new();
            for command in list {
                let mut command = command.clone();
                state.interactions.next_command_id += 1;
                let id = 1_300_000_000_000_000_000 + state.interactions.next_command_id;
                command["id"] = json!(id.to_string());
                command["application_id"] = json!(APPLICATION_ID.to_string());
                command["version"] = json!((id + 1).to_string());
                command["default_member_permissions"] = Value::Null;
                command["nsfw"] = json!(false);
                if let Some(guild) = guild {
                    command["guild_id"] = json!(guild.to_string());
                }
                stored.push(command);
            }
            state.interactions.commands.insert(guild, stored.clone());
            json_reply(StatusCode::OK, &Value::Array(stored))
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "405: Method Not Allowed", 0),
    }
}

fn error(status: StatusCode, message: &str, code: u32) -> Reply {
    json_reply(status, &json!({ "message": message, "code": code }))
}

fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}
