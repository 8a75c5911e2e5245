#![doc = include_str!("../README.md")]

mod error;
mod import;
mod memory;
mod sqlite;
mod store;

pub use error::{Cause, StoreError};
pub use memory::MemoryStore;
pub use sqlite::{MigrationReport, SchemaStatus, SqliteStore};
pub use store::{
    AuthorFilter, ImportReport, NewPlan, PlanQuery, PlanStore, Revision, StoreHealth, StoreStats,
};
