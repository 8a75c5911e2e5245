//! Archived chart images in PostgreSQL: the chart store contract of the storage crate, each test
//! in a database of its own, and what only a shared database shows: a blob stored through one
//! store (one replica) is read through another, of two writers of one new image one is told it
//! wrote it, and a database that cannot be reached is an error naming the table, not a panic.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::sync::{Arc, Barrier};

use coach_plans_config::DatabaseUrl;
use coach_plans_model::Sha256;
use coach_plans_postgres::PostgresChartStore;
use coach_plans_postgres::testing::TestDatabase;
use coach_plans_storage::contract::charts::ChartFixture;
use coach_plans_storage::{ChartStore, ChartStoreError, sha256_of};

/// A chart store on a database of its own, which its tests can damage behind its back.
struct Fixture {
    store: PostgresChartStore,
    db: TestDatabase,
}

impl ChartFixture for Fixture {
    fn store(&self) -> &dyn ChartStore {
        &self.store
    }

    fn damage(&self, sha256: &Sha256, bytes: &[u8]) -> bool {
        self.db
            .client()
            .execute(
                "UPDATE chart_blobs SET bytes = $1 WHERE sha256 = $2",
                &[&bytes, &sha256.to_string()],
            )
            .is_ok_and(|changed| changed == 1)
    }

    /// A database refusing writes would answer another error than the one the case looks for
    /// (it expects the directory store's `tmp`); the faults of the database are tested below.
    fn break_writes(&self) -> bool {
        false
    }

    fn temp_files(&self) -> usize {
        0
    }
}

fn fresh() -> Fixture {
    let db = TestDatabase::create();
    let store = PostgresChartStore::open(&db.config()).unwrap();
    Fixture { store, db }
}

mod postgres_chart_store {
    coach_plans_storage::chart_store_contract_tests!(super::fresh());
}

fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..300_u32).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    bytes
}

#[test]
fn a_chart_stored_through_one_replica_is_served_by_another() {
    let Fixture { store: first, db } = fresh();
    let second = PostgresChartStore::open(&db.config()).unwrap();
    let bytes = png(1);
    let mut writer = first.writer().unwrap();
    writer.write_all(&bytes).unwrap();
    let blob = writer.commit().unwrap();
    assert_eq!(second.get(&blob.sha256).unwrap(), Some(bytes.clone()));
    let again = second.put(&bytes).unwrap();
    assert!(!again.newly_written, "the other replica stored it already");
    assert_eq!(second.stats().unwrap().count, 1);
    assert!(second.remove(&blob.sha256).unwrap());
    assert!(!first.contains(&blob.sha256).unwrap());
}

#[test]
fn of_two_replicas_storing_one_new_image_at_once_one_writes_it() {
    let Fixture { store, db } = fresh();
    for round in 0..10_u8 {
        let start = Arc::new(Barrier::new(2));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let store = PostgresChartStore::open(&db.config()).unwrap();
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    store.put(&png(round)).unwrap()
                })
            })
            .collect();
        let stored: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(stored[0].sha256, stored[1].sha256);
        let written = stored.iter().filter(|blob| blob.newly_written).count();
        assert_eq!(written, 1, "round {round}: {stored:?}");
    }
    assert_eq!(store.stats().unwrap().count, 10);
}

#[test]
fn a_database_that_cannot_be_reached_is_an_error_naming_the_table_without_the_password() {
    // Nothing listens on this port once the listener is gone.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = coach_plans_config::DatabaseConfig {
        url: Some(DatabaseUrl::new(format!(
            "postgres://coach:s3cret@127.0.0.1:{port}/plans?sslmode=disable"
        ))),
        connection_timeout: std::time::Duration::from_secs(2),
        ..coach_plans_config::DatabaseConfig::default()
    };
    match PostgresChartStore::open(&config) {
        Err(error @ ChartStoreError::Io { .. }) => {
            let message = error.to_string();
            assert!(message.contains("chart_blobs"), "{message}");
            assert!(message.contains("unavailable"), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_chart_store_works_from_a_runtime_thread() {
    let Fixture { store, db: _db } = fresh();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bytes = png(9);
    let read = runtime.block_on(async {
        let blob = store.put(&bytes).unwrap();
        store.get(&blob.sha256).unwrap()
    });
    assert_eq!(read, Some(bytes.clone()));
    assert!(store.contains(&sha256_of(&bytes)).unwrap());
}
