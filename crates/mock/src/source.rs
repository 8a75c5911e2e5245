//! [`MockPlanSource`]: the client's [`PlanSource`] without a server, for downstream tests and
//! for running a trading system in mock mode.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use coach_plans_client::{BoxFuture, ClientError, PlanOutcome, PlanSource};
use coach_plans_model::{
    Author, Channel, Chart, CoachId, Plan, PlanDate, PlanId, PlanText, Roster, Timestamp, UserId,
};

use crate::mock_plan;

/// A source of mock plans: every coach on its list has the [`mock_plan`] for every date up to
/// `today`, except the coach/dates marked as not posted; later dates are not posted yet. It can
/// also be switched to "unavailable" to exercise a caller's fallback path.
#[derive(Debug)]
pub struct MockPlanSource {
    coaches: Vec<CoachId>,
    today: PlanDate,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    not_posted: BTreeSet<(CoachId, PlanDate)>,
    unavailable: Option<ClientError>,
}

/// The mock author's Discord id.
const MOCK_AUTHOR_ID: u64 = 100_000_000_000_000_001;

impl MockPlanSource {
    /// The default roster's coaches, with `today` as "today".
    pub fn new(today: PlanDate) -> Self {
        Self::for_roster(today, &Roster::default())
    }

    /// A roster's coaches (in roster order), with `today` as "today".
    pub fn for_roster(today: PlanDate, roster: &Roster) -> Self {
        let coaches = roster.coaches().iter().map(|c| c.id.clone()).collect();
        Self::with_coaches(today, coaches)
    }

    /// These coaches, with `today` as "today".
    pub fn with_coaches(today: PlanDate, coaches: Vec<CoachId>) -> Self {
        Self {
            coaches,
            today,
            state: Mutex::default(),
        }
    }

    /// From now on `coach` has no plan for `date`.
    pub fn mark_not_posted(&self, coach: &CoachId, date: PlanDate) {
        self.state().not_posted.insert((coach.clone(), date));
    }

    /// From now on every call answers unavailable with `reason` (`None` restores service).
    pub fn set_unavailable(&self, reason: Option<ClientError>) {
        self.state().unavailable = reason;
    }

    /// The plan the source holds for `coach` on `date`, if any.
    pub fn plan(&self, coach: &CoachId, date: PlanDate) -> Option<Plan> {
        let position = self.coaches.iter().position(|c| c == coach)?;
        if date > self.today || self.state().not_posted.contains(&(coach.clone(), date)) {
            return None;
        }
        build_plan(coach, position, date)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn build_plan(coach: &CoachId, position: usize, date: PlanDate) -> Option<Plan> {
    let mock = mock_plan(coach, date);
    let day_number =
        i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day());
    let charts = mock
        .charts
        .iter()
        .zip(0..)
        .filter_map(|(attachment, position)| Chart::from_attachment(attachment, position).ok())
        .collect();
    Some(Plan {
        id: PlanId::new(day_number * 100 + position as i64 + 1)?,
        coach: coach.clone(),
        date,
        text: PlanText::parse(&mock.text).ok()?,
        author: Author::new(
            UserId::new(MOCK_AUTHOR_ID)?,
            format!("mock-coach-{}", coach.as_str()),
        ),
        channel: Channel {
            id: None,
            name: Some("mock".to_owned()),
        },
        message_id: None,
        created_at: Timestamp::parse(&format!("{date}T13:00:00.000000+00:00")).ok()?,
        edited_at: None,
        charts,
        deleted: false,
    })
}

impl PlanSource for MockPlanSource {
    fn fetch_coach_plan<'a>(
        &'a self,
        coach: &'a CoachId,
        date: Option<PlanDate>,
    ) -> BoxFuture<'a, PlanOutcome> {
        let unavailable = self.state().unavailable.clone();
        let outcome = if let Some(reason) = unavailable {
            PlanOutcome::Unavailable(reason)
        } else {
            match self.plan(coach, date.unwrap_or(self.today)) {
                Some(plan) => PlanOutcome::Found(Arc::new(plan)),
                None => PlanOutcome::NotPosted {
                    coach: coach.clone(),
                    date,
                },
            }
        };
        Box::pin(std::future::ready(outcome))
    }

    fn fetch_all_coach_plans(
        &self,
        date: Option<PlanDate>,
    ) -> BoxFuture<'_, Result<Vec<Arc<Plan>>, ClientError>> {
        let unavailable = self.state().unavailable.clone();
        let result = match unavailable {
            Some(reason) => Err(reason),
            None => {
                let date = date.unwrap_or(self.today);
                Ok(self
                    .coaches
                    .iter()
                    .filter_map(|coach| self.plan(coach, date).map(Arc::new))
                    .collect())
            }
        };
        Box::pin(std::future::ready(result))
    }
}
