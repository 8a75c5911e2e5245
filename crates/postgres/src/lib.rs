#![doc = include_str!("../README.md")]

mod charts;
mod connect;
mod delivery;
mod errors;
mod migrations;
mod replicas;
mod resilient;
mod rows;
mod store;
mod tables;

#[cfg(feature = "testing")]
pub mod testing;

pub use charts::PostgresChartStore;
pub use connect::is_postgres_url;
pub use migrations::{MigrationReport, SchemaStatus};
pub use replicas::{
    CHANGES_CHANNEL, Coordinator, ElectionSettings, GATEWAY_LOCK, elect_leader, listen_for_changes,
};
pub use resilient::{ResilientPostgres, fallback_settings, open_resilient, opener};
pub use store::PostgresStore;
