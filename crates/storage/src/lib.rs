#![doc = include_str!("../README.md")]

mod changes;
mod error;
mod files;
mod import;
mod memory;
mod resilient;
mod sqlite;
mod store;

pub use error::{Cause, StoreError};
pub use memory::MemoryStore;
pub use resilient::{PROVISIONAL_ID_BASE, ResilientStore, Spill};
pub use sqlite::{MigrationReport, SchemaStatus, SqliteStore};
pub use store::{
    AuthorFilter, ImportReport, NewPlan, PlanQuery, PlanStore, Revision, StoreHealth, StoreStats,
};
