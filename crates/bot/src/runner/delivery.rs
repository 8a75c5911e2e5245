//! Each message handled once, in order, across reconnects and restarts (SPEC 15): the
//! backfill after every new gateway session, the delivery log that remembers what was handled,
//! and edits of handled messages.
//!
//! The worker carries out one job at a time. A backfill is one job: commands arriving live
//! meanwhile wait behind it, so a channel's messages are handled in message order, and one
//! the backfill already read is recognised by its id and not handled again.
//!
//! A message is recorded in the delivery log *after* it was handled (at least once): a crash
//! between the plan being stored and the message being recorded makes the next backfill
//! handle it again, which replaces the plan with the same text (one more history entry, one
//! more reply) rather than losing it. The in-memory set of recent ids also covers a delivery
//! log that cannot be reached for a while (the database is down).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use coach_plans_model::{ChannelId, MessageId, PlanId};
use coach_plans_storage::{Delivery, DeliveryLog, PROVISIONAL_ID_BASE, StoreError};
use twilight_http::error::ErrorType;
use twilight_model::id::Id;

use super::{Outgoing, Worker, incoming};
use crate::handler::IncomingMessage;
use crate::reply::MAX_MESSAGE_CHARS;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// Messages asked for per history request: Discord's maximum.
const PAGE: u16 = 100;

/// How long one history request may take, rate-limit waits included, before the channel is
/// given up for this backfill.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// When the message with this id was posted (its snowflake says so).
pub(super) fn posted_at(id: MessageId) -> Option<jiff::Timestamp> {
    let ms = i64::try_from(id.get() >> 22).ok()? + DISCORD_EPOCH_MS;
    jiff::Timestamp::from_millisecond(ms).ok()
}

/// The first snowflake, for times before Discord's epoch.
const FIRST: MessageId = match MessageId::new(1) {
    Some(id) => id,
    None => panic!("1 is not zero"),
};

/// The smallest snowflake of a message posted at `at` or later: an `after` bound.
pub(super) fn snowflake_at(at: jiff::Timestamp) -> MessageId {
    let ms = u64::try_from(at.as_millisecond() - DISCORD_EPOCH_MS).unwrap_or(0);
    MessageId::new(ms << 22).unwrap_or(FIRST)
}

/// The plan id as the delivery log keeps it: a plan the fallback holds has a provisional id
/// until the database is back, by which an edit could not find it later.
fn kept(plan: Option<PlanId>) -> Option<PlanId> {
    plan.filter(|p| p.get() < PROVISIONAL_ID_BASE)
}

/// Runs a delivery log call on the blocking pool.
async fn logged<T: Send + 'static>(
    log: &Arc<dyn DeliveryLog>,
    call: impl FnOnce(&dyn DeliveryLog) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let log = Arc::clone(log);
    tokio::task::spawn_blocking(move || call(log.as_ref()))
        .await
        .unwrap_or_else(|error| Err(StoreError::Other(Box::new(error))))
}

/// What one channel's backfill did.
#[derive(Default)]
struct ChannelOutcome {
    recovered: u64,
    skipped: bool,
}

impl Worker {
    /// Handles a message unless it was handled already (by id: recently in this process, or
    /// ever according to the delivery log), records it, and queues its replies. `late` is the
    /// start of the session whose backfill found it: a message posted before then gets a line
    /// saying it was handled late. Returns whether it was handled now.
    pub(super) async fn deliver(
        &mut self,
        mut message: IncomingMessage,
        late: Option<jiff::Timestamp>,
    ) -> bool {
        let Some(id) = message.id else {
            self.handle_and_reply(message, None).await;
            return true;
        };
        if !self.handled.insert(id) {
            return false;
        }
        match logged(&self.deliveries, move |log| log.delivery(id)).await {
            Ok(Some(_)) => {
                log::debug!("message {id} was handled before; not again");
                return false;
            }
            Ok(None) => {}
            Err(error) => log::warn!(
                "the delivery log cannot be read ({error}); handling message {id} anyway"
            ),
        }
        message.channel_name = self.channel_name(message.channel_id).await;
        let posted = posted_at(id);
        let late_note = late
            .zip(posted)
            .filter(|(start, posted)| posted < start)
            .map(|(_, posted)| {
                format!(
                    "🕒 Handled late: posted {} while the bot was disconnected.",
                    posted.strftime("%Y-%m-%d %H:%M UTC")
                )
            });
        let delivery = self.handle_and_reply(message, late_note).await;
        if let Some(delivery) = delivery {
            match logged(&self.deliveries, move |log| log.record(&delivery)).await {
                Ok(_) => {}
                Err(error) => log::warn!(
                    "could not record message {id} as handled ({error}); it is remembered in memory only"
                ),
            }
        }
        true
    }

    /// Handles the message and queues its replies (with the late note last, if any); returns
    /// the record of it for the delivery log.
    async fn handle_and_reply(
        &mut self,
        message: IncomingMessage,
        late_note: Option<String>,
    ) -> Option<Delivery> {
        let (mut replies, plan) = self.handler.handle_tracked(&message).await;
        if let Some(note) = late_note
            && !replies.is_empty()
        {
            match replies.last_mut() {
                Some(last)
                    if last.chars().count() + 1 + note.chars().count() <= MAX_MESSAGE_CHARS =>
                {
                    last.push('\n');
                    last.push_str(&note);
                }
                _ => replies.push(note),
            }
        }
        if !replies.is_empty() {
            let _ = self.replies.send(Outgoing {
                channel: message.channel_id,
                reply_to: message.id,
                replies,
            });
        }
        Some(Delivery {
            message: message.id?,
            channel: message.channel_id,
            author: message.author_id,
            plan: kept(plan),
            content: message.content,
        })
    }

    /// The author edited a message: when it is one the bot handled and that made or changed a
    /// plan, and its text changed, the plan is revised from the new text.
    pub(super) async fn update(&mut self, mut message: IncomingMessage) {
        let Some(id) = message.id else {
            return;
        };
        let delivery = match logged(&self.deliveries, move |log| log.delivery(id)).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => {
                log::debug!("message {id} was edited, but the bot never handled it; ignored");
                return;
            }
            Err(error) => {
                log::warn!(
                    "the delivery log cannot be read ({error}); the edit of message {id} is not applied"
                );
                return;
            }
        };
        if delivery.author != message.author_id {
            log::info!(
                "message {id} was changed by {} ({}), not its author; the plan is left as it is",
                message.author_name,
                message.author_id
            );
            return;
        }
        let Some(plan) = delivery.plan else {
            return;
        };
        // Discord also sends an update when it adds a link preview: same text, not an edit.
        // An empty text is what arrives without the Message Content intent.
        if message.content.trim().is_empty() || message.content == delivery.content {
            return;
        }
        message.channel_name = self.channel_name(message.channel_id).await;
        let replies = self.handler.revise_from_edit(&message, plan).await;
        let content = message.content.clone();
        if let Err(error) = logged(&self.deliveries, move |log| log.record_edit(id, &content)).await
        {
            log::warn!("could not record the edit of message {id}: {error}");
        }
        if !replies.is_empty() {
            let _ = self.replies.send(Outgoing {
                channel: message.channel_id,
                reply_to: Some(id),
                replies,
            });
        }
    }

    /// Reads back, channel by channel, what was posted since the last message processed there
    /// and handles the commands in it, oldest first. Channels: those of the allow-list, those
    /// with a cursor in the delivery log, those seen live. A channel with no cursor yet starts
    /// now (its cursor is set, so the next backfill covers from here); none goes further back
    /// than the maximum age.
    pub(super) async fn backfill(
        &mut self,
        seen: BTreeMap<ChannelId, MessageId>,
        session_start: jiff::Timestamp,
    ) {
        if self.backfill_max_age.is_zero() {
            return;
        }
        let mut channels: BTreeMap<ChannelId, Option<MessageId>> = BTreeMap::new();
        match logged(&self.deliveries, |log| log.cursors()).await {
            Ok(cursors) => channels.extend(cursors.into_iter().map(|(c, m)| (c, Some(m)))),
            Err(error) => log::warn!(
                "the delivery log cannot be read ({error}); backfilling only the channels seen since the bot started"
            ),
        }
        for (channel, id) in seen {
            let cursor = channels.entry(channel).or_default();
            *cursor = (*cursor).max(Some(id));
        }
        let allowed = self.handler.settings().channels.clone();
        for channel in &allowed {
            channels.entry(*channel).or_default();
        }
        let age = jiff::SignedDuration::try_from(self.backfill_max_age)
            .unwrap_or(jiff::SignedDuration::MAX);
        let oldest = session_start
            .checked_sub(age)
            .unwrap_or(jiff::Timestamp::MIN);
        let floor = snowflake_at(oldest);
        let (mut recovered, mut skipped) = (0, 0);
        for (channel, cursor) in channels {
            if !allowed.is_empty() && !allowed.contains(&channel) {
                continue;
            }
            let Some(cursor) = cursor else {
                // One below: a message of the same millisecond is read back too.
                let now = MessageId::new(snowflake_at(session_start).get() - 1).unwrap_or(FIRST);
                log::info!("channel {channel} has no backfill cursor yet: it starts now");
                self.advance_cursor(channel, now).await;
                continue;
            };
            if cursor < floor {
                log::warn!(
                    "channel {channel}: messages older than {} hours (discord.backfill_max_age_hours) are not read back",
                    self.backfill_max_age.as_secs() / 3600
                );
            }
            let outcome = self
                .backfill_channel(channel, cursor.max(floor), session_start)
                .await;
            recovered += outcome.recovered;
            skipped += u64::from(outcome.skipped);
        }
        if recovered > 0 || skipped > 0 {
            log::info!(
                "backfill done: {recovered} missed command(s) handled, {skipped} channel(s) skipped"
            );
        }
        self.state.backfilled(recovered, skipped);
    }

    /// One channel's backfill: pages of up to 100 messages after `after`, oldest page first,
    /// until a short page says the bot has caught up; then the commands in them, page by page,
    /// the cursor moved past each page once its commands are handled.
    ///
    /// Every page is read before any command is handled: the replies share Discord's global
    /// limit of 50 requests a second with the history requests, and would otherwise hold each
    /// page up (`cargo xtask bench backfill`: 1,000 missed commands took 11 s that way, 3.4 s
    /// reading first, on the same busy machine). Only the commands of a page are kept, not its
    /// chatter.
    async fn backfill_channel(
        &mut self,
        channel: ChannelId,
        mut after: MessageId,
        session_start: jiff::Timestamp,
    ) -> ChannelOutcome {
        let mut outcome = ChannelOutcome::default();
        let prefix = self.handler.settings().prefix.clone();
        let mut pages: Vec<(MessageId, Vec<IncomingMessage>)> = Vec::new();
        loop {
            let http = Arc::clone(&self.http);
            let fetch = async move {
                let response = http
                    .channel_messages(Id::new(channel.get()))
                    .after(Id::new(after.get()))
                    .limit(PAGE)
                    .await
                    .map_err(|error| {
                        let status = match error.kind() {
                            ErrorType::Response { status, .. } => Some(status.get()),
                            _ => None,
                        };
                        (status, error.to_string())
                    })?;
                response.models().await.map_err(|e| (None, e.to_string()))
            };
            let mut page = match tokio::time::timeout(PAGE_TIMEOUT, fetch).await {
                Ok(Ok(page)) => page,
                Ok(Err((status, error))) => {
                    if status == Some(403) {
                        log::warn!(
                            "cannot read the history of channel {channel} (HTTP 403: the bot needs View Channel and Read Message History there); commands missed in it are skipped"
                        );
                    } else {
                        log::warn!(
                            "could not read the messages missed in channel {channel}: {error}; the rest is read at the next new session"
                        );
                    }
                    outcome.skipped = true;
                    break;
                }
                Err(_) => {
                    log::warn!(
                        "reading the messages missed in channel {channel} timed out; the rest is read at the next new session"
                    );
                    outcome.skipped = true;
                    break;
                }
            };
            // Discord answers newest first, even with `after`.
            page.sort_by_key(|m| m.id);
            let full = page.len() >= usize::from(PAGE);
            let Some(newest) = page.last().and_then(|m| MessageId::new(m.id.get())) else {
                break;
            };
            let commands = page
                .iter()
                .filter_map(incoming)
                .filter(|m| {
                    self.handler.listens_to(m) && m.content.trim_start().starts_with(&prefix)
                })
                .collect();
            pages.push((newest, commands));
            if !full || newest <= after {
                break;
            }
            after = newest;
        }
        // What was read is handled even when a later page could not be: it is all in order.
        for (newest, commands) in pages {
            for message in commands {
                if self.deliver(message, Some(session_start)).await {
                    outcome.recovered += 1;
                }
            }
            self.advance_cursor(channel, newest).await;
        }
        outcome
    }

    /// Moves a channel's cursor forward in the delivery log (a failure is logged: the next
    /// backfill reads a little more).
    async fn advance_cursor(&self, channel: ChannelId, id: MessageId) {
        if let Err(error) =
            logged(&self.deliveries, move |log| log.advance_cursor(channel, id)).await
        {
            log::warn!("could not save the backfill cursor of channel {channel}: {error}");
        }
    }

    /// Saves the last message seen live in each channel, so that the backfill after the next
    /// start does not read it again.
    pub(super) async fn save_cursors(&self, seen: BTreeMap<ChannelId, MessageId>) {
        for (channel, id) in seen {
            self.advance_cursor(channel, id).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_and_times_agree_with_discord() {
        // Discord's documented example: 175928847299117063 was made at 2016-04-30 11:18:25.796 UTC.
        let id = MessageId::new(175_928_847_299_117_063).unwrap();
        assert_eq!(
            posted_at(id).unwrap().to_string(),
            "2016-04-30T11:18:25.796Z"
        );
        let at = posted_at(id).unwrap();
        let bound = snowflake_at(at);
        assert!(bound <= id && posted_at(bound) == Some(at));
        assert_eq!(snowflake_at(jiff::Timestamp::UNIX_EPOCH).get(), 1);
    }

    #[test]
    fn provisional_plan_ids_are_not_kept() {
        assert_eq!(kept(PlanId::new(7)), PlanId::new(7));
        assert_eq!(kept(PlanId::new(PROVISIONAL_ID_BASE)), None);
    }
}
