//! The Discord bot's delivery log ([`DeliveryLog`]) in the same database as the plans
//! (migration 2): `discord_cursors` and `discord_deliveries`, with the semantics of SQLite's
//! (its migration 4). Recording a message and moving its channel's cursor is one transaction.

use coach_plans_model::{ChannelId, MessageId, PlanId, UserId};
use coach_plans_storage::{Delivery, DeliveryLog, StoreError};
use postgres::types::Type;

use crate::PostgresStore;
use crate::errors::{corrupt, sql_error};
use crate::rows::col;
use crate::store::off_runtime;

/// A Discord id as PostgreSQL stores it (`BIGINT`). Snowflakes stay below 2^63 until 2084; a
/// larger one is refused rather than stored wrong.
fn to_sql(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id)
        .map_err(|_| StoreError::Other(format!("Discord id {id} is too large to store").into()))
}

/// A stored id read back as a Discord id; a value no Discord id has is a corrupt row.
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

/// Moves a channel's cursor forward only; concurrent calls serialize on the row.
const UPSERT_CURSOR: &str = "INSERT INTO discord_cursors (channel_id, message_id) VALUES ($1, $2)
     ON CONFLICT (channel_id) DO UPDATE
     SET message_id = GREATEST(discord_cursors.message_id, excluded.message_id)";

fn upsert_cursor(
    tx: &mut postgres::Transaction<'_>,
    shown: &str,
    channel: i64,
    message: i64,
) -> Result<(), StoreError> {
    tx.execute_typed(
        UPSERT_CURSOR,
        &[(&channel, Type::INT8), (&message, Type::INT8)],
    )
    .map_err(|e| sql_error(shown, e))?;
    Ok(())
}

impl DeliveryLog for PostgresStore {
    fn cursors(&self) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        off_runtime(|| {
            let rows = self
                .conn()?
                .query_typed(
                    "SELECT channel_id, message_id FROM discord_cursors ORDER BY channel_id",
                    &[],
                )
                .map_err(|e| sql_error(self.shown(), e))?;
            rows.iter()
                .map(|row| {
                    let (channel, message): (i64, i64) = (col(row, 0)?, col(row, 1)?);
                    Ok((
                        snowflake("discord_cursors", channel, channel, ChannelId::new)?,
                        snowflake("discord_cursors", channel, message, MessageId::new)?,
                    ))
                })
                .collect()
        })
    }

    fn advance_cursor(&self, channel: ChannelId, message: MessageId) -> Result<(), StoreError> {
        let (channel, message) = (to_sql(channel.get())?, to_sql(message.get())?);
        self.write(|tx, shown| upsert_cursor(tx, shown, channel, message))
    }

    fn delivery(&self, message: MessageId) -> Result<Option<Delivery>, StoreError> {
        let id = to_sql(message.get())?;
        let row = off_runtime(|| {
            self.conn()?
                .query_typed_opt(
                    "SELECT channel_id, author_id, plan_id, content FROM discord_deliveries
                     WHERE message_id = $1",
                    &[(&id, Type::INT8)],
                )
                .map_err(|e| sql_error(self.shown(), e))
        })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (channel, author): (i64, i64) = (col(&row, 0)?, col(&row, 1)?);
        let (plan, content): (Option<i64>, String) = (col(&row, 2)?, col(&row, 3)?);
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
        let plan = delivery.plan.map(PlanId::get);
        let content = delivery.content.as_str();
        let handled_at = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string();
        self.write(|tx, shown| {
            // A concurrent insert of the same message waits for the other transaction, then
            // inserts nothing: exactly one caller is told it recorded the message.
            let inserted = tx
                .execute_typed(
                    "INSERT INTO discord_deliveries
                         (message_id, channel_id, author_id, plan_id, content, handled_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (message_id) DO NOTHING",
                    &[
                        (&message, Type::INT8),
                        (&channel, Type::INT8),
                        (&author, Type::INT8),
                        (&plan, Type::INT8),
                        (&content, Type::TEXT),
                        (&handled_at, Type::TEXT),
                    ],
                )
                .map_err(|e| sql_error(shown, e))?;
            if inserted == 0 {
                return Ok(false);
            }
            upsert_cursor(tx, shown, channel, message)?;
            Ok(true)
        })
    }

    fn record_edit(&self, message: MessageId, content: &str) -> Result<bool, StoreError> {
        let message = to_sql(message.get())?;
        self.write(|tx, shown| {
            let changed = tx
                .execute_typed(
                    "UPDATE discord_deliveries SET content = $1 WHERE message_id = $2",
                    &[(&content, Type::TEXT), (&message, Type::INT8)],
                )
                .map_err(|e| sql_error(shown, e))?;
            Ok(changed > 0)
        })
    }
}
