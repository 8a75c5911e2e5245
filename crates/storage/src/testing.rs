//! Test support shared by every crate's tests (feature `testing`): builders of plans and
//! changes, and [`FaultyStore`], a store whose faults tests switch on and off.
//!
//! The builders panic on bad input: they take literals written in tests.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use coach_plans_model::{
    Attachment, Author, Channel, ChannelId, Chart, ChartId, CoachId, HistoryAction, HistoryEntry,
    ImageKind, MessageId, Plan, PlanDate, PlanId, PlanText, Sha256, Timestamp, UserId,
};

use crate::{
    ChartCounts, ChartRef, ImportReport, MemoryStore, NewPlan, PlanQuery, PlanStore,
    ProtectedStore, Revision, StoreError, StoreHealth, StoreStats,
};

/// The coach with this id (`"d"`).
pub fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap_or_else(|e| panic!("coach {id:?}: {e}"))
}

/// The date written `YYYY-MM-DD`.
pub fn date(s: &str) -> PlanDate {
    PlanDate::parse(s).unwrap_or_else(|e| panic!("date {s:?}: {e}"))
}

/// The timestamp written in RFC 3339.
pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_else(|e| panic!("timestamp {s:?}: {e}"))
}

/// The Discord user `id` called `name`.
pub fn user(id: u64, name: &str) -> Author {
    Author::new(
        UserId::new(id).unwrap_or_else(|| panic!("user id {id} is zero")),
        name,
    )
}

/// A PNG chart called `name` at `position`.
pub fn chart(name: &str, position: u32) -> Chart {
    let attachment = Attachment {
        url: format!("https://cdn.discordapp.com/attachments/1/2/{name}?ex=abc"),
        filename: name.to_owned(),
        content_type: Some("image/png".to_owned()),
        size: Some(4096),
    };
    Chart::from_attachment(&attachment, position).unwrap_or_else(|e| panic!("chart {name}: {e}"))
}

/// A plan by dana (user 42) for `coach_id` on `day` with two charts, posted in #day-trading at
/// 2024-05-10T12:00:00Z.
pub fn new_plan(coach_id: &str, day: &str, text: &str) -> NewPlan {
    NewPlan {
        coach: coach(coach_id),
        date: date(day),
        text: PlanText::parse(text).unwrap_or_else(|e| panic!("text {text:?}: {e}")),
        author: user(42, "dana"),
        channel: Channel {
            id: ChannelId::new(77),
            name: Some("day-trading".to_owned()),
        },
        message_id: MessageId::new(1000),
        created_at: ts("2024-05-10T12:00:00.000000+00:00"),
        edited_at: None,
        charts: vec![chart("a.png", 0), chart("b.png", 1)],
    }
}

/// A revision by admin (user 1) at `at`.
pub fn revision(
    action: HistoryAction,
    text: &str,
    charts: Option<Vec<Chart>>,
    at: &str,
) -> Revision {
    Revision {
        action,
        text: PlanText::parse(text).unwrap_or_else(|e| panic!("text {text:?}: {e}")),
        charts,
        message_id: None,
        by: user(1, "admin"),
        at: ts(at),
    }
}

/// The texts of the live plans on `day`, newest first, as `store` lists them.
pub fn texts_on(store: &dyn PlanStore, day: &str) -> Vec<String> {
    store
        .list_plans(&PlanQuery::on(date(day), 500))
        .unwrap_or_else(|e| panic!("listing {day}: {e}"))
        .into_iter()
        .map(|p| p.text.as_str().to_owned())
        .collect()
}

/// A fault a [`FaultyStore`] can be told to have. Each makes the calls it names fail with
/// [`StoreError::Unavailable`], as a database locked by another process, on a full disk or
/// behind a missing directory would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Creating, revising, deleting and importing plans; recording charts' archive state.
    Writes,
    /// Every read: plans, listings, history, counts, charts to archive.
    Reads,
    /// [`FaultyStore::open`], the opener a fallback calls while its database never opened.
    Opening,
    /// [`ProtectedStore::check_writable`], the fallback's probe before writing through.
    WriteCheck,
}

/// One call into a [`FaultyStore`], as the hook of [`FaultyStore::before_each`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// [`PlanStore::create_plan`].
    CreatePlan,
    /// [`PlanStore::revise_plan`].
    RevisePlan,
    /// [`PlanStore::delete_plan`].
    DeletePlan,
    /// [`PlanStore::import_plans`].
    ImportPlans,
    /// [`PlanStore::plan`].
    Plan,
    /// [`PlanStore::live_plan`].
    LivePlan,
    /// [`PlanStore::plans_for`].
    PlansFor,
    /// [`PlanStore::list_plans`].
    ListPlans,
    /// [`PlanStore::history`].
    History,
    /// [`PlanStore::stats`].
    Stats,
    /// [`PlanStore::charts_to_archive`].
    ChartsToArchive,
    /// [`PlanStore::record_chart_archived`], [`PlanStore::record_chart_failure`] and
    /// [`PlanStore::record_chart_url`].
    RecordChart,
    /// [`PlanStore::chart_counts`].
    ChartCounts,
    /// [`ProtectedStore::check_writable`].
    CheckWritable,
    /// [`FaultyStore::open`].
    Open,
}

impl Call {
    /// Whether the call writes plans.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::CreatePlan
                | Self::RevisePlan
                | Self::DeletePlan
                | Self::ImportPlans
                | Self::RecordChart
        )
    }

    /// Whether the call reads plans, history or counts.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Self::Plan
                | Self::LivePlan
                | Self::PlansFor
                | Self::ListPlans
                | Self::History
                | Self::Stats
                | Self::ChartsToArchive
                | Self::ChartCounts
        )
    }

    /// The [`Fault`] that makes this call fail.
    fn fault(self) -> Fault {
        match self {
            _ if self.is_write() => Fault::Writes,
            Self::CheckWritable => Fault::WriteCheck,
            Self::Open => Fault::Opening,
            _ => Fault::Reads,
        }
    }
}

type Hook = Box<dyn Fn(Call) -> Result<(), StoreError> + Send + Sync>;

/// A [`MemoryStore`] with faults switched on and off by the test, for driving the fallback,
/// the service and the API through failures deterministically: no file lock, no timing.
///
/// Clones share everything (plans, faults, hook), so a test keeps one handle while the store
/// under test (a fallback, a service) holds another; the plans outlive a dropped fallback the
/// way a database file outlives a crashed process.
///
/// ```
/// use coach_plans_storage::testing::{Fault, FaultyStore, new_plan};
/// use coach_plans_storage::PlanStore;
///
/// let store = FaultyStore::new();
/// store.fail(Fault::Writes);
/// assert!(store.create_plan(new_plan("d", "2024-05-10", "x")).unwrap_err().is_unavailable());
/// store.heal(Fault::Writes);
/// assert!(store.create_plan(new_plan("d", "2024-05-10", "x")).is_ok());
/// ```
#[derive(Clone, Default)]
pub struct FaultyStore {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    store: MemoryStore,
    faults: Mutex<HashSet<Fault>>,
    /// Writes that succeed before [`Fault::Writes`] switches on by itself.
    writes_left: Mutex<Option<usize>>,
    health: Mutex<Option<StoreHealth>>,
    hook: RwLock<Option<Hook>>,
}

impl FaultyStore {
    /// An empty store with no fault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Switches `fault` on.
    pub fn fail(&self, fault: Fault) {
        self.faults().insert(fault);
    }

    /// Switches `fault` off.
    pub fn heal(&self, fault: Fault) {
        self.faults().remove(&fault);
        if fault == Fault::Writes {
            *lock(&self.shared.writes_left) = None;
        }
    }

    /// Switches every fault off.
    pub fn heal_all(&self) {
        self.faults().clear();
        *lock(&self.shared.writes_left) = None;
    }

    /// Lets `n` more writes through, then switches [`Fault::Writes`] on: a database that goes
    /// away in the middle of a write-through.
    pub fn fail_writes_after(&self, n: usize) {
        *lock(&self.shared.writes_left) = Some(n);
    }

    /// What [`PlanStore::health`] answers from now on (`None`: the memory store's answer).
    pub fn report_health(&self, health: Option<StoreHealth>) {
        *lock(&self.shared.health) = health;
    }

    /// Runs `hook` before every call, before the switched faults: its error becomes the call's
    /// answer. For what switches cannot say: a lookup that blocks until the test lets it go,
    /// a failure of another kind than unavailable. Replaces an earlier hook.
    pub fn before_each(
        &self,
        hook: impl Fn(Call) -> Result<(), StoreError> + Send + Sync + 'static,
    ) {
        *self
            .shared
            .hook
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    /// This store, as an opener gives it: fails while [`Fault::Opening`] is on. Use
    /// `move || faulty.open()` as the opener of a fallback.
    pub fn open(&self) -> Result<Self, StoreError> {
        self.enter(Call::Open)?;
        Ok(self.clone())
    }

    /// The plans underneath, read without faults: what the database holds.
    pub fn inner(&self) -> &MemoryStore {
        &self.shared.store
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, HashSet<Fault>> {
        lock(&self.shared.faults)
    }

    /// The hook, then the switched fault of `call`.
    fn enter(&self, call: Call) -> Result<(), StoreError> {
        if let Some(hook) = self
            .shared
            .hook
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            hook(call)?;
        }
        let fault = call.fault();
        if fault == Fault::Writes {
            let mut left = lock(&self.shared.writes_left);
            match left.as_mut() {
                Some(0) => {
                    *left = None;
                    self.fail(Fault::Writes);
                }
                Some(n) => *n -= 1,
                None => {}
            }
        }
        if self.faults().contains(&fault) {
            return Err(StoreError::Unavailable(
                format!("injected fault: {fault:?} unavailable").into(),
            ));
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyStore")
            .field("faults", &*self.faults())
            .finish_non_exhaustive()
    }
}

impl PlanStore for FaultyStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        self.enter(Call::CreatePlan)?;
        self.inner().create_plan(plan)
    }

    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        self.enter(Call::RevisePlan)?;
        self.inner().revise_plan(id, revision)
    }

    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        self.enter(Call::DeletePlan)?;
        self.inner().delete_plan(id, by, at)
    }

    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        self.enter(Call::Plan)?;
        self.inner().plan(id)
    }

    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        self.enter(Call::LivePlan)?;
        self.inner().live_plan(coach, date)
    }

    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        self.enter(Call::PlansFor)?;
        self.inner().plans_for(coach, date)
    }

    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        self.enter(Call::ListPlans)?;
        self.inner().list_plans(query)
    }

    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.enter(Call::History)?;
        self.inner().history(id)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.enter(Call::Stats)?;
        self.inner().stats()
    }

    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        self.enter(Call::ImportPlans)?;
        self.inner().import_plans(plans)
    }

    fn health(&self) -> StoreHealth {
        lock(&self.shared.health)
            .clone()
            .unwrap_or_else(|| self.inner().health())
    }

    fn charts_to_archive(&self, limit: u32) -> Result<Vec<ChartRef>, StoreError> {
        self.enter(Call::ChartsToArchive)?;
        self.inner().charts_to_archive(limit)
    }

    fn record_chart_archived(
        &self,
        chart: ChartId,
        sha256: &Sha256,
        size: u64,
        image: ImageKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.enter(Call::RecordChart)?;
        self.inner()
            .record_chart_archived(chart, sha256, size, image, at)
    }

    fn record_chart_failure(
        &self,
        chart: ChartId,
        reason: &str,
        attempts: u32,
        last: bool,
    ) -> Result<(), StoreError> {
        self.enter(Call::RecordChart)?;
        self.inner()
            .record_chart_failure(chart, reason, attempts, last)
    }

    fn record_chart_url(&self, chart: ChartId, url: &str) -> Result<(), StoreError> {
        self.enter(Call::RecordChart)?;
        self.inner().record_chart_url(chart, url)
    }

    fn requeue_failed_charts(&self) -> Result<u64, StoreError> {
        self.enter(Call::RecordChart)?;
        self.inner().requeue_failed_charts()
    }

    fn requeue_charts_of_blob(&self, sha256: &Sha256, reason: &str) -> Result<u64, StoreError> {
        self.enter(Call::RecordChart)?;
        self.inner().requeue_charts_of_blob(sha256, reason)
    }

    fn chart_counts(&self) -> Result<ChartCounts, StoreError> {
        self.enter(Call::ChartCounts)?;
        self.inner().chart_counts()
    }
}

impl ProtectedStore for FaultyStore {
    fn check_writable(&self) -> Result<(), StoreError> {
        self.enter(Call::CheckWritable)
    }
}
