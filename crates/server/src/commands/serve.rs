//! `coach-plans serve` (the default command): the startup order, self-check, ready line,
//! signals and graceful shutdown of SPEC 11.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use coach_plans_api::{Api, ApiSettings};
use coach_plans_bot::{BotState, CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::Config;
use coach_plans_mock::{BANNER, MockBot};
use coach_plans_service::PlanService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{fail, say};
use crate::exit::Exit;
use crate::{logging, wiring};

pub(crate) fn run(config: Config) -> Exit {
    // The port is taken first: a busy port is a configuration error, reported in one line
    // before anything (log files, the database) is touched. Serving starts later, in order.
    let (host, port) = (config.api.host.as_str(), config.api.port);
    let listener = match TcpListener::bind((host, port)) {
        Ok(listener) => listener,
        Err(error) => {
            fail!("cannot listen on {host}:{port}: {error}");
            return Exit::Config;
        }
    };
    let _logging = match logging::init(&config.logging) {
        Ok(handle) => handle,
        Err(error) => {
            fail!("{error}");
            return Exit::Config;
        }
    };
    let runtime = match wiring::runtime(true) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let exit = runtime.block_on(serve(config, listener));
    // Give blocking store calls still in flight a moment, then stop.
    runtime.shutdown_timeout(Duration::from_secs(5));
    log::logger().flush();
    exit
}

async fn serve(config: Config, listener: TcpListener) -> Exit {
    log::info!(
        "coach-plans {} starting{}",
        env!("CARGO_PKG_VERSION"),
        if config.mock.enabled {
            " in mock mode"
        } else {
            ""
        }
    );

    let settings = match wiring::service_settings(&config) {
        Ok(settings) => settings,
        Err(exit) => return exit,
    };
    let store = match wiring::open_store(&config.database, &settings) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let service = PlanService::new(store.clone(), settings);

    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            fail!("cannot read the listening address: {error}");
            return Exit::Failure;
        }
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let handler = CommandHandler::new(
        service.clone(),
        CommandSettings::from_config(&config.discord),
    );
    let (bot_state, bot_task) = if config.mock.enabled {
        say!("{BANNER}");
        log::warn!("{BANNER}");
        let mock = MockBot::new(handler);
        let unseeded = !mock
            .seed(service.today(), config.mock.seed_days)
            .await
            .refused
            .is_empty();
        let task = tokio::spawn(reseed(
            mock,
            service.clone(),
            config.mock.seed_days,
            unseeded,
            stop_rx.clone(),
        ));
        (BotState::mock(), task)
    } else {
        let settings = match GatewaySettings::from_config(&config.discord) {
            Ok(settings) => settings,
            Err(error) => {
                fail!("{error}");
                return Exit::Config;
            }
        };
        let (refusals, refused) = tokio::sync::mpsc::unbounded_channel();
        store.on_refused(move |change| {
            let _ = refusals.send(change.clone());
        });
        let bot = DiscordBot::new(settings, handler).with_refusals(refused);
        let state = bot.state();
        let mut stop = stop_rx.clone();
        let task = tokio::spawn(async move {
            let _ = bot
                .run(async move { while stop.changed().await.is_ok() && !*stop.borrow() {} })
                .await;
        });
        (state, task)
    };

    let health_state = bot_state.clone();
    let api = Api::new(
        service.clone(),
        ApiSettings::from_config(&config.api),
        Arc::new(move || health_state.snapshot()),
    );
    let server = match api.serve(listener) {
        Ok(server) => server,
        Err(error) => {
            fail!("cannot serve on {address}: {error}");
            return Exit::Failure;
        }
    };
    let http = server.handle();
    let server_task = tokio::spawn(server);

    match self_check(address).await {
        Ok(status) => log::info!("self-check: GET /health answered {status}"),
        Err(error) => {
            fail!("self-check failed: GET /health on {address}: {error}");
            log::error!("self-check failed: GET /health on {address}: {error}");
            http.stop(false).await;
            return Exit::Failure;
        }
    }
    say!("ready: http://{address}");
    log::info!("ready: http://{address}");

    wait_for_signal().await;
    log::info!("shutting down: no new connections; finishing requests in flight (up to 10 s)");
    tokio::spawn(async {
        wait_for_signal().await;
        log::warn!("second signal: exiting at once");
        log::logger().flush();
        std::process::exit(1);
    });
    http.stop(true).await;
    let _ = server_task.await;
    let _ = stop_tx.send(true);
    if tokio::time::timeout(Duration::from_secs(5), bot_task)
        .await
        .is_err()
    {
        log::warn!("the bot did not stop within 5 s");
    }
    wiring::close_store(store).await;
    log::info!("stopped");
    Exit::Ok
}

/// In mock mode, posts the new day's mock plans when the date changes while running.
/// Also retries, every few seconds, a seeding that could not run because the database could
/// not be read: mock plans are never posted over plans the server cannot see.
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

/// How often mock mode tries again to seed while the database cannot be read.
const MOCK_RESEED_RETRY: Duration = Duration::from_secs(2);

/// Asks our own `/health`, as a client would, before saying ready. 200 and 503 both count as
/// answering (503 means the database is down and plans are held in memory).
async fn self_check(address: SocketAddr) -> Result<u16, String> {
    let target = match address {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], v4.port()))
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], v6.port()))
        }
        other => other,
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(target)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: {target}\r\nX-Request-ID: startup-self-check\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let head = String::from_utf8_lossy(&response);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        match status {
            Some(code @ (200 | 503)) if head.contains("\"components\"") => Ok(code),
            _ => Err(format!(
                "unexpected answer: {}",
                head.lines().next().unwrap_or_default()
            )),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| "no answer within 10 s".to_owned())?
}

/// Waits for SIGINT or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                log::warn!("cannot watch SIGTERM ({error}); stop with SIGINT");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
