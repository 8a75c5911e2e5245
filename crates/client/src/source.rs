//! "A source of plans": the HTTP client, or a stand-in such as the mock crate's
//! `MockPlanSource`, so downstream code can run without a server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use coach_plans_model::{CoachId, Plan, PlanDate};

use crate::{ClientError, PlanClient, PlanOutcome};

/// A boxed future, so [`PlanSource`] can be used as `dyn PlanSource`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where trading systems get coaches' plans from. Object safe: hold an
/// `Arc<dyn PlanSource>` and pass the HTTP client in production and a mock in tests.
pub trait PlanSource: Send + Sync {
    /// The plan `coach` posted for `date` (`None`: today as the source sees it).
    fn fetch_coach_plan<'a>(
        &'a self,
        coach: &'a CoachId,
        date: Option<PlanDate>,
    ) -> BoxFuture<'a, PlanOutcome>;

    /// Every live plan for `date` (`None`: today), one per coach who posted.
    fn fetch_all_coach_plans(
        &self,
        date: Option<PlanDate>,
    ) -> BoxFuture<'_, Result<Vec<Arc<Plan>>, ClientError>>;
}

impl PlanSource for PlanClient {
    fn fetch_coach_plan<'a>(
        &'a self,
        coach: &'a CoachId,
        date: Option<PlanDate>,
    ) -> BoxFuture<'a, PlanOutcome> {
        Box::pin(PlanClient::fetch_coach_plan(self, coach, date))
    }

    fn fetch_all_coach_plans(
        &self,
        date: Option<PlanDate>,
    ) -> BoxFuture<'_, Result<Vec<Arc<Plan>>, ClientError>> {
        Box::pin(PlanClient::fetch_all_coach_plans(self, date))
    }
}
