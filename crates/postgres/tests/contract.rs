//! The contracts of `PlanStore` and `DeliveryLog` (from the storage crate's kit), run against
//! PostgreSQL alone and behind the fallback the server runs, each test in a database of its
//! own.
#![allow(clippy::unwrap_used)]

use coach_plans_postgres::testing::TestDatabase;
use coach_plans_postgres::{PostgresStore, ResilientPostgres};
use coach_plans_storage::OnlyTheAuthor;

mod postgres {
    coach_plans_storage::contract_tests!(super::fresh_postgres());
}

mod fallback_around_postgres {
    coach_plans_storage::contract_tests!(super::fresh_fallback());
}

mod postgres_delivery_log {
    coach_plans_storage::delivery_log_contract_tests!(super::fresh_postgres());
}

mod fallback_delivery_log {
    coach_plans_storage::delivery_log_contract_tests!(super::fresh_fallback());
}

fn fresh_postgres() -> (PostgresStore, TestDatabase) {
    let db = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();
    (store, db)
}

fn fresh_fallback() -> (ResilientPostgres, (TestDatabase, tempfile::TempDir)) {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let config = coach_plans_config::DatabaseConfig {
        state_dir: Some(dir.path().to_owned()),
        ..db.config()
    };
    let store =
        coach_plans_postgres::open_resilient(&config, std::sync::Arc::new(OnlyTheAuthor)).unwrap();
    (store, (db, dir))
}
