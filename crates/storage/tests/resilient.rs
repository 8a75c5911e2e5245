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
fn a_path_that_cannot_be_created_holds_new_plans_in_the_state_dir_and_writes_them_through_once_fixed()
 {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("data");
    std::fs::write(&blocker, "a regular file where the directory should be").unwrap();
    let path = blocker.join("plans.db");
    let store = ResilientStore::open(&DatabaseConfig {
        state_dir: Some(dir.path().join("state")),
        ..config(&path)
    })
    .unwrap();
    assert!(store.is_holding());
    assert!(!store.health().writable);
    let plan = store
        .create_plan(new_plan("d", "2024-05-10", "in the journal"))
        .unwrap();
    assert_eq!(
        store.plan(plan.id).unwrap().unwrap().text.as_str(),
        "in the journal",
        "a plan held here is readable"
    );
    assert!(
        dir.path().join("state/plans.db.journal").exists(),
        "journaled in the state directory"
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
    assert_eq!(stored.text.as_str(), "in the journal");
    assert_eq!(stored.charts.len(), 2);
    assert!(
        !dir.path().join("state/plans.db.journal").exists(),
        "the journal is removed once written through"
    );
}

#[test]
fn with_nowhere_durable_to_keep_it_a_change_is_refused_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("data");
    std::fs::write(&blocker, "a regular file where the directory should be").unwrap();
    let store = ResilientStore::open(&config(&blocker.join("plans.db"))).unwrap();
    let error = store
        .create_plan(new_plan("d", "2024-05-10", "nowhere to keep me"))
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(
        error.to_string().contains("cannot be kept durably"),
        "{error}"
    );
    assert_eq!(store.health().pending_writes, 0);
    assert!(
        store.close().is_none(),
        "nothing was acknowledged, nothing is held"
    );
}

/// Moves the database's directory away and puts a regular file in its place, so a store opened
/// now cannot read it; `restore` puts it back.
struct Hidden {
    dir: std::path::PathBuf,
    aside: std::path::PathBuf,
}

impl Hidden {
    fn hide(dir: &Path) -> Self {
        let aside = dir.with_extension("aside");
        std::fs::rename(dir, &aside).unwrap();
        std::fs::write(dir, "not a directory").unwrap();
        Self {
            dir: dir.to_owned(),
            aside,
        }
    }

    fn restore(self) {
        std::fs::remove_file(&self.dir).unwrap();
        std::fs::rename(&self.aside, &self.dir).unwrap();
    }
}

#[test]
fn nothing_is_decided_against_a_database_that_was_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.join("plans.db");
    let (db, _) = SqliteStore::open(&config(&path)).unwrap();
    let danas = db
        .create_plan(new_plan("d", "2024-05-10", "dana's real plan"))
        .unwrap();
    db.create_plan(new_plan("n", "2024-05-10", "dana's news plan"))
        .unwrap();
    drop(db);

    let hidden = Hidden::hide(&data);
    let store = ResilientStore::open(&DatabaseConfig {
        state_dir: Some(dir.path().join("state")),
        ..config(&path)
    })
    .unwrap();
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&told);
    store.on_refused(move |change| sink.lock().unwrap().push(change.clone()));

    // Reads that would need the database answer "unavailable", never "no plan".
    for error in [
        store
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap_err(),
        store.plan(danas.id).unwrap_err(),
        store
            .list_plans(&PlanQuery::on(date("2024-05-10"), 50))
            .unwrap_err(),
        store.stats().unwrap_err(),
        store.history(danas.id).unwrap_err(),
    ] {
        assert!(error.is_unavailable(), "{error}");
    }
    // Edits and deletions of plans it cannot see are refused.
    let edit = store.revise_plan(
        danas.id,
        revision(
            HistoryAction::Edit,
            "blind edit",
            None,
            "2024-05-10T13:00:00Z",
        ),
    );
    assert!(edit.unwrap_err().is_unavailable());
    let delete = store.delete_plan(
        danas.id,
        user(99, "mallory"),
        common::ts("2024-05-10T13:00:00Z"),
    );
    assert!(delete.unwrap_err().is_unavailable());
    // New posts are kept durably, to be checked when the database is back.
    let mut mallorys = new_plan("d", "2024-05-10", "mallory's overwrite");
    mallorys.author = user(99, "mallory");
    store.create_plan(mallorys).unwrap();
    let mut fresh_post = new_plan("i", "2024-05-10", "mallory's own plan");
    fresh_post.author = user(99, "mallory");
    store.create_plan(fresh_post).unwrap();
    store
        .create_plan(new_plan("n", "2024-05-10", "dana replaces her own"))
        .unwrap();

    hidden.restore();
    wait_until("the held changes are written through", || {
        !store.is_holding()
    });

    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    let d = fresh
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(d.text.as_str(), "dana's real plan", "not overwritten");
    assert!(
        fresh.history(d.id).unwrap().is_empty(),
        "no history invented"
    );
    let i = fresh
        .live_plan(&coach("i"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(i.text.as_str(), "mallory's own plan");
    let n = fresh
        .live_plan(&coach("n"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(n.text.as_str(), "dana replaces her own");
    assert_eq!(
        fresh.history(n.id).unwrap()[0].text.as_str(),
        "dana's news plan"
    );

    wait_until("the refusal is told", || !told.lock().unwrap().is_empty());
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].by.name, "mallory");
    assert_eq!(told[0].action, coach_plans_storage::RefusedAction::Post);
    assert!(told[0].reason.contains("dana"), "{}", told[0].reason);
    let kept = told[0].kept_in.clone().unwrap();
    assert!(kept.starts_with(dir.path().join("state")), "{kept:?}");
    let export: LegacyExport = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(export["coach_d_2024-05-10"].plan, "mallory's overwrite");
}

#[test]
fn acknowledged_held_changes_are_on_disk_and_the_next_start_writes_them_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/plans.db");
    let store = with_slow_retries(&path);
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
        .delete_plan(
            existing.id,
            user(42, "dana"),
            common::ts("2024-05-10T14:00:00Z"),
        )
        .unwrap();

    // What a crash right now would leave: copy the directory while the store still runs.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), crashed.join(entry.file_name())).unwrap();
    }
    let restarted = ResilientStore::open(&config(&crashed.join("plans.db"))).unwrap();
    assert!(!restarted.is_holding(), "written through at start");
    assert!(!crashed.join("plans.db.journal").exists());
    let texts: Vec<String> = restarted
        .list_plans(&PlanQuery::on(date("2024-05-10"), 50))
        .unwrap()
        .into_iter()
        .map(|p| p.text.as_str().to_owned())
        .collect();
    assert_eq!(texts, ["held two", "held one"]);
    assert!(
        restarted
            .live_plan(&coach("s"), date("2024-05-09"))
            .unwrap()
            .is_none(),
        "the held deletion too"
    );
    // Starting again changes nothing.
    drop(restarted);
    let again = ResilientStore::open(&config(&crashed.join("plans.db"))).unwrap();
    assert_eq!(again.stats().unwrap().live_plans, 2);

    // A clean stop while still locked keeps them in the journal and says where.
    let held = store.close().unwrap();
    assert_eq!(held.changes, 3);
    assert_eq!(held.journal, dir.path().join("data/plans.db.journal"));
    drop(locker);
}

#[test]
fn closing_once_the_database_is_back_writes_held_plans_instead_of_keeping_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let store = with_slow_retries(&path);
    let locker = Locker::lock(&path);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    drop(locker);
    // Written by the last attempt in `close`, or by a background retry just before it: either
    // way it is in the database and nothing stays held.
    assert!(store.close().is_none());
    assert!(!dir.path().join("plans.db.journal").exists());
    let (fresh, _) = SqliteStore::open(&config(&path)).unwrap();
    assert!(
        fresh
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .is_some()
    );
}
