//! SPEC 14: archiving chart images, so a plan's charts outlive Discord's signed links.
//!
//! [`ChartSource`] downloads (the server's implementation speaks HTTP to Discord's CDN);
//! [`ChartArchiver`] takes pending charts from the plan store, streams each image into the
//! chart store, and records what happened.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};
use coach_plans_model::{ChartId, ImageKind, PlanId, Sha256};
use coach_plans_storage::{BlobWriter, ChartRef, ChartStore, StoreError};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::{PlanService, ServiceError};

/// A boxed future, so [`ChartSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The most links one refresh call may carry (Discord's limit for `refresh-urls`).
pub const REFRESH_BATCH: usize = 50;

/// Where chart images are downloaded from. The server's implementation speaks HTTP to
/// Discord (allowed hosts, size limit, signature check); tests use a fake.
pub trait ChartSource: Send + Sync + 'static {
    /// Downloads the image at `url`, streaming its bytes into `sink`, and says what they are
    /// by their signature. Bytes that are not a PNG, JPEG, GIF or WebP image are a failure.
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        sink: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<ImageKind, FetchFailure>>;

    /// Asks for fresh links to these expired ones (at most [`REFRESH_BATCH`] per call):
    /// `(original, refreshed)` pairs. A link Discord does not refresh is left out.
    fn refresh<'a>(
        &'a self,
        urls: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, FetchFailure>>;
}

/// Why a download or a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct FetchFailure {
    /// The link has expired (404, 403 or 410): ask for a fresh one before trying again.
    pub expired: bool,
    /// What went wrong, for the chart's record and the log; never a URL's query string (it
    /// carries Discord's signature).
    pub reason: String,
}

impl FetchFailure {
    /// A failure worth trying again later.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            expired: false,
            reason: reason.into(),
        }
    }

    /// The link has expired: refresh it first.
    pub fn expired(reason: impl Into<String>) -> Self {
        Self {
            expired: true,
            reason: reason.into(),
        }
    }
}

/// How hard the archiver tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePolicy {
    /// Attempts in all before a chart is `failed` for good (counted across restarts: the count
    /// is stored). At least 1.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; each later wait doubles, up to `max_delay`.
    pub first_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// How many charts one pass takes from the store.
    pub batch: u32,
    /// How often the background loop looks for work when nothing wakes it.
    pub poll_interval: Duration,
}

impl Default for ArchivePolicy {
    /// 5 attempts, 30 s after the first failure doubling up to 30 min, 100 charts a pass, a
    /// look every 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(30 * 60),
            batch: 100,
            poll_interval: Duration::from_secs(30),
        }
    }
}

impl ArchivePolicy {
    /// The wait after the `failures`-th failed attempt (from 1), by `backon`'s exponential
    /// builder (factor 2, no jitter, so tests can count on it).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let max = self.max_delay.max(self.first_delay);
        ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(max)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .nth(failures.saturating_sub(1) as usize)
            .unwrap_or(max)
    }

    fn max_attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// What the archiver did to one chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveEvent {
    /// Archived: its image is stored as `sha256`.
    Archived {
        /// The chart.
        chart: ChartId,
        /// Its plan.
        plan: PlanId,
        /// The blob's name.
        sha256: Sha256,
        /// Its size in bytes.
        size: u64,
        /// What the image is.
        image: ImageKind,
    },
    /// Its expired link was replaced by a fresh one from Discord.
    Refreshed {
        /// The chart.
        chart: ChartId,
        /// Its plan.
        plan: PlanId,
    },
    /// An attempt failed; `last` when it was the last one (the chart is `failed` now).
    Failed {
        /// The chart.
        chart: ChartId,
        /// Its plan.
        plan: PlanId,
        /// Why.
        reason: String,
        /// Attempts made so far, this one included.
        attempts: u32,
        /// Whether the chart was given up on.
        last: bool,
    },
}

/// What [`ChartArchiver::archive_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Charts archived.
    pub archived: usize,
    /// Expired links refreshed.
    pub refreshed: usize,
    /// Charts given up on in this run, with the last reason.
    pub failed: Vec<(ChartId, String)>,
}

/// Archives chart images: takes pending charts from the plan store (through the
/// [`PlanService`], on its blocking pool), streams each image from the [`ChartSource`] into the
/// [`ChartStore`], and records the outcome. Cheap to clone.
///
/// One chart at a time: a plan carries at most a few images of a few MB, and one writer at a
/// time keeps memory and open files bounded whatever the backlog. The bytes go straight from
/// the source into the blob writer (small buffered writes into a temporary file happen on the
/// calling task; opening the writer and committing it, which fsync, run on the blocking pool).
///
/// A failed attempt waits [`ArchivePolicy::delay_after`] before the next; those waits are kept
/// in memory, so after a restart pending charts are simply tried again, while the attempts
/// count is stored and the chart still fails for good after `max_attempts` in all.
#[derive(Clone)]
pub struct ChartArchiver {
    service: PlanService,
    charts: Arc<dyn ChartStore>,
    source: Arc<dyn ChartSource>,
    policy: ArchivePolicy,
}

impl std::fmt::Debug for ChartArchiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartArchiver")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The running background archiver. [`ArchiverHandle::shutdown`] stops it and waits; dropping
/// the handle stops it too, at its next pause (a chart being stored is finished or dropped
/// uncommitted, which leaves nothing behind).
#[derive(Debug)]
pub struct ArchiverHandle {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ArchiverHandle {
    /// Stops the loop and waits until it has.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        if let Err(error) = task.await
            && error.is_panic()
        {
            log::error!("the chart archiver stopped with a panic: {error}");
        }
    }

    /// Whether the loop has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// When a pass retries a failed chart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// After the policy's delay (the background loop).
    Later,
    /// At once, within the run (`archive_all`).
    Now,
}

/// What one pass did.
#[derive(Default)]
struct Pass {
    /// Charts offered by the store.
    offered: usize,
    /// Outcomes recorded.
    recorded: usize,
}

/// One chart's attempt, before the outcome is recorded.
enum Attempt {
    Stored {
        sha256: Sha256,
        size: u64,
        image: ImageKind,
    },
    Failed(FetchFailure),
}

impl ChartArchiver {
    /// An archiver for this service's plans, keeping images in `charts`, downloading from
    /// `source`.
    pub fn new(
        service: PlanService,
        charts: Arc<dyn ChartStore>,
        source: Arc<dyn ChartSource>,
        policy: ArchivePolicy,
    ) -> Self {
        Self {
            service,
            charts,
            source,
            policy,
        }
    }

    /// The policy it runs with.
    pub fn policy(&self) -> &ArchivePolicy {
        &self.policy
    }

    /// Starts the background loop on the current Tokio runtime: a pass whenever
    /// [`PlanService::notify_new_charts`] is called (the service calls it after storing a plan
    /// with charts), when a failed chart's wait is over, and every
    /// [`ArchivePolicy::poll_interval`] otherwise. A pass that cannot read or record (storage
    /// down) is logged and tried again at the next wake.
    pub fn spawn(&self) -> ArchiverHandle {
        let (stop_tx, mut stop) = oneshot::channel::<()>();
        let archiver = self.clone();
        let wake = self.service.chart_wakeup();
        let task = tokio::spawn(async move {
            let mut due: HashMap<ChartId, Instant> = HashMap::new();
            let mut report = log_event;
            loop {
                let pass = archiver.pass(Retry::Later, &mut due, &mut report);
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    result = pass => match result {
                        // A full batch with work done: more is likely waiting (a backlog, an
                        // import); take the next batch now rather than at the next wake-up.
                        Ok(pass)
                            if pass.recorded > 0
                                && pass.offered >= archiver.policy.batch.max(1) as usize =>
                        {
                            continue;
                        }
                        Ok(_) => {}
                        Err(error) => log::warn!("chart archiving paused: {error}"),
                    }
                }
                let now = Instant::now();
                let next = due
                    .values()
                    .copied()
                    .min()
                    .unwrap_or(now + archiver.policy.poll_interval)
                    .min(now + archiver.policy.poll_interval);
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    () = wake.notified() => {}
                    () = tokio::time::sleep_until(next) => {}
                }
            }
            log::info!("chart archiver stopped");
        });
        ArchiverHandle {
            stop: Some(stop_tx),
            task,
        }
    }

    /// Archives every chart pending now, reporting each outcome to `progress`. A failed chart
    /// is tried again at once, without the policy's waits (an operator is waiting for the
    /// answer), until it is archived or has had `max_attempts` attempts in all (attempts made
    /// before this run count). Fails only when storage cannot be read or written.
    pub async fn archive_all(
        &self,
        mut progress: impl FnMut(ArchiveEvent),
    ) -> Result<ArchiveSummary, ServiceError> {
        let mut summary = ArchiveSummary::default();
        let mut due = HashMap::new();
        let mut tally = |event: ArchiveEvent| {
            match &event {
                ArchiveEvent::Archived { .. } => summary.archived += 1,
                ArchiveEvent::Refreshed { .. } => summary.refreshed += 1,
                ArchiveEvent::Failed {
                    chart,
                    reason,
                    last: true,
                    ..
                } => summary.failed.push((*chart, reason.clone())),
                ArchiveEvent::Failed { .. } => {}
            }
            progress(event);
        };
        loop {
            let pass = self.pass(Retry::Now, &mut due, &mut tally).await?;
            // Every offered chart ends archived, failed for good, or with one more attempt
            // counted, so passes end; a pass that recorded nothing would repeat itself.
            if pass.offered == 0 || pass.recorded == 0 {
                break;
            }
        }
        Ok(summary)
    }

    /// The charts [`ChartArchiver::archive_all`] would try now, oldest first (a dry run).
    pub async fn list_pending(&self) -> Result<Vec<ChartRef>, ServiceError> {
        Ok(self
            .service
            .blocking(|store| store.charts_to_archive(u32::MAX))
            .await?)
    }

    /// One pass over a batch: every chart that is due is fetched; expired links are refreshed
    /// together and fetched again at once.
    async fn pass<P: FnMut(ArchiveEvent)>(
        &self,
        retry: Retry,
        due: &mut HashMap<ChartId, Instant>,
        progress: &mut P,
    ) -> Result<Pass, ServiceError> {
        // Charts waiting out a delay come first in the store's order; ask for that many more
        // so they never crowd newer charts out of the batch.
        let waiting = u32::try_from(due.len()).unwrap_or(u32::MAX);
        let limit = self.policy.batch.max(1).saturating_add(waiting);
        let batch = self
            .service
            .blocking(move |store| store.charts_to_archive(limit))
            .await?;
        if batch.len() < limit as usize {
            // Everything pending was offered: forget waits of charts archived, replaced or
            // deleted meanwhile.
            due.retain(|id, _| batch.iter().any(|chart| chart.id == *id));
        }
        let mut pass = Pass {
            offered: batch.len(),
            recorded: 0,
        };
        let mut expired = Vec::new();
        for chart in batch {
            if retry == Retry::Later && due.get(&chart.id).is_some_and(|at| *at > Instant::now()) {
                continue;
            }
            match self.attempt(&chart.url).await {
                Attempt::Failed(failure) if failure.expired => expired.push((chart, failure)),
                attempt => {
                    self.record(&chart, attempt, retry, due, progress).await?;
                    pass.recorded += 1;
                }
            }
        }
        for group in expired.chunks(REFRESH_BATCH) {
            let urls: Vec<String> = group.iter().map(|(chart, _)| chart.url.clone()).collect();
            let refreshed = self.source.refresh(&urls).await;
            for (chart, first) in group {
                let attempt = match &refreshed {
                    Err(failure) => Attempt::Failed(FetchFailure::failed(format!(
                        "{}; asking Discord for a fresh link failed: {}",
                        first.reason, failure.reason
                    ))),
                    Ok(pairs) => match pairs.iter().find(|(original, _)| *original == chart.url) {
                        None => Attempt::Failed(FetchFailure::failed(format!(
                            "{}; Discord gave no fresh link",
                            first.reason
                        ))),
                        Some((_, fresh)) => {
                            if self.record_url(chart, fresh, progress).await? {
                                let attempt = self.attempt(fresh).await;
                                self.record(chart, attempt, retry, due, progress).await?;
                            }
                            pass.recorded += 1;
                            continue;
                        }
                    },
                };
                self.record(chart, attempt, retry, due, progress).await?;
                pass.recorded += 1;
            }
        }
        Ok(pass)
    }

    /// Downloads one image into a new blob and commits it.
    async fn attempt(&self, url: &str) -> Attempt {
        let charts = Arc::clone(&self.charts);
        let mut writer = match tokio::task::spawn_blocking(move || charts.writer()).await {
            Ok(Ok(writer)) => writer,
            Ok(Err(error)) => return Attempt::Failed(FetchFailure::failed(error.to_string())),
            Err(join) => return Attempt::Failed(FetchFailure::failed(join.to_string())),
        };
        let mut sink = Sniffer::new(&mut writer);
        let fetched = self.source.fetch(url, &mut sink).await;
        let (head, store_error) = (sink.head(), sink.error.take());
        let image = match fetched {
            Ok(image) => image,
            Err(failure) => {
                return Attempt::Failed(match store_error {
                    Some(error) => FetchFailure::failed(format!("storing the chart: {error}")),
                    None => failure,
                });
            }
        };
        if ImageKind::from_signature(&head) != Some(image) {
            return Attempt::Failed(FetchFailure::failed(format!(
                "the bytes are not the {image} image the download said they were"
            )));
        }
        match tokio::task::spawn_blocking(move || writer.commit()).await {
            Ok(Ok(blob)) => Attempt::Stored {
                sha256: blob.sha256,
                size: blob.size,
                image,
            },
            Ok(Err(error)) => Attempt::Failed(FetchFailure::failed(error.to_string())),
            Err(join) => Attempt::Failed(FetchFailure::failed(join.to_string())),
        }
    }

    /// Records an attempt's outcome. A chart replaced or deleted meanwhile is skipped.
    async fn record<P: FnMut(ArchiveEvent)>(
        &self,
        chart: &ChartRef,
        attempt: Attempt,
        retry: Retry,
        due: &mut HashMap<ChartId, Instant>,
        progress: &mut P,
    ) -> Result<(), ServiceError> {
        let id = chart.id;
        let (event, result) = match attempt {
            Attempt::Stored {
                sha256,
                size,
                image,
            } => {
                let at = self.service.now();
                let result = self
                    .service
                    .blocking(move |store| {
                        store.record_chart_archived(id, &sha256, size, image, at)
                    })
                    .await;
                due.remove(&id);
                let event = ArchiveEvent::Archived {
                    chart: id,
                    plan: chart.plan_id,
                    sha256,
                    size,
                    image,
                };
                (event, result)
            }
            Attempt::Failed(failure) => {
                let attempts = chart.attempts.saturating_add(1);
                let last = attempts >= self.policy.max_attempts();
                let reason = failure.reason;
                let stored = reason.clone();
                let result = self
                    .service
                    .blocking(move |store| store.record_chart_failure(id, &stored, attempts, last))
                    .await;
                if last || retry == Retry::Now {
                    due.remove(&id);
                } else {
                    due.insert(id, Instant::now() + self.policy.delay_after(attempts));
                }
                let event = ArchiveEvent::Failed {
                    chart: id,
                    plan: chart.plan_id,
                    reason,
                    attempts,
                    last,
                };
                (event, result)
            }
        };
        match result {
            Ok(()) => {
                self.service.changed();
                progress(event);
                Ok(())
            }
            Err(StoreError::ChartNotFound(_)) => {
                log::debug!("chart {id} was replaced or deleted while being archived");
                due.remove(&id);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Records a refreshed link; `false` when the chart is gone or the link is unusable (then
    /// recorded as a failed attempt).
    async fn record_url<P: FnMut(ArchiveEvent)>(
        &self,
        chart: &ChartRef,
        fresh: &str,
        progress: &mut P,
    ) -> Result<bool, ServiceError> {
        let (id, url) = (chart.id, fresh.to_owned());
        match self
            .service
            .blocking(move |store| store.record_chart_url(id, &url))
            .await
        {
            Ok(()) => {
                self.service.changed();
                progress(ArchiveEvent::Refreshed {
                    chart: id,
                    plan: chart.plan_id,
                });
                Ok(true)
            }
            Err(StoreError::ChartNotFound(_)) => Ok(false),
            Err(StoreError::InvalidChartUrl(why)) => {
                let failure =
                    FetchFailure::failed(format!("Discord's fresh link is unusable: {why}"));
                let mut due = HashMap::new();
                self.record(
                    chart,
                    Attempt::Failed(failure),
                    Retry::Now,
                    &mut due,
                    progress,
                )
                .await?;
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// The background loop's report: one log line per outcome.
fn log_event(event: ArchiveEvent) {
    match event {
        ArchiveEvent::Archived {
            chart,
            plan,
            sha256,
            size,
            image,
        } => log::info!(
            "chart archived: chart={chart} plan={plan} sha256={sha256} size={size} type={image}"
        ),
        ArchiveEvent::Refreshed { chart, plan } => {
            log::info!("chart link refreshed: chart={chart} plan={plan}");
        }
        ArchiveEvent::Failed {
            chart,
            plan,
            reason,
            attempts,
            last: true,
        } => log::warn!(
            "chart archiving failed for good: chart={chart} plan={plan} attempts={attempts}: {reason}"
        ),
        ArchiveEvent::Failed {
            chart,
            plan,
            reason,
            attempts,
            last: false,
        } => log::info!(
            "chart archiving failed, will retry: chart={chart} plan={plan} attempts={attempts}: {reason}"
        ),
    }
}

/// The blob writer as the source sees it: keeps the first bytes (to check the image's
/// signature) and the store's own error (to tell a full disk from a failed download).
struct Sniffer<'w> {
    inner: &'w mut Box<dyn BlobWriter>,
    head: [u8; 16],
    len: usize,
    error: Option<String>,
}

impl<'w> Sniffer<'w> {
    fn new(inner: &'w mut Box<dyn BlobWriter>) -> Self {
        Self {
            inner,
            head: [0; 16],
            len: 0,
            error: None,
        }
    }

    fn head(&self) -> Vec<u8> {
        self.head[..self.len].to_vec()
    }
}

impl Write for Sniffer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf).inspect_err(|error| {
            self.error = Some(error.to_string());
        })?;
        let take = written.min(self.head.len() - self.len);
        self.head[self.len..self.len + take].copy_from_slice(&buf[..take]);
        self.len += take;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|error| {
            self.error = Some(error.to_string());
        })
    }
}
