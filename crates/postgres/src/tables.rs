//! Every row read and written whole, ids included: PostgreSQL's side of `coach-plans copy`.

use coach_plans_storage::StoreError;
use coach_plans_storage::tables::{
    ChartRecord, HistoryRecord, PlanRecord, TableStore, Tables, not_empty, read_back_differs,
};
use postgres::GenericClient;
use postgres::types::ToSql;

use crate::PostgresStore;
use crate::errors::sql_error;
use crate::rows::col;

fn read_all(conn: &mut impl GenericClient, shown: &str) -> Result<Tables, StoreError> {
    let fail = |e| sql_error(shown, e);
    let plans = conn
        .query(
            "SELECT id, coach_name, date, plan, author, author_id, channel, channel_id,
                    message_id, created_at, edited_at, is_deleted
             FROM coach_plans ORDER BY id",
            &[],
        )
        .map_err(fail)?
        .iter()
        .map(|r| {
            Ok(PlanRecord {
                id: col(r, 0)?,
                coach_name: col(r, 1)?,
                date: col(r, 2)?,
                plan: col(r, 3)?,
                author: col(r, 4)?,
                author_id: col(r, 5)?,
                channel: col(r, 6)?,
                channel_id: col(r, 7)?,
                message_id: col(r, 8)?,
                created_at: col(r, 9)?,
                edited_at: col(r, 10)?,
                is_deleted: col(r, 11)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let charts = conn
        .query(
            "SELECT id, plan_id, chart_url, filename, added_at, position::bigint, content_type,
                    size, status, sha256, stored_size, image_type, reason, attempts::bigint,
                    archived_at
             FROM plan_charts ORDER BY id",
            &[],
        )
        .map_err(fail)?
        .iter()
        .map(|r| {
            Ok(ChartRecord {
                id: col(r, 0)?,
                plan_id: col(r, 1)?,
                chart_url: col(r, 2)?,
                filename: col(r, 3)?,
                added_at: col(r, 4)?,
                position: col(r, 5)?,
                content_type: col(r, 6)?,
                size: col(r, 7)?,
                status: col(r, 8)?,
                sha256: col(r, 9)?,
                stored_size: col(r, 10)?,
                image_type: col(r, 11)?,
                reason: col(r, 12)?,
                attempts: col(r, 13)?,
                archived_at: col(r, 14)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let history = conn
        .query(
            "SELECT id, plan_id, plan_text, edited_by, edited_at, action, edited_by_id, charts
             FROM plan_history ORDER BY id",
            &[],
        )
        .map_err(fail)?
        .iter()
        .map(|r| {
            Ok(HistoryRecord {
                id: col(r, 0)?,
                plan_id: col(r, 1)?,
                plan_text: col(r, 2)?,
                edited_by: col(r, 3)?,
                edited_at: col(r, 4)?,
                action: col(r, 5)?,
                edited_by_id: col(r, 6)?,
                charts: col(r, 7)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Tables {
        plans,
        charts,
        history,
    })
}

fn rows_in(conn: &mut impl GenericClient, shown: &str) -> Result<usize, StoreError> {
    let row = conn
        .query_one(
            "SELECT (SELECT COUNT(*) FROM coach_plans) + (SELECT COUNT(*) FROM plan_charts)
                    + (SELECT COUNT(*) FROM plan_history)",
            &[],
        )
        .map_err(|e| sql_error(shown, e))?;
    Ok(usize::try_from(col::<i64>(&row, 0)?).unwrap_or(usize::MAX))
}

/// Runs one prepared insert per record.
fn insert_each<R>(
    tx: &mut postgres::Transaction<'_>,
    shown: &str,
    sql: &str,
    records: &[R],
    params: impl Fn(&R) -> Vec<&(dyn ToSql + Sync)>,
    written: &mut usize,
    progress: &mut dyn FnMut(usize),
) -> Result<(), StoreError> {
    let statement = tx.prepare(sql).map_err(|e| sql_error(shown, e))?;
    for record in records {
        tx.execute(&statement, &params(record))
            .map_err(|e| sql_error(shown, e))?;
        *written += 1;
        if written.is_multiple_of(100) {
            progress(*written);
        }
    }
    progress(*written);
    Ok(())
}

impl TableStore for PostgresStore {
    fn read_tables(&self) -> Result<Tables, StoreError> {
        let shown = self.shown();
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| sql_error(shown, e))?;
        let tables = read_all(&mut tx, shown)?;
        tx.commit().map_err(|e| sql_error(shown, e))?;
        Ok(tables)
    }

    fn write_tables(
        &self,
        tables: &Tables,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError> {
        // `copy` runs on no runtime: the progress callback stays on this thread.
        self.write_here(|tx, shown| {
            // No one else writes while we check and copy.
            tx.batch_execute("LOCK TABLE coach_plans, plan_charts, plan_history IN EXCLUSIVE MODE")
                .map_err(|e| sql_error(shown, e))?;
            let present = rows_in(tx, shown)?;
            if present > 0 {
                return Err(not_empty(shown, present));
            }
            let mut written = 0;
            insert_each(
                tx,
                shown,
                "INSERT INTO coach_plans (id, coach_name, date, plan, author, author_id, channel,
                     channel_id, message_id, created_at, edited_at, is_deleted)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &tables.plans,
                |p| {
                    vec![
                        &p.id,
                        &p.coach_name,
                        &p.date,
                        &p.plan,
                        &p.author,
                        &p.author_id,
                        &p.channel,
                        &p.channel_id,
                        &p.message_id,
                        &p.created_at,
                        &p.edited_at,
                        &p.is_deleted,
                    ]
                },
                &mut written,
                progress,
            )?;
            insert_each(
                tx,
                shown,
                "INSERT INTO plan_charts (id, plan_id, chart_url, filename, added_at, position,
                     content_type, size, status, sha256, stored_size, image_type, reason,
                     attempts, archived_at)
                 VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9, $10, $11, $12, $13,
                         $14::bigint, $15)",
                &tables.charts,
                |c| {
                    vec![
                        &c.id,
                        &c.plan_id,
                        &c.chart_url,
                        &c.filename,
                        &c.added_at,
                        &c.position,
                        &c.content_type,
                        &c.size,
                        &c.status,
                        &c.sha256,
                        &c.stored_size,
                        &c.image_type,
                        &c.reason,
                        &c.attempts,
                        &c.archived_at,
                    ]
                },
                &mut written,
                progress,
            )?;
            insert_each(
                tx,
                shown,
                "INSERT INTO plan_history (id, plan_id, plan_text, edited_by, edited_at, action,
                     edited_by_id, charts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &tables.history,
                |h| {
                    vec![
                        &h.id,
                        &h.plan_id,
                        &h.plan_text,
                        &h.edited_by,
                        &h.edited_at,
                        &h.action,
                        &h.edited_by_id,
                        &h.charts,
                    ]
                },
                &mut written,
                progress,
            )?;
            // New rows continue after the copied ids, never reusing one.
            for table in ["coach_plans", "plan_charts", "plan_history"] {
                tx.batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   COALESCE((SELECT MAX(id) FROM {table}), 1),
                                   (SELECT COUNT(*) > 0 FROM {table}))"
                ))
                .map_err(|e| sql_error(shown, e))?;
            }
            if read_all(tx, shown)? != *tables {
                return Err(read_back_differs(shown));
            }
            Ok(())
        })
    }
}
