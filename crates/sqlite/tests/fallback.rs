//! The fallback around SQLite with real faults: another connection's `BEGIN EXCLUSIVE`, a
//! database directory that is a regular file, the files a crash leaves. (The fallback's
//! behaviour in detail is tested in the storage crate against injected faults.) Held changes
//! are written through when the test calls `try_recover`: no background thread, no sleep.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use coach_plans_config::DatabaseConfig;
use coach_plans_model::HistoryAction;
use coach_plans_sqlite::testing::Locker;
use coach_plans_sqlite::{ResilientSqlite, SqliteStore, fallback_settings, opener};
use coach_plans_storage::testing::{coach, date, new_plan, revision, texts_on, ts, user};
use coach_plans_storage::{PROVISIONAL_ID_BASE, PlanStore, ResilientStore};

fn config(path: &Path) -> DatabaseConfig {
    DatabaseConfig {
        path: path.to_owned(),
        connection_timeout: Duration::from_millis(100),
        ..DatabaseConfig::default()
    }
}

/// The fallback around the database of `config`, written through only when the test says.
fn fallback(config: &DatabaseConfig) -> ResilientSqlite {
    ResilientStore::builder(fallback_settings(config))
        .without_background_retry()
        .open(opener(config))
        .unwrap()
}

#[test]
fn writes_during_a_lock_are_held_served_and_written_through_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = fallback(&config(&path));
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
        .delete_plan(held.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();

    let health = store.health();
    assert!(!health.writable);
    assert_eq!(health.pending_writes, 4);
    assert!(health.error.unwrap().contains("locked"), "says why");
    // The database is still read under the lock (WAL), combined with the held changes.
    assert_eq!(texts_on(&store, "2024-05-10"), ["held s"]);
    assert_eq!(texts_on(&store, "2024-05-09"), ["edited while locked"]);
    assert!(!store.try_recover(), "still locked");

    drop(locker);
    assert!(store.try_recover());
    assert!(store.health().writable);
    assert!(!dir.path().join("plans.db.journal").exists());

    // What is on disk, read by a fresh store.
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!(texts_on(&fresh, "2024-05-10"), ["held s"]);
    assert_eq!(texts_on(&fresh, "2024-05-09"), ["edited while locked"]);
    assert_eq!(fresh.history(before.id).unwrap()[0].text.as_str(), "stored");
    let i_slot = fresh.plans_for(&coach("i"), date("2024-05-10")).unwrap();
    assert_eq!(i_slot.len(), 1);
    assert!(
        i_slot[0].deleted,
        "the held plan and its deletion, in order"
    );
}

#[test]
fn a_path_that_cannot_be_created_holds_new_plans_in_the_state_dir_and_writes_them_through_once_fixed()
 {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("data");
    std::fs::write(&blocker, "a regular file where the directory should be").unwrap();
    let path = blocker.join("plans.db");
    let store = fallback(&DatabaseConfig {
        state_dir: Some(dir.path().join("state")),
        ..config(&path)
    });
    assert!(store.is_holding());
    assert!(!store.health().writable);
    let plan = store
        .create_plan(new_plan("d", "2024-05-10", "in the journal"))
        .unwrap();
    assert_eq!(
        store.plan(plan.id).unwrap().unwrap().text.as_str(),
        "in the journal"
    );
    let journal = dir.path().join("state/plans.db.journal");
    assert!(journal.exists(), "journaled in the state directory");
    assert!(!store.try_recover(), "still blocked");

    std::fs::remove_file(&blocker).unwrap();
    assert!(store.try_recover(), "the database is created and written");
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    let stored = fresh
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.text.as_str(), "in the journal");
    assert_eq!(stored.charts.len(), 2);
    assert!(!journal.exists(), "removed once written through");
}

#[test]
fn the_files_a_crash_leaves_while_changes_are_held_are_written_through_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/plans.db");
    let store = fallback(&config(&path));
    let existing = store
        .create_plan(new_plan("s", "2024-05-09", "stored"))
        .unwrap();
    let locker = Locker::lock(&path);
    store
        .create_plan(new_plan("d", "2024-05-10", "held one"))
        .unwrap();
    store
        .create_plan(new_plan("n", "2024-05-10", "held two"))
        .unwrap();
    store
        .delete_plan(existing.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();

    // What a crash right now would leave: copy the directory while the store still runs.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), crashed.join(entry.file_name())).unwrap();
    }
    let restarted = fallback(&config(&crashed.join("plans.db")));
    assert!(!restarted.is_holding(), "written through at start");
    assert!(!crashed.join("plans.db.journal").exists());
    assert_eq!(texts_on(&restarted, "2024-05-10"), ["held two", "held one"]);
    assert!(
        restarted
            .live_plan(&coach("s"), date("2024-05-09"))
            .unwrap()
            .is_none(),
        "the held deletion too"
    );

    // A clean stop while still locked keeps them in the journal and says where.
    let held = store.close().unwrap();
    assert_eq!(held.changes, 3);
    assert_eq!(held.journal, dir.path().join("data/plans.db.journal"));
    drop(locker);
}
