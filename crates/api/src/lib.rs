#![doc = include_str!("../README.md")]

mod access;
mod app;
mod bare_errors;
mod bot;
mod cache;
mod compat;
mod error;
mod gate;
mod listen;
mod metrics;
mod native;
mod ops;
mod query;
mod respond;
mod routes;

/// The running server [`Api::serve`] returns, and its handle, so callers need not name
/// actix-web.
pub use actix_web::dev::{Server, ServerHandle};
pub use app::{Api, ApiSettings};
pub use bot::{BotStatusSource, StaticBotStatus};
pub use gate::{ACCESS_TARGET, REQUEST_ID_LOG_KEY};
pub use listen::{CONNECTION_TARGET, REPLACED_LIBRARY_LOG_TARGETS};
pub use routes::{ENDPOINTS, Endpoint};
