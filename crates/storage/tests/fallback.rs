//! The fallback of SPEC 5.1 driven through injected faults: a `FaultyStore` stands for the
//! database, faults are switched on and off by the test, and held changes are written through
//! when the test calls `try_recover` (no background thread, no file lock, no sleep).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coach_plans_model::HistoryAction;
use coach_plans_model::wire::LegacyExport;
use coach_plans_storage::testing::{
    Call, Fault, FaultyStore, coach, date, new_plan, revision, texts_on, ts, user,
};
use coach_plans_storage::{
    FallbackSettings, PROVISIONAL_ID_BASE, PlanQuery, PlanStore, RefusedAction, RefusedChange,
    ResilientStore, StillHeld, StoreError,
};

/// Where the fallback keeps what it holds, under `dir`.
fn settings(dir: &Path) -> FallbackSettings {
    FallbackSettings {
        state_dir: dir.join("state"),
        name: "plans.db".to_owned(),
        retry_max_delay: Duration::from_secs(60),
    }
}

fn journal(dir: &Path) -> PathBuf {
    settings(dir).journal_path()
}

/// A fallback protecting `db`, written through only when the test says.
fn fallback(db: &FaultyStore, dir: &Path) -> ResilientStore<FaultyStore> {
    let db = db.clone();
    ResilientStore::builder(settings(dir))
        .without_background_retry()
        .open(move || db.open())
        .unwrap()
}

/// The database takes no writes, as under another process's lock.
fn go_down(db: &FaultyStore) {
    db.fail(Fault::Writes);
    db.fail(Fault::WriteCheck);
}

/// Collects what `on_refused` tells.
fn listen(store: &ResilientStore<FaultyStore>) -> Arc<Mutex<Vec<RefusedChange>>> {
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&told);
    store.on_refused(move |change| sink.lock().unwrap().push(change.clone()));
    told
}

#[test]
fn writes_while_down_are_held_served_and_written_through_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let before = store
        .create_plan(new_plan("d", "2024-05-09", "stored"))
        .unwrap();

    go_down(&db);
    let held = store
        .create_plan(new_plan("i", "2024-05-10", "held i"))
        .unwrap();
    assert!(held.id.get() > PROVISIONAL_ID_BASE, "a provisional id");
    store
        .revise_plan(
            before.id,
            revision(
                HistoryAction::Edit,
                "edited while down",
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
    store
        .create_plan(new_plan("i", "2024-05-10", "held i again"))
        .unwrap();

    let health = store.health();
    assert!(!health.writable);
    assert_eq!(health.pending_writes, 5);
    assert!(health.error.unwrap().contains("unavailable"));
    assert!(journal(dir.path()).exists(), "held changes are on disk");
    // Reads combine the database and the held changes.
    let d = store.live_plan(&coach("d"), date("2024-05-09")).unwrap();
    assert_eq!(d.unwrap().text.as_str(), "edited while down");
    let i = store.live_plan(&coach("i"), date("2024-05-10")).unwrap();
    assert_eq!(i.unwrap().text.as_str(), "held i again");
    assert_eq!(
        texts_on(&store, "2024-05-10"),
        ["held i again", "held s"],
        "newest first"
    );
    assert_eq!(store.stats().unwrap().live_plans, 3);
    assert_eq!(store.history(before.id).unwrap()[0].text.as_str(), "stored");
    assert_eq!(
        db.inner().stats().unwrap().live_plans,
        1,
        "nothing written yet"
    );

    assert!(!store.try_recover(), "still down");
    db.heal_all();
    assert!(store.try_recover());
    assert!(store.health().writable);
    assert_eq!(store.health().pending_writes, 0);
    assert!(
        !journal(dir.path()).exists(),
        "removed once written through"
    );

    // What the database holds, read without the fallback.
    let stored = db.inner();
    assert_eq!(texts_on(stored, "2024-05-10"), ["held i again", "held s"]);
    assert_eq!(texts_on(stored, "2024-05-09"), ["edited while down"]);
    let d = stored
        .live_plan(&coach("d"), date("2024-05-09"))
        .unwrap()
        .unwrap();
    assert_eq!(d.id, before.id, "an edit keeps the plan's id");
    assert_eq!(stored.history(d.id).unwrap()[0].text.as_str(), "stored");
    // Written in the order they were made: the deleted i, then s, then i again.
    let i_slot = stored.plans_for(&coach("i"), date("2024-05-10")).unwrap();
    assert_eq!(i_slot.len(), 2);
    assert!(i_slot[1].deleted, "the held deletion went through");
    let s = stored
        .live_plan(&coach("s"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert!(
        i_slot[1].id < s.id && s.id < i_slot[0].id,
        "{i_slot:?} {s:?}"
    );
}

#[test]
fn a_write_through_cut_short_keeps_the_rest_held_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let stored = store
        .create_plan(new_plan("n", "2024-05-09", "stored"))
        .unwrap();
    go_down(&db);
    let edit = revision(HistoryAction::Edit, "edited", None, "2024-05-10T13:00:00Z");
    store.revise_plan(stored.id, edit).unwrap();
    for (coach_id, text) in [("d", "first"), ("i", "second"), ("s", "third")] {
        store
            .create_plan(new_plan(coach_id, "2024-05-10", text))
            .unwrap();
    }

    // The database comes back, takes two changes and goes away again.
    db.heal_all();
    db.fail_writes_after(2);
    assert!(!store.try_recover());
    assert_eq!(texts_on(db.inner(), "2024-05-10"), ["first"]);
    assert_eq!(store.health().pending_writes, 2);
    // Served whole, and what was written is not counted twice.
    assert_eq!(texts_on(&store, "2024-05-10"), ["third", "second", "first"]);
    assert_eq!(texts_on(&store, "2024-05-09"), ["edited"]);
    assert_eq!(store.history(stored.id).unwrap().len(), 1);
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.live_plans, stats.live_charts, stats.history_entries),
        (4, 8, 1)
    );
    let first = store.live_plan(&coach("d"), date("2024-05-10")).unwrap();
    assert!(
        first.unwrap().id.get() < PROVISIONAL_ID_BASE,
        "its database id now"
    );

    db.heal_all();
    assert!(store.try_recover());
    assert_eq!(
        texts_on(db.inner(), "2024-05-10"),
        ["third", "second", "first"],
        "newest first: written in the order they were made"
    );
}

#[test]
fn reads_and_held_writes_do_not_wait_for_a_retry_blocked_in_the_write_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = Arc::new(fallback(&db, dir.path()));
    go_down(&db);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    db.heal(Fault::WriteCheck);

    // The write check blocks until the test releases it, then says the database is still
    // locked: a retry waiting out the busy timeout.
    let (entered, in_check) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    db.before_each(move |call| {
        if call != Call::CheckWritable {
            return Ok(());
        }
        let _ = entered.send(());
        let _ = released.lock().unwrap().recv();
        Err(StoreError::Unavailable("still locked".into()))
    });
    let retry = std::thread::spawn({
        let store = Arc::clone(&store);
        move || store.try_recover()
    });
    in_check
        .recv_timeout(Duration::from_secs(10))
        .expect("the retry reaches the write check");

    // Meanwhile, on another thread so that a wait would fail the test instead of hanging it.
    let (done, finished) = mpsc::channel();
    std::thread::spawn({
        let store = Arc::clone(&store);
        move || {
            let health = store.health();
            let read = store.live_plan(&coach("d"), date("2024-05-10")).unwrap();
            let held = store.create_plan(new_plan("i", "2024-05-10", "held meanwhile"));
            done.send((health, read, held.map(|p| p.id))).unwrap();
        }
    });
    let (health, read, held) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("reads and held writes answer while the retry waits");
    assert!(!health.writable);
    assert_eq!(read.unwrap().text.as_str(), "held");
    assert!(held.unwrap().get() > PROVISIONAL_ID_BASE);
    assert!(
        !retry.is_finished(),
        "the retry is still in the write check"
    );

    release.send(()).unwrap();
    assert!(!retry.join().unwrap(), "the retry failed: still locked");
    assert_eq!(store.health().pending_writes, 2);
    db.before_each(|_| Ok(()));
    db.heal_all();
    assert!(store.try_recover());
    assert_eq!(db.inner().stats().unwrap().live_plans, 2);
}

#[test]
fn nothing_is_decided_against_a_database_that_was_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let danas = db
        .create_plan(new_plan("d", "2024-05-10", "dana's real plan"))
        .unwrap();
    db.create_plan(new_plan("n", "2024-05-10", "dana's news plan"))
        .unwrap();

    db.fail(Fault::Opening);
    let store = fallback(&db, dir.path());
    assert!(store.is_holding());
    assert!(!store.health().writable);
    let told = listen(&store);

    // Reads that would need the database answer "unavailable", never "no plan".
    for error in [
        store
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap_err(),
        store.plan(danas.id).unwrap_err(),
        store
            .list_plans(&PlanQuery::on(date("2024-05-10"), 50))
            .unwrap_err(),
        store
            .plans_for(&coach("d"), date("2024-05-10"))
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
    let delete = store.delete_plan(danas.id, user(99, "mallory"), ts("2024-05-10T13:00:00Z"));
    assert!(delete.unwrap_err().is_unavailable());
    // New posts are kept durably, to be checked when the database is back.
    let mut mallorys = new_plan("d", "2024-05-10", "mallory's overwrite");
    mallorys.author = user(99, "mallory");
    store.create_plan(mallorys).unwrap();
    let mut fresh_post = new_plan("i", "2024-05-10", "mallory's own plan");
    fresh_post.author = user(99, "mallory");
    let own = store.create_plan(fresh_post).unwrap();
    assert_eq!(
        store.plan(own.id).unwrap().unwrap().text.as_str(),
        "mallory's own plan",
        "a plan held here is readable"
    );
    store
        .create_plan(new_plan("n", "2024-05-10", "dana replaces her own"))
        .unwrap();
    assert!(
        journal(dir.path()).exists(),
        "journaled in the state directory"
    );

    assert!(!store.try_recover(), "the database still cannot be opened");
    db.heal(Fault::Opening);
    assert!(store.try_recover());

    let stored = db.inner();
    let d = stored
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(d.text.as_str(), "dana's real plan", "not overwritten");
    assert!(
        stored.history(d.id).unwrap().is_empty(),
        "no history invented"
    );
    let i = stored.live_plan(&coach("i"), date("2024-05-10")).unwrap();
    assert_eq!(i.unwrap().text.as_str(), "mallory's own plan");
    let n = stored
        .live_plan(&coach("n"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(n.text.as_str(), "dana replaces her own");
    assert_eq!(
        stored.history(n.id).unwrap()[0].text.as_str(),
        "dana's news plan",
        "the replacement kept the previous version"
    );

    // Told during try_recover, on this thread: nothing to wait for.
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].by.name, "mallory");
    assert_eq!(told[0].action, RefusedAction::Post);
    assert!(told[0].reason.contains("dana"), "{}", told[0].reason);
    let kept = told[0].kept_in.clone().unwrap();
    assert!(kept.starts_with(dir.path().join("state")), "{kept:?}");
    let export: LegacyExport = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(export["coach_d_2024-05-10"].plan, "mallory's overwrite");
}

#[test]
fn an_edit_of_a_plan_changed_meanwhile_is_checked_again_and_refused_when_the_rules_say_no() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let plan = store
        .create_plan(new_plan("d", "2024-05-10", "dana's plan"))
        .unwrap();
    go_down(&db);
    // An admin's edit, decided against dana's version (the service allowed it).
    store
        .revise_plan(
            plan.id,
            revision(
                HistoryAction::Edit,
                "admin's edit",
                None,
                "2024-05-10T13:00:00Z",
            ),
        )
        .unwrap();
    // Meanwhile the database got another version, by another writer.
    let mut other = revision(
        HistoryAction::Replace,
        "dana's replacement",
        None,
        "2024-05-10T13:30:00Z",
    );
    other.by = user(42, "dana");
    db.inner().revise_plan(plan.id, other).unwrap();
    let told = listen(&store);

    db.heal_all();
    assert!(store.try_recover(), "refused is not held");
    let stored = db.inner().plan(plan.id).unwrap().unwrap();
    assert_eq!(
        stored.text.as_str(),
        "dana's replacement",
        "not overwritten"
    );
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].action, RefusedAction::Revise);
    assert_eq!(told[0].plan.text.as_str(), "admin's edit");
    assert!(told[0].reason.contains("dana"), "{}", told[0].reason);
    assert!(told[0].kept_in.is_some());
}

#[test]
fn acknowledged_held_changes_survive_a_crash_and_the_next_start_writes_them_through() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let existing = store
        .create_plan(new_plan("s", "2024-05-09", "stored"))
        .unwrap();
    go_down(&db);
    store
        .create_plan(new_plan("d", "2024-05-10", "held one"))
        .unwrap();
    store
        .create_plan(new_plan("n", "2024-05-10", "held two"))
        .unwrap();
    store
        .delete_plan(existing.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();
    // A crash: the process goes away without closing the store; only files remain.
    drop(store);
    assert!(journal(dir.path()).exists());

    // Restarted while the database is still down: the held changes are served again.
    let restarted = fallback(&db, dir.path());
    assert!(restarted.is_holding());
    assert_eq!(restarted.health().pending_writes, 3);
    assert_eq!(texts_on(&restarted, "2024-05-10"), ["held two", "held one"]);
    assert!(
        restarted
            .live_plan(&coach("s"), date("2024-05-09"))
            .unwrap()
            .is_none()
    );
    // A provisional id made after the restart does not reuse one the journal holds.
    let third = restarted
        .create_plan(new_plan("i", "2024-05-10", "held three"))
        .unwrap();
    assert_eq!(third.id.get(), PROVISIONAL_ID_BASE + 3);
    drop(restarted);

    // Restarted once the database is back: written through before `open` returns.
    db.heal_all();
    let again = fallback(&db, dir.path());
    assert!(!again.is_holding(), "written through at start");
    assert!(!journal(dir.path()).exists());
    assert_eq!(
        texts_on(db.inner(), "2024-05-10"),
        ["held three", "held two", "held one"]
    );
    assert!(
        db.inner()
            .live_plan(&coach("s"), date("2024-05-09"))
            .unwrap()
            .is_none(),
        "the held deletion too"
    );
    drop(again);
    let once_more = fallback(&db, dir.path());
    assert_eq!(
        once_more.stats().unwrap().live_plans,
        3,
        "starting again changes nothing"
    );
}

#[test]
fn a_crash_in_the_middle_of_a_write_through_writes_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let plan = store
        .create_plan(new_plan("d", "2024-05-09", "stored"))
        .unwrap();
    go_down(&db);
    store
        .create_plan(new_plan("d", "2024-05-10", "held post"))
        .unwrap();
    store
        .revise_plan(
            plan.id,
            revision(
                HistoryAction::Edit,
                "held edit",
                None,
                "2024-05-10T13:00:00Z",
            ),
        )
        .unwrap();
    store
        .delete_plan(plan.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();
    // Two of the three reach the database; then the process dies with the journal still whole.
    db.heal_all();
    db.fail_writes_after(2);
    assert!(!store.try_recover());
    drop(store);

    db.heal_all();
    let restarted = fallback(&db, dir.path());
    assert!(!restarted.is_holding());
    let stored = db.inner();
    assert_eq!(
        stored
            .plans_for(&coach("d"), date("2024-05-10"))
            .unwrap()
            .len(),
        1,
        "the post was not written twice"
    );
    let history = stored.history(plan.id).unwrap();
    let actions: Vec<_> = history.iter().map(|h| h.action).collect();
    assert_eq!(
        actions,
        [HistoryAction::Delete, HistoryAction::Edit],
        "the edit once, then the deletion"
    );
    assert_eq!(stored.stats().unwrap().live_plans, 1);
}

#[test]
fn with_nowhere_durable_to_keep_it_a_change_is_refused_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    // The state directory cannot be created: a regular file is in the way.
    std::fs::write(dir.path().join("state"), "a regular file").unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    go_down(&db);
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
        store
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .is_none(),
        "not served either"
    );
    assert!(
        store.close().is_none(),
        "nothing was acknowledged, nothing is held"
    );
}

#[test]
fn closing_once_the_database_is_back_writes_held_plans_instead_of_keeping_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    go_down(&db);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    db.heal_all();
    assert!(store.close().is_none());
    assert!(!journal(dir.path()).exists());
    assert!(
        db.inner()
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn closing_while_still_down_keeps_the_journal_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    go_down(&db);
    for coach_id in ["d", "n"] {
        store
            .create_plan(new_plan(coach_id, "2024-05-10", "held"))
            .unwrap();
    }
    assert_eq!(
        store.close(),
        Some(StillHeld {
            journal: journal(dir.path()),
            changes: 2,
        })
    );
    assert_eq!(db.inner().stats().unwrap().live_plans, 0);
}

#[test]
fn the_background_retry_writes_held_changes_through_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = {
        let db = db.clone();
        ResilientStore::builder(FallbackSettings {
            retry_max_delay: Duration::from_millis(250),
            ..settings(dir.path())
        })
        .open(move || db.open())
        .unwrap()
    };
    go_down(&db);
    store
        .create_plan(new_plan("d", "2024-05-10", "held"))
        .unwrap();
    db.heal_all();
    // The retry thread runs every 0.25 s while changes are held: wait for what it does, with
    // a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.is_holding() {
        assert!(
            std::time::Instant::now() < deadline,
            "the retry thread wrote nothing through in 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(db.inner().stats().unwrap().live_plans, 1);
}

#[test]
fn chart_archive_state_waits_for_the_database_and_held_plans_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = FaultyStore::new();
    let store = fallback(&db, dir.path());
    let stored = store
        .create_plan(new_plan("d", "2024-05-09", "stored"))
        .unwrap();
    let refs = store.charts_to_archive(10).unwrap();
    assert_eq!(refs.len(), 2);

    go_down(&db);
    store
        .create_plan(new_plan("i", "2024-05-10", "held i"))
        .unwrap();
    assert!(store.is_holding());
    // Archive state is not journaled: the archiver is told to come back later.
    assert!(store.charts_to_archive(10).unwrap_err().is_unavailable());
    let failure = store.record_chart_failure(refs[0].id, "timed out", 1, false);
    assert!(failure.unwrap_err().is_unavailable());
    let url = store.record_chart_url(refs[0].id, "https://example.com/a.png");
    assert!(url.unwrap_err().is_unavailable());
    let counts = store.chart_counts().unwrap();
    assert_eq!((counts.pending, counts.archived, counts.failed), (4, 0, 0));
    assert_eq!(
        store.plan(stored.id).unwrap().unwrap().charts,
        stored.charts,
        "nothing was recorded"
    );

    db.heal_all();
    assert!(store.try_recover());
    assert_eq!(store.charts_to_archive(10).unwrap().len(), 4);
    store
        .record_chart_failure(refs[0].id, "timed out", 1, false)
        .unwrap();
    assert_eq!(store.charts_to_archive(10).unwrap()[0].attempts, 1);
}
