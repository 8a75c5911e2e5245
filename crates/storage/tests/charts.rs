//! The contract of `ChartStore`, run against the in-memory and the directory store.

mod memory {
    coach_plans_storage::chart_store_contract_tests!(coach_plans_storage::MemoryChartStore::new());
}

mod directory {
    coach_plans_storage::chart_store_contract_tests!(super::fresh_dir());
}

/// A directory store in a fresh temporary directory, dropped after the store.
fn fresh_dir() -> (coach_plans_storage::DirChartStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = coach_plans_storage::DirChartStore::open(dir.path().join("charts"))
        .unwrap_or_else(|e| panic!("{e}"));
    (store, dir)
}
