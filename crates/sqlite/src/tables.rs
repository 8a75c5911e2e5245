//! Every row read and written whole, ids included: SQLite's side of `coach-plans copy`.

use coach_plans_storage::StoreError;
use coach_plans_storage::tables::{
    ChartRecord, HistoryRecord, PlanRecord, TableStore, Tables, not_empty, read_back_differs,
};
use rusqlite::{Connection, Row, TransactionBehavior, params};

use crate::SqliteStore;
use crate::errors::sql_error;

fn all<T>(
    conn: &Connection,
    sql: &str,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    conn.prepare(sql)
        .and_then(|mut stmt| stmt.query_map([], read)?.collect())
        .map_err(sql_error)
}

fn read_all(conn: &Connection) -> Result<Tables, StoreError> {
    let plans = all(
        conn,
        "SELECT id, coach_name, date, plan, author, author_id, channel, channel_id, message_id,
                created_at, edited_at, is_deleted
         FROM coach_plans ORDER BY id",
        |r| {
            Ok(PlanRecord {
                id: r.get(0)?,
                coach_name: r.get(1)?,
                date: r.get(2)?,
                plan: r.get(3)?,
                author: r.get(4)?,
                author_id: r.get(5)?,
                channel: r.get(6)?,
                channel_id: r.get(7)?,
                message_id: r.get(8)?,
                created_at: r.get(9)?,
                edited_at: r.get(10)?,
                is_deleted: r.get::<_, i64>(11)? != 0,
            })
        },
    )?;
    let charts = all(
        conn,
        "SELECT id, plan_id, chart_url, filename, added_at, position, content_type, size, status,
                sha256, stored_size, image_type, reason, attempts, archived_at
         FROM plan_charts ORDER BY id",
        |r| {
            Ok(ChartRecord {
                id: r.get(0)?,
                plan_id: r.get(1)?,
                chart_url: r.get(2)?,
                filename: r.get(3)?,
                added_at: r.get(4)?,
                position: r.get(5)?,
                content_type: r.get(6)?,
                size: r.get(7)?,
                status: r.get(8)?,
                sha256: r.get(9)?,
                stored_size: r.get(10)?,
                image_type: r.get(11)?,
                reason: r.get(12)?,
                attempts: r.get(13)?,
                archived_at: r.get(14)?,
            })
        },
    )?;
    let history = all(
        conn,
        "SELECT id, plan_id, plan_text, edited_by, edited_at, action, edited_by_id, charts
         FROM plan_history ORDER BY id",
        |r| {
            Ok(HistoryRecord {
                id: r.get(0)?,
                plan_id: r.get(1)?,
                plan_text: r.get(2)?,
                edited_by: r.get(3)?,
                edited_at: r.get(4)?,
                action: r.get(5)?,
                edited_by_id: r.get(6)?,
                charts: r.get(7)?,
            })
        },
    )?;
    Ok(Tables {
        plans,
        charts,
        history,
    })
}

impl TableStore for SqliteStore {
    fn read_tables(&self) -> Result<Tables, StoreError> {
        let mut conn = self.conn()?;
        // One read transaction: one snapshot of the three tables.
        let tx = conn.transaction().map_err(sql_error)?;
        let tables = read_all(&tx)?;
        tx.commit().map_err(sql_error)?;
        Ok(tables)
    }

    fn write_tables(
        &self,
        tables: &Tables,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError> {
        let shown = self.path().display().to_string();
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        let present: i64 = tx
            .query_row(
                "SELECT (SELECT COUNT(*) FROM coach_plans) + (SELECT COUNT(*) FROM plan_charts)
                        + (SELECT COUNT(*) FROM plan_history)",
                [],
                |row| row.get(0),
            )
            .map_err(sql_error)?;
        if present > 0 {
            return Err(not_empty(
                &shown,
                usize::try_from(present).unwrap_or(usize::MAX),
            ));
        }
        let mut written = 0usize;
        {
            let mut step = |written: &mut usize| {
                *written += 1;
                if written.is_multiple_of(100) {
                    progress(*written);
                }
            };
            let mut stmt = tx
                .prepare(
                    "INSERT INTO coach_plans (id, coach_name, date, plan, author, author_id,
                         channel, channel_id, message_id, created_at, edited_at, is_deleted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(sql_error)?;
            for p in &tables.plans {
                stmt.execute(params![
                    p.id,
                    p.coach_name,
                    p.date,
                    p.plan,
                    p.author,
                    p.author_id,
                    p.channel,
                    p.channel_id,
                    p.message_id,
                    p.created_at,
                    p.edited_at,
                    i64::from(p.is_deleted),
                ])
                .map_err(sql_error)?;
                step(&mut written);
            }
            let mut stmt = tx
                .prepare(
                    "INSERT INTO plan_charts (id, plan_id, chart_url, filename, added_at,
                         position, content_type, size, status, sha256, stored_size, image_type,
                         reason, attempts, archived_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(sql_error)?;
            for c in &tables.charts {
                stmt.execute(params![
                    c.id,
                    c.plan_id,
                    c.chart_url,
                    c.filename,
                    c.added_at,
                    c.position,
                    c.content_type,
                    c.size,
                    c.status,
                    c.sha256,
                    c.stored_size,
                    c.image_type,
                    c.reason,
                    c.attempts,
                    c.archived_at,
                ])
                .map_err(sql_error)?;
                step(&mut written);
            }
            let mut stmt = tx
                .prepare(
                    "INSERT INTO plan_history (id, plan_id, plan_text, edited_by, edited_at,
                         action, edited_by_id, charts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql_error)?;
            for h in &tables.history {
                stmt.execute(params![
                    h.id,
                    h.plan_id,
                    h.plan_text,
                    h.edited_by,
                    h.edited_at,
                    h.action,
                    h.edited_by_id,
                    h.charts,
                ])
                .map_err(sql_error)?;
                step(&mut written);
            }
        }
        progress(written);
        if read_all(&tx)? != *tables {
            return Err(read_back_differs(&shown));
        }
        tx.commit().map_err(sql_error)
    }
}
