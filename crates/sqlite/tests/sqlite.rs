//! What only the SQLite store does: files, migrations, adoption of the Python version's
//! database, durability and lock contention.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use coach_plans_config::DatabaseConfig;
use coach_plans_model::HistoryAction;
use coach_plans_sqlite::SqliteStore;
use coach_plans_sqlite::testing::Locker;
use coach_plans_storage::testing::{coach, date, new_plan};
use coach_plans_storage::{PlanStore, StoreError};
use rusqlite::Connection;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/legacy-v1-sample.db"
);

fn config(path: &Path) -> DatabaseConfig {
    DatabaseConfig {
        path: path.to_owned(),
        ..Default::default()
    }
}

fn copy_fixture(dir: &Path) -> PathBuf {
    let path = dir.join("coach_plans.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    path
}

/// Every row of a table, each column rendered as text, in id order.
fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| {
                row.get::<_, rusqlite::types::Value>(i)
                    .map(|v| format!("{v:?}"))
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

const LEGACY_PLANS: &str = "SELECT id, coach_name, date, plan, author, channel, created_at, edited_at, is_deleted FROM coach_plans ORDER BY id";
const LEGACY_CHARTS: &str =
    "SELECT id, plan_id, chart_url, filename, added_at FROM plan_charts ORDER BY id";
const LEGACY_HISTORY: &str =
    "SELECT id, plan_id, plan_text, edited_by, edited_at FROM plan_history ORDER BY id";

#[test]
fn the_python_database_is_adopted_with_every_row_kept() {
    let original = Connection::open(FIXTURE).unwrap();
    let before: Vec<_> = [LEGACY_PLANS, LEGACY_CHARTS, LEGACY_HISTORY]
        .iter()
        .map(|sql| rows(&original, sql))
        .collect();
    assert_eq!(
        before.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 2, 1],
        "the fixture is what we think it is"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let (store, report) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!(
        (report.before, report.after, report.applied.clone()),
        (Some(1), 4, vec![2, 3, 4])
    );

    let backup = report.backup.expect("an upgrade makes a backup");
    assert!(
        backup
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("coach_plans.db.v1-backup-"),
        "{backup:?}"
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        std::fs::read(FIXTURE).unwrap(),
        "the backup is the original"
    );

    let upgraded = Connection::open(&path).unwrap();
    let after: Vec<_> = [LEGACY_PLANS, LEGACY_CHARTS, LEGACY_HISTORY]
        .iter()
        .map(|sql| rows(&upgraded, sql))
        .collect();
    assert_eq!(
        after, before,
        "every plan, chart and history row is unchanged"
    );
    let versions = rows(
        &upgraded,
        "SELECT version, applied_at FROM schema_version ORDER BY version",
    );
    assert_eq!(
        versions[0],
        rows(&original, "SELECT version, applied_at FROM schema_version")[0]
    );
    assert_eq!(versions.len(), 4);

    // Through the store: charts in order, the deleted plan still deleted, history kept.
    let plan = store
        .live_plan(&coach("d"), date("2024-01-15"))
        .unwrap()
        .unwrap();
    assert_eq!(plan.text.as_str(), "Updated: Watch for breakout above $975");
    assert_eq!(plan.author.name, "TestUser");
    assert_eq!(plan.author.id, None);
    assert_eq!(plan.channel.name.as_deref(), Some("#trading"));
    assert_eq!(
        plan.created_at.as_str(),
        "2025-11-09T13:35:57.211386",
        "naive timestamps are kept"
    );
    assert_eq!(
        plan.edited_at.as_ref().unwrap().as_str(),
        "2025-11-09T13:35:57.215514"
    );
    let charts: Vec<_> = plan
        .charts
        .iter()
        .map(|c| (c.url(), c.position()))
        .collect();
    assert_eq!(
        charts,
        [
            ("https://example.com/chart1.png", 0),
            ("https://example.com/chart2.png", 1)
        ]
    );
    let history = store.history(plan.id).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].action, history[0].text.as_str()),
        (HistoryAction::Edit, "Watch for breakout above $950")
    );
    assert_eq!(
        history[0].charts, None,
        "the Python version did not record charts in history"
    );
    let swing = store.plans_for(&coach("s"), date("2024-01-15")).unwrap();
    assert_eq!(swing.len(), 1);
    assert!(swing[0].deleted);
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.live_plans, stats.live_charts, stats.history_entries),
        (2, 2, 1)
    );
    // Their charts wait for the archiver, the expired links first.
    assert!(plan.charts.iter().all(|c| c.archive().is_new()));
    let counts = store.chart_counts().unwrap();
    assert_eq!((counts.pending, counts.archived, counts.failed), (2, 0, 0));
    let queue: Vec<_> = store
        .charts_to_archive(10)
        .unwrap()
        .into_iter()
        .map(|c| (c.plan_id, c.position, c.url))
        .collect();
    assert_eq!(
        queue,
        [
            (plan.id, 0, "https://example.com/chart1.png".to_owned()),
            (plan.id, 1, "https://example.com/chart2.png".to_owned())
        ]
    );

    // The old UNIQUE(coach_name, date) is gone: the deleted swing plan's date can be posted again.
    let reposted = store
        .create_plan(new_plan("s", "2024-01-15", "Swing plan, take two"))
        .unwrap();
    assert!(reposted.id.get() > 3);
    assert_eq!(store.stats().unwrap().live_plans, 3);
}

#[test]
fn a_database_of_the_previous_schema_gains_chart_archive_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    coach_plans_sqlite::testing::migrate_up_to(&path, 2).unwrap();
    // Rows as the build with schema 2 wrote them: a live plan with two charts, a deleted one
    // with one.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO coach_plans (id, coach_name, date, plan, author, author_id, created_at, is_deleted)
                 VALUES (1, 'coach_d', '2024-05-10', 'live', 'dana', '42', '2024-05-10T12:00:00.000000+00:00', 0),
                        (2, 'coach_i', '2024-05-10', 'gone', 'dana', '42', '2024-05-10T12:00:00.000000+00:00', 1);
             INSERT INTO plan_charts (plan_id, chart_url, filename, added_at, position, content_type, size)
                 VALUES (1, 'https://cdn.discordapp.com/attachments/1/2/a.png?ex=1', 'a.png', 'x', 0, 'image/png', 10),
                        (1, 'https://cdn.discordapp.com/attachments/1/2/b.png?ex=1', 'b.png', 'x', 1, 'image/png', 20),
                        (2, 'https://cdn.discordapp.com/attachments/1/3/c.png?ex=1', 'c.png', 'x', 0, 'image/png', 30);",
        )
        .unwrap();
    let (store, report) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!((report.before, report.applied), (Some(2), vec![3, 4]));
    assert!(report.backup.is_some(), "an upgrade makes a backup");
    let plan = store
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    let names: Vec<_> = plan
        .charts
        .iter()
        .map(|c| (c.filename().unwrap(), c.size(), c.archive().is_new()))
        .collect();
    assert_eq!(
        names,
        [("a.png", Some(10), true), ("b.png", Some(20), true)]
    );
    let counts = store.chart_counts().unwrap();
    assert_eq!(
        (counts.pending, counts.archived, counts.failed),
        (2, 0, 0),
        "the deleted plan's chart is not counted"
    );
    assert_eq!(store.charts_to_archive(10).unwrap().len(), 2);
    assert_eq!(store.stats().unwrap().live_charts, 2);
}

#[test]
fn the_archiver_queue_is_read_through_its_partial_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(SqliteStore::open(&config(&path)).unwrap());
    let conn = Connection::open(&path).unwrap();
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT c.id FROM plan_charts AS c
             JOIN coach_plans AS p ON p.id = c.plan_id
             WHERE c.status = 'pending' AND p.is_deleted = 0 ORDER BY c.id LIMIT 10",
        )
        .unwrap()
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("idx_charts_pending")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "no sort: {plan:?}"
    );
}

#[test]
fn reopening_an_upgraded_database_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let id = {
        let (store, _) = SqliteStore::open(&config(&path)).unwrap();
        store
            .create_plan(new_plan("n", "2024-05-13", "kept"))
            .unwrap()
            .id
    };
    let (store, report) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!(
        (report.before, report.applied.len(), report.backup),
        (Some(4), 0, None)
    );
    assert_eq!(store.plan(id).unwrap().unwrap().text.as_str(), "kept");
}

#[test]
fn a_new_database_is_created_with_its_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/plans.db");
    let status = SqliteStore::inspect(&path).unwrap();
    assert_eq!(
        (status.exists, status.version, status.pending.len()),
        (false, None, 4)
    );
    assert!(!path.exists(), "inspecting creates nothing");
    let (store, report) = SqliteStore::open(&config(&path)).unwrap();
    assert_eq!(
        (report.before, report.after, report.applied, report.backup),
        (None, 4, vec![1, 2, 3, 4], None)
    );
    assert!(path.exists());
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(store.stats().unwrap().live_plans, 0);
}

#[test]
fn a_newer_schema_is_refused_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    Connection::open(&path)
        .unwrap()
        .execute("INSERT INTO schema_version VALUES (99, 'the future')", [])
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let entries = || std::fs::read_dir(dir.path()).unwrap().count();
    let files_before = entries();

    let err = SqliteStore::open(&config(&path)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::IncompatibleSchema {
                found: 99,
                supported: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert!(
        err.to_string().contains("coach_plans.db"),
        "names the file: {err}"
    );
    assert!(matches!(
        SqliteStore::inspect(&path),
        Err(StoreError::IncompatibleSchema { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "not one byte changed");
    assert_eq!(
        entries(),
        files_before,
        "no backup, journal or other file was made"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let garbage = b"this is not a SQLite database, it is a shopping list: milk, eggs".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = SqliteStore::open(&config(&path)).unwrap_err();
    assert!(matches!(err, StoreError::Unrecognized { .. }), "{err:?}");
    assert!(err.is_refused_database());
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
    assert!(
        err.to_string().contains("plans.db"),
        "names the file: {err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_database_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path)
        .unwrap()
        .execute("CREATE TABLE invoices (id INTEGER)", [])
        .unwrap();
    let err = SqliteStore::open(&config(&path)).unwrap_err();
    assert!(err.to_string().contains("invoices"), "{err}");
    assert!(err.is_refused_database(), "{err:?}");
}

/// Every entry of `dir` with its bytes, to prove a refusal changed and created nothing.
fn snapshot(dir: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = if e.path().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (e.file_name(), bytes)
        })
        .collect();
    entries.sort();
    entries
}

/// Opens and inspects `path`, which must be refused with nothing in `dir` changed.
fn assert_refused(dir: &Path, path: &Path) -> StoreError {
    let before = snapshot(dir);
    let inspected = SqliteStore::inspect(path).unwrap_err();
    assert!(inspected.is_refused_database(), "{inspected:?}");
    assert!(
        snapshot(dir) == before,
        "inspecting changed or created files"
    );
    let opened = SqliteStore::open(&config(path)).unwrap_err();
    assert!(opened.is_refused_database(), "{opened:?}");
    assert!(snapshot(dir) == before, "opening changed or created files");
    assert!(
        opened.to_string().contains(&path.display().to_string()),
        "{opened}"
    );
    opened
}

#[test]
fn a_newer_schema_in_wal_mode_is_refused_without_new_files_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    drop(SqliteStore::open(&config(&path)).unwrap());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.path() != path {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let conn = Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version VALUES (5, 'the future')", [])
        .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    assert_eq!(snapshot(dir.path()).len(), 1, "closing removed the log");
    let err = assert_refused(dir.path(), &path);
    assert!(
        matches!(err, StoreError::IncompatibleSchema { found: 5, .. }),
        "{err:?}"
    );
}

#[test]
fn a_path_naming_a_directory_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    std::fs::create_dir(&path).unwrap();
    let err = assert_refused(dir.path(), &path);
    assert!(err.to_string().contains("is a directory"), "{err}");
    assert!(std::fs::read_dir(&path).unwrap().next().is_none());
}

#[test]
fn a_schema_version_table_of_another_shape_is_refused() {
    let cases = [
        (
            "CREATE TABLE schema_version (version TEXT, applied_at TEXT);
             INSERT INTO schema_version VALUES ('v2', 'x');
             CREATE TABLE coach_plans (id INTEGER);",
            "holds 'v2', not a version number",
        ),
        (
            "CREATE TABLE schema_version (id INTEGER, name TEXT);
             INSERT INTO schema_version VALUES (1, 'init');",
            "has the columns (id, name)",
        ),
        (
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);
             INSERT INTO schema_version VALUES (1, 'x');
             CREATE TABLE coach_plans (id INTEGER);",
            "plan_charts, plan_history are missing",
        ),
        (
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);
             INSERT INTO schema_version VALUES (0, 'x');",
            "says version 0",
        ),
    ];
    for (sql, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        let err = assert_refused(dir.path(), &path);
        assert!(
            matches!(&err, StoreError::Unrecognized { reason: r, .. } if r.contains(reason)),
            "{reason}: {err}"
        );
    }
}

#[test]
fn a_path_whose_directory_is_a_file_is_unavailable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file").unwrap();
    let err = SqliteStore::open(&config(&dir.path().join("blocker/plans.db"))).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("blocker"), "names the path: {err}");
}

#[test]
fn a_write_blocked_by_another_process_lock_is_unavailable_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let config = DatabaseConfig {
        connection_timeout: Duration::from_millis(200),
        ..config(&path)
    };
    let (store, _) = SqliteStore::open(&config).unwrap();
    assert!(store.health().writable);

    let locker = Locker::lock(&path);
    let err = store
        .create_plan(new_plan("d", "2024-05-10", "blocked"))
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let health = store.health();
    assert!(!health.writable);
    assert!(
        health.error.unwrap().contains("locked"),
        "the reason says why"
    );
    drop(locker);

    store
        .create_plan(new_plan("d", "2024-05-10", "after the lock"))
        .unwrap();
    assert!(store.health().writable);
    assert_eq!(store.stats().unwrap().live_plans, 1);
}

/// The child half of the SIGKILL test: writes plans as fast as it can and prints the id of each
/// one after it is acknowledged. Does nothing unless the parent test started it.
#[test]
fn sigkill_child_writer() {
    let Ok(path) = std::env::var("COACH_PLANS_KILL_TEST_DB") else {
        return;
    };
    let (store, _) = SqliteStore::open(&config(Path::new(&path))).unwrap();
    let mut day = date("2000-01-01");
    loop {
        let plan = store
            .create_plan(new_plan("d", &day.to_string(), "written before the kill"))
            .unwrap();
        println!("ack {}", plan.id);
        day = day.checked_add_days(1).unwrap();
    }
}

#[test]
fn every_acknowledged_plan_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("COACH_PLANS_KILL_TEST_DB", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(id) = line.unwrap().strip_prefix("ack ") {
            acked.push(id.parse::<i64>().unwrap());
            if acked.len() == 50 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    assert_eq!(
        acked.len(),
        50,
        "the child acknowledged writes before it was killed"
    );

    let (store, _) = SqliteStore::open(&config(&path)).unwrap();
    for id in acked {
        let plan = store.plan(id.to_string().parse().unwrap()).unwrap();
        assert!(
            plan.is_some(),
            "acknowledged plan {id} is missing after SIGKILL"
        );
    }
    let stats = store.stats().unwrap();
    assert!(stats.live_plans >= 50);
    assert_eq!(
        stats.live_charts,
        stats.live_plans * 2,
        "counters agree with what survived"
    );
}

/// The bundled SQLite is compiled as `.cargo/config.toml` says: one page cache per connection
/// with no lock shared between connections, and no memory statistics (issue 16).
#[test]
fn sqlite_is_compiled_without_shared_page_cache_locks() {
    let conn = Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
}
