//! SPEC 5.1's fallback: a store that keeps accepting plans while the database cannot be opened
//! or written, holds the changes in memory in order, retries the database in the background with
//! backoff, writes the held changes through when it is back, and spills them to a legacy JSON file
//! if the process stops first.
//!
//! While the database is healthy every call goes straight to it. When a write fails because the
//! database is unavailable, the store switches to *holding*: that write and every later one are
//! applied to an overlay (the changed plans, with history) and appended to a journal. Reads
//! combine the database (still readable when another process holds the write lock, as SQLite's
//! WAL allows) with the overlay. Plans created while holding get provisional ids above
//! [`PROVISIONAL_ID_BASE`]; they get database ids when written through.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use coach_plans_config::DatabaseConfig;
use coach_plans_model::wire::{LegacyExport, LegacyRecord, legacy_key};
use coach_plans_model::{
    Author, CoachId, HistoryAction, HistoryEntry, HistoryId, Plan, PlanDate, PlanId, Timestamp,
};

use crate::memory::matches_query;
use crate::store::{
    ImportReport, NewPlan, PlanQuery, PlanStore, Revision, StoreHealth, StoreStats,
};
use crate::{SqliteStore, StoreError, changes, files};

/// Provisional ids of plans created while the database is down start above this, far from any
/// real id and still exact in a JavaScript number.
pub const PROVISIONAL_ID_BASE: i64 = 1 << 50;

/// The first wait before retrying the database; it doubles up to the configured maximum.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);

/// The file [`ResilientStore::close`] wrote held plans to, because the database was still
/// unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spill {
    /// Where the plans are (the legacy JSON format; `coach-plans import-legacy` loads it).
    pub path: PathBuf,
    /// How many plans it holds.
    pub plans: usize,
}

/// The SQLite store with the fallback of SPEC 5.1 around it. See the module documentation.
pub struct ResilientStore {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    config: DatabaseConfig,
    state: RwLock<State>,
    /// Held by whoever writes the journal through, so changes are written once and in order.
    replaying: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    db: Option<Arc<SqliteStore>>,
    /// `Some` while changes are held (or the database never opened).
    held: Option<Held>,
}

#[derive(Default)]
struct Held {
    /// Why the database is down, for health and logs.
    error: String,
    /// Changes not yet in the database, oldest first.
    journal: VecDeque<Op>,
    /// Plans changed or created while holding, by id (database or provisional).
    overlay: BTreeMap<PlanId, Touched>,
    /// History recorded while holding, oldest first.
    history: Vec<HistoryEntry>,
    /// Provisional ids already written, mapped to their database ids.
    written_ids: BTreeMap<PlanId, PlanId>,
    last_provisional: i64,
    last_history: i64,
}

struct Touched {
    plan: Plan,
    /// The database's version when first touched; `None` for plans created while holding.
    origin: Option<Plan>,
}

enum Op {
    Create(NewPlan, PlanId),
    Revise(PlanId, Revision),
    Delete(PlanId, Author, Timestamp),
}

impl ResilientStore {
    /// Opens the configured database. A database that cannot be opened now (missing directory
    /// that cannot be created, locked, unwritable) is not an error: the store starts holding
    /// and keeps trying in the background. Errors that retrying cannot fix (a newer schema,
    /// corrupt data) are returned.
    pub fn open(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let state = match SqliteStore::open(config) {
            // The migrations log what they applied and where the backup went.
            Ok((db, _)) => State {
                db: Some(Arc::new(db)),
                held: None,
            },
            Err(error) if error.is_unavailable() => {
                log::error!(
                    "cannot open the database ({error}); accepting plans in memory and retrying in the background"
                );
                State {
                    db: None,
                    held: Some(Held {
                        error: error.to_string(),
                        ..Held::default()
                    }),
                }
            }
            Err(error) => return Err(error),
        };
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: RwLock::new(state),
            replaying: Mutex::new(()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("coach-plans-db-retry".into())
                .spawn(move || shared.retry_loop())
                .map_err(|e| StoreError::Other(Box::new(e)))?
        };
        Ok(Self {
            shared,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Whether changes are being held in memory.
    pub fn is_holding(&self) -> bool {
        self.shared.read().held.is_some()
    }

    /// Tries the database now and writes held changes through. Returns whether nothing is held
    /// afterwards.
    pub fn try_recover(&self) -> bool {
        self.shared.recover()
    }

    /// Stops the background retries, makes a last attempt to write held changes through, and
    /// spills what is still held to a legacy JSON file beside the database (or in the
    /// temporary directory when that is impossible). Call once, at shutdown.
    pub fn close(&self) -> Option<Spill> {
        self.shared.stop_retrying();
        if let Some(worker) = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = worker.join();
        }
        if self.shared.recover() {
            None
        } else {
            self.spill()
        }
    }

    fn spill(&self) -> Option<Spill> {
        let state = self.shared.read();
        let held = state.held.as_ref()?;
        let mut export = LegacyExport::new();
        for touched in held.overlay.values() {
            let plan = &touched.plan;
            if plan.deleted {
                if touched.origin.is_some() {
                    log::error!(
                        "held change not expressible in the spill file: deletion of plan {} ({} on {})",
                        plan.id,
                        plan.coach,
                        plan.date
                    );
                }
                continue;
            }
            export.insert(
                legacy_key(&plan.coach, plan.date),
                LegacyRecord {
                    plan: plan.text.as_str().to_owned(),
                    charts: plan.charts.iter().map(|c| c.url().to_owned()).collect(),
                    author: plan.author.name.clone(),
                    timestamp: plan.created_at.as_str().to_owned(),
                    channel: plan.channel.name.clone(),
                },
            );
        }
        if export.is_empty() {
            return None;
        }
        match write_spill(&self.shared.config.path, &export) {
            Ok(path) => {
                log::error!(
                    "the database is still unavailable: {} held plan(s) written to {}; load them with `coach-plans import-legacy {}` once it is back",
                    export.len(),
                    path.display(),
                    path.display()
                );
                Some(Spill {
                    path,
                    plans: export.len(),
                })
            }
            Err(error) => {
                log::error!("cannot write the spill file: {error}; held plans follow");
                for (key, record) in &export {
                    log::error!(
                        "held plan {key}: {}",
                        serde_json::to_string(record).unwrap_or_default()
                    );
                }
                None
            }
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.shared.read()
    }

    /// Runs a write: straight to the database while healthy; held once it is unavailable.
    fn write<T>(
        &self,
        direct: impl FnOnce(&SqliteStore) -> Result<T, StoreError>,
        hold: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        {
            let state = self.read();
            if state.held.is_none()
                && let Some(db) = &state.db
            {
                match direct(db) {
                    Err(error) if error.is_unavailable() => {
                        log::error!(
                            "database write failed ({error}); holding changes in memory and retrying in the background"
                        );
                        drop(state);
                        let mut state = self.shared.write();
                        if state.held.is_none() {
                            state.held = Some(Held {
                                error: error.to_string(),
                                ..Held::default()
                            });
                        }
                        // The retry thread notices within its first delay.
                        return hold(&mut state);
                    }
                    other => return other,
                }
            }
        }
        let mut state = self.shared.write();
        if state.held.is_none() {
            // Recovered in between: the database takes it.
            let db = state.db.clone();
            drop(state);
            return match db {
                Some(db) => direct(&db),
                None => Err(StoreError::Other("no database and nothing held".into())),
            };
        }
        hold(&mut state)
    }
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_retrying(&self) {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    fn retry_loop(&self) {
        let max = self.config.retry_max_delay.max(FIRST_RETRY_DELAY);
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            {
                let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
                let (stop, _) = self
                    .wake
                    .wait_timeout(stop, delay)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stop {
                    return;
                }
            }
            if self.read().held.is_none() {
                delay = FIRST_RETRY_DELAY;
                continue;
            }
            if self.recover() {
                delay = FIRST_RETRY_DELAY;
            } else {
                delay = (delay * 2).min(max);
                log::debug!("database still unavailable; next attempt in {delay:?}");
            }
        }
    }

    /// Opens the database if needed and writes the journal through in order.
    ///
    /// Whether the database takes writes again is probed first, without the state lock: while
    /// another process still holds its lock, each attempt waits `database.connection_timeout`,
    /// and reads and held writes must not wait with it. The journal is then written under the
    /// state lock, so no reader sees it half written.
    fn recover(&self) -> bool {
        let _replaying = self
            .replaying
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.read().held.is_none() {
            return true;
        }
        let Some(db) = self.database() else {
            return false;
        };
        if let Err(error) = db.check_writable() {
            if let Some(held) = self.write().held.as_mut() {
                held.error = error.to_string();
            }
            return false;
        }
        let mut state = self.write();
        let Some(held) = state.held.as_mut() else {
            return true;
        };
        let total = held.journal.len();
        while let Some(op) = held.journal.front() {
            match apply(&db, op, &held.written_ids) {
                Ok(Some((provisional, real))) => {
                    held.written_ids.insert(provisional, real);
                }
                Ok(None) => {}
                Err(error) if error.is_unavailable() => {
                    held.error = error.to_string();
                    return false;
                }
                Err(error) => {
                    log::error!("a held change could not be written and is dropped: {error}");
                }
            }
            held.journal.pop_front();
        }
        if total > 0 {
            log::info!("database is back: {total} held change(s) written through in order");
        }
        state.held = None;
        true
    }

    /// The database, opening it first when it never opened.
    fn database(&self) -> Option<Arc<SqliteStore>> {
        if let Some(db) = &self.read().db {
            return Some(Arc::clone(db));
        }
        match SqliteStore::open(&self.config) {
            Ok((db, _)) => {
                log::info!("database {} opened", self.config.path.display());
                let db = Arc::new(db);
                self.write().db = Some(Arc::clone(&db));
                Some(db)
            }
            Err(error) => {
                if let Some(held) = self.write().held.as_mut() {
                    held.error = error.to_string();
                }
                None
            }
        }
    }
}

/// Writes one held change; a create answers its provisional and database ids.
fn apply(
    db: &SqliteStore,
    op: &Op,
    written: &BTreeMap<PlanId, PlanId>,
) -> Result<Option<(PlanId, PlanId)>, StoreError> {
    let real = |id: &PlanId| written.get(id).copied().unwrap_or(*id);
    match op {
        Op::Create(new, provisional) => match db.create_plan(new.clone()) {
            Ok(plan) => Ok(Some((*provisional, plan.id))),
            // The database had a plan the held view could not see (it never opened): the held
            // post replaces it, keeping the stored one in history.
            Err(StoreError::Conflict { existing, .. }) => {
                let revision = Revision {
                    action: HistoryAction::Replace,
                    text: new.text.clone(),
                    charts: Some(new.charts.clone()),
                    message_id: new.message_id,
                    by: new.author.clone(),
                    at: new.created_at.clone(),
                };
                db.revise_plan(existing, revision)?;
                Ok(Some((*provisional, existing)))
            }
            Err(error) => Err(error),
        },
        Op::Revise(id, revision) => db.revise_plan(real(id), revision.clone()).map(|_| None),
        Op::Delete(id, by, at) => db
            .delete_plan(real(id), by.clone(), at.clone())
            .map(|_| None),
    }
}

fn write_spill(db_path: &Path, export: &LegacyExport) -> std::io::Result<PathBuf> {
    let (dir, name) = files::split(db_path);
    let dir = if dir.as_os_str().is_empty() || dir.is_dir() {
        dir.to_path_buf()
    } else {
        // The database's directory is what is broken (for example a regular file).
        std::env::temp_dir()
    };
    let path = files::stamped_path(&dir, &name, "spill", ".json");
    let json = serde_json::to_vec_pretty(export).map_err(std::io::Error::other)?;
    let partial = path.with_extension("json.partial");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&json)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

impl Held {
    fn next_provisional(&mut self) -> PlanId {
        self.last_provisional += 1;
        PlanId::new(PROVISIONAL_ID_BASE + self.last_provisional).unwrap_or(PlanId::MIN)
    }

    fn record(&mut self, before: &Plan, action: HistoryAction, by: Author, at: Timestamp) {
        self.last_history += 1;
        let id = HistoryId::new(PROVISIONAL_ID_BASE + self.last_history).unwrap_or(HistoryId::MIN);
        self.history
            .push(changes::history_entry(id, before, action, by, at));
    }
}

/// The held changes; an error when nothing is held (the callers only run while holding).
fn held_mut(state: &mut State) -> Result<&mut Held, StoreError> {
    state
        .held
        .as_mut()
        .ok_or_else(|| StoreError::Other("no changes are being held".into()))
}

/// The live plan for a key in the combined view.
fn live_in_view(
    state: &State,
    coach: &CoachId,
    date: PlanDate,
) -> Result<Option<Plan>, StoreError> {
    let held = state.held.as_ref();
    if let Some(held) = held
        && let Some(t) = held
            .overlay
            .values()
            .find(|t| !t.plan.deleted && &t.plan.coach == coach && t.plan.date == date)
    {
        return Ok(Some(t.plan.clone()));
    }
    let Some(db) = &state.db else {
        return Ok(None);
    };
    let stored = db.live_plan(coach, date)?;
    Ok(stored.filter(|p| held.is_none_or(|h| !h.overlay.contains_key(&p.id))))
}

/// The database's answer with the held changes applied: plans changed while holding are replaced
/// by their held version when it still matches (`wanted`), and plans created while holding that
/// match are added. The caller sorts.
fn with_held(
    state: &State,
    from_db: impl FnOnce(&SqliteStore) -> Result<Vec<Plan>, StoreError>,
    wanted: impl Fn(&Plan) -> bool,
) -> Result<Vec<Plan>, StoreError> {
    let mut plans = match &state.db {
        Some(db) => from_db(db)?,
        None => Vec::new(),
    };
    if let Some(held) = &state.held {
        plans.retain(|p| !held.overlay.contains_key(&p.id));
        plans.extend(
            held.overlay
                .values()
                .map(|t| &t.plan)
                .filter(|p| wanted(p))
                .cloned(),
        );
    }
    Ok(plans)
}

/// The plan with this id in the combined view.
fn plan_in_view(state: &State, id: PlanId) -> Result<Option<Plan>, StoreError> {
    if let Some(t) = state.held.as_ref().and_then(|h| h.overlay.get(&id)) {
        return Ok(Some(t.plan.clone()));
    }
    match &state.db {
        Some(db) => db.plan(id),
        None => Ok(None),
    }
}

fn hold_create(state: &mut State, new: NewPlan) -> Result<Plan, StoreError> {
    if let Some(existing) = live_in_view(state, &new.coach, new.date)? {
        return Err(StoreError::Conflict {
            coach: new.coach,
            date: new.date,
            existing: existing.id,
        });
    }
    let held = held_mut(state)?;
    let id = held.next_provisional();
    let plan = new.clone().into_plan(id);
    held.overlay.insert(
        id,
        Touched {
            plan: plan.clone(),
            origin: None,
        },
    );
    held.journal.push_back(Op::Create(new, id));
    Ok(plan)
}

/// The live plan `id` as the held view has it, copied into the overlay if it came from the
/// database.
fn touch(state: &mut State, id: PlanId) -> Result<Plan, StoreError> {
    let current = plan_in_view(state, id)?
        .filter(|p| !p.deleted)
        .ok_or(StoreError::NotFound(id))?;
    held_mut(state)?
        .overlay
        .entry(id)
        .or_insert_with(|| Touched {
            plan: current.clone(),
            origin: Some(current.clone()),
        });
    Ok(current)
}

fn hold_revise(state: &mut State, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
    let before = touch(state, id)?;
    let held = held_mut(state)?;
    held.record(
        &before,
        revision.action,
        revision.by.clone(),
        revision.at.clone(),
    );
    let mut plan = before;
    revision.apply_to(&mut plan);
    if let Some(t) = held.overlay.get_mut(&id) {
        t.plan = plan.clone();
    }
    held.journal.push_back(Op::Revise(id, revision));
    Ok(plan)
}

fn hold_delete(
    state: &mut State,
    id: PlanId,
    by: Author,
    at: Timestamp,
) -> Result<Plan, StoreError> {
    let before = touch(state, id)?;
    let held = held_mut(state)?;
    held.record(&before, HistoryAction::Delete, by.clone(), at.clone());
    if let Some(t) = held.overlay.get_mut(&id) {
        t.plan.deleted = true;
    }
    held.journal.push_back(Op::Delete(id, by, at));
    Ok(before)
}

impl PlanStore for ResilientStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        let held_copy = plan.clone();
        self.write(
            |db| db.create_plan(plan),
            |state| hold_create(state, held_copy),
        )
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        let held_copy = revision.clone();
        self.write(
            |db| db.revise_plan(id, revision),
            |state| hold_revise(state, id, held_copy),
        )
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        let (by2, at2) = (by.clone(), at.clone());
        self.write(
            |db| db.delete_plan(id, by, at),
            |state| hold_delete(state, id, by2, at2),
        )
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        plan_in_view(&self.read(), id)
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        live_in_view(&self.read(), coach, date)
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        let mut plans = with_held(
            &self.read(),
            |db| db.plans_for(coach, date),
            |p| &p.coach == coach && p.date == date,
        )?;
        plans.sort_by_key(|p| (p.deleted, std::cmp::Reverse(p.id)));
        Ok(plans)
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        let mut plans = with_held(
            &self.read(),
            |db| db.list_plans(query),
            |p| !p.deleted && matches_query(p, query),
        )?;
        plans.sort_by_key(|p| std::cmp::Reverse((p.date, p.id)));
        plans.truncate(query.limit as usize);
        Ok(plans)
    }

    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        let state = self.read();
        let mut entries: Vec<HistoryEntry> = state
            .held
            .iter()
            .flat_map(|h| h.history.iter().rev())
            .filter(|h| h.plan_id == id)
            .cloned()
            .collect();
        if let Some(db) = &state.db
            && id.get() < PROVISIONAL_ID_BASE
        {
            entries.extend(db.history(id)?);
        }
        Ok(entries)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let state = self.read();
        let mut stats = match &state.db {
            Some(db) => db.stats()?,
            None => StoreStats::default(),
        };
        if let Some(held) = &state.held {
            for t in held.overlay.values() {
                let live = |p: &Plan| {
                    if p.deleted {
                        (0, 0)
                    } else {
                        (1, p.charts.len() as u64)
                    }
                };
                let (plans_now, charts_now) = live(&t.plan);
                let (plans_before, charts_before) = t.origin.as_ref().map_or((0, 0), live);
                stats.live_plans = (stats.live_plans + plans_now).saturating_sub(plans_before);
                stats.live_charts = (stats.live_charts + charts_now).saturating_sub(charts_before);
                if !t.plan.deleted {
                    stats.latest_plan_date = stats.latest_plan_date.max(Some(t.plan.date));
                }
            }
            stats.history_entries += held.history.len() as u64;
        }
        Ok(stats)
    }

    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        let state = self.read();
        match (&state.db, &state.held) {
            (Some(db), None) => db.import_plans(plans),
            (_, Some(held)) => Err(StoreError::Unavailable(
                format!("imports wait for the database: {}", held.error).into(),
            )),
            (None, None) => Err(StoreError::Other("no database".into())),
        }
    }

    fn health(&self) -> StoreHealth {
        let state = self.read();
        match (&state.held, &state.db) {
            (Some(held), _) => StoreHealth {
                writable: false,
                pending_writes: held.journal.len() as u64,
                error: Some(held.error.clone()),
            },
            (None, Some(db)) => db.health(),
            (None, None) => StoreHealth::up(),
        }
    }
}

impl Drop for ResilientStore {
    fn drop(&mut self) {
        self.shared.stop_retrying();
    }
}

impl std::fmt::Debug for ResilientStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let health = self.health();
        f.debug_struct("ResilientStore")
            .field("path", &self.shared.config.path)
            .field("writable", &health.writable)
            .field("pending_writes", &health.pending_writes)
            .finish()
    }
}
