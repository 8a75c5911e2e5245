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

mod sqlite_delivery_log {
    coach_plans_storage::delivery_log_contract_tests!(super::fresh_sqlite());
}

/// What the bot recorded is still there after the database is closed and opened again.
#[test]
fn the_delivery_log_survives_reopening() {
    use coach_plans_model::{ChannelId, MessageId, PlanId, UserId};
    use coach_plans_storage::{Delivery, DeliveryLog};

    let dir = tempfile::tempdir().unwrap();
    let delivery = Delivery {
        message: MessageId::new(1_300_000_000_000_000_001).unwrap(),
        channel: ChannelId::new(500).unwrap(),
        author: UserId::new(42).unwrap(),
        plan: PlanId::new(7),
        content: "!plan d NVDA above 950".to_owned(),
    };
    {
        let (store, _) = SqliteStore::open(&config(&dir)).unwrap();
        assert!(store.record(&delivery).unwrap());
    }
    let (store, _) = SqliteStore::open(&config(&dir)).unwrap();
    assert_eq!(
        store.delivery(delivery.message).unwrap(),
        Some(delivery.clone())
    );
    assert!(
        !store.record(&delivery).unwrap(),
        "recorded once, across restarts"
    );
    assert_eq!(
        store.cursors().unwrap(),
        vec![(delivery.channel, delivery.message)]
    );
}

mod fallback_delivery_log {
    coach_plans_storage::delivery_log_contract_tests!(super::fresh_fallback());
}
