//! The contract of `PlanStore` (from the storage crate's kit), run against SQLite alone and
//! behind the fallback the server runs.
#![allow(clippy::unwrap_used)]

use coach_plans_config::DatabaseConfig;
use coach_plans_sqlite::{ResilientSqlite, SqliteStore};
use coach_plans_storage::OnlyTheAuthor;

mod sqlite {
    coach_plans_storage::contract_tests!(super::fresh_sqlite());
}

mod fallback_around_sqlite {
    coach_plans_storage::contract_tests!(super::fresh_fallback());
}

fn config(dir: &tempfile::TempDir) -> DatabaseConfig {
    DatabaseConfig {
        path: dir.path().join("plans.db"),
        ..DatabaseConfig::default()
    }
}

fn fresh_sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = SqliteStore::open(&config(&dir)).unwrap();
    (store, dir)
}

fn fresh_fallback() -> (ResilientSqlite, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        coach_plans_sqlite::open_resilient(&config(&dir), std::sync::Arc::new(OnlyTheAuthor))
            .unwrap();
    (store, dir)
}
