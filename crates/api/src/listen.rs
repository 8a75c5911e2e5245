//! Serving the app on a listener, and one log line for each connection that ends in an error.
//!
//! This is what `actix_web::HttpServer::listen` does, assembled from the same parts, for one
//! reason: to see how each connection ends, and to answer in JSON what actix-http refuses on
//! its own. actix-http answers requests it cannot read (malformed, URI over 64 KiB, head over
//! 128 KiB, no head in time) with an empty body and no hook to change it (the connection is
//! wrapped in [`Answering`], which gives those answers the API's JSON shape and a request id),
//! and reports them with an ERROR line on `actix_http::h1::dispatcher`; a client sending
//! garbage is not an error of this service. Here the connection's outcome is logged
//! once, with the peer's address, at WARN for a client's fault and ERROR for ours, and the
//! logging configuration silences the library's own line ([`REPLACED_LIBRARY_LOG_TARGETS`]).

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_http::error::{DispatchError, ParseError};
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::Server;
use actix_service::{Service, apply_fn_factory, map_config};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;

use crate::app::Api;
use crate::bare_errors::Answering;

/// The log target of the line written for a connection that ended in an error.
pub const CONNECTION_TARGET: &str = "coach_plans::connection";

/// Library log targets whose lines the API writes itself, better: a logging configuration
/// should turn them off. `actix_http::h1::dispatcher` logs every connection that ends in an
/// error at ERROR ("stream error: ..."), including a client's malformed request; the API logs
/// those under [`CONNECTION_TARGET`] instead. The target's other lines are `trace`.
pub const REPLACED_LIBRARY_LOG_TARGETS: &[&str] = &["actix_http::h1::dispatcher"];

/// Serves `api` on `listener` with `workers` worker threads.
pub(crate) fn serve(api: Api, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let local = listener.local_addr()?;
    let builder = Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(10)
        .listen("coach-plans-api", listener, move || {
            let shutdown = shutdown.clone();
            // HttpServer's defaults, spelled out: they differ from HttpService's own.
            let http = HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local)
                // Idle keep-alive connections close at once on a graceful stop, as with
                // HttpServer, rather than holding the stop for their timeout.
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                // HttpServer passes the bound address here, through a constructor actix-web
                // keeps private; the default's placeholder host and address would only show in
                // `ConnectionInfo` for a request without a Host header and in `url_for`,
                // neither of which the API uses.
                .finish(map_config(api.app(), |()| AppConfig::default()));
            apply_fn_factory(http, |stream: TcpStream, http: &_| {
                let peer = stream.peer_addr().ok();
                // The id a bare refusal by the HTTP layer is answered with, for the log line.
                let request_id = Arc::new(OnceLock::new());
                let io = Answering::new(stream, Arc::clone(&request_id));
                let connection = Service::call(http, (io, Protocol::Http1, peer));
                async move {
                    if let Err(error) = connection.await {
                        log_failed_connection(peer, request_id.get().map(String::as_str), &error);
                    }
                    Ok::<_, DispatchError>(())
                }
            })
        })?
        .run();
    Ok(server)
}

/// The one line for a connection that ended in an error.
fn log_failed_connection(
    peer: Option<SocketAddr>,
    request_id: Option<&str>,
    error: &DispatchError,
) {
    let peer = peer.map_or_else(|| "an unknown peer".to_owned(), |peer| peer.to_string());
    let answered_with = request_id.map_or_else(String::new, |id| format!(" (request id {id})"));
    match error {
        // The messages of these errors are fixed texts, never request bytes.
        DispatchError::Parse(parse) => {
            let answered = match parse {
                ParseError::TooLarge => "431",
                _ => "400",
            };
            log::warn!(
                target: CONNECTION_TARGET,
                "malformed request from {peer} ({parse}): answered {answered}{answered_with} \
                 and closed the connection"
            );
        }
        DispatchError::SlowRequestTimeout | DispatchError::HandlerDroppedPayload => {
            log::warn!(
                target: CONNECTION_TARGET,
                "connection from {peer} closed: {error}{answered_with}"
            );
        }
        // The client went away or reset the connection: nothing to act on.
        DispatchError::Io(_) | DispatchError::DisconnectTimeout => {
            log::debug!(target: CONNECTION_TARGET, "connection from {peer} ended: {error}");
        }
        other => {
            log::error!(target: CONNECTION_TARGET, "connection from {peer} failed: {other}");
        }
    }
}
