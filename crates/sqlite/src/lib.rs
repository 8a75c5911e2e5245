#![doc = include_str!("../README.md")]

mod delivery;
mod errors;
mod migrations;
mod resilient;
mod rows;
mod store;
mod tables;

#[cfg(feature = "testing")]
pub mod testing;

pub use migrations::{MigrationReport, SchemaStatus};
pub use resilient::{ResilientSqlite, fallback_settings, open_resilient, opener};
pub use store::SqliteStore;
