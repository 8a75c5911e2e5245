//! `spawn_app`: an [`Application`] on 127.0.0.1:0 with its files in a temporary directory.

use std::time::Duration;

use coach_plans_client::{ClientBuilder, PlanClient};
use coach_plans_config::{Config, Secret};
use coach_plans_server::{Application, Exit};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running application and what a test needs to talk to it.
pub(crate) struct TestApp {
    pub(crate) client: PlanClient,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    stop: Option<oneshot::Sender<()>>,
    running: JoinHandle<Exit>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Stops it as a signal would and returns its exit code.
    pub(crate) async fn stop(mut self) -> Exit {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.running).await.unwrap()
    }

    /// Stops it and hands back its directory, for a restart on the same files.
    pub(crate) async fn stop_keeping_files(mut self) -> (Exit, tempfile::TempDir) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let exit = (&mut self.running).await.unwrap();
        (exit, self._dir)
    }
}

/// The configuration every test starts from: mock mode off, files under `dir`, port 0.
pub(crate) fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::defaults();
    config.database.path = dir.join("data/plans.db");
    config.database.connection_timeout = Duration::from_secs(1);
    config.api.port = 0;
    config.logging.file = dir.join("logs/coach-plans.log");
    config.charts.store = dir.join("data/charts");
    config.mock.seed_days = 0;
    config
}

/// Builds the application from `change(config)` and runs it until the test stops it.
pub(crate) async fn spawn_app(change: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap(), change).await
}

/// As [`spawn_app`], on the files in `dir` (a restart).
pub(crate) async fn spawn_app_in(
    dir: tempfile::TempDir,
    change: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = config(dir.path());
    change(&mut config);
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let app = Application::build(config, listener).await.unwrap();
    let base = format!("http://{}", app.address());
    let (stop, stopped) = oneshot::channel();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = ClientBuilder::new(&base)
        .cache_ttl(Duration::ZERO)
        .miss_ttl(Duration::ZERO)
        .retries(0)
        .build()
        .unwrap();
    TestApp {
        client,
        base,
        stop: Some(stop),
        running,
        _dir: dir,
    }
}

/// A bot token the fake Discord accepts.
pub(crate) fn token(token: &str) -> Option<Secret> {
    Some(Secret::from(token))
}

/// Blob files under a chart directory (its `tmp/` left out).
pub(crate) fn blob_files(dir: &std::path::Path) -> usize {
    let Ok(fans) = std::fs::read_dir(dir) else {
        return 0;
    };
    fans.flatten()
        .filter(|fan| fan.file_name() != "tmp" && fan.path().is_dir())
        .map(|fan| std::fs::read_dir(fan.path()).map_or(0, |files| files.count()))
        .sum()
}
