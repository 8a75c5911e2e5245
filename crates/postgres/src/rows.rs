//! Reading plans, charts and history entries out of rows, and writing charts. Columns and
//! their text forms are SQLite's (see the migrations), so both stores read the same values.

use std::collections::HashMap;

use coach_plans_model::{
    Author, Channel, Chart, ChartArchive, ChartStatus, CoachId, HistoryAction, HistoryEntry,
    HistoryId, ImageKind, InvalidId, Plan, PlanDate, PlanId, PlanText, Sha256, Timestamp,
};
use coach_plans_storage::StoreError;
use postgres::types::{FromSql, ToSql, Type};
use postgres::{GenericClient, Row};

use crate::errors::{corrupt, sql_error};

/// The columns [`PlanRow::read`] reads, in order.
pub(crate) const PLAN_COLUMNS: &str = "id, coach_name, date, plan, author, author_id, channel, channel_id, message_id, created_at, edited_at, is_deleted";

/// The columns [`ChartRow::read`] reads, in order, after the plan id.
const CHART_COLUMNS: &str = "id, chart_url, filename, content_type, size, position, status, \
     sha256, stored_size, image_type, reason, attempts, archived_at";

/// A parameter with its type, for the driver's one-round-trip `query_typed`.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// Column `idx` of `row`; a value of an unexpected type is corrupt data, not a panic.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx)
        .map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}")))
}

/// A plan row's raw values; turned into a [`Plan`] once its charts are read.
pub(crate) struct PlanRow {
    pub(crate) id: i64,
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

impl PlanRow {
    /// The [`PLAN_COLUMNS`] of `row`, from column `at`.
    pub(crate) fn read(row: &Row, at: usize) -> Result<Self, StoreError> {
        Ok(Self {
            id: col(row, at)?,
            coach: col(row, at + 1)?,
            date: col(row, at + 2)?,
            text: col(row, at + 3)?,
            author: col(row, at + 4)?,
            author_id: col(row, at + 5)?,
            channel: col(row, at + 6)?,
            channel_id: col(row, at + 7)?,
            message_id: col(row, at + 8)?,
            created_at: col(row, at + 9)?,
            edited_at: col(row, at + 10)?,
            deleted: col(row, at + 11)?,
        })
    }

    /// The plan, with these charts.
    pub(crate) fn with_charts(self, charts: Vec<Chart>) -> Result<Plan, StoreError> {
        let id = self.id;
        let bad = |what: String| corrupt("coach_plans", id, what);
        Ok(Plan {
            id: PlanId::new(id).ok_or_else(|| bad("id is not positive".into()))?,
            coach: CoachId::parse(&self.coach).map_err(|e| bad(e.to_string()))?,
            date: PlanDate::parse(&self.date).map_err(|e| bad(e.to_string()))?,
            text: PlanText::from_stored(&self.text).map_err(|e| bad(e.to_string()))?,
            author: Author {
                id: discord_id(self.author_id, id)?,
                name: self.author,
            },
            channel: Channel {
                id: discord_id(self.channel_id, id)?,
                name: self.channel,
            },
            message_id: discord_id(self.message_id, id)?,
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

/// A Discord id stored as decimal text in the plan row `id`.
fn discord_id<T: std::str::FromStr<Err = InvalidId>>(
    text: Option<String>,
    id: i64,
) -> Result<Option<T>, StoreError> {
    text.as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: InvalidId| corrupt("coach_plans", id, e))
}

/// Plans from their rows, with their charts read in one more statement.
pub(crate) fn plans_with_charts(
    conn: &mut impl GenericClient,
    shown: &str,
    rows: Vec<PlanRow>,
) -> Result<Vec<Plan>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut charts = charts_of(conn, shown, &ids)?;
    rows.into_iter()
        .map(|row| {
            let of_plan = charts.remove(&row.id).unwrap_or_default();
            row.with_charts(of_plan)
        })
        .collect()
}

/// The charts of these plans, each plan's in order, with their archive state.
fn charts_of(
    conn: &mut impl GenericClient,
    shown: &str,
    plan_ids: &[i64],
) -> Result<HashMap<i64, Vec<Chart>>, StoreError> {
    let sql = format!(
        "SELECT plan_id, {CHART_COLUMNS} FROM plan_charts WHERE plan_id = ANY($1)
         ORDER BY plan_id, position, id"
    );
    let rows = conn
        .query_typed(&sql, &[(&plan_ids, Type::INT8_ARRAY)])
        .map_err(|e| sql_error(shown, e))?;
    let mut charts: HashMap<i64, Vec<Chart>> = HashMap::new();
    for row in &rows {
        let plan_id: i64 = col(row, 0)?;
        charts
            .entry(plan_id)
            .or_default()
            .push(ChartRow::read(row, 1)?.into_chart()?);
    }
    Ok(charts)
}

/// The live plan of a coach on a date with its charts, in one statement and one round trip:
/// the plan's columns then a chart's on each row (NULL chart columns for a plan without
/// charts). The lookup the compatibility endpoint makes for every request.
pub(crate) fn live_plan_with_charts(
    conn: &mut impl GenericClient,
    shown: &str,
    coach: &str,
    date: &str,
) -> Result<Option<Plan>, StoreError> {
    const SQL: &str = "SELECT p.id, p.coach_name, p.date, p.plan, p.author, p.author_id,
            p.channel, p.channel_id, p.message_id, p.created_at, p.edited_at, p.is_deleted,
            c.id, c.chart_url, c.filename, c.content_type, c.size, c.position, c.status,
            c.sha256, c.stored_size, c.image_type, c.reason, c.attempts, c.archived_at
        FROM coach_plans p LEFT JOIN plan_charts c ON c.plan_id = p.id
        WHERE p.coach_name = $1 AND p.date = $2 AND NOT p.is_deleted
        ORDER BY c.position, c.id";
    let rows = conn
        .query_typed(SQL, &[(&coach, Type::TEXT), (&date, Type::TEXT)])
        .map_err(|e| sql_error(shown, e))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let plan = PlanRow::read(first, 0)?;
    let mut charts = Vec::new();
    for row in &rows {
        if col::<Option<i64>>(row, 12)?.is_some() {
            charts.push(ChartRow::read(row, 12)?.into_chart()?);
        }
    }
    plan.with_charts(charts).map(Some)
}

/// A `plan_charts` row's raw values.
struct ChartRow {
    id: i64,
    url: String,
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
    position: i32,
    status: String,
    sha256: Option<String>,
    stored_size: Option<i64>,
    image_type: Option<String>,
    reason: Option<String>,
    attempts: i32,
    archived_at: Option<String>,
}

impl ChartRow {
    /// The chart columns of `row` (as [`CHART_COLUMNS`]) from column `at`.
    fn read(row: &Row, at: usize) -> Result<Self, StoreError> {
        Ok(Self {
            id: col(row, at)?,
            url: col(row, at + 1)?,
            filename: col(row, at + 2)?,
            content_type: col(row, at + 3)?,
            size: col(row, at + 4)?,
            position: col(row, at + 5)?,
            status: col(row, at + 6)?,
            sha256: col(row, at + 7)?,
            stored_size: col(row, at + 8)?,
            image_type: col(row, at + 9)?,
            reason: col(row, at + 10)?,
            attempts: col(row, at + 11)?,
            archived_at: col(row, at + 12)?,
        })
    }

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
    conn: &mut impl GenericClient,
    shown: &str,
    plan_id: i64,
    charts: &[Chart],
    added_at: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO plan_charts (plan_id, chart_url, filename, added_at, position,
            content_type, size, status, sha256, stored_size, image_type, reason, attempts,
            archived_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let too_big = |what: &str| StoreError::Other(format!("a chart's {what} is too large").into());
    for chart in charts {
        let archive = chart.archive();
        let position = i32::try_from(chart.position()).map_err(|_| too_big("position"))?;
        let size = chart
            .size()
            .map(i64::try_from)
            .transpose()
            .map_err(|_| too_big("size"))?;
        let stored_size = archive
            .stored_size
            .map(i64::try_from)
            .transpose()
            .map_err(|_| too_big("stored size"))?;
        let attempts = i32::try_from(archive.attempts).map_err(|_| too_big("attempt count"))?;
        let url = chart.url();
        let filename = chart.filename();
        let content_type = chart.content_type();
        let status = archive.status.as_str();
        let sha256 = archive.sha256.map(|s| s.to_string());
        let image = archive.image.map(ImageKind::as_str);
        let reason = archive.reason.as_deref();
        let archived_at = archive.archived_at.as_ref().map(Timestamp::as_str);
        let params: [Param<'_>; 14] = [
            (&plan_id, Type::INT8),
            (&url, Type::TEXT),
            (&filename, Type::TEXT),
            (&added_at, Type::TEXT),
            (&position, Type::INT4),
            (&content_type, Type::TEXT),
            (&size, Type::INT8),
            (&status, Type::TEXT),
            (&sha256, Type::TEXT),
            (&stored_size, Type::INT8),
            (&image, Type::TEXT),
            (&reason, Type::TEXT),
            (&attempts, Type::INT4),
            (&archived_at, Type::TEXT),
        ];
        conn.execute_typed(SQL, &params)
            .map_err(|e| sql_error(shown, e))?;
    }
    Ok(())
}

/// The columns [`history_from_row`] reads, in order.
pub(crate) const HISTORY_COLUMNS: &str =
    "id, plan_id, action, plan_text, charts, edited_by, edited_by_id, edited_at";

pub(crate) fn history_from_row(row: &Row) -> Result<HistoryEntry, StoreError> {
    let id: i64 = col(row, 0)?;
    let plan_id: i64 = col(row, 1)?;
    let action: String = col(row, 2)?;
    let text: String = col(row, 3)?;
    let charts: Option<String> = col(row, 4)?;
    let by_name: String = col(row, 5)?;
    let by_id: Option<String> = col(row, 6)?;
    let at: String = col(row, 7)?;
    let bad = |what: String| corrupt("plan_history", id, what);
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
                .map_err(|e: InvalidId| bad(e.to_string()))?,
            name: by_name,
        },
        at: Timestamp::parse(&at).map_err(|e| bad(e.to_string()))?,
    })
}
