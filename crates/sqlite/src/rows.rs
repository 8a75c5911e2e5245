//! Reading plans, charts and history entries out of rows.

use coach_plans_model::{
    Author, Channel, Chart, ChartArchive, ChartStatus, CoachId, HistoryAction, HistoryEntry,
    HistoryId, ImageKind, Plan, PlanDate, PlanId, PlanText, Sha256, Timestamp,
};
use coach_plans_storage::StoreError;
use rusqlite::{Connection, Row, params};

use crate::errors::{corrupt, sql_error};

/// The columns [`plan_from_row`] reads, in order.
pub(crate) const PLAN_COLUMNS: &str = "id, coach_name, date, plan, author, author_id, channel, channel_id, message_id, created_at, edited_at, is_deleted";

/// A plan row's raw values; turned into a [`Plan`] once its charts are read.
pub(crate) struct PlanRow {
    id: i64,
    coach: String,
    date: String,
    text: String,
    author: String,
    author_id: Option<String>,
    channel: Option<String>,
    channel_id: Option<String>,
    message_id: Option<String>,
    created_at: String,
    edited_at: Option<String>,
    deleted: bool,
}

pub(crate) fn plan_row(row: &Row<'_>) -> rusqlite::Result<PlanRow> {
    Ok(PlanRow {
        id: row.get(0)?,
        coach: row.get(1)?,
        date: row.get(2)?,
        text: row.get(3)?,
        author: row.get(4)?,
        author_id: row.get(5)?,
        channel: row.get(6)?,
        channel_id: row.get(7)?,
        message_id: row.get(8)?,
        created_at: row.get(9)?,
        edited_at: row.get(10)?,
        deleted: row.get::<_, Option<i64>>(11)?.unwrap_or(0) != 0,
    })
}

impl PlanRow {
    /// The plan, with its charts read from `conn`.
    pub(crate) fn into_plan(self, conn: &Connection) -> Result<Plan, StoreError> {
        let charts = charts_of(conn, self.id)?;
        self.with_charts(charts)
    }

    /// The plan, with these charts.
    fn with_charts(self, charts: Vec<Chart>) -> Result<Plan, StoreError> {
        let id = self.id;
        let bad = |what: String| corrupt("coach_plans", id, what);
        Ok(Plan {
            id: PlanId::new(id).ok_or_else(|| bad("id is not positive".into()))?,
            coach: CoachId::parse(&self.coach).map_err(|e| bad(e.to_string()))?,
            date: PlanDate::parse(&self.date).map_err(|e| bad(e.to_string()))?,
            text: PlanText::from_stored(&self.text).map_err(|e| bad(e.to_string()))?,
            author: Author {
                id: self
                    .author_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e: coach_plans_model::InvalidId| bad(e.to_string()))?,
                name: self.author,
            },
            channel: Channel {
                id: self
                    .channel_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e: coach_plans_model::InvalidId| bad(e.to_string()))?,
                name: self.channel,
            },
            message_id: self
                .message_id
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: coach_plans_model::InvalidId| bad(e.to_string()))?,
            created_at: Timestamp::parse(&self.created_at).map_err(|e| bad(e.to_string()))?,
            edited_at: self
                .edited_at
                .as_deref()
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| bad(e.to_string()))?,
            charts,
            deleted: self.deleted,
        })
    }
}

/// A plan's charts in order, with their archive state.
pub(crate) fn charts_of(conn: &Connection, plan_id: i64) -> Result<Vec<Chart>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, chart_url, filename, content_type, size, position,
                    status, sha256, stored_size, image_type, reason, attempts, archived_at
             FROM plan_charts WHERE plan_id = ?1 ORDER BY position, id",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![plan_id], |row| chart_row_at(row, 0))
        .map_err(sql_error)?;
    let mut charts = Vec::new();
    for row in rows {
        charts.push(row.map_err(sql_error)?.into_chart()?);
    }
    Ok(charts)
}

const LIVE_PLAN_WITH_CHARTS: &str = "SELECT p.id, p.coach_name, p.date, p.plan, p.author,
        p.author_id, p.channel, p.channel_id, p.message_id, p.created_at, p.edited_at,
        p.is_deleted, c.id, c.chart_url, c.filename, c.content_type, c.size, c.position,
        c.status, c.sha256, c.stored_size, c.image_type, c.reason, c.attempts, c.archived_at
    FROM coach_plans p LEFT JOIN plan_charts c ON c.plan_id = p.id
    WHERE p.coach_name = ?1 AND p.date = ?2 AND p.is_deleted = 0
    ORDER BY c.position, c.id";

/// The live plan of a coach on a date and its charts, in one statement: the plan's columns
/// ([`PLAN_COLUMNS`]) then a chart's on each row, a plan without charts giving one row of
/// NULL chart columns. The lookup the compatibility endpoint makes for every request, so one
/// statement step and reset instead of two (issue 16).
pub(crate) fn live_plan_with_charts(
    conn: &Connection,
    coach: &str,
    date: &str,
) -> Result<Option<Plan>, StoreError> {
    let mut stmt = conn
        .prepare_cached(LIVE_PLAN_WITH_CHARTS)
        .map_err(sql_error)?;
    let mut rows = stmt.query(params![coach, date]).map_err(sql_error)?;
    let mut plan = None;
    let mut charts = Vec::new();
    while let Some(row) = rows.next().map_err(sql_error)? {
        if plan.is_none() {
            plan = Some(plan_row(row).map_err(sql_error)?);
        }
        if row.get_ref(12).map_err(sql_error)?.data_type() != rusqlite::types::Type::Null {
            charts.push(chart_row_at(row, 12).map_err(sql_error)?.into_chart()?);
        }
    }
    plan.map(|plan| plan.with_charts(charts)).transpose()
}

/// A `plan_charts` row's columns, read from `row` starting at column `at`.
fn chart_row_at(row: &Row<'_>, at: usize) -> rusqlite::Result<ChartRow> {
    Ok(ChartRow {
        id: row.get(at)?,
        url: row.get(at + 1)?,
        filename: row.get(at + 2)?,
        content_type: row.get(at + 3)?,
        size: row.get(at + 4)?,
        position: row.get(at + 5)?,
        status: row.get(at + 6)?,
        sha256: row.get(at + 7)?,
        stored_size: row.get(at + 8)?,
        image_type: row.get(at + 9)?,
        reason: row.get(at + 10)?,
        attempts: row.get(at + 11)?,
        archived_at: row.get(at + 12)?,
    })
}

/// A `plan_charts` row's raw values.
struct ChartRow {
    id: i64,
    url: String,
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
    position: i64,
    status: String,
    sha256: Option<String>,
    stored_size: Option<i64>,
    image_type: Option<String>,
    reason: Option<String>,
    attempts: i64,
    archived_at: Option<String>,
}

impl ChartRow {
    fn into_chart(self) -> Result<Chart, StoreError> {
        let id = self.id;
        let bad = |what: String| corrupt("plan_charts", id, what);
        let position =
            u32::try_from(self.position).map_err(|_| bad("position out of range".into()))?;
        let size = self
            .size
            .map(u64::try_from)
            .transpose()
            .map_err(|_| bad("negative size".into()))?;
        let archive = ChartArchive {
            status: ChartStatus::from_name(&self.status)
                .ok_or_else(|| bad(format!("unknown status '{}'", self.status)))?,
            sha256: self
                .sha256
                .as_deref()
                .map(Sha256::parse)
                .transpose()
                .map_err(|e| bad(e.to_string()))?,
            stored_size: self
                .stored_size
                .map(u64::try_from)
                .transpose()
                .map_err(|_| bad("negative stored size".into()))?,
            image: self
                .image_type
                .as_deref()
                .map(|name| {
                    ImageKind::from_name(name)
                        .ok_or_else(|| bad(format!("unknown image type '{name}'")))
                })
                .transpose()?,
            reason: self.reason,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| bad("attempts out of range".into()))?,
            archived_at: self
                .archived_at
                .as_deref()
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| bad(e.to_string()))?,
        };
        Ok(
            Chart::from_stored(&self.url, self.filename, self.content_type, size, position)
                .map_err(|e| bad(e.to_string()))?
                .with_archive(archive),
        )
    }
}

/// Stores a plan's charts (positions and archive state as given).
pub(crate) fn insert_charts(
    conn: &Connection,
    plan_id: i64,
    charts: &[Chart],
    added_at: &str,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO plan_charts (plan_id, chart_url, filename, added_at, position, content_type, size,
                                      status, sha256, stored_size, image_type, reason, attempts, archived_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .map_err(sql_error)?;
    for chart in charts {
        let size = chart.size().and_then(|s| i64::try_from(s).ok());
        let archive = chart.archive();
        stmt.execute(params![
            plan_id,
            chart.url(),
            chart.filename(),
            added_at,
            chart.position(),
            chart.content_type(),
            size,
            archive.status.as_str(),
            archive.sha256.map(|s| s.to_string()),
            archive.stored_size.and_then(|s| i64::try_from(s).ok()),
            archive.image.map(ImageKind::as_str),
            archive.reason,
            archive.attempts,
            archive.archived_at.as_ref().map(Timestamp::as_str),
        ])
        .map_err(sql_error)?;
    }
    Ok(())
}

/// The columns [`history_from_row`] reads, in order.
pub(crate) const HISTORY_COLUMNS: &str =
    "id, plan_id, action, plan_text, charts, edited_by, edited_by_id, edited_at";

pub(crate) fn history_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<Result<HistoryEntry, StoreError>> {
    let id: i64 = row.get(0)?;
    let plan_id: i64 = row.get(1)?;
    let action: String = row.get(2)?;
    let text: String = row.get(3)?;
    let charts: Option<String> = row.get(4)?;
    let by_name: String = row.get(5)?;
    let by_id: Option<String> = row.get(6)?;
    let at: String = row.get(7)?;
    let bad = |what: String| corrupt("plan_history", id, what);
    Ok((|| {
        Ok(HistoryEntry {
            id: HistoryId::new(id).ok_or_else(|| bad("id is not positive".into()))?,
            plan_id: PlanId::new(plan_id).ok_or_else(|| bad("plan id is not positive".into()))?,
            action: HistoryAction::from_name(&action)
                .ok_or_else(|| bad(format!("unknown action '{action}'")))?,
            text: PlanText::from_stored(&text).map_err(|e| bad(e.to_string()))?,
            charts: charts
                .as_deref()
                .map(serde_json::from_str::<Vec<Chart>>)
                .transpose()
                .map_err(|e| bad(format!("charts: {e}")))?,
            by: Author {
                id: by_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e: coach_plans_model::InvalidId| bad(e.to_string()))?,
                name: by_name,
            },
            at: Timestamp::parse(&at).map_err(|e| bad(e.to_string()))?,
        })
    })())
}

#[cfg(test)]
mod tests {
    use coach_plans_config::DatabaseConfig;

    use super::*;
    use crate::SqliteStore;

    #[test]
    fn the_live_plan_and_its_charts_are_read_through_indexes_without_a_sort() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("plans.db");
        let config = DatabaseConfig {
            path: path.clone(),
            ..Default::default()
        };
        drop(SqliteStore::open(&config).unwrap_or_else(|e| panic!("{e}")));
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LIVE_PLAN_WITH_CHARTS}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let steps: Vec<String> = stmt
            .query_map(["coach_d", "2024-05-10"], |row| row.get(3))
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            steps.iter().any(|s| s.contains("idx_live_coach_date")),
            "{steps:?}"
        );
        assert!(
            steps.iter().any(|s| s.contains("idx_charts_plan_position")),
            "{steps:?}"
        );
        assert!(
            !steps
                .iter()
                .any(|s| s.starts_with("SCAN") || s.contains("TEMP B-TREE")),
            "{steps:?}"
        );
    }
}
