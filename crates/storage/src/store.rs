//! The storage trait and the values that cross it.

use coach_plans_model::wire::PageCursor;
use coach_plans_model::{
    Author, ChartId, CoachId, HistoryEntry, ImageKind, Plan, PlanDate, PlanId, Sha256, Timestamp,
    UserId,
};

use crate::{NewPlan, Revision, StoreError};

/// Where plans live. Implemented by [`MemoryStore`](crate::MemoryStore), the fallback
/// [`ResilientStore`](crate::ResilientStore), and the database stores in their own crates
/// (`coach-plans-sqlite`); every one passes the contract suite of this crate's `contract`
/// feature.
///
/// Calls block (a database does I/O); async callers run them off their runtime's worker threads
/// (the service crate does this in one place). Every mutation is atomic: it happens entirely,
/// history included, or not at all. A successful mutation is durable when it returns.
pub trait PlanStore: Send + Sync + 'static {
    /// Stores a new live plan and returns it with its id.
    ///
    /// Fails with [`StoreError::Conflict`] when a live plan exists for the same coach and date.
    /// A deleted plan does not conflict: the coach and date may be posted again.
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError>;

    /// Changes a live plan's text (and its charts when `revision.charts` is set), keeping its id
    /// and `created_at`, setting `edited_at`, and recording the previous text and charts in its
    /// history as `revision.action` by `revision.by`.
    ///
    /// Fails with [`StoreError::NotFound`] when no live plan has this id.
    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError>;

    /// Marks a live plan deleted and records its last version in its history as a deletion.
    /// Returns the plan as it was before deletion.
    ///
    /// Fails with [`StoreError::NotFound`] when no live plan has this id.
    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError>;

    /// The plan with this id, live or deleted.
    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError>;

    /// The live plan for this coach and date.
    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError>;

    /// Every plan ever posted for this coach and date, live or deleted, newest first. At most one
    /// is live, and it comes first when there is one.
    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError>;

    /// Live plans matching the query, newest first: by date descending, then id descending.
    /// Costs the same whatever the table size (keyset pagination on indexed columns).
    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError>;

    /// A plan's history, newest first. Empty for an unknown id.
    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError>;

    /// Counts kept up to date on every write; never computed by scanning a table.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Imports plans in one transaction: every plan is stored, or none is.
    ///
    /// A plan identical to the live plan already stored for its coach and date (same text,
    /// charts, author, channel and `created_at`) is skipped, so an import can be run twice.
    /// A different live plan for the same coach and date fails the whole import with
    /// [`StoreError::ImportConflict`]. After writing, every imported plan is read back inside
    /// the transaction and compared with its input; any difference rolls everything back with
    /// [`StoreError::ImportMismatch`].
    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError>;

    /// Whether the store can be written now, without waiting on locks and without writing.
    fn health(&self) -> StoreHealth;

    /// Up to `limit` charts of live plans still to archive ([`ChartStatus::Pending`]), oldest
    /// first (in the order they were stored). Charts of deleted plans are not offered.
    ///
    /// [`ChartStatus::Pending`]: coach_plans_model::ChartStatus::Pending
    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError>;

    /// Records that `chart` is archived as the blob `sha256` of `size` bytes of `image`, at
    /// `at`. Its plan reads back with this state; its attempts are kept.
    ///
    /// Fails with [`StoreError::ChartNotFound`] when no stored chart has this id (its plan was
    /// edited with new charts meanwhile).
    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt to archive `chart`, the `attempts`-th, for `reason`: when
    /// `last` the chart is failed for good, otherwise it stays pending and is offered again.
    ///
    /// Fails with [`StoreError::ChartNotFound`] as [`PlanStore::record_chart_archived`] does.
    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError>;

    /// Records a new link to `chart`'s image (Discord refreshed an expired one). A URL a
    /// chart could not have is refused with [`StoreError::InvalidChartUrl`].
    ///
    /// Fails with [`StoreError::ChartNotFound`] as [`PlanStore::record_chart_archived`] does.
    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError>;

    /// Puts every failed chart of live plans ([`ChartStatus::Failed`]) back to pending with no
    /// attempts counted (its last reason is kept until the next attempt), so the archiver tries
    /// it again after the cause was fixed. Returns how many charts were put back.
    ///
    /// [`ChartStatus::Failed`]: coach_plans_model::ChartStatus::Failed
    fn requeue_failed_charts(&self) -> Result<u64, StoreError>;

    /// Puts every archived chart whose image is the blob `sha256` back to pending, its archive
    /// fields cleared and no attempts counted, with `reason` kept: the blob was found damaged
    /// and removed, so the archiver fetches the image again. Returns how many charts.
    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError>;

    /// How many charts of live plans are pending, archived and failed. Kept current on every
    /// write, like [`PlanStore::stats`].
    fn chart_counts(&self) -> Result<ChartCounts, StoreError>;
}

/// A chart to archive, as [`PlanStore::charts_to_archive`] offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    /// The stored chart; what the `record_chart_*` calls take.
    pub id: ChartId,
    /// Its plan.
    pub plan_id: PlanId,
    /// Its position among the plan's charts.
    pub position: u32,
    /// Where its image can be downloaded now.
    pub url: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Charts of live plans by archive state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChartCounts {
    /// Not archived yet.
    pub pending: u64,
    /// Archived.
    pub archived: u64,
    /// Given up on.
    pub failed: u64,
}

/// Which live plans to list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanQuery {
    /// Only this coach's plans.
    pub coach: Option<CoachId>,
    /// Only plans by this author.
    pub author: Option<AuthorFilter>,
    /// Only plans on or after this date.
    pub from: Option<PlanDate>,
    /// Only plans on or before this date.
    pub to: Option<PlanDate>,
    /// Only plans after this position in the (date desc, id desc) order.
    pub after: Option<PageCursor>,
    /// At most this many plans (the API allows 1 to 500).
    pub limit: u32,
}

impl PlanQuery {
    /// All live plans for one date, up to `limit`.
    pub fn on(date: PlanDate, limit: u32) -> Self {
        Self {
            coach: None,
            author: None,
            from: Some(date),
            to: Some(date),
            after: None,
            limit,
        }
    }
}

/// Whose plans to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorFilter {
    /// Plans posted by this Discord user.
    Id(UserId),
    /// Plans whose author had this display name when posting.
    Name(String),
    /// Plans by this person: by this user id, or, for legacy plans that have no author id, by
    /// this name (the rule of [`Author::is_same_person`]).
    Person {
        /// The user id.
        id: UserId,
        /// The display name, matched only against legacy plans.
        name: String,
    },
}

/// Counts the store keeps current on every write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Live plans.
    pub live_plans: u64,
    /// Charts belonging to live plans.
    pub live_charts: u64,
    /// History entries (edits, replacements and deletions).
    pub history_entries: u64,
    /// The date of the newest live plan.
    pub latest_plan_date: Option<PlanDate>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Plans written.
    pub imported: usize,
    /// Plans skipped because an identical live plan was already stored.
    pub already_present: usize,
}

/// Whether a store can take writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// Writes are reaching durable storage.
    pub writable: bool,
    /// Changes accepted but not yet written to durable storage (held in memory).
    pub pending_writes: u64,
    /// Why writes are not reaching durable storage, in words for an operator.
    pub error: Option<String>,
}

impl StoreHealth {
    /// A store taking writes normally.
    pub fn up() -> Self {
        Self {
            writable: true,
            pending_writes: 0,
            error: None,
        }
    }
}
