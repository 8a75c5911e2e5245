//! What the fallback holds while the database is unavailable, and the view that combines it
//! with the database: the journal of changes, the overlay of plans they touched, the history
//! they recorded.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use coach_plans_model::{
    Author, CoachId, HistoryAction, HistoryEntry, HistoryId, Plan, PlanDate, PlanId, Timestamp,
};

use super::PROVISIONAL_ID_BASE;
use super::journal::{self, Journal, Op};
use crate::revision::history_entry;
use crate::{NewPlan, PlanStore, Revision, StoreError};

pub(super) struct State<S> {
    /// `None` while the database has never been opened: nothing may be read from it.
    pub(super) db: Option<Arc<S>>,
    /// `Some` while changes are held (or the database never opened).
    pub(super) held: Option<Held>,
}

#[derive(Default)]
pub(super) struct Held {
    /// Why the database is down, for health and logs.
    pub(super) error: String,
    /// The journal file, once a change has been written to it.
    pub(super) file: Option<Journal>,
    /// Changes not yet in the database, oldest first.
    pub(super) journal: VecDeque<Op>,
    /// Plans changed or created while holding, by id (database or provisional).
    pub(super) overlay: BTreeMap<PlanId, Touched>,
    /// History recorded while holding, oldest first.
    pub(super) history: Vec<HistoryEntry>,
    /// Provisional ids already written, mapped to their database ids.
    pub(super) written_ids: BTreeMap<PlanId, PlanId>,
    /// Provisional ids whose creation was refused at write-through.
    pub(super) refused_ids: BTreeSet<PlanId>,
    last_provisional: i64,
    last_history: i64,
}

pub(super) struct Touched {
    pub(super) plan: Plan,
    /// The database's version when first touched; `None` for plans created while holding.
    pub(super) origin: Option<Plan>,
}

impl Held {
    /// Nothing held yet, because of `error`.
    pub(super) fn because(error: String) -> Self {
        Self {
            error,
            ..Self::default()
        }
    }

    fn next_provisional(&mut self) -> PlanId {
        self.last_provisional += 1;
        PlanId::new(PROVISIONAL_ID_BASE + self.last_provisional).unwrap_or(PlanId::MIN)
    }

    fn record(&mut self, before: &Plan, action: HistoryAction, by: Author, at: Timestamp) {
        self.last_history += 1;
        let id = HistoryId::new(PROVISIONAL_ID_BASE + self.last_history).unwrap_or(HistoryId::MIN);
        self.history.push(history_entry(id, before, action, by, at));
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

/// Loads what an earlier run journaled at `path` and could not write through: into the
/// overlay, as it was when acknowledged.
pub(super) fn load_journal<S>(state: &mut State<S>, path: &Path) -> Result<(), StoreError> {
    let ops = journal::read(path).map_err(|error| {
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
    let held = state.held.get_or_insert_with(|| {
        Held::because("changes held by an earlier run are being written through".to_owned())
    });
    held.file = Some(Journal::open(path).map_err(|error| {
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

/// Applies a journaled change to the overlay and queues it for write-through. Returns what the
/// call that made the change answers.
fn remember(held: &mut Held, op: Op) -> Plan {
    let answer = held.apply(op.plan_id(), &op, || {
        let before = op.decided_against();
        Touched {
            plan: before.clone(),
            origin: Some(before),
        }
    });
    held.journal.push_back(op);
    answer
}

impl Held {
    /// Applies `op` to the view: to the overlay entry `key` (made by `base` when there is none
    /// yet: the plan as the database has it) and to the history. Returns what the call that
    /// made the change answers: the plan after a create or revision, before a deletion.
    fn apply(&mut self, key: PlanId, op: &Op, base: impl FnOnce() -> Touched) -> Plan {
        let (before, answer, action, by, at) = match op {
            Op::Create { plan, .. } => {
                let plan = plan.clone().into_plan(key);
                self.overlay.insert(
                    key,
                    Touched {
                        plan: plan.clone(),
                        origin: None,
                    },
                );
                return plan;
            }
            Op::Revise { revision, .. } => {
                let touched = self.overlay.entry(key).or_insert_with(base);
                let before = touched.plan.clone();
                revision.apply_to(&mut touched.plan);
                (
                    before,
                    touched.plan.clone(),
                    revision.action,
                    &revision.by,
                    &revision.at,
                )
            }
            Op::Delete { by, at, .. } => {
                let touched = self.overlay.entry(key).or_insert_with(base);
                let before = touched.plan.clone();
                touched.plan.deleted = true;
                (before.clone(), before, HistoryAction::Delete, by, at)
            }
        };
        self.record(&before, action, by.clone(), at.clone());
        answer
    }

    /// After a write-through cut short: the view rebuilt as the database now is (holding the
    /// changes written so far) plus the changes still held, so nothing written shows twice.
    /// A plan the database cannot be read for now is shown as its change was decided against.
    pub(super) fn rebase<S: PlanStore>(&mut self, db: &S) {
        let ops = std::mem::take(&mut self.journal);
        self.overlay.clear();
        self.history.clear();
        for op in ops {
            let key = self
                .written_ids
                .get(&op.plan_id())
                .copied()
                .unwrap_or(op.plan_id());
            self.apply(key, &op, || match db.plan(key) {
                Ok(Some(stored)) => Touched {
                    plan: stored.clone(),
                    origin: Some(stored),
                },
                _ => {
                    let before = op.decided_against();
                    Touched {
                        origin: (key.get() < PROVISIONAL_ID_BASE).then(|| before.clone()),
                        plan: before,
                    }
                }
            });
            self.journal.push_back(op);
        }
    }
}

/// The held changes; an error when nothing is held (the callers only run while holding).
fn held_mut<S>(state: &mut State<S>) -> Result<&mut Held, StoreError> {
    state
        .held
        .as_mut()
        .ok_or_else(|| StoreError::Other("no changes are being held".into()))
}

/// The database, or why nothing can be answered without it: it has never been read.
pub(super) fn database<S>(state: &State<S>) -> Result<&S, StoreError> {
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
pub(super) fn live_in_view<S: PlanStore>(
    state: &State<S>,
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
pub(super) fn with_held<S>(
    state: &State<S>,
    from_db: impl FnOnce(&S) -> Result<Vec<Plan>, StoreError>,
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
pub(super) fn plan_in_view<S: PlanStore>(
    state: &State<S>,
    id: PlanId,
) -> Result<Option<Plan>, StoreError> {
    if let Some(t) = state.held.as_ref().and_then(|h| h.overlay.get(&id)) {
        return Ok(Some(t.plan.clone()));
    }
    if id.get() > PROVISIONAL_ID_BASE {
        return Ok(None);
    }
    database(state)?.plan(id)
}

/// The live plan `id` as the held view has it.
fn live_in_view_by_id<S: PlanStore>(state: &State<S>, id: PlanId) -> Result<Plan, StoreError> {
    plan_in_view(state, id)?
        .filter(|p| !p.deleted)
        .ok_or(StoreError::NotFound(id))
}

pub(super) fn hold_create<S: PlanStore>(
    state: &mut State<S>,
    journal: &Path,
    new: NewPlan,
) -> Result<Plan, StoreError> {
    let held = state.held.as_ref();
    let in_overlay = held.and_then(|held| live_in_overlay(held, &new.coach, new.date));
    // While the database has never been read, or cannot be read now (it just failed), a plan
    // it may hold for this coach and date is unknown; the write-through checks the post
    // against it.
    let existing = match (in_overlay, &state.db) {
        (Some(plan), _) => Some(plan.id),
        (None, Some(db)) => match db.live_plan(&new.coach, new.date) {
            Ok(plan) => plan
                .filter(|p| held.is_none_or(|h| !h.overlay.contains_key(&p.id)))
                .map(|p| p.id),
            Err(error) if error.is_unavailable() => None,
            Err(error) => return Err(error),
        },
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

pub(super) fn hold_revise<S: PlanStore>(
    state: &mut State<S>,
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

pub(super) fn hold_delete<S: PlanStore>(
    state: &mut State<S>,
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
