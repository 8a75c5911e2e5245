//! Choosing and building the concrete parts from configuration: the one place that does.

use std::sync::Arc;

use coach_plans_config::{Config, DatabaseConfig};
use coach_plans_postgres::{PostgresStore, ResilientPostgres};
use coach_plans_service::{HeldChangeCheck, PlanService, ServiceSettings};
use coach_plans_sqlite::{ResilientSqlite, SqliteStore};
use coach_plans_storage::{DeliveryLog, PlanStore, RefusedChange, StillHeld, StoreError};

use crate::commands::{fail, say};
use crate::exit::Exit;

/// Opens the configured database, upgrading it if needed. A database that cannot be reached
/// now does not stop the server: changes are held in the journal until it can (SPEC 5.1), and
/// checked against the service's rules when written through.
///
/// `database.url` set selects PostgreSQL; otherwise SQLite at `database.path`. Either sits
/// behind the same fallback, with the same rules.
pub(crate) fn open_store(
    config: &DatabaseConfig,
    settings: &ServiceSettings,
) -> Result<ServedStore, Exit> {
    let rules = Arc::new(HeldChangeCheck::new(settings));
    if config.url.is_some() {
        // The opener connects off the runtime thread startup runs on (the synchronous client
        // cannot block one).
        coach_plans_postgres::open_resilient(config, rules)
            .map(|store| ServedStore::Postgres(Arc::new(store)))
            .map_err(cannot_open)
    } else {
        coach_plans_sqlite::open_resilient(config, rules)
            .map(|store| ServedStore::Sqlite(Arc::new(store)))
            .map_err(cannot_open)
    }
}

/// The store `serve` runs: SQLite or PostgreSQL, behind the fallback that holds changes while
/// it is unavailable.
#[derive(Clone)]
pub(crate) enum ServedStore {
    /// `database.path`.
    Sqlite(Arc<ResilientSqlite>),
    /// `database.url`.
    Postgres(Arc<ResilientPostgres>),
}

impl ServedStore {
    /// The store, for the service.
    pub(crate) fn plans(&self) -> Arc<dyn PlanStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The Discord bot's delivery log in the same database (through the fallback, which
    /// answers `Unavailable` while the database is away).
    pub(crate) fn deliveries(&self) -> Arc<dyn DeliveryLog> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// See [`coach_plans_storage::ResilientStore::on_refused`].
    pub(crate) fn on_refused(&self, listener: impl Fn(&RefusedChange) + Send + Sync + 'static) {
        match self {
            Self::Sqlite(store) => store.on_refused(listener),
            Self::Postgres(store) => store.on_refused(listener),
        }
    }

    /// See [`coach_plans_storage::ResilientStore::close`].
    fn close(&self) -> Option<StillHeld> {
        match self {
            Self::Sqlite(store) => store.close(),
            Self::Postgres(store) => store.close(),
        }
    }
}

/// Opens the configured database directly, for commands that must write it now (`simulate`,
/// `archive-charts`): PostgreSQL when `database.url` is set, SQLite otherwise; no fallback to
/// memory.
pub(crate) fn open_direct(config: &DatabaseConfig) -> Result<Arc<dyn PlanStore>, Exit> {
    if config.url.is_some() {
        PostgresStore::open(config)
            .map(|(store, _)| Arc::new(store) as Arc<dyn PlanStore>)
            .map_err(cannot_open)
    } else {
        open_sqlite(config).map(|store| store as Arc<dyn PlanStore>)
    }
}

/// Opens the SQLite database of `database.path` directly (`import-legacy`, which backs the
/// file up beside itself first). With `database.url` set this is a usage error: the command
/// would write a file the server does not read.
pub(crate) fn open_sqlite(config: &DatabaseConfig) -> Result<Arc<SqliteStore>, Exit> {
    if let Some(url) = &config.url {
        report_once(&format!(
            "this command writes the SQLite database of database.path, but database.url is set ({url}); \
             run it on a SQLite file, then move its plans with `coach-plans copy --from sqlite:FILE --to {url}`"
        ));
        return Err(Exit::Config);
    }
    SqliteStore::open(config)
        .map(|(store, _)| Arc::new(store))
        .map_err(cannot_open)
}

/// The configured database as it may be shown: the URL with its password masked, or the
/// SQLite file.
pub(crate) fn database_name(config: &DatabaseConfig) -> String {
    match &config.url {
        Some(url) => url.masked(),
        None => config.path.display().to_string(),
    }
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
pub(crate) async fn close_store(store: ServedStore) {
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
