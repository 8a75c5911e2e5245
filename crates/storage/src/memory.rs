//! The in-memory store: the reference implementation of the contract, for tests and for code
//! that needs a store without a database.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use coach_plans_model::{
    Author, Chart, ChartArchive, ChartId, ChartStatus, CoachId, HistoryAction, HistoryEntry,
    HistoryId, ImageKind, Plan, PlanDate, PlanId, Sha256, Timestamp,
};

use crate::revision::history_entry;
use crate::store::{
    AuthorFilter, ChartCounts, ChartRef, ImportReport, PlanQuery, PlanStore, StoreHealth,
    StoreStats,
};
use crate::{NewPlan, ProtectedStore, Revision, StoreError};

/// Plans in memory, lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone)]
struct State {
    plans: BTreeMap<PlanId, Plan>,
    live: HashMap<(CoachId, PlanDate), PlanId>,
    history: BTreeMap<HistoryId, HistoryEntry>,
    last_plan_id: i64,
    last_history_id: i64,
    live_charts: u64,
    /// The ids of each plan's current charts, in the order of `Plan::charts`.
    chart_ids: HashMap<PlanId, Vec<ChartId>>,
    last_chart_id: i64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change: every mutation
        // below is computed first and applied without fallible steps.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn next_plan_id(&mut self) -> PlanId {
        self.last_plan_id += 1;
        PlanId::new(self.last_plan_id).unwrap_or(PlanId::MIN)
    }

    fn next_history_id(&mut self) -> HistoryId {
        self.last_history_id += 1;
        HistoryId::new(self.last_history_id).unwrap_or(HistoryId::MIN)
    }

    /// New ids for the `count` charts `plan` has now (created, or given new charts).
    fn number_charts(&mut self, plan: PlanId, count: usize) {
        let ids = (0..count)
            .map(|_| {
                self.last_chart_id += 1;
                ChartId::new(self.last_chart_id).unwrap_or(ChartId::MIN)
            })
            .collect();
        self.chart_ids.insert(plan, ids);
    }

    /// The stored chart with this id, to change its archive state or link.
    fn chart_mut(&mut self, id: ChartId) -> Result<&mut Chart, StoreError> {
        let (plan, index) = self
            .chart_ids
            .iter()
            .find_map(|(plan, ids)| ids.iter().position(|c| *c == id).map(|i| (*plan, i)))
            .ok_or(StoreError::ChartNotFound(id))?;
        self.plans
            .get_mut(&plan)
            .and_then(|p| p.charts.get_mut(index))
            .ok_or(StoreError::ChartNotFound(id))
    }

    fn live_mut(&mut self, id: PlanId) -> Result<&mut Plan, StoreError> {
        self.plans
            .get_mut(&id)
            .filter(|p| !p.deleted)
            .ok_or(StoreError::NotFound(id))
    }

    fn insert(&mut self, new: NewPlan) -> Result<Plan, StoreError> {
        if let Some(&existing) = self.live.get(&(new.coach.clone(), new.date)) {
            return Err(StoreError::Conflict {
                coach: new.coach,
                date: new.date,
                existing,
            });
        }
        let id = self.next_plan_id();
        let plan = new.into_plan(id);
        self.live.insert((plan.coach.clone(), plan.date), id);
        self.live_charts += plan.charts.len() as u64;
        self.number_charts(id, plan.charts.len());
        self.plans.insert(id, plan.clone());
        Ok(plan)
    }

    fn record(&mut self, plan: &Plan, action: HistoryAction, by: Author, at: Timestamp) {
        let id = self.next_history_id();
        self.history
            .insert(id, history_entry(id, plan, action, by, at));
    }
}

impl PlanStore for MemoryStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        self.state().insert(plan)
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        let mut state = self.state();
        let previous = state.live_mut(id)?.clone();
        state.record(
            &previous,
            revision.action,
            revision.by.clone(),
            revision.at.clone(),
        );
        let plan = state.live_mut(id)?;
        revision.apply_to(plan);
        let updated = plan.clone();
        if revision.charts.is_some() {
            state.number_charts(id, updated.charts.len());
        }
        state.live_charts =
            state.live_charts - previous.charts.len() as u64 + updated.charts.len() as u64;
        Ok(updated)
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        let mut state = self.state();
        let previous = state.live_mut(id)?.clone();
        state.record(&previous, HistoryAction::Delete, by, at);
        state.live_mut(id)?.deleted = true;
        state.live.remove(&(previous.coach.clone(), previous.date));
        state.live_charts -= previous.charts.len() as u64;
        Ok(previous)
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        Ok(self.state().plans.get(&id).cloned())
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        let state = self.state();
        let id = state.live.get(&(coach.clone(), date));
        Ok(id.and_then(|id| state.plans.get(id)).cloned())
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        let state = self.state();
        let mut plans: Vec<Plan> = state
            .plans
            .values()
            .filter(|p| &p.coach == coach && p.date == date)
            .cloned()
            .collect();
        // Live first, then newest first.
        plans.sort_by_key(|p| (p.deleted, std::cmp::Reverse(p.id)));
        Ok(plans)
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        let state = self.state();
        let mut plans: Vec<&Plan> = state
            .live
            .values()
            .filter_map(|id| state.plans.get(id))
            .filter(|p| matches_query(p, query))
            .collect();
        plans.sort_by_key(|p| std::cmp::Reverse((p.date, p.id)));
        Ok(plans
            .into_iter()
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        let state = self.state();
        Ok(state
            .history
            .values()
            .rev()
            .filter(|h| h.plan_id == id)
            .cloned()
            .collect())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let state = self.state();
        Ok(StoreStats {
            live_plans: state.live.len() as u64,
            live_charts: state.live_charts,
            history_entries: state.history.len() as u64,
            latest_plan_date: state.live.keys().map(|(_, date)| *date).max(),
        })
    }

    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        let mut state = self.state();
        // Work on a copy and swap it in at the end: all or nothing.
        let mut next = state.clone();
        let mut report = ImportReport::default();
        for new in plans {
            let existing = next
                .live
                .get(&(new.coach.clone(), new.date))
                .and_then(|id| next.plans.get(id));
            match existing {
                Some(stored) if new.holds_same_content_as(stored) => report.already_present += 1,
                Some(_) => {
                    return Err(StoreError::ImportConflict {
                        coach: new.coach.clone(),
                        date: new.date,
                    });
                }
                None => {
                    let stored = next.insert(new.clone())?;
                    new.check_read_back(&stored)?;
                    report.imported += 1;
                }
            }
        }
        *state = next;
        Ok(report)
    }

    fn health(&self) -> StoreHealth {
        StoreHealth::up()
    }

    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        let state = self.state();
        let mut pending: Vec<ChartRef> = state
            .live
            .values()
            .filter_map(|id| state.plans.get(id))
            .flat_map(|plan| {
                let ids = state.chart_ids.get(&plan.id).map_or(&[][..], Vec::as_slice);
                plan.charts
                    .iter()
                    .zip(ids)
                    .map(|(chart, id)| (plan.id, chart, *id))
            })
            .filter(|(_, chart, _)| chart.archive().status == ChartStatus::Pending)
            .map(|(plan_id, chart, id)| ChartRef {
                id,
                plan_id,
                position: chart.position(),
                url: chart.url().to_owned(),
                attempts: chart.archive().attempts,
            })
            .collect();
        pending.sort_by_key(|c| c.id);
        pending.truncate(limit as usize);
        Ok(pending)
    }

    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored = state.chart_mut(chart)?;
        let attempts = stored.archive().attempts;
        let archive = ChartArchive::archived(*sha256, size, image, at, attempts);
        *stored = stored.clone().with_archive(archive);
        Ok(())
    }

    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored = state.chart_mut(chart)?;
        let archive = ChartArchive::failed_attempt(reason, attempts, last);
        *stored = stored.clone().with_archive(archive);
        Ok(())
    }

    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored = state.chart_mut(chart)?;
        *stored = stored
            .clone()
            .with_url(url)
            .map_err(StoreError::InvalidChartUrl)?;
        Ok(())
    }

    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut requeued = 0;
        for plan in state.plans.values_mut() {
            for chart in &mut plan.charts {
                let archive = chart.archive();
                if archive.status == ChartStatus::Archived
                    && archive.sha256.as_ref() == Some(sha256)
                {
                    let archive = ChartArchive {
                        reason: Some(reason.to_owned()),
                        ..ChartArchive::pending()
                    };
                    *chart = chart.clone().with_archive(archive);
                    requeued += 1;
                }
            }
        }
        Ok(requeued)
    }

    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        let mut state = self.state();
        let live: Vec<PlanId> = state.live.values().copied().collect();
        let mut requeued = 0;
        for id in live {
            if let Some(plan) = state.plans.get_mut(&id) {
                for chart in &mut plan.charts {
                    if chart.archive().status == ChartStatus::Failed {
                        let reason = chart.archive().reason.clone();
                        let archive = ChartArchive {
                            reason,
                            ..ChartArchive::pending()
                        };
                        *chart = chart.clone().with_archive(archive);
                        requeued += 1;
                    }
                }
            }
        }
        Ok(requeued)
    }

    /// Counted over the live plans on each call: this store is for tests.
    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        let state = self.state();
        let live = state.live.values().filter_map(|id| state.plans.get(id));
        Ok(count_charts(live))
    }
}

/// Charts of `plans` by archive state.
pub(crate) fn count_charts<'a>(plans: impl IntoIterator<Item = &'a Plan>) -> ChartCounts {
    let mut counts = ChartCounts::default();
    for chart in plans.into_iter().flat_map(|p| &p.charts) {
        match chart.archive().status {
            ChartStatus::Pending => counts.pending += 1,
            ChartStatus::Archived => counts.archived += 1,
            ChartStatus::Failed => counts.failed += 1,
        }
    }
    counts
}

/// Memory always takes writes; the fallback around it is what its tests and the contract
/// suite exercise.
impl ProtectedStore for MemoryStore {
    fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Whether a live plan matches a query's filters and comes after its cursor.
pub(crate) fn matches_query(plan: &Plan, query: &PlanQuery) -> bool {
    query.coach.as_ref().is_none_or(|c| &plan.coach == c)
        && query.from.is_none_or(|from| plan.date >= from)
        && query.to.is_none_or(|to| plan.date <= to)
        && query
            .after
            .is_none_or(|after| (plan.date, plan.id) < (after.date, after.id))
        && query.author.as_ref().is_none_or(|author| match author {
            AuthorFilter::Id(id) => plan.author.id == Some(*id),
            AuthorFilter::Name(name) => &plan.author.name == name,
            AuthorFilter::Person { id, name } => plan.author.is_same_person(*id, name),
        })
}
