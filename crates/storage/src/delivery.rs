//! What the Discord bot remembers about the messages it handled: a cursor per channel (the last
//! message it processed there) and a record of each command message it handled, so that a
//! message is handled once across reconnects and restarts, and an edit of a `!plan` message
//! finds the plan it made.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use coach_plans_model::{ChannelId, MessageId, PlanId, UserId};

use crate::StoreError;

/// A command message the bot handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The Discord message.
    pub message: MessageId,
    /// Where it was posted.
    pub channel: ChannelId,
    /// Who wrote it: only they may revise a plan by editing it.
    pub author: UserId,
    /// The plan a `!plan` or `!edit` in it created or changed; `None` for other commands and
    /// for commands that failed.
    pub plan: Option<PlanId>,
    /// The text as last handled; an update with the same text (Discord unfurling a link) is not
    /// an edit.
    pub content: String,
}

/// The bot's durable memory of Discord messages (SPEC 15), kept apart from the plans.
///
/// Calls block; async callers run them off their runtime's worker threads. Every method is
/// atomic and durable when it returns. Message ids are Discord snowflakes, so a larger id is a
/// later message.
pub trait DeliveryLog: Send + Sync + 'static {
    /// Every channel with a cursor and the last message processed there, by channel id.
    fn cursors(&self) -> Result<Vec<(ChannelId, MessageId)>, StoreError>;

    /// Moves the channel's cursor to `message` when that is later than the cursor (or the
    /// channel has none); never moves it back.
    fn advance_cursor(&self, channel: ChannelId, message: MessageId) -> Result<(), StoreError>;

    /// The record of a handled message, if it was handled.
    fn delivery(&self, message: MessageId) -> Result<Option<Delivery>, StoreError>;

    /// Records a handled message and advances its channel's cursor to it, in one step. Returns
    /// `false`, changing nothing, when the message was recorded already.
    fn record(&self, delivery: &Delivery) -> Result<bool, StoreError>;

    /// After an edit of a recorded message was applied: its text as handled now. Returns
    /// `false` when the message was never recorded.
    fn record_edit(&self, message: MessageId, content: &str) -> Result<bool, StoreError>;
}

/// A [`DeliveryLog`] in memory, lost when the process ends: for tests, and for a bot given no
/// durable one.
#[derive(Debug, Default)]
pub struct MemoryDeliveryLog {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    cursors: BTreeMap<ChannelId, MessageId>,
    deliveries: HashMap<MessageId, Delivery>,
}

impl MemoryDeliveryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeliveryLog for MemoryDeliveryLog {
    fn cursors(&self) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        Ok(self.lock().cursors.iter().map(|(c, m)| (*c, *m)).collect())
    }

    fn advance_cursor(&self, channel: ChannelId, message: MessageId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let cursor = state.cursors.entry(channel).or_insert(message);
        *cursor = (*cursor).max(message);
        Ok(())
    }

    fn delivery(&self, message: MessageId) -> Result<Option<Delivery>, StoreError> {
        Ok(self.lock().deliveries.get(&message).cloned())
    }

    fn record(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.deliveries.contains_key(&delivery.message) {
            return Ok(false);
        }
        state.deliveries.insert(delivery.message, delivery.clone());
        let cursor = state
            .cursors
            .entry(delivery.channel)
            .or_insert(delivery.message);
        *cursor = (*cursor).max(delivery.message);
        Ok(true)
    }

    fn record_edit(&self, message: MessageId, content: &str) -> Result<bool, StoreError> {
        Ok(match self.lock().deliveries.get_mut(&message) {
            Some(delivery) => {
                content.clone_into(&mut delivery.content);
                true
            }
            None => false,
        })
    }
}
