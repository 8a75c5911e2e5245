#![doc = include_str!("../README.md")]

mod changes;
mod error;
mod files;
mod import;
mod journal;
mod memory;
mod resilient;
mod sqlite;
mod store;

pub use error::{Cause, StoreError};
pub use memory::MemoryStore;
pub use resilient::{
    HeldChangeRules, OnlyTheAuthor, PROVISIONAL_ID_BASE, RefusedAction, RefusedChange,
    ResilientStore, StillHeld, journal_path,
};
pub use sqlite::{MigrationReport, SchemaStatus, SqliteStore};
pub use store::{
    AuthorFilter, ImportReport, NewPlan, PlanQuery, PlanStore, Revision, StoreHealth, StoreStats,
};
