//! Messages a test makes the fake Discord deliver.

use serde_json::{Value, json};

use super::GUILD_ID;

/// A file attached to a [`FakeMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAttachment {
    /// The file name, such as `chart.png`.
    pub filename: String,
    /// The MIME type Discord reports, if any.
    pub content_type: Option<String>,
    /// The size in bytes.
    pub size: u64,
    /// The download link; when absent, a signed `https://cdn.discordapp.com/...` link as
    /// Discord gives.
    pub url: Option<String>,
}

impl FakeAttachment {
    /// A PNG image.
    pub fn png(filename: &str) -> Self {
        Self {
            filename: filename.to_owned(),
            content_type: Some("image/png".to_owned()),
            size: 48_213,
            url: None,
        }
    }

    /// A PDF document (not an image).
    pub fn pdf(filename: &str) -> Self {
        Self {
            filename: filename.to_owned(),
            content_type: Some("application/pdf".to_owned()),
            size: 120_000,
            url: None,
        }
    }

    /// The same file behind another link (a plain `http://` one, say).
    pub fn with_url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self
    }
}

/// A `MESSAGE_CREATE` to inject: built with [`FakeMessage::new`] and the builder methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMessage {
    /// The channel.
    pub channel_id: u64,
    /// The author's user id.
    pub author_id: u64,
    /// The author's user name.
    pub author_name: String,
    /// The author's server nickname, if any.
    pub nick: Option<String>,
    /// Whether the author is a bot.
    pub bot: bool,
    /// The webhook that posted it, if any.
    pub webhook_id: Option<u64>,
    /// The author's role ids.
    pub role_ids: Vec<u64>,
    /// The text.
    pub content: String,
    /// Attached files.
    pub attachments: Vec<FakeAttachment>,
}

impl FakeMessage {
    /// A message from a person in a guild channel.
    pub fn new(channel_id: u64, author_id: u64, author_name: &str, content: &str) -> Self {
        Self {
            channel_id,
            author_id,
            author_name: author_name.to_owned(),
            nick: None,
            bot: false,
            webhook_id: None,
            role_ids: Vec::new(),
            content: content.to_owned(),
            attachments: Vec::new(),
        }
    }

    /// Marks the author as a bot.
    pub fn from_bot(mut self) -> Self {
        self.bot = true;
        self
    }

    /// Makes a webhook the poster.
    pub fn from_webhook(mut self, webhook_id: u64) -> Self {
        self.webhook_id = Some(webhook_id);
        self
    }

    /// Gives the author a server nickname.
    pub fn nick(mut self, nick: &str) -> Self {
        self.nick = Some(nick.to_owned());
        self
    }

    /// Gives the author roles.
    pub fn roles(mut self, role_ids: &[u64]) -> Self {
        self.role_ids = role_ids.to_vec();
        self
    }

    /// Attaches a file.
    pub fn attach(mut self, attachment: FakeAttachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The message as Discord sends it in `MESSAGE_CREATE`.
    pub(super) fn to_json(&self, id: u64) -> String {
        let attachments: Vec<Value> = self
            .attachments
            .iter()
            .enumerate()
            .map(|(n, a)| {
                let url = a.url.clone().unwrap_or_else(|| {
                    format!(
                        "https://cdn.discordapp.com/attachments/{}/{}/{}?ex=6650a0b0&is=664f4f30&hm=0abc",
                        self.channel_id,
                        id + n as u64,
                        a.filename
                    )
                });
                json!({
                    "id": (id + 1_000 + n as u64).to_string(),
                    "filename": a.filename,
                    "size": a.size,
                    "url": url,
                    "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                    "content_type": a.content_type,
                })
            })
            .collect();
        let mut message = json!({
            "id": id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "guild_id": GUILD_ID.to_string(),
            "author": {
                "id": self.author_id.to_string(),
                "username": self.author_name,
                "discriminator": "0",
                "global_name": null,
                "avatar": null,
                "bot": self.bot,
            },
            "content": self.content,
            "timestamp": super::history::timestamp_of(id),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [],
            "pinned": false,
            "type": 0,
        });
        if let Some(webhook_id) = self.webhook_id {
            message["webhook_id"] = json!(webhook_id.to_string());
        } else {
            // Webhook messages carry no member.
            message["member"] = json!({
                "roles": self.role_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
                "nick": self.nick,
                "deaf": false,
                "mute": false,
                "flags": 0,
                "joined_at": "2023-01-01T00:00:00.000000+00:00",
                "communication_disabled_until": null,
            });
        }
        message.to_string()
    }
}
