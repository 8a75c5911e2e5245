//! The SQLite store: an r2d2 pool of connections in WAL mode with `synchronous=FULL`, so a plan
//! acknowledged to a coach survives `kill -9` and power loss.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use coach_plans_config::DatabaseConfig;
use coach_plans_model::{
    Author, Chart, ChartId, ChartStatus, CoachId, HistoryEntry, ImageKind, Plan, PlanDate, PlanId,
    Sha256, Timestamp,
};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};

use coach_plans_storage::files::stamped_path;
use coach_plans_storage::{
    AuthorFilter, Cause, ChartCounts, ChartRef, ImportReport, NewPlan, PlanQuery, PlanStore,
    ProtectedStore, Revision, StoreError, StoreHealth, StoreStats,
};

use crate::errors::{pool_error, sql_error};
use crate::migrations::{self, MigrationReport, SchemaStatus};
use crate::rows::{HISTORY_COLUMNS, PLAN_COLUMNS, history_from_row, insert_charts, plan_row};

/// Plans in a SQLite database file.
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Why the last write failed for want of the database; cleared by the next successful write.
    write_error: Mutex<Option<String>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// An error with the database path it concerns, so an operator knows which file.
#[derive(Debug)]
struct AtPath {
    path: PathBuf,
    source: Cause,
}

impl fmt::Display for AtPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for AtPath {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

fn at_path(path: &Path, error: StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(source) => StoreError::Unavailable(Box::new(AtPath {
            path: path.to_owned(),
            source,
        })),
        StoreError::Corrupt(what) => StoreError::Corrupt(format!("{}: {what}", path.display())),
        other => other,
    }
}

impl SqliteStore {
    /// Opens (creating the file and its directory when missing) and upgrades the database to
    /// the latest schema, backing up an older existing schema first.
    ///
    /// The file is checked through a read-only connection before anything writes to it: a
    /// schema newer than this build is refused with [`StoreError::IncompatibleSchema`], and a
    /// path naming a directory, a file that is not SQLite, another application's database or a
    /// `schema_version` table of another shape with [`StoreError::Unrecognized`]; either way
    /// the file is not modified and nothing is created beside it.
    pub fn open(config: &DatabaseConfig) -> Result<(Self, MigrationReport), StoreError> {
        let path = config.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| at_path(dir, StoreError::Unavailable(Box::new(e))))?;
        }
        let report =
            migrations::migrate(&path, config.connection_timeout).map_err(|e| at_path(&path, e))?;
        let timeout = config.connection_timeout;
        // Both bounds hold per connection: the page cache in KiB (a negative cache_size), the
        // memory map in bytes.
        let pragmas = format!(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{}; PRAGMA mmap_size = {};",
            config.page_cache_kib.max(1),
            u64::from(config.mmap_mib) * 1024 * 1024
        );
        let manager = SqliteConnectionManager::file(&path).with_init(move |conn| {
            conn.busy_timeout(timeout)?;
            conn.execute_batch(&pragmas)
        });
        let pool = Pool::builder()
            .max_size(config.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(timeout)
            // r2d2 would run a statement on every checkout to test the connection: a
            // connection to a local file does not go stale as a network one does, and a
            // failing database fails the statement we run next anyway (issue 16's profile:
            // about 1% of a random lookup).
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| at_path(&path, pool_error(e)))?;
        Ok((
            Self {
                pool,
                path,
                write_error: Mutex::new(None),
            },
            report,
        ))
    }

    /// The schema of the database at `path`, read without changing anything or creating
    /// anything beside it (for `coach-plans migrate --dry-run`). A missing file is reported as
    /// new and not created; refusals are those of [`SqliteStore::open`].
    pub fn inspect(path: &Path) -> Result<SchemaStatus, StoreError> {
        migrations::inspect(path).map_err(|e| at_path(path, e))
    }

    /// Writes a consistent copy of the database beside it as `<name>.<label>-<UTC time>`
    /// (never over an earlier file) and returns its path; for example before an import.
    pub fn backup_beside(&self, label: &str) -> Result<PathBuf, StoreError> {
        let (dir, name) = split(&self.path);
        let target = stamped_path(dir, &name, label, "");
        let conn = self.conn()?;
        conn.backup(rusqlite::MAIN_DB, &target, None)
            .map_err(|e| at_path(&target, sql_error(e)))?;
        Ok(target)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
        self.pool.get().map_err(pool_error)
    }

    /// Runs a write in one immediate transaction (taking the write lock up front, so two
    /// writers never deadlock upgrading read locks) and records whether the database took it.
    pub(crate) fn write<T>(
        &self,
        change: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self.conn().and_then(|mut conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let value = change(&tx)?;
            tx.commit().map_err(sql_error)?;
            Ok(value)
        });
        let mut write_error = self
            .write_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &result {
            Err(error @ StoreError::Unavailable(_)) => *write_error = Some(error.to_string()),
            Ok(_) => *write_error = None,
            Err(_) => {}
        }
        result
    }
}

/// Runs an update of one `plan_charts` row; [`StoreError::ChartNotFound`] when there is none.
fn update_chart(
    tx: &Transaction<'_>,
    chart: ChartId,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(args))
        .map_err(sql_error)?;
    if changed == 0 {
        return Err(StoreError::ChartNotFound(chart));
    }
    Ok(())
}

/// The counters of `plan_counters`, by name.
fn counters(conn: &rusqlite::Connection) -> Result<Vec<(String, i64)>, StoreError> {
    conn.prepare_cached("SELECT name, value FROM plan_counters")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(sql_error)
}

/// The value of the counter `name` (0 when missing or negative).
fn counter(counters: &[(String, i64)], name: &str) -> u64 {
    counters
        .iter()
        .find(|(n, _)| n == name)
        .map_or(0, |(_, v)| u64::try_from(*v).unwrap_or(0))
}

fn live_id(
    tx: &Transaction<'_>,
    coach: &CoachId,
    date: PlanDate,
) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached(
        "SELECT id FROM coach_plans WHERE coach_name = ?1 AND date = ?2 AND is_deleted = 0",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![coach.api_key(), date.to_string()], |row| row.get(0))
            .optional()
    })
    .map_err(sql_error)
}

fn read_plan(
    conn: &rusqlite::Connection,
    id: i64,
    live_only: bool,
) -> Result<Option<Plan>, StoreError> {
    let sql = if live_only {
        format!("SELECT {PLAN_COLUMNS} FROM coach_plans WHERE id = ?1 AND is_deleted = 0")
    } else {
        format!("SELECT {PLAN_COLUMNS} FROM coach_plans WHERE id = ?1")
    };
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params![id], plan_row).optional())
        .map_err(sql_error)?;
    row.map(|row| row.into_plan(conn)).transpose()
}

fn insert_plan(tx: &Transaction<'_>, new: &NewPlan) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO coach_plans (coach_name, date, plan, author, author_id, channel, channel_id, message_id,
                                  created_at, edited_at, is_deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.coach.api_key(),
            new.date.to_string(),
            new.text.as_str(),
            new.author.name,
            new.author.id.map(|id| id.to_string()),
            new.channel.name,
            new.channel.id.map(|id| id.to_string()),
            new.message_id.map(|id| id.to_string()),
            new.created_at.as_str(),
            new.edited_at.as_ref().map(Timestamp::as_str),
        ])
    })
    .map_err(sql_error)?;
    let id = tx.last_insert_rowid();
    insert_charts(tx, id, &new.charts, new.created_at.as_str())?;
    Ok(id)
}

fn record_history(
    tx: &Transaction<'_>,
    previous: &Plan,
    action: coach_plans_model::HistoryAction,
    by: &Author,
    at: &Timestamp,
) -> Result<(), StoreError> {
    let charts =
        serde_json::to_string(&previous.charts).map_err(|e| StoreError::Other(Box::new(e)))?;
    tx.prepare_cached(
        "INSERT INTO plan_history (plan_id, plan_text, edited_by, edited_at, action, edited_by_id, charts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            previous.id.get(),
            previous.text.as_str(),
            by.name,
            at.as_str(),
            action.as_str(),
            by.id.map(|id| id.to_string()),
            charts,
        ])
    })
    .map_err(sql_error)?;
    Ok(())
}

impl PlanStore for SqliteStore {
    fn create_plan(&self, new: NewPlan) -> Result<Plan, StoreError> {
        self.write(|tx| {
            if let Some(existing) = live_id(tx, &new.coach, new.date)? {
                return Err(StoreError::Conflict {
                    coach: new.coach.clone(),
                    date: new.date,
                    existing: PlanId::new(existing).unwrap_or(PlanId::MIN),
                });
            }
            let id = insert_plan(tx, &new)?;
            let id =
                PlanId::new(id).ok_or_else(|| StoreError::Corrupt(format!("new plan id {id}")))?;
            Ok(new.into_plan(id))
        })
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        self.write(|tx| {
            let previous = read_plan(tx, id.get(), true)?.ok_or(StoreError::NotFound(id))?;
            record_history(tx, &previous, revision.action, &revision.by, &revision.at)?;
            tx.prepare_cached(
                "UPDATE coach_plans SET plan = ?1, edited_at = ?2, message_id = COALESCE(?3, message_id)
                 WHERE id = ?4",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    revision.text.as_str(),
                    revision.at.as_str(),
                    revision.message_id.map(|m| m.to_string()),
                    id.get()
                ])
            })
            .map_err(sql_error)?;
            if let Some(charts) = &revision.charts {
                tx.prepare_cached("DELETE FROM plan_charts WHERE plan_id = ?1")
                    .and_then(|mut stmt| stmt.execute(params![id.get()]))
                    .map_err(sql_error)?;
                insert_charts(tx, id.get(), charts, revision.at.as_str())?;
            }
            let mut plan = previous;
            revision.apply_to(&mut plan);
            Ok(plan)
        })
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        self.write(|tx| {
            let previous = read_plan(tx, id.get(), true)?.ok_or(StoreError::NotFound(id))?;
            record_history(
                tx,
                &previous,
                coach_plans_model::HistoryAction::Delete,
                &by,
                &at,
            )?;
            tx.prepare_cached("UPDATE coach_plans SET is_deleted = 1 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![id.get()]))
                .map_err(sql_error)?;
            Ok(previous)
        })
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        let conn = self.conn()?;
        read_plan(&conn, id.get(), false)
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        let conn = self.conn()?;
        crate::rows::live_plan_with_charts(&conn, &coach.api_key(), &date.to_string())
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM coach_plans WHERE coach_name = ?1 AND date = ?2 ORDER BY is_deleted, id DESC"
        );
        let rows: Vec<_> = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(params![coach.api_key(), date.to_string()], plan_row)?
                    .collect()
            })
            .map_err(sql_error)?;
        rows.into_iter().map(|row| row.into_plan(&conn)).collect()
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        let mut sql = format!("SELECT {PLAN_COLUMNS} FROM coach_plans WHERE is_deleted = 0");
        let mut args: Vec<Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(coach) = &query.coach {
            arg(
                &mut sql,
                " AND coach_name = ?",
                Value::Text(coach.api_key()),
            );
        }
        if let Some(from) = query.from {
            arg(&mut sql, " AND date >= ?", Value::Text(from.to_string()));
        }
        if let Some(to) = query.to {
            arg(&mut sql, " AND date <= ?", Value::Text(to.to_string()));
        }
        match &query.author {
            None => {}
            Some(AuthorFilter::Id(id)) => {
                arg(&mut sql, " AND author_id = ?", Value::Text(id.to_string()))
            }
            Some(AuthorFilter::Name(name)) => {
                arg(&mut sql, " AND author = ?", Value::Text(name.clone()))
            }
            Some(AuthorFilter::Person { id, name }) => {
                arg(&mut sql, " AND (author_id = ?", Value::Text(id.to_string()));
                arg(
                    &mut sql,
                    " OR (author_id IS NULL AND author = ?))",
                    Value::Text(name.clone()),
                );
            }
        }
        if let Some(after) = query.after {
            arg(
                &mut sql,
                " AND (date < ?",
                Value::Text(after.date.to_string()),
            );
            arg(
                &mut sql,
                " OR (date = ?",
                Value::Text(after.date.to_string()),
            );
            arg(&mut sql, " AND id < ?))", Value::Integer(after.id.get()));
        }
        arg(
            &mut sql,
            " ORDER BY date DESC, id DESC LIMIT ?",
            Value::Integer(i64::from(query.limit)),
        );
        let conn = self.conn()?;
        let rows: Vec<_> = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_map(params_from_iter(args), plan_row)?.collect())
            .map_err(sql_error)?;
        rows.into_iter().map(|row| row.into_plan(&conn)).collect()
    }

    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {HISTORY_COLUMNS} FROM plan_history WHERE plan_id = ?1 ORDER BY id DESC"
        );
        let rows: Vec<_> = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(params![id.get()], history_from_row)?
                    .collect()
            })
            .map_err(sql_error)?;
        rows.into_iter().collect()
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let conn = self.conn()?;
        let counters = counters(&conn)?;
        let counter = |name: &str| counter(&counters, name);
        let latest: Option<String> = conn
            .prepare_cached("SELECT MAX(date) FROM coach_plans WHERE is_deleted = 0")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(sql_error)?;
        Ok(StoreStats {
            live_plans: counter("live_plans"),
            live_charts: counter("live_charts"),
            history_entries: counter("history_entries"),
            latest_plan_date: latest.as_deref().and_then(|d| PlanDate::parse(d).ok()),
        })
    }

    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        self.write(|tx| {
            let mut report = ImportReport::default();
            for new in plans {
                if let Some(existing) = live_id(tx, &new.coach, new.date)? {
                    let stored = read_plan(tx, existing, true)?;
                    if stored
                        .as_ref()
                        .is_some_and(|stored| new.holds_same_content_as(stored))
                    {
                        report.already_present += 1;
                        continue;
                    }
                    return Err(StoreError::ImportConflict {
                        coach: new.coach.clone(),
                        date: new.date,
                    });
                }
                let id = insert_plan(tx, new)?;
                let stored =
                    read_plan(tx, id, true)?.ok_or_else(|| StoreError::ImportMismatch {
                        coach: new.coach.clone(),
                        date: new.date,
                        detail: "the plan was not found after writing".to_owned(),
                    })?;
                new.check_read_back(&stored)?;
                report.imported += 1;
            }
            Ok(report)
        })
    }

    fn health(&self) -> StoreHealth {
        match self
            .write_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            None => StoreHealth::up(),
            Some(error) => StoreHealth {
                writable: false,
                pending_writes: 0,
                error: Some(error),
            },
        }
    }

    /// Walks the partial index of pending charts in id order; charts of deleted plans are
    /// skipped as they are met (they stay pending, and are few).
    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        let conn = self.conn()?;
        let rows: Vec<(i64, i64, i64, String, i64)> = conn
            .prepare_cached(
                "SELECT c.id, c.plan_id, c.position, c.chart_url, c.attempts
                 FROM plan_charts AS c INDEXED BY idx_charts_pending
                 JOIN coach_plans AS p ON p.id = c.plan_id
                 WHERE c.status = 'pending' AND p.is_deleted = 0
                 ORDER BY c.id LIMIT ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![i64::from(limit)], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })?
                .collect()
            })
            .map_err(sql_error)?;
        rows.into_iter()
            .map(|(id, plan_id, position, url, attempts)| {
                let bad = |what: &str| crate::errors::corrupt("plan_charts", id, what);
                Ok(ChartRef {
                    id: ChartId::new(id).ok_or_else(|| bad("id is not positive"))?,
                    plan_id: PlanId::new(plan_id).ok_or_else(|| bad("plan id is not positive"))?,
                    position: u32::try_from(position).map_err(|_| bad("position out of range"))?,
                    url,
                    attempts: u32::try_from(attempts).map_err(|_| bad("attempts out of range"))?,
                })
            })
            .collect()
    }

    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let size = i64::try_from(size)
            .map_err(|_| StoreError::Other(format!("a chart of {size} bytes").into()))?;
        self.write(|tx| {
            update_chart(
                tx,
                chart,
                "UPDATE plan_charts SET status = 'archived', sha256 = ?1, stored_size = ?2,
                        image_type = ?3, reason = NULL, archived_at = ?4
                 WHERE id = ?5",
                &[
                    &sha256.to_string(),
                    &size,
                    &image.as_str(),
                    &at.as_str(),
                    &chart.get(),
                ],
            )
        })
    }

    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError> {
        let status = if last {
            ChartStatus::Failed
        } else {
            ChartStatus::Pending
        };
        self.write(|tx| {
            update_chart(
                tx,
                chart,
                "UPDATE plan_charts SET status = ?1, reason = ?2, attempts = ?3, sha256 = NULL,
                        stored_size = NULL, image_type = NULL, archived_at = NULL
                 WHERE id = ?4",
                &[&status.as_str(), &reason, &attempts, &chart.get()],
            )
        })
    }

    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        // The same check every stored chart's link passes.
        let url = Chart::from_stored(url, None, None, None, 0)
            .map_err(StoreError::InvalidChartUrl)?
            .url()
            .to_owned();
        self.write(|tx| {
            update_chart(
                tx,
                chart,
                "UPDATE plan_charts SET chart_url = ?1 WHERE id = ?2",
                &[&url, &chart.get()],
            )
        })
    }

    /// One statement; the triggers of migration 3 move the counters.
    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE plan_charts SET status = 'pending', attempts = 0
                     WHERE status = 'failed'
                       AND plan_id IN (SELECT id FROM coach_plans WHERE is_deleted = 0)",
                )
                .and_then(|mut stmt| stmt.execute([]))
                .map_err(sql_error)?;
            Ok(u64::try_from(changed).unwrap_or(u64::MAX))
        })
    }

    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE plan_charts SET status = 'pending', sha256 = NULL, stored_size = NULL,
                            image_type = NULL, archived_at = NULL, attempts = 0, reason = ?2
                     WHERE sha256 = ?1 AND status = 'archived'",
                )
                .and_then(|mut stmt| stmt.execute(params![sha256.to_string(), reason]))
                .map_err(sql_error)?;
            Ok(u64::try_from(changed).unwrap_or(u64::MAX))
        })
    }

    /// Read from the counters the triggers of migration 3 keep: no scan.
    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        let counters = counters(&*self.conn()?)?;
        Ok(ChartCounts {
            pending: counter(&counters, "live_charts_pending"),
            archived: counter(&counters, "live_charts_archived"),
            failed: counter(&counters, "live_charts_failed"),
        })
    }
}

impl ProtectedStore for SqliteStore {
    /// An empty immediate transaction, which waits for another writer's lock like any write
    /// (up to `database.connection_timeout`).
    fn check_writable(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(()))
    }
}

/// The directory and file name of `path` (`coach_plans.db` when it has none).
pub(crate) fn split(path: &Path) -> (&Path, String) {
    let name = path.file_name().map_or_else(
        || "coach_plans.db".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    (path.parent().unwrap_or(Path::new("")), name)
}
