//! SPEC 5.1's fallback: a store that keeps accepting plans while the database cannot be opened
//! or written, holds the changes durably in a journal and in memory, retries the database in the
//! background with backoff, and writes the held changes through, in order, when it is back.
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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};
use coach_plans_config::DatabaseConfig;
use coach_plans_model::wire::{LegacyExport, LegacyRecord, legacy_key};
use coach_plans_model::{
    Author, CoachId, HistoryAction, HistoryEntry, HistoryId, Plan, PlanDate, PlanId, Timestamp,
};

use crate::journal::{self, Journal, Op};
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

type RefusalListener = Box<dyn Fn(&RefusedChange) + Send + Sync>;

/// The SQLite store with the fallback of SPEC 5.1 around it. See the module documentation.
pub struct ResilientStore {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    config: DatabaseConfig,
    rules: Arc<dyn HeldChangeRules>,
    listener: RwLock<Option<RefusalListener>>,
    /// Refusals made before a listener was set (at start), told once one is.
    untold: Mutex<Vec<RefusedChange>>,
    state: RwLock<State>,
    /// Held by whoever writes the journal through, so changes are written once and in order.
    replaying: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// `None` while the database has never been opened: nothing may be read from it.
    db: Option<Arc<SqliteStore>>,
    /// `Some` while changes are held (or the database never opened).
    held: Option<Held>,
}

#[derive(Default)]
struct Held {
    /// Why the database is down, for health and logs.
    error: String,
    /// The journal file, once a change has been written to it.
    file: Option<Journal>,
    /// Changes not yet in the database, oldest first.
    journal: VecDeque<Op>,
    /// Plans changed or created while holding, by id (database or provisional).
    overlay: BTreeMap<PlanId, Touched>,
    /// History recorded while holding, oldest first.
    history: Vec<HistoryEntry>,
    /// Provisional ids already written, mapped to their database ids.
    written_ids: BTreeMap<PlanId, PlanId>,
    /// Provisional ids whose creation was refused at write-through.
    refused_ids: BTreeSet<PlanId>,
    last_provisional: i64,
    last_history: i64,
}

struct Touched {
    plan: Plan,
    /// The database's version when first touched; `None` for plans created while holding.
    origin: Option<Plan>,
}

impl ResilientStore {
    /// Opens the configured database with the strictest rules for held changes
    /// ([`OnlyTheAuthor`]). See [`open_with_rules`](Self::open_with_rules).
    pub fn open(config: &DatabaseConfig) -> Result<Self, StoreError> {
        Self::open_with_rules(config, Arc::new(OnlyTheAuthor))
    }

    /// Opens the configured database. A database that cannot be opened now (missing directory
    /// that cannot be created, locked, unwritable) is not an error: the store starts holding
    /// and keeps trying in the background. Changes journaled by an earlier run that stopped
    /// while holding are loaded and, when the database opens, written through before this
    /// returns. Errors that retrying cannot fix (a newer schema, corrupt data, an unreadable
    /// journal) are returned.
    pub fn open_with_rules(
        config: &DatabaseConfig,
        rules: Arc<dyn HeldChangeRules>,
    ) -> Result<Self, StoreError> {
        let mut state = match SqliteStore::open(config) {
            // The migrations log what they applied and where the backup went.
            Ok((db, _)) => State {
                db: Some(Arc::new(db)),
                held: None,
            },
            Err(error) if error.is_unavailable() => {
                log::error!(
                    "cannot open the database ({error}); until it can be read, plans are answered with 503, new plans are kept in the journal {}, and edits and deletions wait",
                    journal_path(config).display()
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
        load_journal(&mut state, config)?;
        let shared = Arc::new(Shared {
            config: config.clone(),
            rules,
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

    /// Calls `listener` for every held change refused at write-through (from the retry thread).
    /// Refusals made while opening (changes journaled by an earlier run) are told at once.
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

    /// Tries the database now and writes held changes through. Returns whether nothing is held
    /// afterwards.
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

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.shared.read()
    }

    /// Runs a write: straight to the database while healthy; held once it is unavailable.
    fn write<T>(
        &self,
        direct: impl FnOnce(&SqliteStore) -> Result<T, StoreError>,
        hold: impl FnOnce(&mut State, &Path) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let journal = journal_path(&self.shared.config);
        {
            let state = self.read();
            if state.held.is_none()
                && let Some(db) = &state.db
            {
                match direct(db) {
                    Err(error) if error.is_unavailable() => {
                        log::error!(
                            "database write failed ({error}); holding changes in the journal {} and retrying in the background",
                            journal.display()
                        );
                        drop(state);
                        let mut state = self.shared.write();
                        if state.held.is_none() {
                            state.held = Some(Held {
                                error: error.to_string(),
                                ..Held::default()
                            });
                        }
                        let result = hold(&mut state, &journal);
                        drop(state);
                        self.shared.start_retrying();
                        return result;
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
        hold(&mut state, &journal)
    }
}

/// Where held changes are journaled: `<state dir>/<database file name>.journal`, the state
/// directory being `database.state_dir` or, by default, the database's own directory.
pub fn journal_path(config: &DatabaseConfig) -> PathBuf {
    let (db_dir, name) = files::split(&config.path);
    state_dir(config, db_dir).join(format!("{name}.journal"))
}

fn state_dir<'a>(config: &'a DatabaseConfig, db_dir: &'a Path) -> &'a Path {
    config.state_dir.as_deref().unwrap_or(db_dir)
}

/// Loads what an earlier run journaled and could not write through: into the overlay, as it
/// was when acknowledged.
fn load_journal(state: &mut State, config: &DatabaseConfig) -> Result<(), StoreError> {
    let path = journal_path(config);
    let ops = journal::read(&path).map_err(|error| {
        StoreError::Other(
            format!(
                "cannot read the journal of held changes {}: {error}",
                path.display()
            )
            .into(),
        )
    })?;
    if ops.is_empty() {
        return Ok(());
    }
    log::warn!(
        "{} change(s) held by an earlier run found in {}; writing them through",
        ops.len(),
        path.display()
    );
    let held = state.held.get_or_insert_with(|| Held {
        error: "changes held by an earlier run are being written through".to_owned(),
        ..Held::default()
    });
    held.file = Some(Journal::open(&path).map_err(|error| {
        StoreError::Other(format!("cannot open the journal {}: {error}", path.display()).into())
    })?);
    for op in ops {
        if let Op::Create { id, .. } = &op {
            held.last_provisional = held
                .last_provisional
                .max(id.get().saturating_sub(PROVISIONAL_ID_BASE));
        }
        remember(held, op);
    }
    Ok(())
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

    /// Wakes the retry thread: changes are now held. Takes the stop lock first, so the
    /// thread cannot miss the wake-up between looking at the state and going to sleep.
    fn start_retrying(&self) {
        drop(self.stop.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_all();
    }

    /// Sleeps while nothing is held; while changes are held, retries after 0.25 s, then twice
    /// as long each time up to `database.retry_max_delay`.
    fn retry_loop(&self) {
        let max = self.config.retry_max_delay.max(FIRST_RETRY_DELAY);
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

    /// Opens the database if needed and writes the journal through in order, checking each
    /// change against what the database holds.
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
        let mut refused = Vec::new();
        while let Some(op) = held.journal.pop_front() {
            let outcome = match write_through(&db, &op, held, self.rules.as_ref()) {
                Err(error) if error.is_unavailable() => {
                    held.error = error.to_string();
                    held.journal.push_front(op);
                    return false;
                }
                // Anything else the database says no to is refused too, never silently dropped.
                Err(error) => Outcome::Refused(Box::new(refusal(&op, error.to_string()))),
                Ok(outcome) => outcome,
            };
            match outcome {
                Outcome::Written(Some((provisional, real))) => {
                    held.written_ids.insert(provisional, real);
                }
                Outcome::Written(None) => {}
                Outcome::Refused(change) => {
                    if let Op::Create { id, .. } = &op {
                        held.refused_ids.insert(*id);
                    }
                    refused.push(*change);
                }
            }
        }
        let file = held.file.take();
        state.held = None;
        drop(state);
        let written = total - refused.len();
        if total > 0 {
            log::info!(
                "database is back: {written} held change(s) written through in order, {} refused",
                refused.len()
            );
        }
        self.report_refused(refused);
        if let Some(file) = file {
            let path = file.path().to_path_buf();
            if let Err(error) = file.remove() {
                log::error!(
                    "cannot remove the written-through journal {} ({error}); the next start writes it through again, which changes nothing",
                    path.display()
                );
            }
        }
        true
    }

    /// Keeps refused changes in a file, logs them and tells the listener.
    fn report_refused(&self, mut refused: Vec<RefusedChange>) {
        if refused.is_empty() {
            return;
        }
        let mut export = LegacyExport::new();
        for change in refused.iter().filter(|c| c.action != RefusedAction::Delete) {
            export.insert(
                legacy_key(&change.plan.coach, change.plan.date),
                legacy_record(&change.plan),
            );
        }
        let (db_dir, name) = files::split(&self.config.path);
        let dir = state_dir(&self.config, db_dir);
        let kept_in = if export.is_empty() {
            None
        } else {
            match write_legacy_file(
                &files::stamped_path(dir, &name, "refused", ".json"),
                &export,
            ) {
                Ok(path) => Some(path),
                Err(error) => {
                    log::error!(
                        "cannot write the refused changes to {}: {error}; they follow in full",
                        dir.display()
                    );
                    for (key, record) in &export {
                        log::error!(
                            "refused change {key}: {}",
                            serde_json::to_string(record).unwrap_or_default()
                        );
                    }
                    None
                }
            }
        };
        let listener = self.listener.read().unwrap_or_else(PoisonError::into_inner);
        for change in &mut refused {
            change.kept_in.clone_from(&kept_in);
            log::error!(
                "held change refused at write-through: {:?} of {} on {} by {} ({}): {}{}",
                change.action,
                change.plan.coach,
                change.plan.date,
                change.by.name,
                change.by.id.map(|id| id.to_string()).unwrap_or_default(),
                change.reason,
                kept_in
                    .as_ref()
                    .map(|p| format!("; kept in {}", p.display()))
                    .unwrap_or_default()
            );
            match listener.as_ref() {
                Some(listener) => listener(change),
                None => self
                    .untold
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(change.clone()),
            }
        }
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

/// What writing one held change through did.
enum Outcome {
    /// Written (or found already written by an earlier run); a create answers its provisional
    /// and database ids.
    Written(Option<(PlanId, PlanId)>),
    /// Not written: the rules refuse it against what the database holds.
    Refused(Box<RefusedChange>),
}

/// Writes one held change, checking it against the database first. Writing a change twice (a
/// crash after the database took it and before the journal was removed) changes nothing.
fn write_through(
    db: &SqliteStore,
    op: &Op,
    held: &Held,
    rules: &dyn HeldChangeRules,
) -> Result<Outcome, StoreError> {
    let real = |id: &PlanId| held.written_ids.get(id).copied().unwrap_or(*id);
    let refuse = |reason: String| Ok(Outcome::Refused(Box::new(refusal(op, reason))));
    match op {
        Op::Create { id, plan: new } => match db.create_plan(new.clone()) {
            Ok(plan) => Ok(Outcome::Written(Some((*id, plan.id)))),
            // The coach and date have a plan the held view did not know of (the database was
            // never read), or it came meanwhile from elsewhere: the rules decide again.
            Err(StoreError::Conflict { existing, .. }) => {
                let Some(current) = db.plan(existing)? else {
                    return refuse("the plan for this coach and date changed meanwhile".into());
                };
                if current.author == new.author
                    && current.created_at == new.created_at
                    && current.text == new.text
                {
                    return Ok(Outcome::Written(Some((*id, existing))));
                }
                if let Err(reason) = rules.may_change(&current, &new.author) {
                    return refuse(reason);
                }
                db.revise_plan(
                    existing,
                    Revision {
                        action: HistoryAction::Replace,
                        text: new.text.clone(),
                        charts: Some(new.charts.clone()),
                        message_id: new.message_id,
                        by: new.author.clone(),
                        at: new.created_at.clone(),
                    },
                )?;
                Ok(Outcome::Written(Some((*id, existing))))
            }
            Err(error) => Err(error),
        },
        Op::Revise {
            id,
            revision,
            before,
        } => {
            if held.refused_ids.contains(id) {
                return refuse("the post it changes was refused".into());
            }
            let Some(current) = db.plan(real(id))?.filter(|p| !p.deleted) else {
                return refuse("the plan was deleted meanwhile".into());
            };
            if current.edited_at.as_ref() == Some(&revision.at) && current.text == revision.text {
                return Ok(Outcome::Written(None));
            }
            if !same_version(&current, before)
                && let Err(reason) = rules.may_change(&current, &revision.by)
            {
                return refuse(reason);
            }
            db.revise_plan(current.id, revision.clone())?;
            Ok(Outcome::Written(None))
        }
        Op::Delete { id, by, at, before } => {
            if held.refused_ids.contains(id) {
                return refuse("the post it deletes was refused".into());
            }
            let current = match db.plan(real(id))? {
                // Deleted already (by an earlier run of this journal, or by someone else).
                Some(plan) if plan.deleted => return Ok(Outcome::Written(None)),
                Some(plan) => plan,
                None => return refuse("the plan does not exist".into()),
            };
            if !same_version(&current, before)
                && let Err(reason) = rules.may_change(&current, by)
            {
                return refuse(reason);
            }
            db.delete_plan(current.id, by.clone(), at.clone())?;
            Ok(Outcome::Written(None))
        }
    }
}

/// Whether `current` is still the version a change was decided against.
fn same_version(current: &Plan, before: &Plan) -> bool {
    current.author == before.author
        && current.text == before.text
        && current.edited_at == before.edited_at
        && current.created_at == before.created_at
        && current.deleted == before.deleted
}

/// The refusal of `op`: the plan as the change would have left it.
fn refusal(op: &Op, reason: String) -> RefusedChange {
    let (plan, action, by) = match op {
        Op::Create { id, plan } => (
            plan.clone().into_plan(*id),
            RefusedAction::Post,
            plan.author.clone(),
        ),
        Op::Revise {
            revision, before, ..
        } => {
            let mut plan = before.clone();
            revision.apply_to(&mut plan);
            (plan, RefusedAction::Revise, revision.by.clone())
        }
        Op::Delete { by, before, .. } => {
            let mut plan = before.clone();
            plan.deleted = true;
            (plan, RefusedAction::Delete, by.clone())
        }
    };
    RefusedChange {
        plan,
        action,
        by,
        reason,
        kept_in: None,
    }
}

fn legacy_record(plan: &Plan) -> LegacyRecord {
    LegacyRecord {
        plan: plan.text.as_str().to_owned(),
        charts: plan.charts.iter().map(|c| c.url().to_owned()).collect(),
        author: plan.author.name.clone(),
        timestamp: plan.created_at.as_str().to_owned(),
        channel: plan.channel.name.clone(),
    }
}

/// Writes `export` to `path` atomically and durably (temporary file, sync, rename).
fn write_legacy_file(path: &Path, export: &LegacyExport) -> std::io::Result<PathBuf> {
    let json = serde_json::to_vec_pretty(export).map_err(std::io::Error::other)?;
    let partial = path.with_extension("json.partial");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&json)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(path.to_path_buf())
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

    /// Appends `op` to the journal file, opening it first, and waits until it is on disk.
    fn journal_durably(&mut self, path: &Path, op: &Op) -> Result<(), StoreError> {
        let result = match &mut self.file {
            Some(file) => file.append(op),
            None => Journal::open(path).and_then(|mut file| {
                file.append(op)?;
                self.file = Some(file);
                Ok(())
            }),
        };
        result.map_err(|error| {
            log::error!(
                "cannot keep a held change durably in {} ({error}); it is refused. Make the database or its state directory (database.state_dir, STATE_DIRECTORY) writable",
                path.display()
            );
            StoreError::Unavailable(
                format!(
                    "the database is unavailable and the change cannot be kept durably in {}: {error}",
                    path.display()
                )
                .into(),
            )
        })
    }
}

/// Applies a journaled change to the overlay and queues it for write-through.
fn remember(held: &mut Held, op: Op) -> Plan {
    let plan = match &op {
        Op::Create { id, plan } => {
            let plan = plan.clone().into_plan(*id);
            held.overlay.insert(
                *id,
                Touched {
                    plan: plan.clone(),
                    origin: None,
                },
            );
            plan
        }
        Op::Revise {
            id,
            revision,
            before,
        } => {
            held.record(
                before,
                revision.action,
                revision.by.clone(),
                revision.at.clone(),
            );
            let mut plan = before.clone();
            revision.apply_to(&mut plan);
            touched(held, *id, before).plan = plan.clone();
            plan
        }
        Op::Delete { id, by, at, before } => {
            held.record(before, HistoryAction::Delete, by.clone(), at.clone());
            touched(held, *id, before).plan.deleted = true;
            before.clone()
        }
    };
    held.journal.push_back(op);
    plan
}

/// The overlay entry of plan `id`, made from `before` (the database's version) when it has none.
fn touched<'a>(held: &'a mut Held, id: PlanId, before: &Plan) -> &'a mut Touched {
    held.overlay.entry(id).or_insert_with(|| Touched {
        plan: before.clone(),
        origin: Some(before.clone()),
    })
}

/// The held changes; an error when nothing is held (the callers only run while holding).
fn held_mut(state: &mut State) -> Result<&mut Held, StoreError> {
    state
        .held
        .as_mut()
        .ok_or_else(|| StoreError::Other("no changes are being held".into()))
}

/// The database, or why nothing can be answered without it: it has never been read.
fn database(state: &State) -> Result<&SqliteStore, StoreError> {
    match &state.db {
        Some(db) => Ok(db),
        None => Err(StoreError::Unavailable(
            format!(
                "the database has not been read since the server started, so no answer can be given ({})",
                state
                    .held
                    .as_ref()
                    .map_or("not opened", |held| held.error.as_str())
            )
            .into(),
        )),
    }
}

/// The live plan for a key in the combined view.
fn live_in_view(
    state: &State,
    coach: &CoachId,
    date: PlanDate,
) -> Result<Option<Plan>, StoreError> {
    let held = state.held.as_ref();
    if let Some(plan) = held.and_then(|held| live_in_overlay(held, coach, date)) {
        return Ok(Some(plan.clone()));
    }
    let stored = database(state)?.live_plan(coach, date)?;
    Ok(stored.filter(|p| held.is_none_or(|h| !h.overlay.contains_key(&p.id))))
}

fn live_in_overlay<'a>(held: &'a Held, coach: &CoachId, date: PlanDate) -> Option<&'a Plan> {
    held.overlay
        .values()
        .map(|t| &t.plan)
        .find(|p| !p.deleted && &p.coach == coach && p.date == date)
}

/// The database's answer with the held changes applied: plans changed while holding are replaced
/// by their held version when it still matches (`wanted`), and plans created while holding that
/// match are added. The caller sorts.
fn with_held(
    state: &State,
    from_db: impl FnOnce(&SqliteStore) -> Result<Vec<Plan>, StoreError>,
    wanted: impl Fn(&Plan) -> bool,
) -> Result<Vec<Plan>, StoreError> {
    let mut plans = from_db(database(state)?)?;
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
    if id.get() > PROVISIONAL_ID_BASE {
        return Ok(None);
    }
    database(state)?.plan(id)
}

fn hold_create(state: &mut State, journal: &Path, new: NewPlan) -> Result<Plan, StoreError> {
    let held = state.held.as_ref();
    let in_overlay = held.and_then(|held| live_in_overlay(held, &new.coach, new.date));
    // While the database has never been read, a plan it may hold for this coach and date is
    // unknown; the write-through checks the post against it.
    let existing = match (in_overlay, &state.db) {
        (Some(plan), _) => Some(plan.id),
        (None, Some(db)) => db
            .live_plan(&new.coach, new.date)?
            .filter(|p| held.is_none_or(|h| !h.overlay.contains_key(&p.id)))
            .map(|p| p.id),
        (None, None) => None,
    };
    if let Some(existing) = existing {
        return Err(StoreError::Conflict {
            coach: new.coach,
            date: new.date,
            existing,
        });
    }
    let held = held_mut(state)?;
    let id = held.next_provisional();
    let op = Op::Create { id, plan: new };
    if let Err(error) = held.journal_durably(journal, &op) {
        held.last_provisional -= 1;
        return Err(error);
    }
    Ok(remember(held, op))
}

/// The live plan `id` as the held view has it.
fn live_in_view_by_id(state: &State, id: PlanId) -> Result<Plan, StoreError> {
    plan_in_view(state, id)?
        .filter(|p| !p.deleted)
        .ok_or(StoreError::NotFound(id))
}

fn hold_revise(
    state: &mut State,
    journal: &Path,
    id: PlanId,
    revision: Revision,
) -> Result<Plan, StoreError> {
    let before = live_in_view_by_id(state, id)?;
    let op = Op::Revise {
        id,
        revision,
        before,
    };
    let held = held_mut(state)?;
    held.journal_durably(journal, &op)?;
    Ok(remember(held, op))
}

fn hold_delete(
    state: &mut State,
    journal: &Path,
    id: PlanId,
    by: Author,
    at: Timestamp,
) -> Result<Plan, StoreError> {
    let before = live_in_view_by_id(state, id)?;
    let op = Op::Delete { id, by, at, before };
    let held = held_mut(state)?;
    held.journal_durably(journal, &op)?;
    Ok(remember(held, op))
}

impl PlanStore for ResilientStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        let held_copy = plan.clone();
        self.write(
            |db| db.create_plan(plan),
            |state, journal| hold_create(state, journal, held_copy),
        )
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        let held_copy = revision.clone();
        self.write(
            |db| db.revise_plan(id, revision),
            |state, journal| hold_revise(state, journal, id, held_copy),
        )
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        let (by2, at2) = (by.clone(), at.clone());
        self.write(
            |db| db.delete_plan(id, by, at),
            |state, journal| hold_delete(state, journal, id, by2, at2),
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
        if id.get() < PROVISIONAL_ID_BASE {
            entries.extend(database(&state)?.history(id)?);
        }
        Ok(entries)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let state = self.read();
        let mut stats = database(&state)?.stats()?;
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
