//! Numbered, transactional, forward-only schema migrations, and adoption of the Python
//! version's database.
//!
//! Migration 1 is exactly the schema the Python version created, so a new database and an
//! adopted one take the same path through migration 2 and end up identical.

use std::path::{Path, PathBuf};

use coach_plans_storage::StoreError;
use coach_plans_storage::files::stamped_path;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::errors::sql_error;
use crate::store::split;

/// A migration: its number, what it does, and its SQL (run in one transaction).
struct Migration {
    version: i64,
    summary: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        summary: "the Python version's schema",
        sql: V1,
    },
    Migration {
        version: 2,
        summary: "uniqueness among live plans only, Discord ids, chart positions and types, \
                  history actions and chart snapshots, counters",
        sql: V2,
    },
    Migration {
        version: 3,
        summary: "archive state of each chart (pending, archived, failed), counted per state",
        sql: V3,
    },
    Migration {
        version: 4,
        summary: "the Discord bot's cursor per channel and the command messages it handled",
        sql: V4,
    },
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = 4;

const V1: &str = "
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
CREATE TABLE coach_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    coach_name TEXT NOT NULL,
    date TEXT NOT NULL,
    plan TEXT NOT NULL,
    author TEXT NOT NULL,
    channel TEXT,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    is_deleted INTEGER DEFAULT 0,
    UNIQUE(coach_name, date)
);
CREATE TABLE plan_charts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL,
    chart_url TEXT NOT NULL,
    filename TEXT,
    added_at TEXT NOT NULL,
    FOREIGN KEY (plan_id) REFERENCES coach_plans(id) ON DELETE CASCADE
);
CREATE TABLE plan_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL,
    plan_text TEXT NOT NULL,
    edited_by TEXT NOT NULL,
    edited_at TEXT NOT NULL,
    FOREIGN KEY (plan_id) REFERENCES coach_plans(id) ON DELETE CASCADE
);
CREATE INDEX idx_coach_date ON coach_plans(coach_name, date);
CREATE INDEX idx_date ON coach_plans(date);
CREATE INDEX idx_plan_id ON plan_charts(plan_id);
";

// SQLite cannot drop a table constraint, so coach_plans is rebuilt (SQLite's documented
// twelve-step procedure; foreign keys are switched off around the transaction by the caller).
// The AUTOINCREMENT counter is carried over so no id is ever reused.
const V2: &str = "
CREATE TABLE coach_plans_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    coach_name TEXT NOT NULL,
    date TEXT NOT NULL,
    plan TEXT NOT NULL,
    author TEXT NOT NULL,
    author_id TEXT,
    channel TEXT,
    channel_id TEXT,
    message_id TEXT,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    is_deleted INTEGER NOT NULL DEFAULT 0
);
INSERT INTO coach_plans_new (id, coach_name, date, plan, author, channel, created_at, edited_at, is_deleted)
    SELECT id, coach_name, date, plan, author, channel, created_at, edited_at, COALESCE(is_deleted, 0)
    FROM coach_plans ORDER BY id;
INSERT OR REPLACE INTO sqlite_sequence (name, seq)
    SELECT 'coach_plans_new', MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'coach_plans'), 0),
                                  COALESCE((SELECT MAX(id) FROM coach_plans_new), 0));
DROP TABLE coach_plans;
ALTER TABLE coach_plans_new RENAME TO coach_plans;

CREATE UNIQUE INDEX idx_live_coach_date ON coach_plans(coach_name, date) WHERE is_deleted = 0;
CREATE INDEX idx_coach_date ON coach_plans(coach_name, date);
CREATE INDEX idx_live_date ON coach_plans(date, id) WHERE is_deleted = 0;
CREATE INDEX idx_live_author_id ON coach_plans(author_id, date, id) WHERE is_deleted = 0;
CREATE INDEX idx_live_author ON coach_plans(author, date, id) WHERE is_deleted = 0;

ALTER TABLE plan_charts ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plan_charts ADD COLUMN content_type TEXT;
ALTER TABLE plan_charts ADD COLUMN size INTEGER;
-- The Python version's chart order was insertion order.
UPDATE plan_charts SET position =
    (SELECT COUNT(*) FROM plan_charts AS earlier
     WHERE earlier.plan_id = plan_charts.plan_id AND earlier.id < plan_charts.id);
CREATE INDEX idx_charts_plan_position ON plan_charts(plan_id, position);

ALTER TABLE plan_history ADD COLUMN action TEXT NOT NULL DEFAULT 'edit';
ALTER TABLE plan_history ADD COLUMN edited_by_id TEXT;
ALTER TABLE plan_history ADD COLUMN charts TEXT;
CREATE INDEX idx_history_plan ON plan_history(plan_id, id);

CREATE TABLE plan_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO plan_counters (name, value) VALUES
    ('live_plans', (SELECT COUNT(*) FROM coach_plans WHERE is_deleted = 0)),
    ('live_charts', (SELECT COUNT(*) FROM plan_charts
                     WHERE plan_id IN (SELECT id FROM coach_plans WHERE is_deleted = 0))),
    ('history_entries', (SELECT COUNT(*) FROM plan_history));

CREATE TRIGGER count_plan_insert AFTER INSERT ON coach_plans WHEN NEW.is_deleted = 0
BEGIN
    UPDATE plan_counters SET value = value + 1 WHERE name = 'live_plans';
END;
CREATE TRIGGER count_plan_delete AFTER UPDATE OF is_deleted ON coach_plans
    WHEN OLD.is_deleted = 0 AND NEW.is_deleted <> 0
BEGIN
    UPDATE plan_counters SET value = value - 1 WHERE name = 'live_plans';
    UPDATE plan_counters SET value = value - (SELECT COUNT(*) FROM plan_charts WHERE plan_id = NEW.id)
        WHERE name = 'live_charts';
END;
CREATE TRIGGER count_plan_undelete AFTER UPDATE OF is_deleted ON coach_plans
    WHEN OLD.is_deleted <> 0 AND NEW.is_deleted = 0
BEGIN
    UPDATE plan_counters SET value = value + 1 WHERE name = 'live_plans';
    UPDATE plan_counters SET value = value + (SELECT COUNT(*) FROM plan_charts WHERE plan_id = NEW.id)
        WHERE name = 'live_charts';
END;
CREATE TRIGGER count_chart_insert AFTER INSERT ON plan_charts
BEGIN
    UPDATE plan_counters SET value = value + 1 WHERE name = 'live_charts'
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = NEW.plan_id AND is_deleted = 0);
END;
CREATE TRIGGER count_chart_delete AFTER DELETE ON plan_charts
BEGIN
    UPDATE plan_counters SET value = value - 1 WHERE name = 'live_charts'
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = OLD.plan_id AND is_deleted = 0);
END;
CREATE TRIGGER count_history_insert AFTER INSERT ON plan_history
BEGIN
    UPDATE plan_counters SET value = value + 1 WHERE name = 'history_entries';
END;
";

// Every chart stored so far becomes pending: the archiver will fetch it (or, for links long
// expired, ask Discord for a fresh one first). Only columns are added, so the rows and their
// ids stay as they were. Charts of live plans are counted per state by triggers, as
// live_charts is, so chart_counts never scans the table.
const V3: &str = "
ALTER TABLE plan_charts ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE plan_charts ADD COLUMN sha256 TEXT;
ALTER TABLE plan_charts ADD COLUMN stored_size INTEGER;
ALTER TABLE plan_charts ADD COLUMN image_type TEXT;
ALTER TABLE plan_charts ADD COLUMN reason TEXT;
ALTER TABLE plan_charts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plan_charts ADD COLUMN archived_at TEXT;
-- The archiver's queue: pending charts in the order they were stored.
CREATE INDEX idx_charts_pending ON plan_charts(id) WHERE status = 'pending';

INSERT INTO plan_counters (name, value)
    SELECT 'live_charts_' || state, (SELECT COUNT(*) FROM plan_charts
                                     WHERE status = state
                                       AND plan_id IN (SELECT id FROM coach_plans WHERE is_deleted = 0))
    FROM (SELECT 'pending' AS state UNION ALL SELECT 'archived' UNION ALL SELECT 'failed');

CREATE TRIGGER count_chart_state_insert AFTER INSERT ON plan_charts
BEGIN
    UPDATE plan_counters SET value = value + 1 WHERE name = 'live_charts_' || NEW.status
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = NEW.plan_id AND is_deleted = 0);
END;
CREATE TRIGGER count_chart_state_delete AFTER DELETE ON plan_charts
BEGIN
    UPDATE plan_counters SET value = value - 1 WHERE name = 'live_charts_' || OLD.status
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = OLD.plan_id AND is_deleted = 0);
END;
CREATE TRIGGER count_chart_state_update AFTER UPDATE OF status ON plan_charts
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE plan_counters SET value = value - 1 WHERE name = 'live_charts_' || OLD.status
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = OLD.plan_id AND is_deleted = 0);
    UPDATE plan_counters SET value = value + 1 WHERE name = 'live_charts_' || NEW.status
        AND EXISTS (SELECT 1 FROM coach_plans WHERE id = NEW.plan_id AND is_deleted = 0);
END;
CREATE TRIGGER count_chart_state_plan_delete AFTER UPDATE OF is_deleted ON coach_plans
    WHEN OLD.is_deleted = 0 AND NEW.is_deleted <> 0
BEGIN
    UPDATE plan_counters SET value = value - (SELECT COUNT(*) FROM plan_charts
                                              WHERE plan_id = NEW.id
                                                AND 'live_charts_' || status = plan_counters.name)
        WHERE name IN ('live_charts_pending', 'live_charts_archived', 'live_charts_failed');
END;
CREATE TRIGGER count_chart_state_plan_undelete AFTER UPDATE OF is_deleted ON coach_plans
    WHEN OLD.is_deleted <> 0 AND NEW.is_deleted = 0
BEGIN
    UPDATE plan_counters SET value = value + (SELECT COUNT(*) FROM plan_charts
                                              WHERE plan_id = NEW.id
                                                AND 'live_charts_' || status = plan_counters.name)
        WHERE name IN ('live_charts_pending', 'live_charts_archived', 'live_charts_failed');
END;
";

// Migration 4: what the Discord bot remembers (SPEC 15), apart from the plans. Discord ids
// are INTEGER here (snowflakes fit in 63 bits until 2084) so cursors compare as numbers. No
// foreign key to coach_plans: a plan id recorded here may be one the fallback handed out
// while the database was down, and the record must never stop a plan from being written.
const V4: &str = "
CREATE TABLE discord_cursors (
    channel_id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL
);
CREATE TABLE discord_deliveries (
    message_id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    plan_id INTEGER,
    content TEXT NOT NULL,
    handled_at TEXT NOT NULL
);
";

/// What opening a database did to its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// The schema version found; `None` for a new, empty database.
    pub before: Option<i64>,
    /// The schema version now.
    pub after: i64,
    /// The migrations applied, in order.
    pub applied: Vec<i64>,
    /// The copy made before upgrading an existing database.
    pub backup: Option<PathBuf>,
}

/// A database's schema, as read without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Whether the file exists.
    pub exists: bool,
    /// The schema version in it; `None` for a missing or empty database.
    pub version: Option<i64>,
    /// The newest version this build knows.
    pub latest: i64,
    /// Migrations that opening it would apply: (version, summary).
    pub pending: Vec<(i64, &'static str)>,
}

impl SchemaStatus {
    /// Whether opening would back the file up first (an existing schema is being upgraded).
    pub fn needs_backup(&self) -> bool {
        self.version.is_some() && !self.pending.is_empty()
    }
}

/// Reads the schema version of a database without changing it. A missing file is a new
/// database; a newer schema is [`StoreError::IncompatibleSchema`]; a path that names something
/// other than a coach-plans database is [`StoreError::Unrecognized`].
pub(crate) fn inspect(path: &Path) -> Result<SchemaStatus, StoreError> {
    let exists = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(unrecognized(
                path,
                format!(
                    "it is a directory; name a file in it instead, such as {}",
                    path.join("coach_plans.db").display()
                ),
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(unrecognized(path, "it is not a regular file"));
        }
        Ok(_) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => return Err(StoreError::Unavailable(Box::new(error))),
    };
    let version = if exists { read_version(path)? } else { None };
    let current = version.unwrap_or(0);
    let pending = MIGRATIONS
        .iter()
        .filter(|m| m.version > current)
        .map(|m| (m.version, m.summary))
        .collect();
    Ok(SchemaStatus {
        exists,
        version,
        latest: LATEST,
        pending,
    })
}

fn unrecognized(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Unrecognized {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The tables a database at `version` has; migrations rely on them.
fn tables_of(version: i64) -> &'static [&'static str] {
    match version {
        1 => &["coach_plans", "plan_charts", "plan_history"],
        2 | 3 => &[
            "coach_plans",
            "plan_charts",
            "plan_history",
            "plan_counters",
        ],
        _ => &[
            "discord_cursors",
            "discord_deliveries",
            "coach_plans",
            "plan_charts",
            "plan_history",
            "plan_counters",
        ],
    }
}

/// Opens an existing database for reading without creating anything beside it. A read-only
/// connection to a WAL database creates the missing `-wal` and `-shm` files and, unable to
/// checkpoint, leaves them behind; so when neither a write-ahead log nor a rollback journal
/// exists (the main file then holds everything) the file is opened as immutable: no locks and
/// no side files. When one exists, it is read as SQLite must read it, through the log.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let self_contained = !beside("-wal").exists() && !beside("-journal").exists();
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    match path.to_str().filter(|_| self_contained) {
        Some(text) => Connection::open_with_flags(format!("{}?immutable=1", file_uri(text)), flags),
        None => Connection::open_with_flags(path, flags),
    }
    .map_err(sql_error)
}

/// A `file:` URI for a path, escaping what a URI would read as syntax.
fn file_uri(path: &str) -> String {
    let mut uri = String::from(if path.starts_with('/') {
        "file://"
    } else {
        "file:"
    });
    for c in path.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri
}

/// The schema version of an existing file, read so that a file we refuse is left byte for
/// byte as it was, with nothing new beside it.
fn read_version(path: &Path) -> Result<Option<i64>, StoreError> {
    let conn = open_read_only(path)?;
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY name",
        )
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|error| match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                unrecognized(path, "it is not an SQLite database file")
            }
            _ => sql_error(error),
        })?;
    if tables.is_empty() {
        return Ok(None);
    }
    let has = |name: &str| tables.iter().any(|t| t == name);
    let version = if has("schema_version") {
        let recorded = recorded_version(path, &conn)?;
        if let Some(found) = recorded.filter(|v| *v > LATEST) {
            return Err(StoreError::IncompatibleSchema {
                path: path.to_owned(),
                found,
                supported: LATEST,
            });
        }
        // An empty schema_version table beside the plans is a database someone started and
        // never finished.
        recorded.or(has("coach_plans").then_some(1))
    } else {
        // The Python version always wrote schema_version; a coach_plans table without it is
        // still its shape (its first releases), which migration 2 understands.
        has("coach_plans").then_some(1)
    };
    let Some(version) = version else {
        return Err(unrecognized(
            path,
            format!(
                "it holds tables that are not coach-plans' ({})",
                tables.join(", ")
            ),
        ));
    };
    if version < 1 {
        return Err(unrecognized(
            path,
            format!(
                "its schema_version table says version {version}, which coach-plans never wrote"
            ),
        ));
    }
    let missing: Vec<&str> = tables_of(version)
        .iter()
        .copied()
        .filter(|table| !has(table))
        .collect();
    if !missing.is_empty() {
        return Err(unrecognized(
            path,
            format!(
                "schema version {version} has the tables {}, but {} missing",
                tables_of(version).join(", "),
                if missing.len() == 1 {
                    format!("{} is", missing[0])
                } else {
                    format!("{} are", missing.join(", "))
                }
            ),
        ));
    }
    Ok(Some(version))
}

/// The highest version in `schema_version`, after checking that the table is the one
/// coach-plans (and the Python version) wrote: `(version INTEGER, applied_at)`.
fn recorded_version(path: &Path, conn: &Connection) -> Result<Option<i64>, StoreError> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('schema_version') ORDER BY cid")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(sql_error)?;
    if !(columns.iter().any(|c| c == "version") && columns.iter().any(|c| c == "applied_at")) {
        return Err(unrecognized(
            path,
            format!(
                "its schema_version table has the columns ({}), not coach-plans' (version, applied_at)",
                columns.join(", ")
            ),
        ));
    }
    let odd: Option<rusqlite::types::Value> = conn
        .query_row(
            "SELECT version FROM schema_version WHERE typeof(version) <> 'integer' LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql_error)?;
    if let Some(value) = odd {
        use rusqlite::types::Value;
        let shown = match value {
            Value::Text(text) if text.chars().count() <= 64 => format!("'{text}'"),
            Value::Text(_) => "a long text".to_owned(),
            Value::Real(number) => number.to_string(),
            Value::Null => "NULL".to_owned(),
            Value::Blob(_) => "a blob".to_owned(),
            Value::Integer(number) => number.to_string(),
        };
        return Err(unrecognized(
            path,
            format!("its schema_version table holds {shown}, not a version number"),
        ));
    }
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
        row.get(0)
    })
    .map_err(sql_error)
}

/// Brings the database at `path` to the latest schema, backing it up first when it already
/// holds an older one.
pub(crate) fn migrate(
    path: &Path,
    busy_timeout: std::time::Duration,
) -> Result<MigrationReport, StoreError> {
    migrate_up_to(path, busy_timeout, LATEST)
}

/// Brings the database at `path` to schema `target` (at most [`LATEST`]), as [`migrate`]
/// does; tests use it to make the databases earlier builds left.
pub(crate) fn migrate_up_to(
    path: &Path,
    busy_timeout: std::time::Duration,
    target: i64,
) -> Result<MigrationReport, StoreError> {
    let mut status = inspect(path)?;
    status.pending.retain(|(version, _)| *version <= target);
    let backup = if status.needs_backup() {
        Some(backup_file(path, status.version.unwrap_or(0))?)
    } else {
        None
    };
    let mut conn = Connection::open(path).map_err(sql_error)?;
    conn.busy_timeout(busy_timeout).map_err(sql_error)?;
    // WAL is a property of the file; set it once here, outside any transaction.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql_error)?;
    let mut applied = Vec::new();
    for migration in MIGRATIONS
        .iter()
        .filter(|m| status.pending.iter().any(|(v, _)| *v == m.version))
    {
        apply(&mut conn, migration)?;
        applied.push(migration.version);
        log::info!(
            "database {}: applied migration {} ({})",
            path.display(),
            migration.version,
            migration.summary
        );
    }
    Ok(MigrationReport {
        before: status.version,
        after: status.version.unwrap_or(0).max(target.min(LATEST)),
        applied,
        backup,
    })
}

fn apply(conn: &mut Connection, migration: &Migration) -> Result<(), StoreError> {
    // Rebuilding a table that others reference needs foreign keys off, and that pragma is a
    // no-op inside a transaction; the check below restores the guarantee before commit.
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(sql_error)?;
    let result = (|| {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(sql_error)?;
        let current: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
                row.get(0)
            })
            .optional()
            .ok()
            .flatten()
            .flatten();
        if current.is_some_and(|v| v >= migration.version) {
            // Another process applied it between our inspection and our lock.
            return Ok(());
        }
        tx.execute_batch(migration.sql).map_err(sql_error)?;
        let violations: i64 = tx
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .map_err(sql_error)?;
        if violations > 0 {
            return Err(StoreError::Corrupt(format!(
                "migration {} would leave {violations} rows pointing at missing plans; nothing was changed",
                migration.version
            )));
        }
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![
                migration.version,
                jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
                    .to_string()
            ],
        )
        .map_err(sql_error)?;
        tx.commit().map_err(sql_error)
    })();
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_error)?;
    result
}

/// Copies the database beside itself as `<name>.v<version>-backup-<UTC time>` before an
/// upgrade. A database without a write-ahead log is copied byte for byte; one with a log goes
/// through SQLite's backup API so the copy is consistent.
fn backup_file(path: &Path, version: i64) -> Result<PathBuf, StoreError> {
    let (dir, name) = split(path);
    let target = stamped_path(dir, &name, &format!("v{version}-backup"), "");
    backup_to(path, &target)?;
    log::info!(
        "database {}: backed up to {} before upgrading",
        path.display(),
        target.display()
    );
    Ok(target)
}

/// A consistent copy of the database at `source` written to `target`.
pub(crate) fn backup_to(source: &Path, target: &Path) -> Result<(), StoreError> {
    let wal = PathBuf::from(format!("{}-wal", source.display()));
    let has_log = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if has_log {
        let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sql_error)?;
        conn.backup(rusqlite::MAIN_DB, target, None)
            .map_err(sql_error)?;
    } else {
        std::fs::copy(source, target).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    }
    Ok(())
}
