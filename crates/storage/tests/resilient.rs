//! The fallback of SPEC 5.1 with real faults: another process's lock on the database, and a
//! database path that cannot be created.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use coach_plans_config::DatabaseConfig;
use coach_plans_model::HistoryAction;
use coach_plans_model::wire::LegacyExport;
use coach_plans_storage::{PROVISIONAL_ID_BASE, PlanQuery, PlanStore, ResilientStore, SqliteStore};
use common::{coach, date, new_plan, revision, user};
use rusqlite::Connection;

fn config(path: &Path) -> DatabaseConfig {
    DatabaseConfig {
        path: path.to_owned(),
        connection_timeout: Duration::from_millis(100),
        retry_max_delay: Duration::from_millis(200),
        ..DatabaseConfig::default()
    }
}

/// A store whose background retries back off to a minute between attempts.
fn with_slow_retries(path: &Path) -> ResilientStore {
    ResilientStore::open(&DatabaseConfig {
        retry_max_delay: Duration::from_secs(60),
        ..config(path)
    })
    .unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Holds `BEGIN EXCLUSIVE` on the file, as another process would, until dropped.
struct Locker(Connection);

impl Locker {
    fn lock(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        Self(conn)
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

#[test]
fn writes_during_a_lock_are_held_served_and_written_through_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = ResilientStore::open(&config(&path)).unwrap();
    let before = store
        .create_plan(new_plan("d", "2024-05-09", "stored"))
        .unwrap();

    let locker = Locker::lock(&path);
    let held = store
        .create_plan(new_plan("i", "2024-05-10", "held i"))
        .unwrap();
    assert!(held.id.get() > PROVISIONAL_ID_BASE, "a provisional id");
    store
        .revise_plan(
            before.id,
            revision(
                HistoryAction::Edit,
                "edited while locked",
                None,
                "2024-05-10T13:00:00Z",
            ),
        )
        .unwrap();
    store
        .create_plan(new_plan("s", "2024-05-10", "held s"))
        .unwrap();
    store
        .delete_plan(
            held.id,
            user(42, "dana"),
            common::ts("2024-05-10T14:00:00Z"),
        )
        .unwrap();
    store
        .create_plan(new_plan("i", "2024-05-10", "held i again"))
        .unwrap();

    let health = store.health();
    assert!(!health.writable);
    assert_eq!(health.pending_writes, 5);
    assert!(health.error.unwrap().contains("unavailable"));
    // Reads combine the database and the held changes.
    assert_eq!(
        store
            .live_plan(&coach("d"), date("2024-05-09"))
            .unwrap()
            .unwrap()
            .text
            .as_str(),
        "edited while locked"
    );
    assert_eq!(
        store
            .live_plan(&coach("i"), date("2024-05-10"))
            .unwrap()
            .unwrap()
            .text
            .as_str(),
        "held i again"
    );
    let listed: Vec<_> = store
        .list_plans(&PlanQuery::on(date("2024-05-10"), 50))
        .unwrap()
        .into_iter()
        .map(|p| p.text.as_str().to_owned())
        .collect();
    assert_eq!(listed, ["held i again", "held s"]);
    assert_eq!(store.stats().unwrap().live_plans, 3);
    assert_eq!(store.history(before.id).unwrap()[0].text.as_str(), "stored");

    drop(locker);
    wait_until("the retry thread writes the held changes through", || {
        !store.is_holding()
    });
    assert!(store.health().writable);
    assert_eq!(store.health().pending_writes, 0);

    // What is on disk, read by a fresh store.
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    let texts = |day: &str| -> Vec<String> {
        fresh
            .list_plans(&PlanQuery::on(date(day), 50))
            .unwrap()
            .into_iter()
            .map(|p| p.text.as_str().to_owned())
            .collect()
    };
    assert_eq!(texts("2024-05-10"), ["held i again", "held s"]);
    assert_eq!(texts("2024-05-09"), ["edited while locked"]);
    let d = fresh
        .live_plan(&coach("d"), date("2024-05-09"))
        .unwrap()
        .unwrap();
    assert_eq!(d.id, before.id, "an edit keeps the plan's id");
    assert_eq!(fresh.history(d.id).unwrap()[0].text.as_str(), "stored");
    // The deleted held plan went through too: the i/05-10 slot has a deleted plan and a live one.
    let slots = fresh.plans_for(&coach("i"), date("2024-05-10")).unwrap();
    assert_eq!(slots.len(), 2);
    assert!(slots[1].deleted);
    assert_eq!(fresh.stats().unwrap().live_plans, 3);
}

#[test]
fn reads_and_held_writes_do_not_wait_for_a_retry_blocked_by_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = std::sync::Arc::new(
        ResilientStore::open(&DatabaseConfig {
            connection_timeout: Duration::from_millis(1500),
            retry_max_delay: Duration::from_secs(60),
            ..config(&path)
        })
        .unwrap(),
    );
    let locker = Locker::lock(&path);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    // A retry that waits the whole busy timeout on the locked database.
    let (done, finished) = std::sync::mpsc::channel();
    let retrying = std::sync::Arc::clone(&store);
    let retry = std::thread::spawn(move || {
        let recovered = retrying.try_recover();
        done.send(recovered).unwrap();
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!store.health().writable);
    assert!(
        store
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .is_some()
    );
    store
        .create_plan(new_plan("i", "2024-05-10", "held meanwhile"))
        .unwrap();
    assert!(
        finished.try_recv().is_err(),
        "the reads and the held write above did not wait for the retry"
    );
    assert!(!finished.recv().unwrap(), "the retry failed: still locked");
    retry.join().unwrap();
    drop(locker);
    assert!(store.try_recover());
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!(fresh.stats().unwrap().live_plans, 2);
}

#[test]
fn a_path_that_cannot_be_created_starts_in_memory_and_writes_through_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("data");
    std::fs::write(&blocker, "a regular file where the directory should be").unwrap();
    let path = blocker.join("plans.db");
    let store = ResilientStore::open(&config(&path)).unwrap();
    assert!(store.is_holding());
    assert!(!store.health().writable);
    let plan = store
        .create_plan(new_plan("d", "2024-05-10", "in memory"))
        .unwrap();
    assert_eq!(
        store.plan(plan.id).unwrap().unwrap().text.as_str(),
        "in memory"
    );
    assert!(!store.try_recover(), "still blocked");

    std::fs::remove_file(&blocker).unwrap();
    wait_until("the database is created and written", || {
        !store.is_holding()
    });
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    let stored = fresh
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.text.as_str(), "in memory");
    assert_eq!(stored.charts.len(), 2);
}

#[test]
fn stopping_while_locked_spills_held_plans_to_a_legacy_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = with_slow_retries(&path);
    let _locker = Locker::lock(&path);
    store
        .create_plan(new_plan("d", "2024-05-10", "spill me"))
        .unwrap();
    store
        .create_plan(new_plan("n", "2024-05-10", "me too"))
        .unwrap();
    let spill = store.close().unwrap();
    assert_eq!(spill.plans, 2);
    assert_eq!(
        spill.path.parent().unwrap(),
        dir.path(),
        "beside the database"
    );
    let export: LegacyExport =
        serde_json::from_slice(&std::fs::read(&spill.path).unwrap()).unwrap();
    let record = &export["coach_d_2024-05-10"];
    assert_eq!(record.plan, "spill me");
    assert_eq!(record.author, "dana");
    assert_eq!(record.charts.len(), 2);
    assert!(export.contains_key("coach_n_2024-05-10"));
}

#[test]
fn closing_once_the_database_is_back_writes_held_plans_instead_of_spilling() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = with_slow_retries(&path);
    let locker = Locker::lock(&path);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    drop(locker);
    // Written by the last attempt in `close`, or by a background retry just before it: either
    // way it is in the database and nothing is spilled.
    assert!(store.close().is_none());
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    assert!(
        fresh
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .is_some()
    );
}
