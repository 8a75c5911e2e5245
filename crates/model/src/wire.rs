//! JSON shapes of the HTTP API, shared by the server (which writes them) and the client (which
//! reads them).
//!
//! [`legacy`] holds the shapes of the Python version's endpoints, kept key for key so its clients
//! work unchanged; the rest belongs to the native `/api/v1` API and to operations.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Coach, CoachId, HistoryEntry, Plan, PlanDate, PlanId};

/// Shapes of the Python version's endpoints.
pub mod legacy {
    use super::*;

    /// `GET /api/coach-plans/` when the plan exists.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct FoundPlan {
        /// The plan text.
        pub plan: String,
        /// Chart URLs in order.
        pub charts: Vec<String>,
        /// The author's display name.
        pub author: String,
        /// When it was posted.
        pub created_at: String,
        /// When it was last edited, or null.
        pub edited_at: Option<String>,
        /// The channel name, or null.
        pub channel: Option<String>,
    }

    /// `GET /api/coach-plans/` when no plan was posted: the text starts with "No", which the
    /// Python version's clients test for.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct MissingPlan {
        /// `No plan available for coach_d on 2024-05-10`.
        pub plan: String,
        /// Always empty.
        pub charts: Vec<String>,
    }

    impl MissingPlan {
        /// The reply for a coach and date without a plan.
        pub fn new(coach: &CoachId, date: PlanDate) -> Self {
            Self {
                plan: missing_plan_text(coach, date),
                charts: Vec::new(),
            }
        }
    }

    /// The Python version's text for a missing plan.
    pub fn missing_plan_text(coach: &CoachId, date: PlanDate) -> String {
        format!("No plan available for {} on {date}", coach.api_key())
    }

    /// Either reply of `GET /api/coach-plans/`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum PlanReply {
        /// A plan was posted.
        Found(FoundPlan),
        /// None was.
        Missing(MissingPlan),
    }

    /// One entry of `GET /api/coach-plans/all`, keyed by `coach_<id>`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct AllEntry {
        /// The plan text.
        pub plan: String,
        /// Chart URLs in order.
        pub charts: Vec<String>,
        /// The author's display name.
        pub author: String,
        /// When it was posted.
        pub created_at: String,
        /// When it was last edited, or null.
        pub edited_at: Option<String>,
    }

    /// `GET /api/coach-plans/all`: `coach_<id>` to plan, only coaches with a live plan.
    pub type AllPlans = BTreeMap<String, AllEntry>;

    /// `GET /api/coach-plans/history`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct History {
        /// Newest first.
        pub history: Vec<HistoryRow>,
    }

    /// One previous version, as the Python version listed it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct HistoryRow {
        /// The history entry id.
        pub id: i64,
        /// The plan's id.
        pub plan_id: i64,
        /// The text before the change.
        pub plan_text: String,
        /// Who changed it (display name).
        pub edited_by: String,
        /// When.
        pub edited_at: String,
    }

    impl From<&Plan> for FoundPlan {
        fn from(plan: &Plan) -> Self {
            Self {
                plan: plan.text.as_str().to_owned(),
                charts: chart_urls(plan),
                author: plan.author.name.clone(),
                created_at: plan.created_at.as_str().to_owned(),
                edited_at: plan.edited_at.as_ref().map(|t| t.as_str().to_owned()),
                channel: plan.channel.name.clone(),
            }
        }
    }

    impl From<&Plan> for AllEntry {
        fn from(plan: &Plan) -> Self {
            Self {
                plan: plan.text.as_str().to_owned(),
                charts: chart_urls(plan),
                author: plan.author.name.clone(),
                created_at: plan.created_at.as_str().to_owned(),
                edited_at: plan.edited_at.as_ref().map(|t| t.as_str().to_owned()),
            }
        }
    }

    impl From<&HistoryEntry> for HistoryRow {
        fn from(entry: &HistoryEntry) -> Self {
            Self {
                id: entry.id.get(),
                plan_id: entry.plan_id.get(),
                plan_text: entry.text.as_str().to_owned(),
                edited_by: entry.by.name.clone(),
                edited_at: entry.at.as_str().to_owned(),
            }
        }
    }

    fn chart_urls(plan: &Plan) -> Vec<String> {
        plan.charts.iter().map(|c| c.url().to_owned()).collect()
    }

    /// `GET /`: what the service is and where its endpoints are.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Index {
        /// The service name.
        pub name: String,
        /// Its version.
        pub version: String,
        /// Endpoint name to path.
        pub endpoints: BTreeMap<String, String>,
        /// Where the documentation is.
        pub documentation: String,
    }

    /// `GET /metrics`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Metrics {
        /// When the figures were taken (RFC 3339, UTC).
        pub timestamp: String,
        /// Seconds since the server started.
        pub uptime_seconds: f64,
        /// Request counts.
        pub requests: RequestMetrics,
        /// Storage figures, read from counters (never by scanning a table).
        pub database: DatabaseMetrics,
        /// Chart archiving figures (SPEC 14); absent from servers that do not archive charts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub charts: Option<ChartMetrics>,
        /// What the Discord bot read back after new gateway sessions (SPEC 15); absent before
        /// the first backfill and in mock mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub backfill: Option<super::BackfillHealth>,
        /// On PostgreSQL: whether this replica holds the Discord gateway (SPEC 16); absent on
        /// SQLite (one server, which leads).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<super::Role>,
    }

    /// Chart archiving figures in `GET /metrics`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct ChartMetrics {
        /// Charts of live plans archived.
        pub charts_archived: u64,
        /// Charts of live plans waiting to be archived.
        pub charts_pending: u64,
        /// Charts of live plans given up on.
        pub charts_failed: u64,
        /// Bytes of chart images stored (every blob, shared ones once).
        pub chart_bytes_stored: u64,
    }

    /// Request counts in `GET /metrics`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct RequestMetrics {
        /// All requests served.
        pub total: u64,
        /// Those answered below 400.
        pub success: u64,
        /// Those answered 400 or above.
        pub error: u64,
        /// `error / total * 100`, rounded to two decimals; 0 before any request.
        pub error_rate_percent: f64,
    }

    /// Storage figures in `GET /metrics`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct DatabaseMetrics {
        /// Live plans.
        pub total_plans: u64,
        /// Charts of live plans.
        pub total_charts: u64,
        /// History entries (edits, replacements and deletions).
        pub total_edits: u64,
        /// The date of the newest live plan, or null when there is none.
        pub latest_plan: Option<String>,
    }
}

/// `GET /health`: overall status and each component's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: HealthStatus,
    /// When the report was made (RFC 3339, UTC).
    pub timestamp: String,
    /// Per component.
    pub components: HealthComponents,
}

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Healthy,
    /// The database works but the Discord bot is disconnected, or some charts could not be
    /// archived.
    Degraded,
    /// The database is down (answered with 503).
    Unhealthy,
}

/// The components of [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthComponents {
    /// The database.
    pub database: DatabaseHealth,
    /// The Discord bot.
    pub discord_bot: BotHealth,
    /// Chart archiving; absent when its counts cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charts: Option<ChartHealth>,
}

/// Chart archiving's part of the health report: charts of live plans by archive state. Any
/// `failed` makes the report `degraded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartHealth {
    /// Archived.
    pub archived: u64,
    /// Waiting to be archived.
    pub pending: u64,
    /// Given up on.
    pub failed: u64,
}

/// The database's part of the health report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseHealth {
    /// `up` or `down`.
    pub status: ComponentStatus,
    /// Live plans stored.
    pub plan_count: u64,
    /// Changes held in memory while the database is down, waiting to be written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending_writes: u64,
    /// Why the database is down, in words for an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ComponentStatus {
    /// Working.
    Up,
    /// Not working.
    Down,
}

/// The Discord bot's part of the health report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotHealth {
    /// `connected`, `disconnected`, `standby` or `mock`.
    pub status: BotStatus,
    /// On PostgreSQL, where replicas may share the database (SPEC 16): whether this replica
    /// holds the Discord gateway (`leader`) or leaves it to another (`follower`). Absent on
    /// SQLite, where the one server leads, so the report keeps the Python version's shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When the last gateway event arrived (RFC 3339, UTC), if any did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<String>,
    /// Why the bot is disconnected, in words for an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the bot read back after its gateway sessions (SPEC 15); absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillHealth>,
}

/// The bot's reading back of messages missed while it was disconnected (SPEC 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackfillHealth {
    /// When the last backfill finished (RFC 3339, UTC).
    pub last_backfill_at: String,
    /// Backfills finished since the bot started (one per new gateway session).
    pub backfills: u64,
    /// Commands handled late by every backfill since the bot started.
    pub messages_recovered: u64,
    /// Channels whose history could not be read in the last backfill (a 403, a timeout).
    pub channels_skipped: u64,
}

/// The Discord bot's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BotStatus {
    /// Connected to the Discord gateway.
    Connected,
    /// Not connected (starting, reconnecting, or stopped by a fatal error).
    Disconnected,
    /// Mock mode: no Discord connection by design.
    Mock,
    /// A follower replica: another replica on the same database holds the gateway, and this
    /// one takes over when that one stops (SPEC 16).
    Standby,
}

/// A replica's part in holding the Discord gateway (SPEC 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Holds the gateway (connected, or connecting).
    Leader,
    /// Serves the API and waits to take the gateway over.
    Follower,
}

/// The reason a follower's bot reports with [`BotStatus::Standby`].
pub const STANDBY_REASON: &str = "another replica holds the Discord gateway";

/// The error body of every failed request: `{"error": ..., "message": ...}`.
///
/// The compatibility endpoints answer 400s with `error` alone, as the Python version did;
/// everything else carries both, and `parameter` names the offending query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A short title, or the whole message on the compatibility endpoints.
    pub error: String,
    /// What went wrong, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The query parameter at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// A coach as listed by `GET /api/v1/coaches`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoachInfo {
    /// The id, such as `d`.
    pub id: CoachId,
    /// The compatibility key, such as `coach_d`.
    pub key: String,
    /// The name shown to people.
    pub display_name: String,
    /// What the coach covers.
    pub description: String,
}

impl From<&Coach> for CoachInfo {
    fn from(coach: &Coach) -> Self {
        Self {
            id: coach.id.clone(),
            key: coach.id.api_key(),
            display_name: coach.display_name.clone(),
            description: coach.description.clone(),
        }
    }
}

/// `GET /api/v1/coaches`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoachList {
    /// The roster in configured order.
    pub coaches: Vec<CoachInfo>,
}

/// `GET /api/v1/plans`: one page of live plans, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPage {
    /// The plans on this page.
    pub plans: Vec<Plan>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<PageCursor>,
}

/// `GET /api/v1/plans/{id}/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanHistory {
    /// The plan's id.
    pub plan_id: PlanId,
    /// Previous versions, newest first.
    pub history: Vec<HistoryEntry>,
}

/// A keyset pagination position: the (date, id) of the last plan on the previous page.
///
/// Written `YYYY-MM-DD.<id>`; clients should treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PageCursor {
    /// The date of the last plan returned.
    pub date: PlanDate,
    /// The id of the last plan returned.
    pub id: PlanId,
}

/// A cursor that was not produced by this API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a page cursor; pass back the next_cursor of a previous page")]
pub struct InvalidCursor {
    /// What was given (shortened when long).
    pub input: String,
}

impl FromStr for PageCursor {
    type Err = InvalidCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor {
            input: crate::truncate_for_display(s),
        };
        let (date, id) = s.split_once('.').ok_or_else(invalid)?;
        Ok(Self {
            date: PlanDate::parse(date).map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.date, self.id)
    }
}

impl TryFrom<String> for PageCursor {
    type Error = InvalidCursor;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PageCursor> for String {
    fn from(cursor: PageCursor) -> Self {
        cursor.to_string()
    }
}

/// The Python version's in-memory store, as exported to JSON: `coach_<id>_<YYYY-MM-DD>` to a
/// record. Also the format of the spill file written when plans cannot reach the database.
pub type LegacyExport = BTreeMap<String, LegacyRecord>;

/// One plan in a [`LegacyExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyRecord {
    /// The plan text.
    pub plan: String,
    /// Chart URLs in order.
    pub charts: Vec<String>,
    /// The author's display name.
    pub author: String,
    /// When it was posted (ISO 8601, naive local time in the Python version's files).
    pub timestamp: String,
    /// The channel name.
    pub channel: Option<String>,
}

/// Splits a [`LegacyExport`] key `coach_<id>_<YYYY-MM-DD>` into coach and date.
pub fn parse_legacy_key(key: &str) -> Option<(CoachId, PlanDate)> {
    let (coach, date) = key.rsplit_once('_')?;
    let coach = coach.strip_prefix("coach_")?;
    Some((CoachId::parse(coach).ok()?, PlanDate::parse(date).ok()?))
}

/// The [`LegacyExport`] key for a coach and date.
pub fn legacy_key(coach: &CoachId, date: PlanDate) -> String {
    format!("{}_{date}", coach.api_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor: PageCursor = "2024-05-10.42".parse().unwrap();
        assert_eq!(cursor.to_string(), "2024-05-10.42");
        for bad in [
            "",
            "2024-05-10",
            "2024-05-10.",
            "2024-02-30.1",
            "2024-05-10.-1",
            "x.1",
        ] {
            assert!(bad.parse::<PageCursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn legacy_keys_split_into_coach_and_date() {
        let (coach, date) = parse_legacy_key("coach_d_2024-05-10").unwrap();
        assert_eq!(
            (coach.as_str(), date.to_string().as_str()),
            ("d", "2024-05-10")
        );
        assert_eq!(legacy_key(&coach, date), "coach_d_2024-05-10");
        for bad in [
            "d_2024-05-10",
            "coach_d_2024-02-30",
            "coach__2024-05-10",
            "coach_d",
        ] {
            assert!(parse_legacy_key(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_missing_plan_text_starts_with_no() {
        let coach = CoachId::parse("d").unwrap();
        let date = PlanDate::parse("2024-05-10").unwrap();
        let reply = legacy::MissingPlan::new(&coach, date);
        assert_eq!(reply.plan, "No plan available for coach_d on 2024-05-10");
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(json, serde_json::json!({"plan": reply.plan, "charts": []}));
    }

    #[test]
    fn the_fixture_export_parses() {
        let text = include_str!("../../../tests/fixtures/legacy-memory-export.json");
        let export: LegacyExport = serde_json::from_str(text).unwrap();
        assert_eq!(export.len(), 4);
        assert!(export.keys().all(|k| parse_legacy_key(k).is_some()));
    }
}
