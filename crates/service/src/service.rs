//! The plan service: every rule about who may do what to which plan.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use coach_plans_model::wire::PageCursor;
use coach_plans_model::{
    Attachment, Author, Channel, Chart, ChartStatus, CoachId, HistoryAction, HistoryEntry,
    InvalidChart, MessageId, Plan, PlanDate, PlanId, PlanText, RoleId, Roster, Sha256, Timestamp,
    UserId, charts_from_attachments,
};
use coach_plans_storage::{
    AuthorFilter, ChartCounts, HeldChangeRules, NewPlan, PlanQuery, PlanStore, Revision,
    StoreError, StoreHealth, StoreStats,
};
use jiff::tz::TimeZone;

use crate::clock::{Clock, SystemClock};
use crate::error::{Action, Allowed, Forbidden, InvalidRequest, Missing, ServiceError};

/// Rules that come from configuration.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// The coaches.
    pub roster: Roster,
    /// Users who may edit, replace and delete any plan and post for any coach.
    pub admin_user_ids: Vec<UserId>,
    /// Roles whose members are admins.
    pub admin_role_ids: Vec<RoleId>,
    /// The time zone whose calendar date is "today".
    pub timezone: TimeZone,
    /// The most chart images a plan may carry.
    pub max_chart_attachments: usize,
}

impl Default for ServiceSettings {
    /// The default roster, no admins, `America/New_York`, 10 charts.
    fn default() -> Self {
        Self {
            roster: Roster::default(),
            admin_user_ids: Vec::new(),
            admin_role_ids: Vec::new(),
            timezone: TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC),
            max_chart_attachments: 10,
        }
    }
}

/// Someone acting through Discord (or the mock bot): identified by user id, never by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The Discord user id.
    pub id: UserId,
    /// The display name now (recorded with what they do).
    pub name: String,
    /// Their role ids in the guild.
    pub role_ids: Vec<RoleId>,
}

impl Actor {
    /// An actor without roles.
    pub fn new(id: UserId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            role_ids: Vec::new(),
        }
    }

    fn as_author(&self) -> Author {
        Author::new(self.id, self.name.clone())
    }
}

/// A `!plan`: post a plan, or replace the existing one for the same coach and date.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// Whose plan.
    pub coach: CoachId,
    /// For which date; today when absent.
    pub date: Option<PlanDate>,
    /// The text.
    pub text: PlanText,
    /// Files attached to the message; images become charts, anything else is skipped (see
    /// `Chart::from_attachment` for the reasons).
    pub attachments: Vec<Attachment>,
    /// Where it was posted.
    pub channel: Channel,
    /// The message, when known.
    pub message_id: Option<MessageId>,
}

/// A change of text (and maybe charts) to an existing plan.
#[derive(Debug, Clone)]
pub struct PlanEdit {
    /// Which plan.
    pub target: PlanRef,
    /// The new text.
    pub text: PlanText,
    /// Files attached to the edit message; when at least one is an image, the images replace
    /// the plan's charts.
    pub attachments: Vec<Attachment>,
    /// The message, when known.
    pub message_id: Option<MessageId>,
}

/// How a command names a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanRef {
    /// By id.
    Id(PlanId),
    /// By coach and date (today when absent).
    CoachDate(CoachId, Option<PlanDate>),
}

/// An attachment that was not kept as a chart, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The attachment's file name.
    pub filename: String,
    /// Why it was skipped.
    pub reason: InvalidChart,
}

/// What a post or edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The plan as stored now.
    pub plan: Plan,
    /// Whether an existing plan was replaced (for posts) .
    pub replaced: bool,
    /// Attachments that did not become charts (not an image, an unusable file name or link),
    /// with the reason.
    pub skipped: Vec<Skipped>,
    /// The database could not be read, so whether the coach and date already had a plan is
    /// not known yet: the post is kept durably and checked when the database is back (a post
    /// over someone else's plan is then refused and its author told).
    pub checked_later: bool,
}

/// The rules the fallback store asks again when it writes held changes through
/// ([`HeldChangeRules`]): a plan's author, or an admin by user id, may change it. Admins by
/// role are not recognised there: roles are known only while a command runs.
#[derive(Debug, Clone)]
pub struct HeldChangeCheck {
    admin_user_ids: Vec<UserId>,
}

impl HeldChangeCheck {
    /// The check for these settings.
    pub fn new(settings: &ServiceSettings) -> Self {
        Self {
            admin_user_ids: settings.admin_user_ids.clone(),
        }
    }
}

impl HeldChangeRules for HeldChangeCheck {
    fn may_change(&self, existing: &Plan, by: &Author) -> Result<(), String> {
        let allowed = by.id.is_some_and(|id| {
            existing.author.is_same_person(id, &by.name) || self.admin_user_ids.contains(&id)
        });
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "only its author ({}) or an admin may change the plan stored for {} on {}",
                existing.author.name, existing.coach, existing.date
            ))
        }
    }
}

/// A plan and its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWithHistory {
    /// The plan (possibly deleted).
    pub plan: Plan,
    /// Previous versions, newest first.
    pub history: Vec<HistoryEntry>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The plans, newest first.
    pub plans: Vec<Plan>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageCursor>,
}

/// The business rules of coach-plans over a [`PlanStore`]. Cheap to clone; clones share state.
///
/// Store calls run on Tokio's blocking pool so they never stall the async workers; methods must
/// therefore be called inside a Tokio runtime.
#[derive(Clone)]
pub struct PlanService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn PlanStore>,
    settings: ServiceSettings,
    clock: Arc<dyn Clock>,
    generation: AtomicU64,
    stats: Mutex<Option<(u64, StoreStats)>>,
    /// Chart counts as of a generation: `/health` and `/metrics` ask on every request.
    chart_counts: Mutex<Option<(u64, ChartCounts)>>,
    /// Wakes the chart archiver when a plan brings charts.
    new_charts: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for PlanService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanService")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl PlanService {
    /// A service over this store with the system clock.
    pub fn new(store: Arc<dyn PlanStore>, settings: ServiceSettings) -> Self {
        Self::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// A service over this store with this clock.
    pub fn with_clock(
        store: Arc<dyn PlanStore>,
        settings: ServiceSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                generation: AtomicU64::new(0),
                stats: Mutex::new(None),
                chart_counts: Mutex::new(None),
                new_charts: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    /// The coaches.
    pub fn roster(&self) -> &Roster {
        &self.inner.settings.roster
    }

    /// The settings the service runs with.
    pub fn settings(&self) -> &ServiceSettings {
        &self.inner.settings
    }

    /// Today's date in the configured time zone.
    pub fn today(&self) -> PlanDate {
        let date = self
            .inner
            .settings
            .timezone
            .to_datetime(self.inner.clock.now())
            .date();
        to_plan_date(date)
    }

    /// Now, as stored: RFC 3339 in UTC with microseconds and an explicit `+00:00`.
    pub fn now(&self) -> Timestamp {
        format_timestamp(self.inner.clock.now())
    }

    /// A number that changes after every successful change of stored data. Read caches keep it
    /// with what they cache and drop entries whose number is old. Read it *before* reading the
    /// data being cached.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Records a change of stored data made elsewhere (by another replica on the same
    /// database, SPEC 16): like one of ours, it makes read caches drop what they hold.
    pub fn note_external_change(&self) {
        self.changed();
    }

    /// Tells the chart archiver ([`ChartArchiver`](crate::ChartArchiver)) that charts wait to
    /// be archived. Returns at once: the archiver runs on its own task, and a call made while
    /// it is busy is remembered for its next pause. The service calls it after storing a plan
    /// with charts; others call it after changing the store behind the service's back.
    pub fn notify_new_charts(&self) {
        self.inner.new_charts.notify_one();
    }

    /// What [`PlanService::notify_new_charts`] signals.
    pub(crate) fn chart_wakeup(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.new_charts)
    }

    /// Puts the charts given up on (failed) back in the archiver's queue with no attempts
    /// counted, after their cause was fixed; returns how many.
    pub async fn requeue_failed_charts(&self) -> Result<u64, ServiceError> {
        let requeued = self.blocking(|store| store.requeue_failed_charts()).await?;
        if requeued > 0 {
            self.changed();
        }
        Ok(requeued)
    }

    /// The blob `sha256` was found damaged and removed: the charts archived as it go back to
    /// pending (with `reason`), read caches drop their archived links, and the archiver is
    /// woken to fetch the image again. Returns how many charts.
    pub async fn requeue_charts_of_blob(
        &self,
        sha256: Sha256,
        reason: String,
    ) -> Result<u64, ServiceError> {
        let requeued = self
            .blocking(move |store| store.requeue_charts_of_blob(&sha256, &reason))
            .await?;
        if requeued > 0 {
            self.changed();
            self.notify_new_charts();
        }
        Ok(requeued)
    }

    /// Charts of live plans by archive state (counters kept by the store, not a scan), cached
    /// until the next change: every archive outcome is a change.
    pub async fn chart_counts(&self) -> Result<ChartCounts, ServiceError> {
        let generation = self.generation();
        if let Some((cached_at, counts)) = *self
            .inner
            .chart_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            && cached_at == generation
        {
            return Ok(counts);
        }
        let counts = self.blocking(|store| store.chart_counts()).await?;
        *self
            .inner
            .chart_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((generation, counts));
        Ok(counts)
    }

    /// Whether the actor is an admin, by user id or role id.
    pub fn is_admin(&self, actor: &Actor) -> bool {
        let settings = &self.inner.settings;
        settings.admin_user_ids.contains(&actor.id)
            || actor
                .role_ids
                .iter()
                .any(|r| settings.admin_role_ids.contains(r))
    }

    /// Posts a plan, or replaces the live plan for the same coach and date when the actor is its
    /// author or an admin. Non-image attachments are skipped and reported.
    pub async fn post_plan(&self, actor: &Actor, post: NewPost) -> Result<Saved, ServiceError> {
        let coach = self.coach_on_roster(&post.coach)?;
        if !self.is_admin(actor) && !coach.allows_poster(actor.id, &actor.role_ids) {
            return Err(Forbidden {
                action: Action::Post,
                allowed: Allowed::CoachPosters { coach: post.coach },
            }
            .into());
        }
        let (charts, skipped) = self.charts(&post.attachments)?;
        let date = post.date.unwrap_or_else(|| self.today());
        let coach = post.coach;
        // A second post for the same coach and date replaces the first; a concurrent post can
        // win the race between the lookup and the insert, so look again once on conflict.
        for _ in 0..2 {
            // A store that cannot be read yet may still keep a new post durably and check it
            // against the database later (the fallback store does); any other store refuses.
            let (existing, checked_later) = match self.live_plan(&coach, date).await {
                Ok(existing) => (existing, false),
                Err(ServiceError::Unavailable(_)) => (None, true),
                Err(error) => return Err(error),
            };
            if let Some(existing) = existing {
                self.authorize_change(actor, &existing, Action::Replace)?;
                let revision = Revision {
                    action: HistoryAction::Replace,
                    text: post.text.clone(),
                    charts: Some(charts.clone()),
                    message_id: post.message_id,
                    by: actor.as_author(),
                    at: self.now(),
                };
                let plan = self.revise(existing.id, revision).await?;
                log_saved("plan replaced", &plan);
                return Ok(Saved {
                    plan,
                    replaced: true,
                    skipped,
                    checked_later: false,
                });
            }
            let new = NewPlan {
                coach: coach.clone(),
                date,
                text: post.text.clone(),
                author: actor.as_author(),
                channel: post.channel.clone(),
                message_id: post.message_id,
                created_at: self.now(),
                edited_at: None,
                charts: charts.clone(),
            };
            match self.blocking(move |store| store.create_plan(new)).await {
                Ok(plan) => {
                    self.changed();
                    self.charts_stored(&plan);
                    log_saved("plan posted", &plan);
                    return Ok(Saved {
                        plan,
                        replaced: false,
                        skipped,
                        checked_later,
                    });
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Internal(
            "a concurrent post kept winning the race for this coach and date".into(),
        ))
    }

    /// Edits a plan's text; images attached to the edit replace its charts.
    pub async fn edit_plan(&self, actor: &Actor, edit: PlanEdit) -> Result<Saved, ServiceError> {
        let (charts, skipped) = self.charts(&edit.attachments)?;
        let existing = self.find_live(&edit.target).await?;
        self.authorize_change(actor, &existing, Action::Edit)?;
        let revision = Revision {
            action: HistoryAction::Edit,
            text: edit.text,
            charts: (!charts.is_empty()).then_some(charts),
            message_id: edit.message_id,
            by: actor.as_author(),
            at: self.now(),
        };
        let plan = self.revise(existing.id, revision).await?;
        log_saved("plan edited", &plan);
        Ok(Saved {
            plan,
            replaced: false,
            skipped,
            checked_later: false,
        })
    }

    /// Deletes a plan (softly: its history stays, and its coach and date may be posted again).
    /// Returns the plan as it was.
    pub async fn delete_plan(&self, actor: &Actor, target: PlanRef) -> Result<Plan, ServiceError> {
        let existing = self.find_live(&target).await?;
        self.authorize_change(actor, &existing, Action::Delete)?;
        let (id, by, at) = (existing.id, actor.as_author(), self.now());
        let plan = self
            .blocking(move |store| store.delete_plan(id, by, at))
            .await?;
        self.changed();
        log::info!(
            "plan deleted: id={} coach={} date={} by={} ({})",
            plan.id,
            plan.coach,
            plan.date,
            actor.name,
            actor.id
        );
        Ok(plan)
    }

    /// The live plan for a coach and date.
    pub async fn plan(
        &self,
        coach: &CoachId,
        date: PlanDate,
    ) -> Result<Option<Plan>, ServiceError> {
        self.coach_on_roster(coach)?;
        self.live_plan(coach, date).await
    }

    /// [`PlanService::plan`] read on the calling thread instead of the blocking pool: for an
    /// indexed point read (tens of microseconds, no write lock taken) the two thread hand-offs
    /// of the pool cost more than the read itself (docs/performance.md). The wait is bounded by
    /// `database.connection_timeout` should every pooled connection be busy; use it only for
    /// such reads, on threads that may wait that long.
    pub fn plan_here(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, ServiceError> {
        self.coach_on_roster(coach)?;
        Ok(self.inner.store.live_plan(coach, date)?)
    }

    /// The live plan with this id.
    pub async fn plan_by_id(&self, id: PlanId) -> Result<Option<Plan>, ServiceError> {
        let plan = self.blocking(move |store| store.plan(id)).await?;
        Ok(plan.filter(|p| !p.deleted))
    }

    /// Every live plan for a date, in roster order (coaches no longer on the roster are left out).
    pub async fn plans_on(&self, date: PlanDate) -> Result<Vec<Plan>, ServiceError> {
        let query = PlanQuery::on(date, MAX_PAGE);
        let mut plans = self.blocking(move |store| store.list_plans(&query)).await?;
        let roster = self.roster();
        plans.retain(|p| roster.contains(&p.coach));
        plans.sort_by_key(|p| roster.coaches().iter().position(|c| c.id == p.coach));
        Ok(plans)
    }

    /// The actor's live plans for a date (matched by user id; legacy plans by name).
    pub async fn plans_by_author(
        &self,
        actor: &Actor,
        date: PlanDate,
    ) -> Result<Vec<Plan>, ServiceError> {
        let query = PlanQuery {
            author: Some(AuthorFilter::Person {
                id: actor.id,
                name: actor.name.clone(),
            }),
            ..PlanQuery::on(date, MAX_PAGE)
        };
        let mut plans = self.blocking(move |store| store.list_plans(&query)).await?;
        let roster = self.roster();
        plans.sort_by_key(|p| roster.coaches().iter().position(|c| c.id == p.coach));
        Ok(plans)
    }

    /// One page of live plans, newest first. The limit is clamped to 1..=500.
    pub async fn list_plans(&self, mut query: PlanQuery) -> Result<Page, ServiceError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        // One more than asked tells whether another page follows.
        query.limit = limit + 1;
        let mut plans = self.blocking(move |store| store.list_plans(&query)).await?;
        let next = if plans.len() > limit as usize {
            plans.truncate(limit as usize);
            plans.last().map(|p| PageCursor {
                date: p.date,
                id: p.id,
            })
        } else {
            None
        };
        Ok(Page { plans, next })
    }

    /// A plan's history, newest first. By coach and date it is the live plan's, or the most
    /// recently deleted one's when none is live.
    pub async fn history(&self, target: PlanRef) -> Result<PlanWithHistory, ServiceError> {
        let plan = match target {
            PlanRef::Id(id) => self
                .blocking(move |store| store.plan(id))
                .await?
                .ok_or(Missing::WithId(id))?,
            PlanRef::CoachDate(coach, date) => {
                self.coach_on_roster(&coach)?;
                let date = date.unwrap_or_else(|| self.today());
                let key = coach.clone();
                let plans = self
                    .blocking(move |store| store.plans_for(&key, date))
                    .await?;
                plans
                    .into_iter()
                    .next()
                    .ok_or(Missing::ForCoachDate { coach, date })?
            }
        };
        let id = plan.id;
        let history = self.blocking(move |store| store.history(id)).await?;
        Ok(PlanWithHistory { plan, history })
    }

    /// Storage counts, cached until the next change.
    pub async fn stats(&self) -> Result<StoreStats, ServiceError> {
        let generation = self.generation();
        if let Some((cached_at, stats)) = self
            .inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && *cached_at == generation
        {
            return Ok(stats.clone());
        }
        let stats = self.blocking(|store| store.stats()).await?;
        *self
            .inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((generation, stats.clone()));
        Ok(stats)
    }

    /// Whether storage takes writes (cheap; no I/O).
    pub fn store_health(&self) -> StoreHealth {
        self.inner.store.health()
    }

    /// Runs a store call on the blocking pool. The one place where blocking meets async.
    pub(crate) async fn blocking<T, F>(&self, call: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PlanStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(|join| StoreError::Other(Box::new(join)))?
    }

    /// Records that stored data changed, so read caches drop what they hold.
    pub(crate) fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Wakes the archiver when the plan has charts still to archive.
    fn charts_stored(&self, plan: &Plan) {
        if plan
            .charts
            .iter()
            .any(|chart| chart.archive().status == ChartStatus::Pending)
        {
            self.notify_new_charts();
        }
    }

    pub(crate) fn coach_on_roster(
        &self,
        coach: &CoachId,
    ) -> Result<&coach_plans_model::Coach, InvalidRequest> {
        self.roster().get(coach).ok_or_else(|| {
            InvalidRequest::UnknownCoach(coach_plans_model::UnknownCoach {
                input: coach.to_string(),
                valid: self.roster().valid_ids(),
            })
        })
    }

    fn charts(
        &self,
        attachments: &[Attachment],
    ) -> Result<(Vec<Chart>, Vec<Skipped>), InvalidRequest> {
        let (charts, skipped) = charts_from_attachments(attachments);
        let max = self.inner.settings.max_chart_attachments;
        if charts.len() > max {
            return Err(InvalidRequest::TooManyCharts {
                count: charts.len(),
                max,
            });
        }
        let skipped = skipped
            .into_iter()
            .map(|(a, reason)| Skipped {
                filename: a.filename,
                reason,
            })
            .collect();
        Ok((charts, skipped))
    }

    fn authorize_change(
        &self,
        actor: &Actor,
        plan: &Plan,
        action: Action,
    ) -> Result<(), Forbidden> {
        if plan.author.is_same_person(actor.id, &actor.name) || self.is_admin(actor) {
            Ok(())
        } else {
            Err(Forbidden {
                action,
                allowed: Allowed::AuthorOrAdmin {
                    author: plan.author.name.clone(),
                },
            })
        }
    }

    async fn live_plan(
        &self,
        coach: &CoachId,
        date: PlanDate,
    ) -> Result<Option<Plan>, ServiceError> {
        let coach = coach.clone();
        Ok(self
            .blocking(move |store| store.live_plan(&coach, date))
            .await?)
    }

    async fn find_live(&self, target: &PlanRef) -> Result<Plan, ServiceError> {
        match target {
            PlanRef::Id(id) => self
                .plan_by_id(*id)
                .await?
                .ok_or_else(|| Missing::WithId(*id).into()),
            PlanRef::CoachDate(coach, date) => {
                self.coach_on_roster(coach)?;
                let date = date.unwrap_or_else(|| self.today());
                self.live_plan(coach, date).await?.ok_or_else(|| {
                    Missing::ForCoachDate {
                        coach: coach.clone(),
                        date,
                    }
                    .into()
                })
            }
        }
    }

    async fn revise(&self, id: PlanId, revision: Revision) -> Result<Plan, ServiceError> {
        let plan = self
            .blocking(move |store| store.revise_plan(id, revision))
            .await?;
        self.changed();
        self.charts_stored(&plan);
        Ok(plan)
    }
}

/// The largest page the store is asked for.
const MAX_PAGE: u32 = 500;

fn log_saved(what: &str, plan: &Plan) {
    log::info!(
        "{what}: id={} coach={} date={} author={} ({}) chars={} charts={}",
        plan.id,
        plan.coach,
        plan.date,
        plan.author.name,
        plan.author
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "legacy".to_owned()),
        plan.text.char_count(),
        plan.charts.len()
    );
}

fn to_plan_date(date: jiff::civil::Date) -> PlanDate {
    // jiff's years reach back before year 1; a clock that far off gives the epoch.
    u16::try_from(date.year())
        .ok()
        .and_then(|year| {
            PlanDate::from_ymd(year, date.month().unsigned_abs(), date.day().unsigned_abs())
        })
        .unwrap_or(PlanDate::UNIX_EPOCH)
}

/// Formats an instant as every new row stores it: `2025-11-09T20:36:52.274074+00:00`.
pub fn format_timestamp(instant: jiff::Timestamp) -> Timestamp {
    let text = instant.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    Timestamp::parse(&text).unwrap_or_else(|_| Timestamp::unix_epoch())
}
