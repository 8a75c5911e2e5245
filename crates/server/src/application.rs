//! The whole application in-process: storage, service, bot (or mock bot) and API, built from a
//! configuration on a listener the caller bound, run until a shutdown future completes.
//!
//! The binary builds one after binding the port and starting logging; tests build one on port 0
//! and talk to it over HTTP (and to a fake Discord), without a process of their own.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use coach_plans_api::{Api, ApiSettings, ServerHandle};
use coach_plans_bot::{BotState, CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_client::{ClientBuilder, HealthStatus};
use coach_plans_config::{ChartBackend, Config};
use coach_plans_mock::{BANNER, MockBot, MockChartSource};
use coach_plans_service::{
    ArchivePolicy, ArchiverHandle, ChartArchiver, ChartSource, ChartStore, PlanService,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::charts::{ChartFetcher, LazyChartStore, MoveInTask, NetworkChartSource, Refresher};
use crate::commands::{fail, say};
use crate::exit::Exit;
use crate::replicas::{self, Coordination};
use crate::wiring;

/// How often mock mode tries again to seed while the database cannot be read.
const MOCK_RESEED_RETRY: Duration = Duration::from_secs(2);

/// How long shutdown waits for the bot to stop by itself before stopping it.
const BOT_STOP_TIMEOUT: Duration = Duration::from_secs(16);

/// How long the startup self-check waits for `/health`.
const SELF_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// A running coach-plans: the API answering on [`address`](Self::address), the bot connected
/// (or connecting) or the mock bot seeded. Stop it with [`run_until_stopped`](Self::run_until_stopped).
pub struct Application {
    address: SocketAddr,
    service: PlanService,
    store: wiring::ServedStore,
    http: ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    bot_state: BotState,
    bot_task: JoinHandle<()>,
    stop_bot: watch::Sender<bool>,
    archiver: ArchiverHandle,
    coordination: Coordination,
    /// Copying `charts.store`'s images into the database, with the `database` chart backend.
    chart_move_in: Option<MoveInTask>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens storage (upgrading it, or holding changes when it is unavailable), starts the bot
    /// or the mock bot, serves the API on `listener`, and checks the API's own `/health` as a
    /// client would. Errors are printed in one line and give the exit code the binary uses.
    pub async fn build(config: Config, listener: TcpListener) -> Result<Self, Exit> {
        log::info!(
            "coach-plans {} starting{}",
            env!("CARGO_PKG_VERSION"),
            if config.mock.enabled {
                " in mock mode"
            } else {
                ""
            }
        );
        for warning in config.warnings() {
            log::warn!("{warning}");
        }
        let address = listener.local_addr().map_err(|error| {
            fail!("cannot read the listening address: {error}");
            Exit::Failure
        })?;
        let settings = wiring::service_settings(&config)?;
        let store = wiring::open_store(&config.database, &settings)?;
        let service = PlanService::new(store.plans(), settings);
        let chart_store = open_chart_store(&config);
        let mut coordination = Coordination::default();
        coordination.listen(&config.database, &service);

        let (stop_bot, stop_rx) = watch::channel(false);
        let handler = CommandHandler::new(
            service.clone(),
            CommandSettings::from_config(&config.discord),
        );
        let spawn_archiver = |source: Arc<dyn ChartSource>| {
            ChartArchiver::new(
                service.clone(),
                chart_store.clone(),
                source,
                ArchivePolicy::default(),
            )
            .spawn()
        };
        let archiver;
        let (bot_state, bot_task) = if config.mock.enabled {
            // Mock charts are generated, not downloaded: the rest of the path is the real one.
            archiver = spawn_archiver(Arc::new(MockChartSource));
            say!("{BANNER}");
            log::warn!("{BANNER}");
            let mock = MockBot::new(handler);
            let unseeded = !mock
                .seed(service.today(), config.mock.seed_days)
                .await
                .refused
                .is_empty();
            if unseeded {
                log::warn!(
                    "mock mode: plans cannot be read yet, so no mock plans are posted; trying again every {} s",
                    MOCK_RESEED_RETRY.as_secs()
                );
            }
            let task = tokio::spawn(reseed(
                mock,
                service.clone(),
                config.mock.seed_days,
                unseeded,
                stop_rx,
            ));
            (BotState::mock(), task)
        } else {
            let settings = GatewaySettings::from_config(&config.discord).map_err(|error| {
                fail!("{error}");
                Exit::Config
            })?;
            let (refusals, refused) = tokio::sync::mpsc::unbounded_channel();
            store.on_refused(move |change| {
                let _ = refusals.send(change.clone());
            });
            // Mock mode downloads nothing: the HTTP client is built only where it is used.
            let fetcher = ChartFetcher::new(&config.charts).map_err(|error| {
                fail!("{error}");
                Exit::Failure
            })?;
            let refresher = Refresher {
                api_base: settings.rest_api_base().map_err(|error| {
                    fail!("{error}");
                    Exit::Config
                })?,
                token: settings.token.clone(),
            };
            archiver = spawn_archiver(Arc::new(NetworkChartSource::new(fetcher, Some(refresher))));
            // The bot's cursors and handled messages live in the same database (SQLite's
            // migration 4, PostgreSQL's migration 2).
            let bot = DiscordBot::new(settings, handler)
                .with_refusals(refused)
                .with_delivery_log(store.deliveries());
            let state = bot.state();
            // On PostgreSQL, only the elected replica holds the gateway (SPEC 16).
            let leads = coordination.elect(&config.database);
            let task = tokio::spawn(replicas::lead(bot, leads, stop_rx));
            (state, task)
        };

        let health_state = bot_state.clone();
        let api = Api::with_charts(
            service.clone(),
            ApiSettings::from_config(&config.api),
            Arc::new(move || health_state.snapshot()),
            Arc::clone(&chart_store),
            config.api.public_url_or(address),
        );
        let server = api.serve(listener).map_err(|error| {
            fail!("cannot serve on {address}: {error}");
            Exit::Failure
        })?;
        let http = server.handle();
        let server_task = tokio::spawn(server);
        let mut app = Self {
            address,
            service,
            store,
            http,
            server_task,
            bot_state,
            bot_task,
            stop_bot,
            archiver,
            coordination,
            chart_move_in: None,
        };
        match app.self_check().await {
            Ok(status) => log::info!("self-check: GET /health answered ({status:?})"),
            Err(error) => {
                fail!("self-check failed: GET /health on {address}: {error}");
                log::error!("self-check failed: GET /health on {address}: {error}");
                app.stop().await;
                return Err(Exit::Failure);
            }
        }
        // Started once the server is up, so a start that fails leaves nothing running.
        app.chart_move_in = move_charts_in(&config, &chart_store);
        Ok(app)
    }

    /// Where the API answers (the port actually bound).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The plan service the bot and the API share.
    pub fn service(&self) -> &PlanService {
        &self.service
    }

    /// The bot's state, as `/health` reports it.
    pub fn bot_state(&self) -> &BotState {
        &self.bot_state
    }

    /// Serves until `shutdown` completes, then stops in SPEC 11's order: no new connections,
    /// requests in flight finished (up to 10 s), the gateway closed, held changes written
    /// through (or left in the journal). Returns the exit code.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> Exit {
        shutdown.await;
        log::info!("shutting down: no new connections; finishing requests in flight (up to 10 s)");
        self.stop().await;
        log::info!("stopped");
        Exit::Ok
    }

    async fn stop(self) {
        self.http.stop(true).await;
        let _ = self.server_task.await;
        let _ = self.stop_bot.send(true);
        // The bot closes its session (up to 5 s), then gives replies in flight up to 10 s more.
        let mut bot_task = self.bot_task;
        if tokio::time::timeout(BOT_STOP_TIMEOUT, &mut bot_task)
            .await
            .is_err()
        {
            log::warn!(
                "the bot did not stop within {} s; stopping it now",
                BOT_STOP_TIMEOUT.as_secs()
            );
            // Dropped, its gateway connection closes: it must be gone before the lock goes.
            bot_task.abort();
            let _ = bot_task.await;
        }
        // After the gateway closed: a leader's lock goes now, and another replica takes over.
        self.coordination.stop().await;
        self.archiver.shutdown().await;
        if let Some(move_in) = self.chart_move_in {
            move_in.stop().await;
        }
        wiring::close_store(self.store).await;
    }

    /// Asks our own `/health` through the client library, as a trading system would. A report
    /// with any status counts as answering (503 means the database is down and changes are
    /// held).
    async fn self_check(&self) -> Result<HealthStatus, String> {
        let target = match self.address {
            SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], v4.port()))
            }
            SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
                SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], v6.port()))
            }
            other => other,
        };
        let client = ClientBuilder::new(format!("http://{target}"))
            .timeout(SELF_CHECK_TIMEOUT)
            .retries(0)
            .build()
            .map_err(|e| e.to_string())?;
        client
            .check_health()
            .await
            .map(|report| report.status)
            .map_err(|e| e.chain())
    }
}

/// The chart store `charts.backend` selects: the directory `charts.store` (created if
/// missing), or the PostgreSQL database of `database.url`. One that cannot be used yet does not
/// stop the server (no more than an unreadable database does): the reason is logged, and the
/// store opens at the first call after the cause is fixed.
fn open_chart_store(config: &Config) -> Arc<dyn ChartStore> {
    let (store, error) = LazyChartStore::configured(config);
    if let Some(error) = error {
        log::error!(
            "cannot use {} yet: {error}; charts are not archived or served until it can be",
            store.name()
        );
    }
    Arc::new(store)
}

/// With the `database` chart backend, copies the images `charts.store` holds (from before:
/// the directory backend, or a move from SQLite) that the database lacks, in the background.
fn move_charts_in(config: &Config, store: &Arc<dyn ChartStore>) -> Option<MoveInTask> {
    if config.charts.backend_in_use(&config.database) != ChartBackend::Database
        || !config.charts.store.is_dir()
    {
        return None;
    }
    Some(MoveInTask::spawn(
        config.charts.store.clone(),
        Arc::clone(store),
        config.database.retry_max_delay,
    ))
}

/// In mock mode, posts the new day's mock plans when the date changes while running, and
/// retries, every few seconds, a seeding that could not run because the database could not be
/// read: mock plans are never posted over plans the server cannot see.
async fn reseed(
    mock: MockBot,
    service: PlanService,
    days: u32,
    mut unseeded: bool,
    mut stop: watch::Receiver<bool>,
) {
    let mut seeded = service.today();
    loop {
        let pause = if unseeded {
            MOCK_RESEED_RETRY
        } else {
            Duration::from_secs(60)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        let today = service.today();
        if unseeded || today != seeded {
            let back = if unseeded { days } else { 0 };
            unseeded = !mock.seed(today, back).await.refused.is_empty();
            seeded = today;
        }
    }
}
