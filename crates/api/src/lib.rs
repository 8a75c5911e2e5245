#![doc = include_str!("../README.md")]

mod access;
mod app;
mod bare_errors;
mod bot_status;
mod cache;
mod charts;
mod compat;
mod dashboard;
mod error;
mod listen;
mod metrics;
mod middleware;
mod native;
mod openapi;
mod ops;
mod query;
mod request_id;
mod respond;
mod routes;
mod state;

/// The running server [`Api::serve`] returns, and its handle, so callers need not name
/// actix-web.
pub use actix_web::dev::{Server, ServerHandle};
pub use app::Api;
pub use bot_status::{BotStatusSource, StaticBotStatus};
pub use listen::{CONNECTION_TARGET, REPLACED_LIBRARY_LOG_TARGETS};
pub use middleware::ACCESS_TARGET;
pub use request_id::{REQUEST_ID_LOG_KEY, with_current_request_id};
pub use routes::{ENDPOINTS, Endpoint};
pub use state::ApiSettings;
