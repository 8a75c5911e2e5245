//! `coach-plans serve` (the default command): the startup order, self-check, ready line,
//! signals and graceful shutdown of SPEC 11.

use std::net::TcpListener;
use std::time::Duration;

use coach_plans_config::Config;

use super::{fail, say};
use crate::application::Application;
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
    if let Err(error) = logging::init(&config.logging) {
        fail!("{error}");
        return Exit::Config;
    }
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
    let app = match Application::build(config, listener).await {
        Ok(app) => app,
        Err(exit) => return exit,
    };
    say!("ready: http://{}", app.address());
    log::info!("ready: http://{}", app.address());
    app.run_until_stopped(async {
        wait_for_signal().await;
        // A second signal exits at once.
        tokio::spawn(async {
            wait_for_signal().await;
            log::warn!("second signal: exiting at once");
            log::logger().flush();
            std::process::exit(1);
        });
    })
    .await
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
