//! Storage errors: the variants callers act on, plus one opaque variant carrying the cause.

use std::path::PathBuf;

use coach_plans_model::{ChartId, CoachId, InvalidChart, PlanDate, PlanId};

/// Why a storage call failed. No driver type (rusqlite, r2d2) appears here: causes are carried
/// as opaque errors so that callers depend on the trait alone.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A live plan already exists for this coach and date.
    #[error("a live plan already exists for {coach} on {date} (plan {existing})")]
    Conflict {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: PlanDate,
        /// The live plan's id.
        existing: PlanId,
    },
    /// No live plan has this id.
    #[error("no live plan with id {0}")]
    NotFound(PlanId),
    /// No stored chart has this id (its plan was edited with new charts since it was read).
    #[error("no stored chart with id {0}")]
    ChartNotFound(ChartId),
    /// A chart link that no chart may have (not http(s), too long, with spaces).
    #[error("cannot record this chart link: {0}")]
    InvalidChartUrl(#[source] InvalidChart),
    /// The database cannot be reached or written right now (locked past the busy timeout,
    /// disk full, I/O error, missing permission, unopenable path). Worth retrying later.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The database file is newer than this build understands; it was not modified.
    #[error(
        "{}: the database schema is version {found}, newer than this build supports (up to {supported}); \
         it was left untouched: upgrade coach-plans or point database.path elsewhere",
        path.display()
    )]
    IncompatibleSchema {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// What the database path names is not a coach-plans database (a directory, a file that
    /// is not SQLite, another application's tables, a `schema_version` table of another
    /// shape); it was not modified.
    #[error("{}: not a coach-plans database: {reason}; it was left untouched", path.display())]
    Unrecognized {
        /// What the database path names.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Stored data is not what this build wrote or can read.
    #[error("the database holds invalid data: {0}")]
    Corrupt(String),
    /// An import would replace a different live plan for this coach and date; nothing was
    /// imported.
    #[error("a different live plan already exists for {coach} on {date}; nothing was imported")]
    ImportConflict {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: PlanDate,
    },
    /// A plan read back after an import differs from its input; the import was rolled back.
    #[error(
        "imported plan for {coach} on {date} did not read back identically ({detail}); the import was rolled back"
    )]
    ImportMismatch {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: PlanDate,
        /// What differed.
        detail: String,
    },
    /// Anything else.
    #[error("storage failure: {0}")]
    Other(#[source] Cause),
}

/// An underlying error, kept for its message and source chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StoreError {
    /// Whether the failure is the database being unreachable for now (so a caller may hold the
    /// change in memory and retry), as opposed to a problem with the request or the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Whether the database was refused as one this build must not touch (newer, or not a
    /// coach-plans database at all): retrying cannot help, and nothing was changed.
    pub fn is_refused_database(&self) -> bool {
        matches!(
            self,
            Self::IncompatibleSchema { .. } | Self::Unrecognized { .. }
        )
    }
}
