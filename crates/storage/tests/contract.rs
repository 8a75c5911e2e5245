//! The contract of `PlanStore`, run against the in-memory store and the fallback around it.
//! (SQLite runs it in its own crate, alone and behind the fallback.)
#![allow(clippy::unwrap_used)]

use coach_plans_storage::{FallbackSettings, MemoryStore, ResilientStore};

mod memory {
    coach_plans_storage::contract_tests!(coach_plans_storage::MemoryStore::new());
}

mod fallback_around_memory {
    coach_plans_storage::contract_tests!(super::fallback_around_memory());
}

/// A fallback protecting a fresh memory store, with its state directory.
fn fallback_around_memory() -> (ResilientStore<MemoryStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = FallbackSettings {
        state_dir: dir.path().to_owned(),
        name: "plans".to_owned(),
        retry_max_delay: std::time::Duration::from_secs(60),
    };
    let store = ResilientStore::builder(settings)
        .without_background_retry()
        .open(|| Ok(MemoryStore::new()))
        .unwrap();
    (store, dir)
}

mod memory_delivery_log {
    coach_plans_storage::delivery_log_contract_tests!(coach_plans_storage::MemoryDeliveryLog::new());
}
