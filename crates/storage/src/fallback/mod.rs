//! SPEC 5.1's fallback: a store that keeps accepting plans while the database cannot be opened
//! or written, holds the changes durably in a journal and in memory, retries the database in the
//! background with backoff, and writes the held changes through, in order, when it is back.
//!
//! [`ResilientStore<S>`] protects any [`ProtectedStore`] `S`: SQLite in the server
//! (`coach-plans-sqlite` builds it in one call), PostgreSQL later, and in tests a
//! `testing::FaultyStore` (feature `testing`) whose faults are switched on and off. It is
//! given a way to open `S` (an opener, called again while the database has never opened) and
//! where to keep what it holds ([`FallbackSettings`]); it knows nothing of drivers or files
//! beyond its own journal.
//!
//! While the database is healthy every call goes straight to it. When a write fails because the
//! database is unavailable, the store switches to *holding*: that write and every later one are
//! appended to the journal file (synced before the call returns, so an acknowledged change
//! survives `kill -9`), applied to an overlay (the changed plans, with history) and queued.
//! Reads combine the database (still readable when another process holds the write lock, as
//! SQLite's WAL allows) with the overlay. Plans created while holding get provisional ids above
//! [`PROVISIONAL_ID_BASE`]; they get database ids when written through.
//!
//! Nothing is decided against an empty view. While the database has never been read (it could
//! not be opened at start), reads that would need it fail with [`StoreError::Unavailable`] (the
//! API answers 503, not "No plan available"), and edits and deletions of plans it may hold are
//! refused. A new plan is still held, because the write-through checks it again: every held
//! change whose plan is not, in the database, the version the change was decided against is
//! put to the service's [`HeldChangeRules`] once more. A change they now refuse is not
//! written: it is logged, kept in a refused-changes file in the legacy JSON format, and reported
//! to the listener set with [`ResilientStore::on_refused`] (the server tells the author).
//!
//! If the journal cannot be written (no durable place to keep it), the change is refused with
//! [`StoreError::Unavailable`]: a ✅ always means the change is on disk somewhere.
//!
//! A background thread retries while changes are held: after 0.25 s, doubling up to
//! [`FallbackSettings::retry_max_delay`]. [`FallbackBuilder::without_background_retry`] leaves
//! it out, so that tests decide when [`ResilientStore::try_recover`] runs.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use coach_plans_model::{
    Author, ChartId, CoachId, HistoryEntry, ImageKind, Plan, PlanDate, PlanId, Sha256, Timestamp,
};

use crate::memory::{count_charts, matches_query};
use crate::store::{
    ChartCounts, ChartRef, ImportReport, PlanQuery, PlanStore, StoreHealth, StoreStats,
};
use crate::{NewPlan, Revision, StoreError};

mod delivery;
mod held;
mod journal;
mod write_through;

use held::{Held, State};

/// Provisional ids of plans created while the database is down start above this, far from any
/// real id and still exact in a JavaScript number.
pub const PROVISIONAL_ID_BASE: i64 = 1 << 50;

/// The first wait before retrying the database; it doubles up to the configured maximum.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);

/// A store the fallback can protect: a [`PlanStore`] that can say whether it takes writes.
pub trait ProtectedStore: PlanStore {
    /// `Ok` when a write would be taken now, without writing anything; waits as a write would
    /// (SQLite: an empty immediate transaction, up to its busy timeout). The fallback asks this
    /// before writing held changes through, without holding its own locks, so reads and new
    /// held writes never wait behind it.
    fn check_writable(&self) -> Result<(), StoreError>;
}

/// The rules of the service, asked again when a held change is written through and its plan is
/// no longer (or never was) the version the change was decided against.
pub trait HeldChangeRules: Send + Sync {
    /// `Ok` when `by` may replace, edit or delete `existing`; otherwise the reason, in words
    /// for the log and for the person who made the change.
    fn may_change(&self, existing: &Plan, by: &Author) -> Result<(), String>;
}

/// The strictest rules: only a plan's own author may change it. Used when no rules are given.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnlyTheAuthor;

impl HeldChangeRules for OnlyTheAuthor {
    fn may_change(&self, existing: &Plan, by: &Author) -> Result<(), String> {
        let same = match by.id {
            Some(id) => existing.author.is_same_person(id, &by.name),
            None => existing.author.id.is_none() && existing.author.name == by.name,
        };
        if same {
            Ok(())
        } else {
            Err(format!(
                "only its author ({}) may change this plan",
                existing.author.name
            ))
        }
    }
}

/// A held change that was not written when the database came back, because the rules refuse it
/// against what the database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedChange {
    /// The plan as the change would have left it (deleted for a deletion).
    pub plan: Plan,
    /// What the change was.
    pub action: RefusedAction,
    /// Who made it.
    pub by: Author,
    /// Why it was refused.
    pub reason: String,
    /// The file it was kept in, when it could be written.
    pub kept_in: Option<PathBuf>,
}

/// What kind of change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedAction {
    /// A new plan (a `!plan`).
    Post,
    /// An edit or a replacement.
    Revise,
    /// A deletion.
    Delete,
}

/// Changes still held when [`ResilientStore::close`] returned: they stay in the journal and
/// are written through when the server next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillHeld {
    /// The journal holding them.
    pub journal: PathBuf,
    /// How many changes it holds.
    pub changes: usize,
}

/// Where the fallback keeps what it holds, and how long it waits between retries at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackSettings {
    /// The directory of the journal and of refused-changes files; created when first needed.
    pub state_dir: PathBuf,
    /// The start of their names: `<name>.journal`, `<name>.refused-<UTC time>.json`
    /// (the database file's name for SQLite).
    pub name: String,
    /// The longest wait between two background retries.
    pub retry_max_delay: Duration,
}

impl FallbackSettings {
    /// Where held changes are journaled: `<state_dir>/<name>.journal`.
    pub fn journal_path(&self) -> PathBuf {
        self.state_dir.join(format!("{}.journal", self.name))
    }
}

type RefusalListener = Box<dyn Fn(&RefusedChange) + Send + Sync>;
type Opener<S> = Box<dyn Fn() -> Result<S, StoreError> + Send + Sync>;

/// The store `S` with the fallback of SPEC 5.1 around it. See the module documentation.
pub struct ResilientStore<S> {
    shared: Arc<Shared<S>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// How a [`ResilientStore`] is put together; see [`ResilientStore::builder`].
pub struct FallbackBuilder<S> {
    settings: FallbackSettings,
    rules: Arc<dyn HeldChangeRules>,
    background_retry: bool,
    store: std::marker::PhantomData<fn() -> S>,
}

struct Shared<S> {
    settings: FallbackSettings,
    /// Opens the database when it never opened.
    opener: Opener<S>,
    rules: Arc<dyn HeldChangeRules>,
    listener: RwLock<Option<RefusalListener>>,
    /// Refusals made before a listener was set (at start), told once one is.
    untold: Mutex<Vec<RefusedChange>>,
    state: RwLock<State<S>>,
    /// Held by whoever writes the journal through, so changes are written once and in order.
    replaying: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl<S: ProtectedStore> ResilientStore<S> {
    /// Starts putting a fallback together: the strictest rules for held changes
    /// ([`OnlyTheAuthor`]) and background retries unless told otherwise.
    pub fn builder(settings: FallbackSettings) -> FallbackBuilder<S> {
        FallbackBuilder {
            settings,
            rules: Arc::new(OnlyTheAuthor),
            background_retry: true,
            store: std::marker::PhantomData,
        }
    }

    /// Calls `listener` for every held change refused at write-through (from the thread that
    /// writes it through). Refusals made while opening (changes journaled by an earlier run)
    /// are told at once.
    pub fn on_refused(&self, listener: impl Fn(&RefusedChange) + Send + Sync + 'static) {
        let untold = std::mem::take(
            &mut *self
                .shared
                .untold
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for change in &untold {
            listener(change);
        }
        *self
            .shared
            .listener
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(listener));
    }

    /// Whether changes are being held.
    pub fn is_holding(&self) -> bool {
        self.shared.read().held.is_some()
    }

    /// Tries the database now (opening it if it never opened) and writes held changes
    /// through. Returns whether nothing is held afterwards.
    pub fn try_recover(&self) -> bool {
        self.shared.recover()
    }

    /// Stops the background retries and makes a last attempt to write held changes through.
    /// What is still held stays in the journal, to be written through at the next start; the
    /// answer says where. Call once, at shutdown.
    pub fn close(&self) -> Option<StillHeld> {
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
            return None;
        }
        let state = self.shared.read();
        let held = state.held.as_ref()?;
        let journal = held.file.as_ref()?;
        (!held.journal.is_empty()).then(|| {
            log::error!(
                "the database is still unavailable: {} held change(s) stay in {} and are written through at the next start",
                held.journal.len(),
                journal.path().display()
            );
            StillHeld {
                journal: journal.path().to_path_buf(),
                changes: held.journal.len(),
            }
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State<S>> {
        self.shared.read()
    }

    /// Runs a call about charts' archive state on the database, or refuses it while changes
    /// are held: the archive state is not journaled (the archiver tries again later), and the
    /// charts of held plans have no database ids yet.
    fn with_database_only<T>(
        &self,
        what: &str,
        call: impl FnOnce(&S) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let state = self.read();
        match (&state.db, &state.held) {
            (Some(db), None) => call(db),
            (_, Some(held)) => Err(StoreError::Unavailable(
                format!("{what} waits for the database: {}", held.error).into(),
            )),
            (None, None) => Err(StoreError::Other("no database".into())),
        }
    }

    /// Runs a write: straight to the database while healthy; held once it is unavailable.
    fn write<T>(
        &self,
        direct: impl FnOnce(&S) -> Result<T, StoreError>,
        hold: impl FnOnce(&mut State<S>, &std::path::Path) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let journal = self.shared.settings.journal_path();
        {
            let state = self.read();
            if state.held.is_none()
                && let Some(db) = &state.db
            {
                match direct(db) {
                    Err(error) if error.is_unavailable() => {
                        drop(state);
                        return self.hold_after(&error, hold, &journal);
                    }
                    other => return other,
                }
            }
        }
        let mut state = self.shared.write();
        if state.held.is_none() {
            // Recovered in between: the database takes it, unless it fails again (a server
            // restarting ends sessions one after another): then the change is held as well.
            let db = state.db.clone();
            drop(state);
            return match db {
                Some(db) => match direct(&db) {
                    Err(error) if error.is_unavailable() => self.hold_after(&error, hold, &journal),
                    other => other,
                },
                None => Err(StoreError::Other("no database and nothing held".into())),
            };
        }
        hold(&mut state, &journal)
    }

    /// Holds a change the database just failed to take (`error`), and starts retrying.
    fn hold_after<T>(
        &self,
        error: &StoreError,
        hold: impl FnOnce(&mut State<S>, &std::path::Path) -> Result<T, StoreError>,
        journal: &std::path::Path,
    ) -> Result<T, StoreError> {
        log::error!(
            "database write failed ({error}); holding changes in the journal {} and retrying in the background",
            journal.display()
        );
        let mut state = self.shared.write();
        if state.held.is_none() {
            state.held = Some(Held::because(error.to_string()));
        }
        let result = hold(&mut state, journal);
        drop(state);
        self.shared.start_retrying();
        result
    }
}

impl<S: ProtectedStore> FallbackBuilder<S> {
    /// The rules held changes are checked against again at write-through (by default
    /// [`OnlyTheAuthor`]).
    pub fn rules(mut self, rules: Arc<dyn HeldChangeRules>) -> Self {
        self.rules = rules;
        self
    }

    /// No background retry thread: held changes are written through only by
    /// [`ResilientStore::try_recover`] and [`ResilientStore::close`]. For tests that decide
    /// when the database is tried again.
    pub fn without_background_retry(mut self) -> Self {
        self.background_retry = false;
        self
    }

    /// Opens the database with `opener`. A database that cannot be opened now
    /// ([`StoreError::Unavailable`]) is not an error: the store starts holding and calls
    /// `opener` again at each retry until it opens. Changes journaled by an earlier run that
    /// stopped while holding are loaded and, when the database opens, written through before
    /// this returns. Errors that retrying cannot fix (a newer schema, corrupt data, an
    /// unreadable journal) are returned.
    pub fn open(
        self,
        opener: impl Fn() -> Result<S, StoreError> + Send + Sync + 'static,
    ) -> Result<ResilientStore<S>, StoreError> {
        let journal = self.settings.journal_path();
        let mut state = match opener() {
            Ok(db) => State {
                db: Some(Arc::new(db)),
                held: None,
            },
            Err(error) if error.is_unavailable() => {
                log::error!(
                    "cannot open the database ({error}); until it can be read, plans are answered with 503, new plans are kept in the journal {}, and edits and deletions wait",
                    journal.display()
                );
                State {
                    db: None,
                    held: Some(Held::because(error.to_string())),
                }
            }
            Err(error) => return Err(error),
        };
        held::load_journal(&mut state, &journal)?;
        let shared = Arc::new(Shared {
            settings: self.settings,
            opener: Box::new(opener),
            rules: self.rules,
            listener: RwLock::new(None),
            untold: Mutex::new(Vec::new()),
            state: RwLock::new(state),
            replaying: Mutex::new(()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        if shared.read().db.is_some() && shared.read().held.is_some() {
            shared.recover();
        }
        let worker = if self.background_retry {
            let shared = Arc::clone(&shared);
            Some(
                std::thread::Builder::new()
                    .name("coach-plans-db-retry".into())
                    .spawn(move || shared.retry_loop())
                    .map_err(|e| StoreError::Other(Box::new(e)))?,
            )
        } else {
            None
        };
        Ok(ResilientStore {
            shared,
            worker: Mutex::new(worker),
        })
    }
}

impl<S> Shared<S> {
    fn read(&self) -> RwLockReadGuard<'_, State<S>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State<S>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_retrying(&self) {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    /// Wakes the retry thread: changes are now held. Takes the stop lock first, so the
    /// thread cannot miss the wake-up between looking at the state and going to sleep.
    fn start_retrying(&self) {
        drop(self.stop.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_all();
    }
}

impl<S: ProtectedStore> Shared<S> {
    /// Sleeps while nothing is held; while changes are held, retries after 0.25 s, then twice
    /// as long each time up to `retry_max_delay`.
    fn retry_loop(&self) {
        use backon::{BackoffBuilder as _, ExponentialBuilder};

        let max = self.settings.retry_max_delay.max(FIRST_RETRY_DELAY);
        loop {
            {
                let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
                while !*stop && self.read().held.is_none() {
                    stop = self.wake.wait(stop).unwrap_or_else(PoisonError::into_inner);
                }
                if *stop {
                    return;
                }
            }
            let mut delays = ExponentialBuilder::default()
                .with_min_delay(FIRST_RETRY_DELAY)
                .with_max_delay(max)
                .with_factor(2.0)
                .without_max_times()
                .build();
            loop {
                let delay = delays.next().unwrap_or(max);
                {
                    let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
                    let (stop, _) = self
                        .wake
                        .wait_timeout_while(stop, delay, |stop| !*stop)
                        .unwrap_or_else(PoisonError::into_inner);
                    if *stop {
                        return;
                    }
                }
                if self.recover() {
                    break;
                }
                log::debug!("database still unavailable; trying again with backoff");
            }
        }
    }
}

impl<S: ProtectedStore> PlanStore for ResilientStore<S> {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        let held_copy = plan.clone();
        self.write(
            |db| db.create_plan(plan),
            |state, journal| held::hold_create(state, journal, held_copy),
        )
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        let held_copy = revision.clone();
        self.write(
            |db| db.revise_plan(id, revision),
            |state, journal| held::hold_revise(state, journal, id, held_copy),
        )
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        let (by2, at2) = (by.clone(), at.clone());
        self.write(
            |db| db.delete_plan(id, by, at),
            |state, journal| held::hold_delete(state, journal, id, by2, at2),
        )
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        held::plan_in_view(&self.read(), id)
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        held::live_in_view(&self.read(), coach, date)
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        let mut plans = held::with_held(
            &self.read(),
            |db| db.plans_for(coach, date),
            |p| &p.coach == coach && p.date == date,
        )?;
        plans.sort_by_key(|p| (p.deleted, std::cmp::Reverse(p.id)));
        Ok(plans)
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        let mut plans = held::with_held(
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
        if id.get() < PROVISIONAL_ID_BASE {
            entries.extend(held::database(&state)?.history(id)?);
        }
        Ok(entries)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let state = self.read();
        let mut stats = held::database(&state)?.stats()?;
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

    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        self.with_database_only("chart archiving", |db| db.charts_to_archive(limit))
    }

    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.with_database_only("chart archiving", |db| {
            db.record_chart_archived(chart, sha256, size, image, at)
        })
    }

    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError> {
        self.with_database_only("chart archiving", |db| {
            db.record_chart_failure(chart, reason, attempts, last)
        })
    }

    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        self.with_database_only("chart archiving", |db| db.record_chart_url(chart, url))
    }

    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        self.with_database_only("chart archiving", |db| db.requeue_failed_charts())
    }

    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        self.with_database_only("chart archiving", |db| {
            db.requeue_charts_of_blob(sha256, reason)
        })
    }

    /// The database's counts with the held changes applied, as [`PlanStore::stats`].
    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        let state = self.read();
        let mut counts = held::database(&state)?.chart_counts()?;
        if let Some(held) = &state.held {
            for t in held.overlay.values() {
                let now = count_charts(Some(&t.plan).filter(|p| !p.deleted));
                let before = count_charts(t.origin.as_ref().filter(|p| !p.deleted));
                counts.pending = (counts.pending + now.pending).saturating_sub(before.pending);
                counts.archived = (counts.archived + now.archived).saturating_sub(before.archived);
                counts.failed = (counts.failed + now.failed).saturating_sub(before.failed);
            }
        }
        Ok(counts)
    }
}

impl<S> Drop for ResilientStore<S> {
    fn drop(&mut self) {
        self.shared.stop_retrying();
    }
}

impl<S> std::fmt::Debug for FallbackBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackBuilder")
            .field("settings", &self.settings)
            .field("background_retry", &self.background_retry)
            .finish_non_exhaustive()
    }
}

impl<S: ProtectedStore> std::fmt::Debug for ResilientStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let health = self.health();
        f.debug_struct("ResilientStore")
            .field("journal", &self.shared.settings.journal_path())
            .field("writable", &health.writable)
            .field("pending_writes", &health.pending_writes)
            .finish()
    }
}
