//! The delivery log of the protected database, through the fallback. It is not journaled:
//! while changes are held, its calls answer `Unavailable` and the bot keeps what it needs in
//! memory until the database is back (see the bot crate's README).

use coach_plans_model::{ChannelId, MessageId};

use super::ResilientStore;
use crate::{Delivery, DeliveryLog, ProtectedStore, StoreError};

impl<S: ProtectedStore + DeliveryLog> DeliveryLog for ResilientStore<S> {
    fn cursors(&self) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        self.with_database_only("reading the Discord cursors", |db| db.cursors())
    }

    fn advance_cursor(&self, channel: ChannelId, message: MessageId) -> Result<(), StoreError> {
        self.with_database_only("moving a Discord cursor", |db| {
            db.advance_cursor(channel, message)
        })
    }

    fn delivery(&self, message: MessageId) -> Result<Option<Delivery>, StoreError> {
        self.with_database_only("reading the Discord delivery log", |db| {
            db.delivery(message)
        })
    }

    fn record(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.with_database_only("recording a Discord message", |db| db.record(delivery))
    }

    fn record_edit(&self, message: MessageId, content: &str) -> Result<bool, StoreError> {
        self.with_database_only("recording a Discord edit", |db| {
            db.record_edit(message, content)
        })
    }
}
