//! The Discord bot's delivery log ([`DeliveryLog`]) in the same database as the plans
//! (migration 4): `discord_cursors` and `discord_deliveries`.

use coach_plans_model::{ChannelId, MessageId, PlanId, UserId};
use coach_plans_storage::{Delivery, DeliveryLog, StoreError};
use rusqlite::{OptionalExtension, params};

use crate::SqliteStore;
use crate::errors::{corrupt, sql_error};

/// A Discord id as SQLite stores it. Snowflakes stay below 2^63 until 2084; a larger one is
/// refused rather than stored wrong.
fn to_sql(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id)
        .map_err(|_| StoreError::Other(format!("Discord id {id} is too large to store").into()))
}

fn snowflake<T>(
    table: &str,
    row: i64,
    value: i64,
    make: fn(u64) -> Option<T>,
) -> Result<T, StoreError> {
    u64::try_from(value)
        .ok()
        .and_then(make)
        .ok_or_else(|| corrupt(table, row, format!("id {value} is not a Discord id")))
}

const UPSERT_CURSOR: &str = "INSERT INTO discord_cursors (channel_id, message_id) VALUES (?1, ?2)
     ON CONFLICT(channel_id) DO UPDATE SET message_id = MAX(message_id, excluded.message_id)";

impl DeliveryLog for SqliteStore {
    fn cursors(&self) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        let conn = self.conn()?;
        let rows: Vec<(i64, i64)> = conn
            .prepare_cached(
                "SELECT channel_id, message_id FROM discord_cursors ORDER BY channel_id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(sql_error)?;
        rows.into_iter()
            .map(|(channel, message)| {
                Ok((
                    snowflake("discord_cursors", channel, channel, ChannelId::new)?,
                    snowflake("discord_cursors", channel, message, MessageId::new)?,
                ))
            })
            .collect()
    }

    fn advance_cursor(&self, channel: ChannelId, message: MessageId) -> Result<(), StoreError> {
        let (channel, message) = (to_sql(channel.get())?, to_sql(message.get())?);
        self.write(|tx| {
            tx.prepare_cached(UPSERT_CURSOR)
                .and_then(|mut stmt| stmt.execute(params![channel, message]))
                .map_err(sql_error)?;
            Ok(())
        })
    }

    fn delivery(&self, message: MessageId) -> Result<Option<Delivery>, StoreError> {
        let id = to_sql(message.get())?;
        let conn = self.conn()?;
        let row: Option<(i64, i64, Option<i64>, String)> = conn
            .prepare_cached(
                "SELECT channel_id, author_id, plan_id, content FROM discord_deliveries
                 WHERE message_id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })
                .optional()
            })
            .map_err(sql_error)?;
        let Some((channel, author, plan, content)) = row else {
            return Ok(None);
        };
        let table = "discord_deliveries";
        Ok(Some(Delivery {
            message,
            channel: snowflake(table, id, channel, ChannelId::new)?,
            author: snowflake(table, id, author, UserId::new)?,
            plan: plan
                .map(|plan| PlanId::new(plan).ok_or_else(|| corrupt(table, id, "plan id")))
                .transpose()?,
            content,
        }))
    }

    fn record(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let message = to_sql(delivery.message.get())?;
        let channel = to_sql(delivery.channel.get())?;
        let author = to_sql(delivery.author.get())?;
        let handled_at = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string();
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO discord_deliveries
                         (message_id, channel_id, author_id, plan_id, content, handled_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(message_id) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        message,
                        channel,
                        author,
                        delivery.plan.map(PlanId::get),
                        delivery.content,
                        handled_at,
                    ])
                })
                .map_err(sql_error)?;
            if inserted == 0 {
                return Ok(false);
            }
            tx.prepare_cached(UPSERT_CURSOR)
                .and_then(|mut stmt| stmt.execute(params![channel, message]))
                .map_err(sql_error)?;
            Ok(true)
        })
    }

    fn record_edit(&self, message: MessageId, content: &str) -> Result<bool, StoreError> {
        let message = to_sql(message.get())?;
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE discord_deliveries SET content = ?1 WHERE message_id = ?2")
                .and_then(|mut stmt| stmt.execute(params![content, message]))
                .map_err(sql_error)?;
            Ok(changed > 0)
        })
    }
}
