//! The gateway runner: a twilight shard and HTTP client around the [`CommandHandler`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use coach_plans_model::{Attachment, ChannelId, MessageId, RoleId, UserId};
use coach_plans_service::RefusedChange;
use coach_plans_storage::{DeliveryLog, MemoryDeliveryLog};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use twilight_gateway::error::ReceiveMessageErrorType;
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, ShardState,
    StreamExt as _,
};
use twilight_http::Client;
use twilight_http::error::ErrorType;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::gateway::CloseCode;
use twilight_model::gateway::connection_info::BotConnectionInfo;
use twilight_model::id::Id;

use crate::handler::{CommandHandler, IncomingMessage};
use crate::settings::{GatewaySettings, InvalidSettings};
use crate::slash::gateway::{self as slash, Registrar};
use crate::state::BotState;

mod delivery;

/// Guild messages and their content: Message Content is a privileged intent that must be
/// enabled in the Discord developer portal (docs/discord-setup.md).
const INTENTS: Intents = Intents::GUILD_MESSAGES.union(Intents::MESSAGE_CONTENT);

/// The intents asked for: [`INTENTS`], or none of the message intents when the Message Content
/// intent is off (messages would arrive empty; only slash commands work); GUILDS for
/// guild-scoped slash commands, to hear of servers joined later (GUILD_CREATE).
fn intents(settings: &GatewaySettings) -> Intents {
    let messages = if settings.message_content_intent {
        INTENTS
    } else {
        Intents::empty()
    };
    match settings.slash_commands {
        coach_plans_config::SlashCommands::Guild => messages | Intents::GUILDS,
        _ => messages,
    }
}

/// The gateway events the runner reads; closes are always delivered.
const EVENTS: EventTypeFlags = EventTypeFlags::READY
    .union(EventTypeFlags::RESUMED)
    .union(EventTypeFlags::MESSAGE_CREATE)
    .union(EventTypeFlags::MESSAGE_UPDATE)
    .union(EventTypeFlags::GATEWAY_RECONNECT)
    .union(EventTypeFlags::GATEWAY_INVALIDATE_SESSION)
    .union(EventTypeFlags::INTERACTION_CREATE)
    .union(EventTypeFlags::GUILD_CREATE);

/// How long a shutdown waits for Discord to answer the close frame, and for replies in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a channel-name lookup may delay a command.
const CHANNEL_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a failed channel-name lookup is remembered before it is tried again.
const CHANNEL_LOOKUP_RETRY: Duration = Duration::from_secs(300);

/// Message ids remembered to avoid handling a message twice (live and caught up).
const REMEMBERED_MESSAGES: usize = 1000;

/// Why the bot stopped for good. The API keeps serving; health shows the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BotError {
    /// Discord does not accept the token.
    #[error("Discord rejected the bot token ({detail}): check DISCORD_BOT_TOKEN")]
    BadToken {
        /// How Discord said it (`close code 4004`, `HTTP 401 on GET /gateway/bot`).
        detail: String,
    },
    /// Discord refused the intents: the Message Content intent is not enabled.
    #[error(
        "Discord refused the bot's intents (close code {code}): enable the Message Content intent in the Discord developer portal (Applications > your app > Bot > Privileged Gateway Intents), then restart"
    )]
    DisallowedIntents {
        /// The close code, 4014.
        code: u16,
    },
    /// Another close code after which Discord does not allow reconnecting.
    #[error(
        "Discord closed the gateway for good (close code {code}: {reason}); the bot stays offline until restarted"
    )]
    Closed {
        /// The close code.
        code: u16,
        /// Discord's name for it.
        reason: String,
    },
    /// Discord could not be reached at startup.
    #[error(
        "could not reach Discord after {attempts} attempts ({last_error}); the bot stays offline until restarted"
    )]
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The settings cannot work.
    #[error(transparent)]
    Settings(#[from] InvalidSettings),
}

/// The Discord bot: connects with the settings, feeds every message to the handler and posts
/// its replies. See [`DiscordBot::run`].
///
/// Clones share the state, the delivery log and the refusals: a replica that takes the gateway
/// over more than once (SPEC 16) runs a clone each time it leads.
#[derive(Clone)]
pub struct DiscordBot {
    settings: GatewaySettings,
    handler: CommandHandler,
    state: BotState,
    /// Taken by the running bot for as long as it runs.
    refusals: Option<Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<RefusedChange>>>>,
    deliveries: Arc<dyn DeliveryLog>,
}

impl std::fmt::Debug for DiscordBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordBot")
            .field("settings", &self.settings)
            .field("handler", &self.handler)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl DiscordBot {
    /// A bot that will connect with these settings and answer through this handler.
    pub fn new(settings: GatewaySettings, handler: CommandHandler) -> Self {
        Self {
            settings,
            handler,
            state: BotState::new(),
            refusals: None,
            deliveries: Arc::new(MemoryDeliveryLog::new()),
        }
    }

    /// Keeps what the bot knows about Discord messages (each channel's last processed message,
    /// the commands handled and the plan each made) in this log, durably, instead of in
    /// memory: then a message is handled once across restarts too, the backfill after a
    /// restart starts where the bot stopped, and edits of messages handled before a restart
    /// still revise their plans.
    #[must_use]
    pub fn with_delivery_log(mut self, deliveries: Arc<dyn DeliveryLog>) -> Self {
        self.deliveries = deliveries;
        self
    }

    /// Tells the authors of these refused changes (held while the database was unavailable,
    /// then refused when written through), with a reply to the message that made each one.
    #[must_use]
    pub fn with_refusals(mut self, refusals: mpsc::UnboundedReceiver<RefusedChange>) -> Self {
        self.refusals = Some(Arc::new(tokio::sync::Mutex::new(refusals)));
        self
    }

    /// The state handle the health endpoint reads (clone it before [`run`](Self::run)).
    pub fn state(&self) -> BotState {
        self.state.clone()
    }

    /// Connects and handles messages until `shutdown` completes (then closes the gateway with a
    /// normal close frame, lets replies in flight finish, and returns `Ok`) or until a fatal
    /// error: a rejected token, a refused intent, or Discord unreachable at startup after the
    /// configured attempts. A fatal error is logged once, in words an operator can act on, and
    /// left in the [`BotState`]; the process is not affected. Must run inside a Tokio runtime.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), BotError> {
        let state = self.state.clone();
        let result = self.run_until(shutdown).await;
        match &result {
            Ok(()) => {
                state.set_disconnected("stopped");
                log::info!("Discord bot stopped");
            }
            Err(error) => {
                state.set_disconnected(error.to_string());
                log::error!("{error}");
            }
        }
        result
    }

    async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), BotError> {
        // twilight's TLS setup needs a process-wide provider even for ws:// and http://.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rest_proxy = self.settings.rest_proxy()?;
        let gateway_url = self.settings.gateway_proxy()?;
        let token = self.settings.token.expose().to_owned();

        let mut http = Client::builder().token(token.clone());
        if let Some((host, use_http)) = rest_proxy {
            http = http.proxy(host, use_http);
        }
        let http = Arc::new(http.build());

        let mut shutdown = std::pin::pin!(shutdown);
        let info = tokio::select! {
            () = &mut shutdown => return Ok(()),
            info = self.check_token(&http) => info?,
        };

        let queue = if self.settings.fast_identify {
            InMemoryQueue::new(0, 0, Duration::ZERO, 0)
        } else {
            let limit = info.session_start_limit;
            InMemoryQueue::new(
                limit.max_concurrency.max(1),
                limit.remaining.min(limit.total),
                Duration::from_millis(limit.reset_after),
                limit.total,
            )
        };
        let mut config = ConfigBuilder::new(token, intents(&self.settings)).queue(queue);
        if let Some(url) = gateway_url {
            config = config.proxy_url(url);
        }
        let mut shard = Shard::with_config(ShardId::ONE, config.build());
        log::info!("connecting to the Discord gateway");

        let (jobs, rx) = mpsc::unbounded_channel();
        let (replies, outbox) = mpsc::unbounded_channel();
        let replies_to_refused = replies.clone();
        let worker = Worker {
            handler: self.handler.clone(),
            http: Arc::clone(&http),
            channel_names: HashMap::new(),
            handled: RecentIds::default(),
            deliveries: Arc::clone(&self.deliveries),
            backfill_max_age: self.settings.backfill_max_age,
            state: self.state.clone(),
            replies,
            sender: tokio::spawn(send_replies(Arc::clone(&http), outbox)),
        };
        let worker = tokio::spawn(worker.run(rx));
        let refusals = self.refusals.take().map(|refusals| {
            tokio::spawn(tell_refused(
                refusals,
                replies_to_refused,
                self.handler.clone(),
            ))
        });

        let mut registrar = Registrar::new(
            self.settings.slash_commands,
            self.handler.service().roster(),
        );
        let mut session = Session {
            bot_user_id: None,
            last_seen: BTreeMap::new(),
        };
        let outcome = loop {
            let item = tokio::select! {
                () = &mut shutdown => {
                    close_gracefully(&mut shard).await;
                    break Ok(());
                }
                item = shard.next_event(EVENTS) => item,
            };
            let Some(item) = item else {
                // Only after a fatal close, which is handled below; never poll again.
                break Ok(());
            };
            let event = match item {
                Ok(event) => event,
                Err(error) => {
                    if matches!(error.kind(), ReceiveMessageErrorType::Reconnect) {
                        log::warn!("Discord gateway connection failed; twilight retries: {error}");
                        self.state
                            .set_disconnected(format!("reconnecting to Discord: {error}"));
                    } else {
                        log::warn!("ignored a gateway event that could not be read: {error}");
                    }
                    continue;
                }
            };
            self.state.touch();
            match event {
                Event::Ready(ready) => {
                    session.bot_user_id = UserId::new(ready.user.id.get());
                    let guilds = ready.guilds.iter().map(|guild| guild.id);
                    registrar.on_ready(&http, ready.application.id, guilds);
                    self.state.set_connected();
                    log::info!(
                        "connected to Discord as {} ({})",
                        ready.user.name,
                        ready.user.id
                    );
                    // A new session: Discord replays nothing missed before it. Commands
                    // arriving meanwhile queue behind the backfill, so each channel's
                    // messages are handled in order. Without the Message Content intent
                    // there are no prefix commands to read back (slash commands missed
                    // while disconnected were answered by no one and Discord drops them).
                    if self.settings.message_content_intent {
                        let _ = jobs.send(Job::Backfill {
                            seen: session.last_seen.clone(),
                            session_start: jiff::Timestamp::now(),
                        });
                    }
                }
                Event::Resumed => {
                    self.state.set_connected();
                    log::info!("Discord session resumed");
                }
                Event::GatewayReconnect => {
                    self.state
                        .set_disconnected("Discord asked the bot to reconnect; reconnecting");
                    log::info!("Discord asked the bot to reconnect");
                }
                Event::GatewayInvalidateSession(resumable) => {
                    self.state
                        .set_disconnected("Discord invalidated the session; reconnecting");
                    log::info!("Discord invalidated the session (resumable: {resumable})");
                }
                Event::GatewayClose(frame) => {
                    let code = frame.as_ref().map(|f| f.code);
                    if shard.state() == ShardState::FatallyClosed {
                        break Err(fatal_close(code.unwrap_or_default()));
                    }
                    let code = code.map_or_else(|| "none".to_owned(), |c| c.to_string());
                    self.state.set_disconnected(format!(
                        "connection closed (close code {code}); reconnecting"
                    ));
                    log::info!(
                        "Discord closed the gateway connection (close code {code}); reconnecting"
                    );
                }
                Event::InteractionCreate(created) => {
                    let defer_after = self.settings.defer_after;
                    if let Some(received) = slash::receive(&http, created.0, defer_after) {
                        let _ = jobs.send(Job::Slash(Box::new(received)));
                    }
                }
                Event::GuildCreate(guild) => registrar.on_guild(&http, guild.id()),
                // Without the Message Content intent only slash commands are answered.
                Event::MessageCreate(_) if !self.settings.message_content_intent => {}
                Event::MessageCreate(created) => {
                    let Some(message) = incoming(&created) else {
                        continue;
                    };
                    if self.handler.listens_to(&message)
                        && let Some(id) = message.id
                    {
                        session.last_seen.insert(message.channel_id, id);
                    }
                    let prefix = self.handler.settings().prefix.as_str();
                    let own = session.bot_user_id == Some(message.author_id);
                    if own
                        || !self.handler.listens_to(&message)
                        || !message.content.trim_start().starts_with(prefix)
                    {
                        continue;
                    }
                    let _ = jobs.send(Job::Message(Box::new(message)));
                }
                Event::MessageUpdate(_) if !self.settings.message_content_intent => {}
                Event::MessageUpdate(updated) => {
                    let Some(message) = incoming(&updated) else {
                        continue;
                    };
                    if session.bot_user_id != Some(message.author_id)
                        && self.handler.listens_to(&message)
                    {
                        let _ = jobs.send(Job::Update(Box::new(message)));
                    }
                }
                _ => {}
            }
        };
        // Where the bot got to in each channel, for the backfill after the next start.
        let _ = jobs.send(Job::SaveCursors(session.last_seen));
        drop(jobs);
        drop(shard);
        if let Some(refusals) = refusals {
            refusals.abort();
        }
        // Commands already received are carried out; their replies get a moment to go out.
        if tokio::time::timeout(SHUTDOWN_GRACE * 2, worker)
            .await
            .is_err()
        {
            log::warn!("stopped waiting for Discord replies still in flight");
        }
        outcome
    }

    /// `GET /gateway/bot` with backoff: proves the token and that Discord is reachable, and tells
    /// how many sessions may be started.
    async fn check_token(&self, http: &Client) -> Result<BotConnectionInfo, BotError> {
        let attempts = self.settings.reconnect_attempts.max(1);
        let delay = self.settings.reconnect_delay;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(delay)
            .with_factor(2.0)
            .with_max_delay(delay.saturating_mul(16))
            .with_max_times(usize::try_from(attempts - 1).unwrap_or(usize::MAX));
        let fetch = || async {
            let response = http.gateway().authed().await.map_err(StartupError::Http)?;
            response
                .model()
                .await
                .map_err(|e| StartupError::Body(e.to_string()))
        };
        let state = &self.state;
        let result = fetch
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|error: &StartupError| !error.is_unauthorized())
            .notify(|error: &StartupError, wait: Duration| {
                log::warn!("cannot reach Discord yet ({error}); trying again in {wait:?}");
                state.set_disconnected(format!("cannot reach Discord yet: {error}"));
            })
            .await;
        match result {
            Ok(info) => Ok(info),
            Err(error) if error.is_unauthorized() => Err(BotError::BadToken {
                detail: "HTTP 401 on GET /gateway/bot".to_owned(),
            }),
            Err(error) => Err(BotError::Unreachable {
                attempts,
                last_error: error.to_string(),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum StartupError {
    #[error("{0}")]
    Http(twilight_http::Error),
    #[error("unreadable answer: {0}")]
    Body(String),
}

impl StartupError {
    fn is_unauthorized(&self) -> bool {
        match self {
            Self::Http(error) => match error.kind() {
                ErrorType::Unauthorized => true,
                ErrorType::Response { status, .. } => status.get() == 401,
                _ => false,
            },
            Self::Body(_) => false,
        }
    }
}

fn fatal_close(code: u16) -> BotError {
    match CloseCode::try_from(code) {
        Ok(CloseCode::AuthenticationFailed) => BotError::BadToken {
            detail: format!("close code {code}"),
        },
        Ok(CloseCode::DisallowedIntents) => BotError::DisallowedIntents { code },
        Ok(other) => BotError::Closed {
            code,
            reason: other.to_string(),
        },
        Err(_) => BotError::Closed {
            code,
            reason: "unknown".to_owned(),
        },
    }
}

/// Sends a normal close frame and waits (briefly) for Discord's answer. Polling a shard that is
/// not connected would make it reconnect, so a disconnected shard is simply dropped.
async fn close_gracefully(shard: &mut Shard<InMemoryQueue>) {
    if matches!(
        shard.state(),
        ShardState::Disconnected { .. } | ShardState::FatallyClosed
    ) {
        return;
    }
    log::info!("closing the Discord gateway connection");
    shard.close(CloseFrame::NORMAL);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(item) = shard.next_event(EventTypeFlags::empty()).await {
            if matches!(item, Ok(Event::GatewayClose(_))) {
                break;
            }
        }
    });
    if drained.await.is_err() {
        log::warn!("Discord did not answer the close frame in time");
    }
}

/// What the event loop remembers across connections.
struct Session {
    bot_user_id: Option<UserId>,
    /// The last message seen in each channel the bot listens to (commands or not): written to
    /// the delivery log at shutdown, and a start for the next backfill.
    last_seen: BTreeMap<ChannelId, MessageId>,
}

enum Job {
    /// A message from the gateway.
    Message(Box<IncomingMessage>),
    /// A slash command, carried out in turn with messages.
    Slash(Box<slash::Received>),
    /// A message was edited.
    Update(Box<IncomingMessage>),
    /// A new session began: read what was missed.
    Backfill {
        /// The last message seen live in each channel.
        seen: BTreeMap<ChannelId, MessageId>,
        /// When the session began: messages older than this are handled late.
        session_start: jiff::Timestamp,
    },
    /// The bot is stopping: keep where it got to.
    SaveCursors(BTreeMap<ChannelId, MessageId>),
}

/// Carries out commands one at a time, in the order received, so that a post followed by an
/// edit happen in that order. Replies go out on a task of their own, in the same order, so a
/// slow REST call never holds up the next command.
struct Worker {
    handler: CommandHandler,
    http: Arc<Client>,
    channel_names: HashMap<ChannelId, (Option<String>, Instant)>,
    handled: RecentIds,
    deliveries: Arc<dyn DeliveryLog>,
    backfill_max_age: Duration,
    state: BotState,
    replies: mpsc::UnboundedSender<Outgoing>,
    sender: JoinHandle<()>,
}

/// The replies to one message.
struct Outgoing {
    channel: ChannelId,
    reply_to: Option<MessageId>,
    replies: Vec<String>,
}

impl Worker {
    async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Slash(received) => slash::answer(&self.handler, *received).await,
                Job::Message(message) => {
                    self.deliver(*message, None).await;
                }
                Job::Update(message) => self.update(*message).await,
                Job::Backfill {
                    seen,
                    session_start,
                } => self.backfill(seen, session_start).await,
                Job::SaveCursors(seen) => self.save_cursors(seen).await,
            }
        }
        // The last replies go out before the worker ends.
        drop(self.replies);
        let _ = self.sender.await;
    }

    /// The channel's name, from a small cache filled by `GET /channels/{id}`. A failed lookup
    /// gives `None` quickly and never blocks the command.
    async fn channel_name(&mut self, channel: ChannelId) -> Option<String> {
        if let Some((name, at)) = self.channel_names.get(&channel)
            && (name.is_some() || at.elapsed() < CHANNEL_LOOKUP_RETRY)
        {
            return name.clone();
        }
        let http = &self.http;
        let lookup = async {
            let response = http
                .channel(Id::new(channel.get()))
                .await
                .map_err(|e| e.to_string())?;
            response.model().await.map_err(|e| e.to_string())
        };
        let name = match tokio::time::timeout(CHANNEL_LOOKUP_TIMEOUT, lookup).await {
            Ok(Ok(found)) => found.name,
            Ok(Err(error)) => {
                log::debug!("could not look up the name of channel {channel}: {error}");
                None
            }
            Err(_) => {
                log::debug!("looking up the name of channel {channel} timed out");
                None
            }
        };
        self.channel_names
            .insert(channel, (name.clone(), Instant::now()));
        name
    }
}

/// Replies to the message behind each refused held change, telling its author.
async fn tell_refused(
    refusals: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<RefusedChange>>>,
    replies: mpsc::UnboundedSender<Outgoing>,
    handler: CommandHandler,
) {
    let mut refusals = refusals.lock().await;
    while let Some(change) = refusals.recv().await {
        let Some(channel) = change.plan.channel.id else {
            continue;
        };
        let outgoing = Outgoing {
            channel,
            reply_to: change.plan.message_id,
            replies: handler.refusal_replies(&change),
        };
        if replies.send(outgoing).is_err() {
            return;
        }
    }
}

/// Posts replies in the order the commands were handled.
async fn send_replies(http: Arc<Client>, mut outbox: mpsc::UnboundedReceiver<Outgoing>) {
    // Replies quote user text: they must never ping anyone (no @everyone, no roles, no users).
    let no_pings = AllowedMentions::default();
    while let Some(Outgoing {
        channel,
        reply_to,
        replies,
    }) = outbox.recv().await
    {
        for reply in replies {
            let mut request = http
                .create_message(Id::new(channel.get()))
                .content(&reply)
                .allowed_mentions(Some(&no_pings));
            if let Some(id) = reply_to {
                request = request.reply(Id::new(id.get())).fail_if_not_exists(false);
            }
            if let Err(error) = request.await {
                log::warn!("could not post a reply in channel {channel}: {error}");
                break;
            }
        }
    }
}

/// The message as the command layer sees it.
fn incoming(message: &twilight_model::channel::Message) -> Option<IncomingMessage> {
    let member = message.member.as_ref();
    let author = &message.author;
    let author_name = member
        .and_then(|m| m.nick.clone())
        .or_else(|| author.global_name.clone())
        .unwrap_or_else(|| author.name.clone());
    Some(IncomingMessage {
        id: MessageId::new(message.id.get()),
        channel_id: ChannelId::new(message.channel_id.get())?,
        channel_name: None,
        author_id: UserId::new(author.id.get())?,
        author_name,
        author_is_bot: author.bot,
        from_webhook: message.webhook_id.is_some(),
        role_ids: member
            .map(|m| {
                m.roles
                    .iter()
                    .filter_map(|r| RoleId::new(r.get()))
                    .collect()
            })
            .unwrap_or_default(),
        content: message.content.clone(),
        attachments: message
            .attachments
            .iter()
            .map(|a| Attachment {
                url: a.url.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: Some(a.size),
            })
            .collect(),
    })
}

/// The last message ids handled, to handle none twice.
#[derive(Default)]
struct RecentIds {
    order: VecDeque<MessageId>,
    set: HashSet<MessageId>,
}

impl RecentIds {
    /// Remembers the id; false when it was already known.
    fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED_MESSAGES
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}
