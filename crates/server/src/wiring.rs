//! Choosing and building the concrete parts from configuration: the one place that does.

use std::sync::Arc;

use coach_plans_config::{Config, DatabaseConfig};
use coach_plans_service::{HeldChangeCheck, PlanService, ServiceSettings};
use coach_plans_sqlite::{ResilientSqlite, SqliteStore};
use coach_plans_storage::{PlanStore, StoreError};

use crate::commands::{fail, say};
use crate::exit::Exit;

/// Opens the configured database, upgrading it if needed. A database that cannot be reached
/// now does not stop the server: changes are held in the journal until it can (SPEC 5.1), and
/// checked against the service's rules when written through.
pub(crate) fn open_store(
    config: &DatabaseConfig,
    settings: &ServiceSettings,
) -> Result<Arc<ResilientSqlite>, Exit> {
    coach_plans_sqlite::open_resilient(config, Arc::new(HeldChangeCheck::new(settings)))
        .map(Arc::new)
        .map_err(cannot_open)
}

/// Opens the configured database directly, for commands that must write it now
/// (`import-legacy`, `simulate`): no fallback to memory.
pub(crate) fn open_sqlite(config: &DatabaseConfig) -> Result<Arc<SqliteStore>, Exit> {
    SqliteStore::open(config)
        .map(|(store, _)| Arc::new(store))
        .map_err(cannot_open)
}

/// Reports a database that could not be opened: exit 3 when it was refused (newer than this
/// build, or not a coach-plans database; nothing was changed), 1 otherwise.
fn cannot_open(error: StoreError) -> Exit {
    if error.is_refused_database() {
        report_once(&error.to_string());
        Exit::IncompatibleDatabase
    } else {
        report_once(&format!("cannot open the database: {error}"));
        Exit::Failure
    }
}

/// An error said once where the operator looks: in the log when logging runs (its console
/// output is standard error, so printing it as well would show it twice), on standard error
/// otherwise.
pub(crate) fn report_once(message: &str) {
    if log::log_enabled!(log::Level::Error) {
        log::error!("{message}");
    } else {
        fail!("{message}");
    }
}

/// An async runtime: the multi-threaded one for `serve`, a single thread for the other commands.
pub(crate) fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, Exit> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|error| {
        fail!("cannot start the async runtime: {error}");
        Exit::Failure
    })
}

/// The configured rules of the plan service.
pub(crate) fn service_settings(config: &Config) -> Result<ServiceSettings, Exit> {
    let timezone = jiff::tz::TimeZone::get(&config.plans.timezone).map_err(|error| {
        fail!("configuration error: invalid plans.timezone (PLANS_TIMEZONE): {error}");
        Exit::Config
    })?;
    let settings = ServiceSettings {
        roster: config.roster(),
        admin_user_ids: config.discord.admin_user_ids.clone(),
        admin_role_ids: config.discord.admin_role_ids.clone(),
        timezone,
        max_chart_attachments: config.plans.max_chart_attachments,
    };
    Ok(settings)
}

/// The plan service with the configured rules.
pub(crate) fn service(config: &Config, store: Arc<dyn PlanStore>) -> Result<PlanService, Exit> {
    Ok(PlanService::new(store, service_settings(config)?))
}

/// Called once at shutdown, after the last request: writes held changes through, or says where
/// they stay (the journal, written through at the next start), so nothing accepted is lost.
pub(crate) async fn close_store(store: Arc<ResilientSqlite>) {
    match tokio::task::spawn_blocking(move || store.close()).await {
        Ok(Some(held)) => say!(
            "the database is unavailable: {} held change(s) stay in {} and are written through when coach-plans next starts",
            held.changes,
            held.journal.display()
        ),
        Ok(None) => {}
        Err(error) => log::error!("closing the store failed: {error}"),
    }
}
