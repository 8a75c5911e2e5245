#![doc = include_str!("../README.md")]

mod gateway;
mod history;
mod interactions;
mod message;
mod rest;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use interactions::{AnswerKind, FakeInteraction, FakeOptionValue, InteractionAnswer};
pub use message::{FakeAttachment, FakeMessage};

/// The user id the fake gives the bot in READY.
pub const BOT_USER_ID: u64 = 1_000_000_000_000_000_001;

/// The application id the fake gives the bot in READY (`application.id`).
pub const APPLICATION_ID: u64 = 1_000_000_000_000_000_003;

/// The guild every fake message belongs to.
pub const GUILD_ID: u64 = 1_000_000_000_000_000_002;

/// A real 1x1 PNG, for tests whose fake CDN serves images ([`FakeDiscord::host_file`]).
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The token a fake started with [`FakeDiscord::start`] accepts.
pub const DEFAULT_TOKEN: &str = "fake-bot-token";

/// A request the REST endpoint received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query, such as `/api/v10/channels/5/messages`.
    pub path: String,
    /// The body, as text.
    pub body: String,
    /// Whether it carried the accepted token.
    pub authorized: bool,
}

/// A message the bot posted (`POST /channels/{id}/messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The channel.
    pub channel_id: u64,
    /// The content.
    pub content: String,
    /// The message it replies to (`message_reference.message_id`), if any.
    pub reply_to: Option<u64>,
    /// Whether the message may ping anyone (`allowed_mentions` absent or allowing some parse).
    pub may_mention: bool,
}

/// A wait on the fake that did not see its condition in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}; the fake saw: {seen}")]
pub struct WaitTimedOut {
    /// What was awaited.
    pub what: String,
    /// How long.
    pub timeout: Duration,
    /// A summary of what the fake had seen.
    pub seen: String,
}

/// What the fake has seen so far, for [`FakeDiscord::wait_until`].
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// IDENTIFY payloads received.
    pub identifies: usize,
    /// READY events sent (identifies accepted).
    pub readies: usize,
    /// RESUME payloads received.
    pub resume_attempts: usize,
    /// RESUMED events sent (resumes accepted).
    pub resumes: usize,
    /// Gateway connections accepted.
    pub connections: usize,
    /// Whether a session is live on an open connection now.
    pub live: bool,
    /// Every REST request, in order.
    pub requests: Vec<RecordedRequest>,
    /// Every message the bot posted, in order.
    pub messages: Vec<SentMessage>,
    /// Files the CDN answered with their bytes (expired links not counted).
    pub cdn_downloads: usize,
    /// The `intents` of every IDENTIFY received, in order.
    pub identify_intents: Vec<u64>,
    /// Every answer to an interaction (callbacks, `@original` edits, follow-ups), in order.
    pub interaction_answers: Vec<InteractionAnswer>,
    /// History requests answered with 429 ([`FakeDiscord::rate_limit_history`]).
    pub rate_limited: usize,
}

impl Seen {
    /// The answers to one interaction, in order.
    pub fn answers_to(&self, interaction_id: u64) -> Vec<&InteractionAnswer> {
        self.interaction_answers
            .iter()
            .filter(|a| a.interaction_id == interaction_id)
            .collect()
    }

    /// How many requests of `method` (`GET`, `PUT`) went to the command registration endpoint
    /// of `guild` (`None`: the global one).
    pub fn command_requests(&self, method: &str, guild: Option<u64>) -> usize {
        let suffix = match guild {
            None => format!("/applications/{APPLICATION_ID}/commands"),
            Some(guild) => format!("/applications/{APPLICATION_ID}/guilds/{guild}/commands"),
        };
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(&suffix))
            .count()
    }

    /// The `POST /attachments/refresh-urls` requests received, in order.
    pub fn refresh_requests(&self) -> Vec<&RecordedRequest> {
        self.requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/attachments/refresh-urls"))
            .collect()
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections, {} identifies ({} ready), {} resumes ({} resumed), live: {}, {} REST requests, {} messages posted",
            self.connections,
            self.identifies,
            self.readies,
            self.resume_attempts,
            self.resumes,
            self.live,
            self.requests.len(),
            self.messages.len()
        )
    }
}

/// How to start a [`FakeDiscord`].
#[derive(Debug, Clone)]
pub struct FakeDiscordBuilder {
    token: String,
    message_content_intent: bool,
    wait_timeout: Duration,
}

impl Default for FakeDiscordBuilder {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_owned(),
            message_content_intent: true,
            wait_timeout: Duration::from_secs(10),
        }
    }
}

impl FakeDiscordBuilder {
    /// The bot token the fake accepts (default [`DEFAULT_TOKEN`]). Others get 401 on REST and
    /// close code 4004 on the gateway.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Whether the Message Content intent is enabled for the application (default yes). When
    /// not, an IDENTIFY asking for it is closed with 4014, as Discord does.
    pub fn message_content_intent(mut self, enabled: bool) -> Self {
        self.message_content_intent = enabled;
        self
    }

    /// How long the `wait_*` methods wait before giving up (default 10 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Binds both servers on 127.0.0.1 (free ports) and starts them. Call inside a Tokio runtime.
    pub async fn start(self) -> std::io::Result<FakeDiscord> {
        let gateway = TcpListener::bind("127.0.0.1:0").await?;
        let rest = TcpListener::bind("127.0.0.1:0").await?;
        let gateway_addr = gateway.local_addr()?;
        let rest_addr = rest.local_addr()?;
        let (changed, _) = watch::channel(());
        let shared = Arc::new(Shared {
            token: self.token,
            gateway_url: format!("ws://{gateway_addr}"),
            message_content_intent: self.message_content_intent,
            state: Mutex::new(State::default()),
            changed,
        });
        let tasks = vec![
            tokio::spawn(gateway::serve(gateway, Arc::clone(&shared))),
            tokio::spawn(rest::serve(rest, Arc::clone(&shared))),
        ];
        Ok(FakeDiscord {
            shared,
            gateway_addr,
            rest_addr,
            wait_timeout: self.wait_timeout,
            tasks,
        })
    }
}

/// A fake Discord gateway and REST API on 127.0.0.1. See the [crate docs](crate).
pub struct FakeDiscord {
    shared: Arc<Shared>,
    gateway_addr: SocketAddr,
    rest_addr: SocketAddr,
    wait_timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("gateway", &self.gateway_addr)
            .field("rest", &self.rest_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeDiscord {
    /// A fake accepting [`DEFAULT_TOKEN`], with the Message Content intent enabled.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// Options for a fake.
    pub fn builder() -> FakeDiscordBuilder {
        FakeDiscordBuilder::default()
    }

    /// The gateway's URL, `ws://127.0.0.1:PORT` (twilight's `proxy_url`).
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// The REST base URL, `http://127.0.0.1:PORT` (requests go to `/api/v10/...` below it).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The REST endpoint's address: what twilight-http's `proxy(host_and_port, true)` takes.
    pub fn api_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Gives a channel a name (answered by `GET /channels/{id}`); `None` makes the lookup fail
    /// with 404. Channels never named are called `channel-<id>`.
    pub fn set_channel_name(&self, channel_id: u64, name: Option<&str>) {
        self.shared
            .lock()
            .channels
            .insert(channel_id, name.map(str::to_owned));
    }

    /// Sends `MESSAGE_CREATE` for this message on the live session (or keeps it for a resume, as
    /// Discord does) and adds it to the channel's history. Returns the message id.
    pub fn send_message(&self, message: FakeMessage) -> u64 {
        let mut state = self.shared.lock();
        let id = state.new_id();
        let json = message.to_json(id);
        state.history.push((message.channel_id, id, json.clone()));
        // Without the Message Content intent, Discord sends messages without their content.
        let json = if state.content_intent {
            json
        } else {
            message.without_content().to_json(id)
        };
        state.dispatch("MESSAGE_CREATE", &json, true);
        drop(state);
        self.shared.bump();
        id
    }

    /// Adds a message to the channel's history without sending any event: a message posted
    /// while the bot was away, which Discord never replays. Returns the message id.
    pub fn add_missed_message(&self, message: FakeMessage) -> u64 {
        let mut state = self.shared.lock();
        let id = state.new_id();
        let json = message.to_json(id);
        state.history.push((message.channel_id, id, json));
        id
    }

    /// Sends INTERACTION_CREATE for this slash command on the live session (or keeps it for a
    /// resume). Returns the interaction id, which [`Seen::answers_to`] takes.
    pub fn send_interaction(&self, interaction: FakeInteraction) -> u64 {
        let id = self.shared.lock().send_interaction(&interaction);
        self.shared.bump();
        id
    }

    /// Sends GUILD_CREATE for `guild_id` (its short, unavailable form): the bot joined a guild.
    pub fn send_guild_create(&self, guild_id: u64) {
        self.shared.lock().send_guild_create(guild_id);
        self.shared.bump();
    }

    /// Sends op 7 RECONNECT: the shard should close and resume.
    pub fn request_reconnect(&self) {
        let mut state = self.shared.lock();
        state.send_current(gateway::Control::Text(
            r#"{"op":7,"s":null,"t":null,"d":null}"#.to_owned(),
        ));
        state.live = None;
    }

    /// Sends op 9 INVALID_SESSION. With `resumable` false the session is gone: the shard must
    /// identify again, and events until then are lost (as on Discord).
    pub fn invalidate_session(&self, resumable: bool) {
        let mut state = self.shared.lock();
        state.send_current(gateway::Control::Text(format!(
            r#"{{"op":9,"s":null,"t":null,"d":{resumable}}}"#
        )));
        state.live = None;
        if !resumable {
            state.session = None;
        }
    }

    /// Drops the current gateway connection without a close frame (a network failure).
    pub fn drop_connection(&self) {
        let mut state = self.shared.lock();
        state.send_current(gateway::Control::Drop);
        state.live = None;
    }

    /// Closes the current gateway connection with this close code and reason (4004 bad token,
    /// 4014 disallowed intents, 4000 unknown error, ...).
    pub fn close_connection(&self, code: u16, reason: &str) {
        let mut state = self.shared.lock();
        state.send_current(gateway::Control::Close(code, reason.to_owned()));
        state.live = None;
    }

    /// Serves `bytes` from the fake's CDN (on the REST address, over plain HTTP) and returns a
    /// signed link to it as Discord gives one:
    /// `http://ADDR/attachments/CHANNEL/ID/FILENAME?ex=..&is=..&hm=..`. The link expires at
    /// [`expire_links`](Self::expire_links); `POST /attachments/refresh-urls` then gives a
    /// fresh one to the same file.
    pub fn host_file(
        &self,
        channel_id: u64,
        filename: &str,
        bytes: impl Into<bytes::Bytes>,
    ) -> String {
        let mut state = self.shared.lock();
        let path = format!("/attachments/{channel_id}/{}/{filename}", state.new_id());
        state.cdn.insert(path.clone(), bytes.into());
        let generation = state.link_generation;
        drop(state);
        signed_link(&self.rest_addr.to_string(), &path, generation)
    }

    /// Expires every link the CDN has given so far: they answer 404 "This content is no longer
    /// available.", as Discord's do about a day after they are issued.
    pub fn expire_links(&self) {
        self.shared.lock().link_generation += 1;
    }

    /// What the fake has seen so far.
    pub fn seen(&self) -> Seen {
        self.shared.lock().seen()
    }

    /// Waits until `check` returns `Some`, re-checking after every change the fake sees, and
    /// gives up after the wait timeout.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&Seen) -> Option<T>,
    ) -> Result<T, WaitTimedOut> {
        let mut changes = self.shared.changed.subscribe();
        let waiting = async {
            loop {
                changes.borrow_and_update();
                if let Some(found) = check(&self.seen()) {
                    return found;
                }
                // The sender lives in `shared`, which outlives this borrow.
                let _ = changes.changed().await;
            }
        };
        tokio::time::timeout(self.wait_timeout, waiting)
            .await
            .map_err(|_| WaitTimedOut {
                what: what.to_owned(),
                timeout: self.wait_timeout,
                seen: self.seen().to_string(),
            })
    }

    /// Waits until the bot has posted at least `count` messages and returns them all.
    pub async fn wait_for_messages(&self, count: usize) -> Result<Vec<SentMessage>, WaitTimedOut> {
        self.wait_until(&format!("{count} posted messages"), |seen| {
            (seen.messages.len() >= count).then(|| seen.messages.clone())
        })
        .await
    }

    /// Waits until at least `count` identifies were accepted (READY sent) and a session is live.
    pub async fn wait_for_ready(&self, count: usize) -> Result<(), WaitTimedOut> {
        self.wait_until(&format!("{count} READY"), |seen| {
            (seen.readies >= count && seen.live).then_some(())
        })
        .await
    }

    /// Waits until at least `count` resumes were accepted (RESUMED sent) and a session is live.
    pub async fn wait_for_resumed(&self, count: usize) -> Result<(), WaitTimedOut> {
        self.wait_until(&format!("{count} RESUMED"), |seen| {
            (seen.resumes >= count && seen.live).then_some(())
        })
        .await
    }
}

/// Accepts connections and serves each on a task of its own until this future is dropped
/// (the tasks are aborted with it).
async fn serve_each<F, Fut>(listener: TcpListener, mut serve: F)
where
    F: FnMut(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve(stream));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

struct Shared {
    token: String,
    gateway_url: String,
    message_content_intent: bool,
    state: Mutex<State>,
    changed: watch::Sender<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes waiters.
    fn bump(&self) {
        self.changed.send_replace(());
    }

    fn token_ok(&self, presented: &str) -> bool {
        let presented = presented.strip_prefix("Bot ").unwrap_or(presented);
        presented == self.token
    }
}

#[derive(Default)]
struct State {
    /// The session that may be resumed: its id.
    session: Option<String>,
    sessions_started: u64,
    /// The last sequence number used.
    seq: u64,
    /// Dispatches of the current session, for replay on resume.
    log: Vec<(u64, String)>,
    /// The connection receiving dispatches now.
    live: Option<u64>,
    /// The most recent connection still open.
    current: Option<(u64, mpsc::UnboundedSender<gateway::Control>)>,
    next_connection: u64,
    seen: Seen,
    channels: HashMap<u64, Option<String>>,
    /// Every message ever sent to a channel, by id: channel id, message id, JSON.
    history: Vec<(u64, u64, String)>,
    /// The last message id given (a snowflake).
    next_message_id: u64,
    /// REST faults planned by the test.
    faults: history::Faults,
    /// Files the CDN serves, by path (`/attachments/...`).
    cdn: HashMap<String, bytes::Bytes>,
    /// Links signed before this generation have expired.
    link_generation: u64,
    /// Whether the current session asked for the Message Content intent.
    content_intent: bool,
    /// Whether the current session asked for message events (GUILD_MESSAGES or
    /// DIRECT_MESSAGES): without them Discord sends no MESSAGE_* event at all.
    message_intent: bool,
    /// Interactions and registered commands.
    interactions: interactions::Interactions,
}

/// A CDN link to `path` on `host` signed in `generation`.
fn signed_link(host: &str, path: &str, generation: u64) -> String {
    format!("http://{host}{path}?ex=6650a0b0&is=664f4f30&hm={generation:x}sig")
}

impl State {
    fn seen(&self) -> Seen {
        Seen {
            live: self.live.is_some(),
            ..self.seen.clone()
        }
    }

    fn send_current(&mut self, control: gateway::Control) {
        if let Some((_, tx)) = &self.current {
            let _ = tx.send(control);
        }
    }

    /// Sends a dispatch on the live connection and, when `replay`, logs it for a resume.
    fn dispatch(&mut self, event: &str, data: &str, replay: bool) {
        if event.starts_with("MESSAGE_") && !self.message_intent {
            return;
        }
        self.seq += 1;
        let frame = format!(r#"{{"op":0,"s":{},"t":"{event}","d":{data}}}"#, self.seq);
        if replay && self.session.is_some() {
            self.log.push((self.seq, frame.clone()));
        }
        if let (Some(live), Some((current, tx))) = (self.live, &self.current)
            && live == *current
        {
            let _ = tx.send(gateway::Control::Text(frame));
        }
    }
}
