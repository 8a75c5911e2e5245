//! Every row of a store, as stored: what `coach-plans copy` moves from one database to
//! another (SQLite and PostgreSQL keep the same tables and columns), with a digest to check
//! that what arrived is what left.

use coach_plans_model::Sha256;

use crate::{StoreError, sha256_of};

/// A `coach_plans` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[allow(missing_docs)]
pub struct PlanRecord {
    pub id: i64,
    pub coach_name: String,
    pub date: String,
    pub plan: String,
    pub author: String,
    pub author_id: Option<String>,
    pub channel: Option<String>,
    pub channel_id: Option<String>,
    pub message_id: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub is_deleted: bool,
}

/// A `plan_charts` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[allow(missing_docs)]
pub struct ChartRecord {
    pub id: i64,
    pub plan_id: i64,
    pub chart_url: String,
    pub filename: Option<String>,
    pub added_at: String,
    pub position: i64,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub status: String,
    pub sha256: Option<String>,
    pub stored_size: Option<i64>,
    pub image_type: Option<String>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub archived_at: Option<String>,
}

/// A `plan_history` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[allow(missing_docs)]
pub struct HistoryRecord {
    pub id: i64,
    pub plan_id: i64,
    pub plan_text: String,
    pub edited_by: String,
    pub edited_at: String,
    pub action: String,
    pub edited_by_id: Option<String>,
    pub charts: Option<String>,
}

/// Every row of a store, each table in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tables {
    /// Plans, live and deleted.
    pub plans: Vec<PlanRecord>,
    /// Charts, with their archive state.
    pub charts: Vec<ChartRecord>,
    /// History entries.
    pub history: Vec<HistoryRecord>,
}

impl Tables {
    /// How many rows in all.
    pub fn rows(&self) -> usize {
        self.plans.len() + self.charts.len() + self.history.len()
    }

    /// Whether there is no row at all.
    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// The SHA-256 of every row's every value, in order: equal digests mean equal tables.
    pub fn digest(&self) -> Sha256 {
        // Serializing plain structs of strings and numbers cannot fail.
        sha256_of(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// A store whose rows can be read and written whole, ids included (`coach-plans copy`).
pub trait TableStore {
    /// Every row, each table in id order, read in one consistent snapshot.
    fn read_tables(&self) -> Result<Tables, StoreError>;

    /// Writes every row of `tables`, keeping ids, in one transaction. Refused, with nothing
    /// written, when the store already holds a plan, a chart or a history entry. Before
    /// committing, every row is read back inside the transaction and compared; any difference
    /// rolls everything back. `progress` is told how many rows have been written so far.
    fn write_tables(
        &self,
        tables: &Tables,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), StoreError>;
}

/// The error of [`TableStore::write_tables`] for a store that is not empty.
pub fn not_empty(what: &str, rows: usize) -> StoreError {
    StoreError::Other(
        format!("{what} is not empty ({rows} row(s)); nothing was written: copy only into an empty database")
            .into(),
    )
}

/// The error of [`TableStore::write_tables`] when what was written does not read back.
pub fn read_back_differs(what: &str) -> StoreError {
    StoreError::Other(
        format!(
            "the rows written to {what} did not read back identically; everything was rolled back"
        )
        .into(),
    )
}
