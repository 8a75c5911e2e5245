//! `coach-plans archive-charts [--dry-run]`: every chart not archived yet (legacy imports,
//! charts stored before archiving existed, charts the server could not archive) downloaded into
//! the chart store now, with the configuration `serve` uses, and a summary for the operator.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use coach_plans_bot::GatewaySettings;
use coach_plans_config::Config;
use coach_plans_model::PlanId;
use coach_plans_service::{
    ArchiveEvent, ArchivePolicy, ArchiveSummary, ChartArchiver, ChartStore, PlanService,
};
use coach_plans_storage::ChartRef;
use indicatif::{ProgressBar, ProgressStyle};

use super::{fail, say};
use crate::charts::{ChartFetcher, LazyChartStore, NetworkChartSource, Refresher, redact};
use crate::exit::Exit;
use crate::wiring;

/// Why expired links cannot be refreshed when no bot token is configured.
const NO_TOKEN: &str = "the link has expired and no Discord bot token is configured (DISCORD_BOT_TOKEN) to ask for a fresh one";

pub(crate) fn run(config: &Config, dry_run: bool) -> Exit {
    let store = match wiring::open_direct(&config.database) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let service = match wiring::service(config, store) {
        Ok(service) => service,
        Err(exit) => return exit,
    };
    // The store `serve` uses: the directory, or the database (charts.backend).
    let (chart_store, error) = LazyChartStore::configured(config);
    if let Some(error) = error
        && !dry_run
    {
        fail!(
            "cannot use {}: {error}; nothing was archived",
            chart_store.name()
        );
        return Exit::Failure;
    }
    let chart_store: Arc<dyn ChartStore> = Arc::new(chart_store);
    let fetcher = match ChartFetcher::new(&config.charts) {
        Ok(fetcher) => fetcher,
        Err(error) => {
            fail!("{error}");
            return Exit::Failure;
        }
    };
    let refresher = match refresher(config) {
        Ok(refresher) => refresher,
        Err(exit) => return exit,
    };
    let source = match &refresher {
        Some(refresher) => NetworkChartSource::new(fetcher, Some(refresher.clone())),
        None => NetworkChartSource::new(fetcher, None).no_refresh_because(NO_TOKEN),
    };
    let archiver = ChartArchiver::new(
        service.clone(),
        chart_store,
        Arc::new(source),
        ArchivePolicy::default(),
    );
    let runtime = match wiring::runtime(false) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let result = if dry_run {
        runtime.block_on(preview(&service, &archiver))
    } else {
        runtime.block_on(archive(&service, &archiver, refresher.is_some()))
    };
    match result {
        Ok(exit) => exit,
        Err(message) => {
            fail!("{message}");
            Exit::Failure
        }
    }
}

/// Discord's refresh-urls with the bot token, when one is configured.
fn refresher(config: &Config) -> Result<Option<Refresher>, Exit> {
    if config.discord.bot_token.is_none() {
        return Ok(None);
    }
    let settings = GatewaySettings::from_config(&config.discord).map_err(|error| {
        fail!("configuration error: {error}");
        Exit::Config
    })?;
    let api_base = settings.rest_api_base().map_err(|error| {
        fail!("configuration error: {error}");
        Exit::Config
    })?;
    Ok(Some(Refresher {
        api_base,
        token: settings.token,
    }))
}

/// A chart's plan as the operator knows it: `coach date (plan N)`.
async fn describe(service: &PlanService, plan: PlanId) -> String {
    match service.plan_by_id(plan).await {
        Ok(Some(found)) => format!("{} {} (plan {plan})", found.coach, found.date),
        Ok(None) | Err(_) => format!("plan {plan}"),
    }
}

async fn preview(service: &PlanService, archiver: &ChartArchiver) -> Result<Exit, String> {
    let pending = archiver
        .list_pending()
        .await
        .map_err(|e| format!("cannot read the charts to archive: {e}"))?;
    say!("would archive: {} chart(s)", pending.len());
    for chart in &pending {
        say!(
            "  chart {}: {} #{}: {}",
            chart.id,
            describe(service, chart.plan_id).await,
            chart.position + 1,
            redact(&chart.url)
        );
    }
    say_failed_earlier(service).await;
    say!("dry run: nothing was changed");
    Ok(Exit::Ok)
}

async fn archive(
    service: &PlanService,
    archiver: &ChartArchiver,
    can_refresh: bool,
) -> Result<Exit, String> {
    // Charts given up on earlier are tried again: the operator runs this after fixing a cause.
    let requeued = service
        .requeue_failed_charts()
        .await
        .map_err(|e| format!("cannot put failed charts back in the queue: {e}"))?;
    if requeued > 0 {
        say!("trying again: {requeued} chart(s) marked failed earlier");
    }
    let pending = archiver
        .list_pending()
        .await
        .map_err(|e| format!("cannot read the charts to archive: {e}"))?;
    if pending.is_empty() {
        say!("nothing to do: every chart is archived");
        return Ok(Exit::Ok);
    }
    say!("archiving {} chart(s)", pending.len());
    if !can_refresh {
        say!(
            "note: no Discord bot token is configured (DISCORD_BOT_TOKEN): expired links cannot be refreshed"
        );
    }
    let mut progress = Progress::new(pending.len());
    let summary = archiver
        .archive_all(|event| progress.event(&event))
        .await
        .map_err(|e| format!("archiving stopped: {e}"));
    progress.finish();
    let summary = summary?;
    report(service, &summary, &pending).await;
    if summary.failed.is_empty() {
        Ok(Exit::Ok)
    } else {
        fail!(
            "{} chart(s) could not be archived and are marked failed (each is listed on a failed: line with its reason); run archive-charts again once the cause is fixed",
            summary.failed.len()
        );
        Ok(Exit::ChartsFailed)
    }
}

async fn report(service: &PlanService, summary: &ArchiveSummary, pending: &[ChartRef]) {
    say!(
        "archived {}, refreshed {}, failed {}",
        summary.archived,
        summary.refreshed,
        summary.failed.len()
    );
    for (chart, reason) in &summary.failed {
        let plan = match pending.iter().find(|c| c.id == *chart) {
            Some(found) => describe(service, found.plan_id).await,
            None => "plan unknown".to_owned(),
        };
        say!("failed: chart {chart}: {plan}: {reason}");
    }
}

/// Charts given up on in earlier runs (or by the server) are tried again by a real run: say
/// how many.
async fn say_failed_earlier(service: &PlanService) {
    if let Ok(counts) = service.chart_counts().await
        && counts.failed > 0
    {
        say!(
            "would try again: {} chart(s) marked failed earlier (not listed above)",
            counts.failed
        );
    }
}

/// The progress display: a bar on a terminal, a line per chart otherwise (logs, tests).
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} charts {msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar }
    }

    fn event(&mut self, event: &ArchiveEvent) {
        let line = match event {
            ArchiveEvent::Archived {
                chart,
                plan,
                size,
                image,
                ..
            } => format!("archived: chart {chart} of plan {plan} ({image}, {size} bytes)"),
            ArchiveEvent::Refreshed { chart, plan } => {
                format!("refreshed: chart {chart} of plan {plan}: Discord gave a fresh link")
            }
            ArchiveEvent::Failed {
                chart,
                plan,
                reason,
                attempts,
                last,
            } => format!(
                "{}: chart {chart} of plan {plan} (attempt {attempts}): {reason}",
                if *last { "failed" } else { "attempt failed" }
            ),
        };
        let done = matches!(
            event,
            ArchiveEvent::Archived { .. } | ArchiveEvent::Failed { last: true, .. }
        );
        match &self.bar {
            Some(bar) => {
                if done {
                    bar.inc(1);
                }
                if let ArchiveEvent::Failed { .. } = event {
                    bar.println(line);
                }
            }
            None => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("{line}");
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
