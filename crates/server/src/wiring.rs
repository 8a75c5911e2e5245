//! Choosing and building the concrete parts from configuration: the one place that does.

use std::sync::Arc;

use coach_plans_config::{Config, DatabaseConfig};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_storage::{PlanStore, SqliteStore, StoreError};

use crate::commands::fail;
use crate::exit::Exit;

/// Opens the configured database, upgrading it if needed.
pub(crate) fn open_store(config: &DatabaseConfig) -> Result<Arc<dyn PlanStore>, Exit> {
    match SqliteStore::open(config) {
        Ok((store, report)) => {
            if !report.applied.is_empty() {
                log::info!(
                    "database {}: schema {} -> {} (backup: {})",
                    config.path.display(),
                    report
                        .before
                        .map_or_else(|| "new".to_owned(), |v| v.to_string()),
                    report.after,
                    report
                        .backup
                        .as_ref()
                        .map_or_else(|| "none".to_owned(), |p| p.display().to_string())
                );
            }
            Ok(Arc::new(store))
        }
        Err(error @ StoreError::IncompatibleSchema { .. }) => {
            fail!("{error}");
            log::error!("{error}");
            Err(Exit::IncompatibleDatabase)
        }
        Err(error) => {
            fail!("cannot open the database: {error}");
            log::error!("cannot open the database: {error}");
            Err(Exit::Failure)
        }
    }
}

/// The plan service with the configured rules.
pub(crate) fn service(config: &Config, store: Arc<dyn PlanStore>) -> Result<PlanService, Exit> {
    let timezone = jiff::tz::TimeZone::get(&config.plans.timezone).map_err(|error| {
        fail!("invalid plans.timezone: {error}");
        Exit::Config
    })?;
    let settings = ServiceSettings {
        roster: config.roster(),
        admin_user_ids: config.discord.admin_user_ids.clone(),
        admin_role_ids: config.discord.admin_role_ids.clone(),
        timezone,
        max_chart_attachments: config.plans.max_chart_attachments,
    };
    Ok(PlanService::new(store, settings))
}

/// Called once at shutdown, after the last request: makes sure nothing accepted is lost.
pub(crate) async fn close_store(_service: &PlanService) {}
