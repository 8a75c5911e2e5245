//! The PostgreSQL store: an r2d2 pool of connections, each write one transaction committed
//! with `synchronous_commit=on`, so a plan acknowledged to a coach is on the server's disk.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use coach_plans_config::DatabaseConfig;
use coach_plans_model::{
    Author, Chart, ChartId, ChartStatus, CoachId, HistoryAction, HistoryEntry, ImageKind, Plan,
    PlanDate, PlanId, Sha256, Timestamp,
};
use coach_plans_storage::{
    AuthorFilter, ChartCounts, ChartRef, ImportReport, NewPlan, PlanQuery, PlanStore,
    ProtectedStore, Revision, StoreError, StoreHealth, StoreStats,
};
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Transaction};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connect::{Session, Target, target};
use crate::errors::{corrupt, pool_error, sql_error};
use crate::migrations::{self, MigrationReport, SchemaStatus};
use crate::rows::{
    HISTORY_COLUMNS, PLAN_COLUMNS, Param, PlanRow, col, history_from_row, insert_charts,
    live_plan_with_charts, plans_with_charts,
};

type Manager = PostgresConnectionManager<MakeRustlsConnect>;

/// Plans in a PostgreSQL database.
pub struct PostgresStore {
    /// Always `Some` but in `drop`, which hands it to a thread of its own.
    pool: Option<Pool<Manager>>,
    /// The URL with its password masked: how every message names the database.
    shown: String,
    /// How to connect outside the pool (to learn a commit's fate).
    target: Target,
    /// Why the last write failed for want of the database; cleared by the next successful write.
    write_error: Mutex<Option<String>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    /// Each connection of the synchronous client owns a small runtime, and tokio refuses to
    /// drop a runtime on a thread that drives another (the server drops its store on one):
    /// the pool is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::Builder::new()
                .name("postgres-close".to_owned())
                .spawn(move || drop(pool));
            if let Ok(closing) = closing {
                let _ = closing.join();
            }
        }
    }
}

/// Runs `call` where the synchronous client may block: a thread that drives a tokio runtime
/// (an HTTP worker reading one plan on its own thread, as the service's point lookup does)
/// cannot, since the client runs a small runtime of its own for each statement; such a caller
/// waits for a scoped thread that makes the call. tokio does not tell a worker from its
/// blocking pool (both see a runtime handle), so calls from `spawn_blocking` take the scoped
/// thread too (tens of microseconds); threads of no runtime (commands, tests) call in place.
pub(crate) fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(call)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The URL of `config` (`database.url`), or an error saying it is missing.
fn url_of(config: &DatabaseConfig) -> Result<&str, StoreError> {
    config.url.as_ref().map(|url| url.expose()).ok_or_else(|| {
        StoreError::Other("database.url (DATABASE_URL) is not set: no PostgreSQL database".into())
    })
}

pub(crate) fn target_of(config: &DatabaseConfig) -> Result<Target, StoreError> {
    target(
        url_of(config)?,
        Session {
            connect_timeout: config.connection_timeout,
            statement_timeout: config.statement_timeout,
        },
    )
}

/// One connection made now, outside the pool (migrations, inspection).
fn connect(target: &Target) -> Result<postgres::Client, StoreError> {
    crate::connect::connect_within(target)
}

impl PostgresStore {
    /// Connects to the database of `database.url` and brings it to the latest schema (creating
    /// it in an empty database). A schema newer than this build is refused with
    /// [`StoreError::IncompatibleSchema`], another application's tables with
    /// [`StoreError::Unrecognized`]; either way nothing is changed. A server that cannot be
    /// reached, or refuses the login, is [`StoreError::Unavailable`].
    ///
    /// Every connection of the pool (`database.pool_size`, waiting up to
    /// `database.connection_timeout` for one) runs with `statement_timeout` set from
    /// `database.statement_timeout` and `synchronous_commit=on`.
    pub fn open(config: &DatabaseConfig) -> Result<(Self, MigrationReport), StoreError> {
        let target = target_of(config)?;
        let report = migrations::migrate(&mut connect(&target)?, &target.shown)?;
        let manager = PostgresConnectionManager::new(target.config.clone(), target.tls.clone());
        let pool = Pool::builder()
            .max_size(config.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.connection_timeout)
            // A connection the server closed (a restart, pg_terminate_backend, a cut network)
            // is found out at checkout, by an empty query, and replaced, so one call does not
            // fail for it.
            .test_on_check_out(true)
            .build(manager)
            .map_err(|e| pool_error(&target.shown, e))?;
        Ok((
            Self {
                pool: Some(pool),
                shown: target.shown.clone(),
                target,
                write_error: Mutex::new(None),
            },
            report,
        ))
    }

    /// The schema of the database of `database.url`, read without changing anything (for
    /// `coach-plans migrate --dry-run`); refusals are those of [`PostgresStore::open`].
    pub fn inspect(config: &DatabaseConfig) -> Result<SchemaStatus, StoreError> {
        let target = target_of(config)?;
        migrations::inspect(&mut connect(&target)?, &target.shown)
    }

    /// The database's URL with its password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub(crate) fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        match &self.pool {
            Some(pool) => pool.get().map_err(|e| pool_error(&self.shown, e)),
            None => Err(StoreError::Other("the store is closed".into())),
        }
    }

    /// Runs a write in one transaction and records whether the database took it. The commit
    /// returns once the server has flushed it (`synchronous_commit=on`).
    pub(crate) fn write<T: Send>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.write_here(change))
    }

    /// Whether transaction `xid`, whose COMMIT failed with the connection (a session ended by
    /// the server, a restart), committed all the same: the server may have committed it and
    /// failed to answer. Asked on another session; `false` when it did not commit or its fate
    /// cannot be learned now (then the change is held and written through later, and a
    /// change that did commit is found there and refused as a conflict: the rare case of the
    /// server going away at the very moment of a commit).
    fn committed(&self, xid: i64) -> bool {
        // A connection of its own, not the pool's: the broken one is still checked out, and
        // a pool of one would have none to give.
        let Ok(mut conn) = connect(&self.target) else {
            return false;
        };
        let mut status = None;
        // `in progress`: the server is still finishing the COMMIT; ask again, briefly.
        for _ in 0..20 {
            status = conn
                .query_one("SELECT txid_status($1)", &[&xid])
                .and_then(|row| row.try_get::<_, Option<String>>(0))
                .ok()
                .flatten();
            if status.as_deref() != Some("in progress") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if status.as_deref() == Some("committed") {
            log::warn!(
                "the database committed a change but the connection failed before it said so; the change stands"
            );
            true
        } else {
            false
        }
    }

    /// [`PostgresStore::write`] on the calling thread, which must not drive a tokio runtime.
    pub(crate) fn write_here<T>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let shown = self.shown.as_str();
        let result = self.conn().and_then(|mut conn| {
            let mut tx = conn.transaction().map_err(|e| sql_error(shown, e))?;
            // The transaction's id, to learn its fate if the connection fails during COMMIT.
            let xid: i64 = tx
                .query_one("SELECT txid_current()", &[])
                .and_then(|row| row.try_get(0))
                .map_err(|e| sql_error(shown, e))?;
            let value = change(&mut tx, shown)?;
            match tx.commit().map_err(|e| sql_error(shown, e)) {
                Ok(()) => Ok(value),
                Err(error) if error.is_unavailable() && self.committed(xid) => Ok(value),
                Err(error) => Err(error),
            }
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

/// The id of the live plan of this coach on this date.
fn live_id(
    conn: &mut impl GenericClient,
    shown: &str,
    coach: &CoachId,
    date: PlanDate,
) -> Result<Option<i64>, StoreError> {
    let (coach, date) = (coach.api_key(), date.to_string());
    conn.query_typed_opt(
        "SELECT id FROM coach_plans WHERE coach_name = $1 AND date = $2 AND NOT is_deleted",
        &[(&coach, Type::TEXT), (&date, Type::TEXT)],
    )
    .map_err(|e| sql_error(shown, e))?
    .map(|row| col(&row, 0))
    .transpose()
}

/// The plan with this id; only when live with `live_only`, locked until the end of the
/// transaction with `for_update` (so two changes of one plan take turns).
fn read_plan(
    conn: &mut impl GenericClient,
    shown: &str,
    id: i64,
    live_only: bool,
    for_update: bool,
) -> Result<Option<Plan>, StoreError> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM coach_plans WHERE id = $1{}{}",
        if live_only { " AND NOT is_deleted" } else { "" },
        if for_update { " FOR UPDATE" } else { "" }
    );
    let row = conn
        .query_typed_opt(&sql, &[(&id, Type::INT8)])
        .map_err(|e| sql_error(shown, e))?;
    match row {
        None => Ok(None),
        Some(row) => {
            let plan = PlanRow::read(&row, 0)?;
            Ok(plans_with_charts(conn, shown, vec![plan])?.pop())
        }
    }
}

/// Inserts a new plan and its charts; `None` when a live plan of the same coach and date
/// exists (committed, or committed meanwhile by another transaction).
fn insert_plan(
    conn: &mut impl GenericClient,
    shown: &str,
    new: &NewPlan,
) -> Result<Option<i64>, StoreError> {
    let coach = new.coach.api_key();
    let date = new.date.to_string();
    let text = new.text.as_str();
    let author_id = new.author.id.map(|id| id.to_string());
    let channel_id = new.channel.id.map(|id| id.to_string());
    let message_id = new.message_id.map(|id| id.to_string());
    let created_at = new.created_at.as_str();
    let edited_at = new.edited_at.as_ref().map(Timestamp::as_str);
    let params: [Param<'_>; 10] = [
        (&coach, Type::TEXT),
        (&date, Type::TEXT),
        (&text, Type::TEXT),
        (&new.author.name, Type::TEXT),
        (&author_id, Type::TEXT),
        (&new.channel.name, Type::TEXT),
        (&channel_id, Type::TEXT),
        (&message_id, Type::TEXT),
        (&created_at, Type::TEXT),
        (&edited_at, Type::TEXT),
    ];
    let row = conn
        .query_typed_opt(
            "INSERT INTO coach_plans (coach_name, date, plan, author, author_id, channel,
                                      channel_id, message_id, created_at, edited_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (coach_name, date) WHERE NOT is_deleted DO NOTHING
             RETURNING id",
            &params,
        )
        .map_err(|e| sql_error(shown, e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = col(&row, 0)?;
    insert_charts(conn, shown, id, &new.charts, created_at)?;
    Ok(Some(id))
}

fn record_history(
    conn: &mut impl GenericClient,
    shown: &str,
    previous: &Plan,
    action: HistoryAction,
    by: &Author,
    at: &Timestamp,
) -> Result<(), StoreError> {
    let charts =
        serde_json::to_string(&previous.charts).map_err(|e| StoreError::Other(Box::new(e)))?;
    let plan_id = previous.id.get();
    let text = previous.text.as_str();
    let at = at.as_str();
    let action = action.as_str();
    let by_id = by.id.map(|id| id.to_string());
    conn.execute_typed(
        "INSERT INTO plan_history (plan_id, plan_text, edited_by, edited_at, action,
                                   edited_by_id, charts)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            (&plan_id, Type::INT8),
            (&text, Type::TEXT),
            (&by.name, Type::TEXT),
            (&at, Type::TEXT),
            (&action, Type::TEXT),
            (&by_id, Type::TEXT),
            (&charts, Type::TEXT),
        ],
    )
    .map_err(|e| sql_error(shown, e))?;
    Ok(())
}

/// Runs an update of one `plan_charts` row; [`StoreError::ChartNotFound`] when there is none.
fn update_chart(
    tx: &mut Transaction<'_>,
    shown: &str,
    chart: ChartId,
    sql: &str,
    params: &[Param<'_>],
) -> Result<(), StoreError> {
    let changed = tx
        .execute_typed(sql, params)
        .map_err(|e| sql_error(shown, e))?;
    if changed == 0 {
        return Err(StoreError::ChartNotFound(chart));
    }
    Ok(())
}

/// The counters of `plan_counters`, by name.
fn counters(conn: &mut impl GenericClient, shown: &str) -> Result<Vec<(String, i64)>, StoreError> {
    conn.query_typed("SELECT name, value FROM plan_counters", &[])
        .map_err(|e| sql_error(shown, e))?
        .iter()
        .map(|row| Ok((col(row, 0)?, col(row, 1)?)))
        .collect()
}

/// The value of the counter `name` (0 when missing or negative).
fn counter(counters: &[(String, i64)], name: &str) -> u64 {
    counters
        .iter()
        .find(|(n, _)| n == name)
        .map_or(0, |(_, v)| u64::try_from(*v).unwrap_or(0))
}

fn plan_id(id: i64) -> Result<PlanId, StoreError> {
    PlanId::new(id).ok_or_else(|| StoreError::Corrupt(format!("plan id {id}")))
}

impl PlanStore for PostgresStore {
    fn create_plan(&self, new: NewPlan) -> Result<Plan, StoreError> {
        self.write(|tx, shown| match insert_plan(tx, shown, &new)? {
            Some(id) => Ok(new.into_plan(plan_id(id)?)),
            None => {
                let existing = live_id(tx, shown, &new.coach, new.date)?.unwrap_or(0);
                Err(StoreError::Conflict {
                    coach: new.coach.clone(),
                    date: new.date,
                    existing: PlanId::new(existing).unwrap_or(PlanId::MIN),
                })
            }
        })
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        self.write(|tx, shown| {
            let previous =
                read_plan(tx, shown, id.get(), true, true)?.ok_or(StoreError::NotFound(id))?;
            record_history(
                tx,
                shown,
                &previous,
                revision.action,
                &revision.by,
                &revision.at,
            )?;
            let text = revision.text.as_str();
            let at = revision.at.as_str();
            let message_id = revision.message_id.map(|m| m.to_string());
            let raw_id = id.get();
            tx.execute_typed(
                "UPDATE coach_plans SET plan = $1, edited_at = $2,
                        message_id = COALESCE($3, message_id)
                 WHERE id = $4",
                &[
                    (&text, Type::TEXT),
                    (&at, Type::TEXT),
                    (&message_id, Type::TEXT),
                    (&raw_id, Type::INT8),
                ],
            )
            .map_err(|e| sql_error(shown, e))?;
            if let Some(charts) = &revision.charts {
                tx.execute_typed(
                    "DELETE FROM plan_charts WHERE plan_id = $1",
                    &[(&raw_id, Type::INT8)],
                )
                .map_err(|e| sql_error(shown, e))?;
                insert_charts(tx, shown, raw_id, charts, at)?;
            }
            let mut plan = previous;
            revision.apply_to(&mut plan);
            Ok(plan)
        })
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        self.write(|tx, shown| {
            let previous =
                read_plan(tx, shown, id.get(), true, true)?.ok_or(StoreError::NotFound(id))?;
            record_history(tx, shown, &previous, HistoryAction::Delete, &by, &at)?;
            let raw_id = id.get();
            tx.execute_typed(
                "UPDATE coach_plans SET is_deleted = TRUE WHERE id = $1",
                &[(&raw_id, Type::INT8)],
            )
            .map_err(|e| sql_error(shown, e))?;
            Ok(previous)
        })
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        off_runtime(|| read_plan(&mut *self.conn()?, &self.shown, id.get(), false, false))
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        off_runtime(|| {
            live_plan_with_charts(
                &mut *self.conn()?,
                &self.shown,
                &coach.api_key(),
                &date.to_string(),
            )
        })
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        off_runtime(|| {
            let mut conn = self.conn()?;
            let (coach, date) = (coach.api_key(), date.to_string());
            let sql = format!(
                "SELECT {PLAN_COLUMNS} FROM coach_plans WHERE coach_name = $1 AND date = $2
                 ORDER BY is_deleted, id DESC"
            );
            let rows = conn
                .query_typed(&sql, &[(&coach, Type::TEXT), (&date, Type::TEXT)])
                .map_err(|e| sql_error(&self.shown, e))?
                .iter()
                .map(|row| PlanRow::read(row, 0))
                .collect::<Result<_, _>>()?;
            plans_with_charts(&mut *conn, &self.shown, rows)
        })
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        off_runtime(|| {
            let mut sql = format!("SELECT {PLAN_COLUMNS} FROM coach_plans WHERE NOT is_deleted");
            let mut args: Vec<(Box<dyn ToSql + Sync>, Type)> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, value: Box<dyn ToSql + Sync>, ty| {
                args.push((value, ty));
                sql.push_str(&clause.replace('?', &format!("${}", args.len())));
            };
            let text = |value: String| -> Box<dyn ToSql + Sync> { Box::new(value) };
            if let Some(coach) = &query.coach {
                arg(
                    &mut sql,
                    " AND coach_name = ?",
                    text(coach.api_key()),
                    Type::TEXT,
                );
            }
            if let Some(from) = query.from {
                arg(
                    &mut sql,
                    " AND date >= ?",
                    text(from.to_string()),
                    Type::TEXT,
                );
            }
            if let Some(to) = query.to {
                arg(&mut sql, " AND date <= ?", text(to.to_string()), Type::TEXT);
            }
            match &query.author {
                None => {}
                Some(AuthorFilter::Id(id)) => {
                    arg(
                        &mut sql,
                        " AND author_id = ?",
                        text(id.to_string()),
                        Type::TEXT,
                    );
                }
                Some(AuthorFilter::Name(name)) => {
                    arg(&mut sql, " AND author = ?", text(name.clone()), Type::TEXT);
                }
                Some(AuthorFilter::Person { id, name }) => {
                    arg(
                        &mut sql,
                        " AND (author_id = ?",
                        text(id.to_string()),
                        Type::TEXT,
                    );
                    arg(
                        &mut sql,
                        " OR (author_id IS NULL AND author = ?))",
                        text(name.clone()),
                        Type::TEXT,
                    );
                }
            }
            if let Some(after) = query.after {
                arg(
                    &mut sql,
                    " AND (date < ?",
                    text(after.date.to_string()),
                    Type::TEXT,
                );
                arg(
                    &mut sql,
                    " OR (date = ?",
                    text(after.date.to_string()),
                    Type::TEXT,
                );
                arg(
                    &mut sql,
                    " AND id < ?))",
                    Box::new(after.id.get()),
                    Type::INT8,
                );
            }
            arg(
                &mut sql,
                " ORDER BY date DESC, id DESC LIMIT ?",
                Box::new(i64::from(query.limit)),
                Type::INT8,
            );
            let params: Vec<Param<'_>> = args
                .iter()
                .map(|(value, ty)| (value.as_ref() as &(dyn ToSql + Sync), ty.clone()))
                .collect();
            let mut conn = self.conn()?;
            let rows = conn
                .query_typed(&sql, &params)
                .map_err(|e| sql_error(&self.shown, e))?
                .iter()
                .map(|row| PlanRow::read(row, 0))
                .collect::<Result<_, _>>()?;
            plans_with_charts(&mut *conn, &self.shown, rows)
        })
    }

    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        off_runtime(|| {
            let raw_id = id.get();
            let sql = format!(
                "SELECT {HISTORY_COLUMNS} FROM plan_history WHERE plan_id = $1 ORDER BY id DESC"
            );
            self.conn()?
                .query_typed(&sql, &[(&raw_id, Type::INT8)])
                .map_err(|e| sql_error(&self.shown, e))?
                .iter()
                .map(history_from_row)
                .collect()
        })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        off_runtime(|| {
            let mut conn = self.conn()?;
            let counters = counters(&mut *conn, &self.shown)?;
            let counter = |name: &str| counter(&counters, name);
            let latest: Option<String> = col(
                &conn
                    .query_typed_one(
                        "SELECT MAX(date) FROM coach_plans WHERE NOT is_deleted",
                        &[],
                    )
                    .map_err(|e| sql_error(&self.shown, e))?,
                0,
            )?;
            Ok(StoreStats {
                live_plans: counter("live_plans"),
                live_charts: counter("live_charts"),
                history_entries: counter("history_entries"),
                latest_plan_date: latest.as_deref().and_then(|d| PlanDate::parse(d).ok()),
            })
        })
    }

    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        self.write(|tx, shown| {
            let mut report = ImportReport::default();
            for new in plans {
                if let Some(existing) = live_id(tx, shown, &new.coach, new.date)? {
                    let stored = read_plan(tx, shown, existing, true, false)?;
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
                let conflict = || StoreError::ImportConflict {
                    coach: new.coach.clone(),
                    date: new.date,
                };
                let id = insert_plan(tx, shown, new)?.ok_or_else(conflict)?;
                let stored = read_plan(tx, shown, id, true, false)?.ok_or_else(|| {
                    StoreError::ImportMismatch {
                        coach: new.coach.clone(),
                        date: new.date,
                        detail: "the plan was not found after writing".to_owned(),
                    }
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

    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        off_runtime(|| {
            let limit = i64::from(limit);
            let rows = self
                .conn()?
                .query_typed(
                    "SELECT c.id, c.plan_id, c.position, c.chart_url, c.attempts
                     FROM plan_charts AS c JOIN coach_plans AS p ON p.id = c.plan_id
                     WHERE c.status = 'pending' AND NOT p.is_deleted
                     ORDER BY c.id LIMIT $1",
                    &[(&limit, Type::INT8)],
                )
                .map_err(|e| sql_error(&self.shown, e))?;
            rows.iter()
                .map(|row| {
                    let id: i64 = col(row, 0)?;
                    let bad = |what: &str| corrupt("plan_charts", id, what);
                    Ok(ChartRef {
                        id: ChartId::new(id).ok_or_else(|| bad("id is not positive"))?,
                        plan_id: PlanId::new(col(row, 1)?)
                            .ok_or_else(|| bad("plan id is not positive"))?,
                        position: u32::try_from(col::<i32>(row, 2)?)
                            .map_err(|_| bad("position out of range"))?,
                        url: col(row, 3)?,
                        attempts: u32::try_from(col::<i32>(row, 4)?)
                            .map_err(|_| bad("attempts out of range"))?,
                    })
                })
                .collect()
        })
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
        let sha256 = sha256.to_string();
        let image = image.as_str();
        let at = at.as_str();
        let id = chart.get();
        self.write(|tx, shown| {
            update_chart(
                tx,
                shown,
                chart,
                "UPDATE plan_charts SET status = 'archived', sha256 = $1, stored_size = $2,
                        image_type = $3, reason = NULL, archived_at = $4
                 WHERE id = $5",
                &[
                    (&sha256, Type::TEXT),
                    (&size, Type::INT8),
                    (&image, Type::TEXT),
                    (&at, Type::TEXT),
                    (&id, Type::INT8),
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
        }
        .as_str();
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let id = chart.get();
        self.write(|tx, shown| {
            update_chart(
                tx,
                shown,
                chart,
                "UPDATE plan_charts SET status = $1, reason = $2, attempts = $3, sha256 = NULL,
                        stored_size = NULL, image_type = NULL, archived_at = NULL
                 WHERE id = $4",
                &[
                    (&status, Type::TEXT),
                    (&reason, Type::TEXT),
                    (&attempts, Type::INT4),
                    (&id, Type::INT8),
                ],
            )
        })
    }

    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        // The same check every stored chart's link passes.
        let url = Chart::from_stored(url, None, None, None, 0)
            .map_err(StoreError::InvalidChartUrl)?
            .url()
            .to_owned();
        let id = chart.get();
        self.write(|tx, shown| {
            update_chart(
                tx,
                shown,
                chart,
                "UPDATE plan_charts SET chart_url = $1 WHERE id = $2",
                &[(&url, Type::TEXT), (&id, Type::INT8)],
            )
        })
    }

    /// One statement; the counting trigger moves the counters.
    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        self.write(|tx, shown| {
            tx.execute_typed(
                "UPDATE plan_charts SET status = 'pending', attempts = 0
                 WHERE status = 'failed'
                   AND plan_id IN (SELECT id FROM coach_plans WHERE NOT is_deleted)",
                &[],
            )
            .map_err(|e| sql_error(shown, e))
        })
    }

    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        let sha256 = sha256.to_string();
        self.write(|tx, shown| {
            tx.execute_typed(
                "UPDATE plan_charts SET status = 'pending', sha256 = NULL, stored_size = NULL,
                        image_type = NULL, archived_at = NULL, attempts = 0, reason = $2
                 WHERE sha256 = $1 AND status = 'archived'",
                &[(&sha256, Type::TEXT), (&reason, Type::TEXT)],
            )
            .map_err(|e| sql_error(shown, e))
        })
    }

    /// Read from the counters the triggers keep: no scan.
    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        off_runtime(|| {
            let counters = counters(&mut *self.conn()?, &self.shown)?;
            Ok(ChartCounts {
                pending: counter(&counters, "live_charts_pending"),
                archived: counter(&counters, "live_charts_archived"),
                failed: counter(&counters, "live_charts_failed"),
            })
        })
    }
}

impl ProtectedStore for PostgresStore {
    /// An empty transaction on a connection the pool has just checked: `Ok` once the server
    /// takes connections and queries again.
    fn check_writable(&self) -> Result<(), StoreError> {
        self.write(|_, _| Ok(()))
    }
}
