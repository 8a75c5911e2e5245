#![doc = include_str!("../README.md")]

mod charts;
mod delivery;
mod error;
mod fallback;
pub mod files;
mod memory;
mod new_plan;
mod revision;
mod store;
pub mod tables;

#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "testing")]
pub mod testing;

pub use charts::{
    BlobStats, BlobWriter, ChartStore, ChartStoreError, DirChartStore, MemoryChartStore,
    StoredBlob, sha256_of,
};
pub use delivery::{Delivery, DeliveryLog, MemoryDeliveryLog};
pub use error::{Cause, StoreError};
pub use fallback::{
    FallbackBuilder, FallbackSettings, HeldChangeRules, OnlyTheAuthor, PROVISIONAL_ID_BASE,
    ProtectedStore, RefusedAction, RefusedChange, ResilientStore, StillHeld,
};
pub use memory::MemoryStore;
pub use new_plan::NewPlan;
pub use revision::Revision;
pub use store::{
    AuthorFilter, ChartCounts, ChartRef, ImportReport, PlanQuery, PlanStore, StoreHealth,
    StoreStats,
};
