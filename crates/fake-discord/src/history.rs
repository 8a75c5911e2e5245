//! Channel history as Discord serves it, message edits, and the REST faults a backfill meets:
//! a rate limit (429 with `retry_after`) and a channel the bot may not read (403).
//!
//! Message ids are snowflakes of the time they were made (milliseconds since Discord's epoch,
//! shifted left 22 bits), so they sort by age and say when a message was posted, as Discord's
//! do; a message's `timestamp` agrees with its id.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::{FakeDiscord, FakeMessage, State};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The snowflake of a message made `age` ago (the low 22 bits zero).
fn snowflake_aged(age: Duration) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(age);
    let ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX >> 22);
    ms.saturating_sub(DISCORD_EPOCH_MS) << 22
}

/// When the message with this snowflake was made, as Discord writes timestamps.
pub(super) fn timestamp_of(id: u64) -> String {
    let ms = i64::try_from((id >> 22) + DISCORD_EPOCH_MS).unwrap_or(i64::MAX);
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// The REST faults a test asked for.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Channels whose history answers 403 Missing Access.
    denied: HashSet<u64>,
    /// History requests to answer before the one that gets a 429 (`None`: no 429 planned).
    rate_limit_after: Option<usize>,
    /// What the 429 asks the client to wait, in seconds.
    retry_after: f64,
}

impl State {
    /// A new message id: the snowflake of now, after every id given so far.
    pub(super) fn new_id(&mut self) -> u64 {
        let id = snowflake_aged(Duration::ZERO).max(self.next_message_id + 1);
        self.next_message_id = id;
        id
    }
}

impl FakeDiscord {
    /// Adds a message posted `age` ago to the channel's history, without any event (a message
    /// posted while the bot was away, long ago). Returns its id, a snowflake of that time.
    pub fn add_old_message(&self, message: FakeMessage, age: Duration) -> u64 {
        let mut state = self.shared.lock();
        // Distinct from every other id, however many messages share the millisecond.
        let mut id = snowflake_aged(age) | 1;
        while state.history.iter().any(|(_, other, _)| *other == id) {
            id += 1;
        }
        let json = message.to_json(id);
        let at = state.history.partition_point(|(_, other, _)| *other < id);
        state.history.insert(at, (message.channel_id, id, json));
        id
    }

    /// The author edits message `id`: its history entry takes the new text and a
    /// `MESSAGE_UPDATE` carrying the whole message is dispatched, as Discord does. Returns
    /// `false` for an unknown message.
    pub fn edit_message(&self, id: u64, content: &str) -> bool {
        self.update_message(id, |message| {
            message["content"] = json!(content);
            message["edited_timestamp"] = json!(timestamp_of(snowflake_aged(Duration::ZERO)));
        })
    }

    /// Dispatches a `MESSAGE_UPDATE` for message `id` showing `author_id` as its author with
    /// the text `content`: what the bot would see if someone other than the author could edit
    /// it. The history keeps the original.
    pub fn send_update_as(&self, id: u64, author_id: u64, content: &str) -> bool {
        let mut state = self.shared.lock();
        let Some(mut message) = find(&state, id) else {
            return false;
        };
        message["author"]["id"] = json!(author_id.to_string());
        message["content"] = json!(content);
        state.dispatch("MESSAGE_UPDATE", &message.to_string(), true);
        drop(state);
        self.shared.bump();
        true
    }

    /// Discord unfurls a link in message `id`: a `MESSAGE_UPDATE` with the same text and an
    /// embed.
    pub fn add_embed(&self, id: u64) -> bool {
        self.update_message(id, |message| {
            message["embeds"] = json!([{ "type": "link", "url": "https://example.com/" }]);
        })
    }

    fn update_message(&self, id: u64, change: impl FnOnce(&mut Value)) -> bool {
        let mut state = self.shared.lock();
        let Some(mut message) = find(&state, id) else {
            return false;
        };
        change(&mut message);
        let json = message.to_string();
        if let Some(entry) = state.history.iter_mut().find(|(_, other, _)| *other == id) {
            entry.2.clone_from(&json);
        }
        state.dispatch("MESSAGE_UPDATE", &json, true);
        drop(state);
        self.shared.bump();
        true
    }

    /// Dispatches `MESSAGE_CREATE` for message `id` again, as a gateway may deliver an event
    /// twice. Returns `false` for an unknown message.
    pub fn redeliver(&self, id: u64) -> bool {
        let mut state = self.shared.lock();
        let Some(message) = find(&state, id) else {
            return false;
        };
        state.dispatch("MESSAGE_CREATE", &message.to_string(), true);
        drop(state);
        self.shared.bump();
        true
    }

    /// The author deletes message `id`: it leaves the history and `MESSAGE_DELETE` is
    /// dispatched. Returns `false` for an unknown message.
    pub fn delete_message(&self, id: u64) -> bool {
        let mut state = self.shared.lock();
        let Some(at) = state.history.iter().position(|(_, other, _)| *other == id) else {
            return false;
        };
        let (channel, _, _) = state.history.remove(at);
        let event = json!({
            "id": id.to_string(),
            "channel_id": channel.to_string(),
            "guild_id": super::GUILD_ID.to_string(),
        });
        state.dispatch("MESSAGE_DELETE", &event.to_string(), true);
        drop(state);
        self.shared.bump();
        true
    }

    /// From now on, reading channel `channel_id`'s history answers 403 Missing Access (the bot
    /// lost View Channel or Read Message History there).
    pub fn deny_history(&self, channel_id: u64) {
        self.shared.lock().faults.denied.insert(channel_id);
    }

    /// After `after` more history requests are answered, the next one gets a 429 asking to wait
    /// `retry_after` seconds (body `retry_after` and the `x-ratelimit-*` headers, as Discord
    /// sends them); the ones after it are answered again.
    pub fn rate_limit_history(&self, after: usize, retry_after: f64) {
        let mut state = self.shared.lock();
        state.faults.rate_limit_after = Some(after);
        state.faults.retry_after = retry_after;
    }
}

fn find(state: &State, id: u64) -> Option<Value> {
    state
        .history
        .iter()
        .find(|(_, other, _)| *other == id)
        .and_then(|(_, _, json)| serde_json::from_str(json).ok())
}

/// `GET /channels/{id}/messages?after=&before=&limit=`, as Discord answers it: at most `limit`
/// (1 to 100, default 50) messages, newest first. With `after`, the oldest `limit` messages
/// after it; with `before`, the newest `limit` before it; with neither, the newest.
pub(super) fn list(state: &mut State, channel: u64, query: &str) -> Response<Full<Bytes>> {
    let faults = &mut state.faults;
    if faults.denied.contains(&channel) {
        return reply(
            StatusCode::FORBIDDEN,
            &json!({ "message": "Missing Access", "code": 50001 }),
        );
    }
    if let Some(left) = faults.rate_limit_after {
        if left == 0 {
            faults.rate_limit_after = None;
            let retry_after = faults.retry_after;
            let mut limited = reply(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": false,
                }),
            );
            let headers = limited.headers_mut();
            for (name, value) in [
                ("x-ratelimit-scope", "user".to_owned()),
                ("x-ratelimit-bucket", "fake-history".to_owned()),
                ("x-ratelimit-limit", "5".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
                ("retry-after", format!("{}", retry_after.ceil())),
            ] {
                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            state.seen.rate_limited += 1;
            return limited;
        }
        faults.rate_limit_after = Some(left - 1);
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let limit = param("limit")
        .map_or(50, |l| usize::try_from(l).unwrap_or(100))
        .clamp(1, 100);
    let in_channel = state.history.iter().filter(|(c, _, _)| *c == channel);
    let mut found: Vec<&str> = match (param("after"), param("before")) {
        (Some(after), _) => in_channel
            .filter(|(_, id, _)| *id > after)
            .take(limit)
            .map(|(_, _, json)| json.as_str())
            .collect(),
        (None, before) => {
            let mut newest: Vec<&str> = in_channel
                .filter(|(_, id, _)| before.is_none_or(|b| *id < b))
                .map(|(_, _, json)| json.as_str())
                .rev()
                .take(limit)
                .collect();
            newest.reverse();
            newest
        }
    };
    found.reverse();
    let mut answer = Response::new(Full::new(Bytes::from(format!("[{}]", found.join(",")))));
    answer.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    answer
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut reply = Response::new(Full::new(Bytes::from(body.to_string())));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    reply
}
