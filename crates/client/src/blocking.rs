//! A synchronous facade over [`PlanClient`](crate::PlanClient), for callers without an async
//! runtime (feature `blocking`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use coach_plans_model::wire::HealthReport;
use coach_plans_model::wire::legacy::Metrics;
use coach_plans_model::{CoachId, Plan, PlanDate, PlanId};
use tokio::sync::mpsc;

use crate::{
    BuildError, ChartBytes, ClientBuilder, ClientError, ClientErrorKind, ClientMetrics, PlanChart,
    PlanOutcome,
};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The blocking client: the async client run on a worker thread of its own, with the same
/// cache, retries and counters. Cache hits are answered on the caller's thread.
///
/// Safe to call from any thread, even one inside an async runtime (it blocks that thread, so
/// prefer the async client there).
#[derive(Debug)]
pub struct PlanClient {
    client: crate::PlanClient,
    jobs: Option<mpsc::UnboundedSender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl PlanClient {
    /// A blocking client for `base_url` with the default settings.
    pub fn new(base_url: impl Into<String>) -> Result<Self, BuildError> {
        Self::from_builder(ClientBuilder::new(base_url))
    }

    /// A blocking client with the builder's settings.
    pub fn from_builder(builder: ClientBuilder) -> Result<Self, BuildError> {
        let client = builder.build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("coach-plans-client".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = queue.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| BuildError::Http(e.to_string()))?;
        Ok(Self {
            client,
            jobs: Some(jobs),
            worker: Some(worker),
        })
    }

    /// See [`crate::PlanClient::fetch_coach_plan`].
    pub fn fetch_coach_plan(&self, coach: &CoachId, date: Option<PlanDate>) -> PlanOutcome {
        match self.client.cached(coach, date) {
            Ok(hit) => hit,
            Err(key) => {
                let client = self.client.clone();
                self.run(async move { client.fetch_uncached(key).await })
                    .unwrap_or_else(PlanOutcome::Unavailable)
            }
        }
    }

    /// See [`crate::PlanClient::fetch_all_coach_plans`].
    pub fn fetch_all_coach_plans(
        &self,
        date: Option<PlanDate>,
    ) -> Result<Vec<Arc<Plan>>, ClientError> {
        let client = self.client.clone();
        self.run(async move { client.fetch_all_coach_plans(date).await })?
    }

    /// See [`crate::PlanClient::check_health`].
    pub fn check_health(&self) -> Result<HealthReport, ClientError> {
        let client = self.client.clone();
        self.run(async move { client.check_health().await })?
    }

    /// See [`crate::PlanClient::server_metrics`].
    pub fn server_metrics(&self) -> Result<Metrics, ClientError> {
        let client = self.client.clone();
        self.run(async move { client.server_metrics().await })?
    }

    /// See [`crate::PlanClient::fetch_plan_charts`].
    pub fn fetch_plan_charts(&self, plan: PlanId) -> Result<Vec<PlanChart>, ClientError> {
        let client = self.client.clone();
        self.run(async move { client.fetch_plan_charts(plan).await })?
    }

    /// See [`crate::PlanClient::fetch_chart`].
    pub fn fetch_chart(&self, url: &str) -> Result<ChartBytes, ClientError> {
        let (client, url) = (self.client.clone(), url.to_owned());
        self.run(async move { client.fetch_chart(&url).await })?
    }

    /// See [`crate::PlanClient::clear_cache`].
    pub fn clear_cache(&self) -> usize {
        self.client.clear_cache()
    }

    /// See [`crate::PlanClient::metrics`].
    pub fn metrics(&self) -> ClientMetrics {
        self.client.metrics()
    }

    /// Runs `future` on the worker thread and waits for its output.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, ClientError> {
        let stopped = || {
            ClientError::with_source(
                ClientErrorKind::Transport,
                "the client's worker thread has stopped",
            )
        };
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::pin(async move {
            let _ = reply.send(future.await);
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())
    }
}

impl Drop for PlanClient {
    fn drop(&mut self) {
        // Closing the queue ends the worker's loop; its runtime is dropped on its own thread.
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
