//! PostgreSQL's faults against a real server (each test in a database of its own): a server
//! down at start, sessions killed by the server, a statement timeout, a schema newer than this
//! build, a refused password.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coach_plans_config::{DatabaseConfig, DatabaseUrl};
use coach_plans_postgres::testing::{TestDatabase, forward_to_server};
use coach_plans_postgres::{PostgresStore, open_resilient};
use coach_plans_storage::testing::{coach, date, new_plan};
use coach_plans_storage::{OnlyTheAuthor, PlanStore, StoreError};

/// Polls `condition` until it holds, failing the test after `seconds` (the server's retries
/// and reconnections are external to the test, so there is nothing to wait on directly).
fn eventually(seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nothing listens on (just released by us).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_server_down_at_start_holds_plans_and_writes_them_through_once_it_is_up() {
    let db = TestDatabase::create();
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let config = DatabaseConfig {
        url: Some(DatabaseUrl::new(
            db.url_through(&format!("127.0.0.1:{port}")),
        )),
        state_dir: Some(state.path().to_owned()),
        connection_timeout: Duration::from_secs(2),
        retry_max_delay: Duration::from_millis(300),
        ..DatabaseConfig::default()
    };
    let store = open_resilient(&config, Arc::new(OnlyTheAuthor)).unwrap();
    let health = store.health();
    assert!(!health.writable, "{health:?}");
    assert!(
        health
            .error
            .as_deref()
            .unwrap_or_default()
            .contains(&port.to_string()),
        "the error names the server: {health:?}"
    );
    let held = store
        .create_plan(new_plan("d", "2024-05-10", "held while down"))
        .unwrap();
    assert!(store.is_holding());
    assert!(state.path().join("postgres.journal").exists());

    forward_to_server(port);
    eventually(20, "the held plan written through", || {
        store.health().writable && !store.is_holding()
    });
    let (direct, _) = PostgresStore::open(&db.config()).unwrap();
    let stored = direct
        .live_plan(&coach("d"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, held.text);
    assert_eq!(store.close(), None, "nothing left held");
}

#[test]
fn sessions_killed_by_the_server_are_replaced_and_no_call_fails() {
    let db = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();
    let first = store
        .create_plan(new_plan("d", "2024-05-10", "before"))
        .unwrap();
    assert!(db.terminate_connections() >= 1, "the pool had a session");
    // The next calls get fresh sessions: reads and writes succeed, and the store is healthy.
    assert_eq!(store.plan(first.id).unwrap(), Some(first));
    store
        .create_plan(new_plan("i", "2024-05-10", "after"))
        .unwrap();
    assert!(store.health().writable);
    assert!(db.terminate_connections() >= 1);
    assert_eq!(store.stats().unwrap().live_plans, 2);
}

#[test]
fn a_statement_past_the_timeout_fails_as_unavailable_and_the_next_one_works() {
    let db = TestDatabase::create();
    let config = DatabaseConfig {
        statement_timeout: Duration::from_millis(300),
        ..db.config()
    };
    let (store, _) = PostgresStore::open(&config).unwrap();
    let mut locker = db.client();
    let mut lock = locker.transaction().unwrap();
    lock.batch_execute("LOCK TABLE plan_counters IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let error = store
        .create_plan(new_plan("d", "2024-05-10", "waits"))
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(error.to_string().contains("statement timeout"), "{error}");
    assert!(!store.health().writable, "a failed write shows in health");
    lock.rollback().unwrap();
    store
        .create_plan(new_plan("d", "2024-05-10", "goes through"))
        .unwrap();
    assert!(store.health().writable);
    assert_eq!(
        store.stats().unwrap().live_plans,
        1,
        "the timed-out write left nothing"
    );
}

#[test]
fn a_schema_newer_than_this_build_is_refused_and_left_untouched() {
    let db = TestDatabase::create();
    drop(PostgresStore::open(&db.config()).unwrap());
    db.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')");
    let error = PostgresStore::open(&db.config()).unwrap_err();
    assert!(error.is_refused_database(), "{error:?}");
    assert!(error.to_string().contains("version 99"), "{error}");
    let error = PostgresStore::inspect(&db.config()).unwrap_err();
    assert!(error.is_refused_database(), "{error:?}");
    let versions: Vec<i64> = db
        .client()
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 99]);
}

#[test]
fn another_applications_tables_are_refused() {
    let db = TestDatabase::create();
    db.execute("CREATE TABLE invoices (id int)");
    let error = PostgresStore::open(&db.config()).unwrap_err();
    assert!(
        matches!(error, StoreError::Unrecognized { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("invoices"), "{error}");
}

#[test]
fn a_wrong_password_is_a_clear_error_that_never_shows_the_password() {
    let (port, received) = coach_plans_postgres::testing::refusing_server();
    let state = tempfile::tempdir().unwrap();
    let config = DatabaseConfig {
        url: Some(DatabaseUrl::new(format!(
            "postgres://coach:Sup3rSecret@127.0.0.1:{port}/plans?sslmode=disable"
        ))),
        state_dir: Some(state.path().to_owned()),
        connection_timeout: Duration::from_secs(2),
        ..DatabaseConfig::default()
    };
    let error = PostgresStore::open(&config).unwrap_err();
    assert_eq!(
        received.recv().unwrap(),
        "Sup3rSecret",
        "the password was sent"
    );
    let shown = error.to_string();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        shown.contains("password authentication failed") && shown.contains("28P01"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("postgres://coach:***@127.0.0.1:{port}/plans")),
        "{shown}"
    );
    assert!(!shown.contains("Sup3rSecret"), "{shown}");
    assert!(!format!("{error:?}").contains("Sup3rSecret"));

    // The server's fallback holds plans meanwhile; its health says why, without the password.
    let store = open_resilient(&config, Arc::new(OnlyTheAuthor)).unwrap();
    let health = store.health();
    let why = health.error.unwrap_or_default();
    assert!(why.contains("password authentication failed"), "{why}");
    assert!(!why.contains("Sup3rSecret"), "{why}");
    assert!(!format!("{store:?}").contains("Sup3rSecret"));
}

#[test]
fn calls_from_a_thread_driving_a_runtime_work_as_the_http_workers_point_lookup_makes_them() {
    let db = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let found = runtime.block_on(async {
        let created = store
            .create_plan(new_plan("d", "2024-05-10", "from a runtime"))
            .unwrap();
        let found = store.live_plan(&coach("d"), date("2024-05-10")).unwrap();
        assert_eq!(found.as_ref(), Some(&created));
        found
    });
    assert!(found.is_some());
    // And the store can be dropped there too.
    runtime.block_on(async move { drop(store) });
}

#[test]
fn the_fallbacks_opener_connects_from_a_thread_driving_a_runtime() {
    // The fallback calls its opener again when it recovers, e.g. from `close` at shutdown on a
    // `spawn_blocking` thread; the synchronous client cannot start there by itself.
    let db = TestDatabase::create();
    let open = coach_plans_postgres::opener(&db.config());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = runtime.block_on(async { open() }).unwrap();
    assert_eq!(
        store.live_plan(&coach("d"), date("2024-05-10")).unwrap(),
        None
    );
    runtime.block_on(async move { drop(store) });
}

#[test]
fn a_server_restarted_under_load_loses_no_acknowledged_plan() {
    let db = TestDatabase::create();
    let state = tempfile::tempdir().unwrap();
    let config = DatabaseConfig {
        url: Some(DatabaseUrl::new(db.url().to_owned())),
        state_dir: Some(state.path().to_owned()),
        connection_timeout: Duration::from_secs(2),
        retry_max_delay: Duration::from_millis(300),
        pool_size: 4,
        ..DatabaseConfig::default()
    };
    let store = Arc::new(open_resilient(&config, Arc::new(OnlyTheAuthor)).unwrap());
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    const PER_WRITER: usize = 60;
    let writers: Vec<_> = ["d", "i", "s", "n"]
        .into_iter()
        .map(|coach_id| {
            let (store, written) = (Arc::clone(&store), Arc::clone(&written));
            std::thread::spawn(move || {
                (0..PER_WRITER)
                    .map(|k| {
                        let day = format!("2024-{:02}-{:02}", 1 + k / 28, 1 + k % 28);
                        let text = format!("{coach_id} plan {k}");
                        let saved = store.create_plan(new_plan(coach_id, &day, &text));
                        written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        (day, text, saved.map_err(|e| e.to_string()))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Every session ends, as in a restart, five times while the writers write.
    let mut restarts = 0;
    for round in 1..=5 {
        eventually(60, "the writers making progress", || {
            written.load(std::sync::atomic::Ordering::SeqCst) >= round * 40
        });
        restarts += db.terminate_connections();
    }
    assert!(restarts >= 5, "sessions ended: {restarts}");
    let results: Vec<_> = writers
        .into_iter()
        .zip(["d", "i", "s", "n"])
        .flat_map(|(writer, coach_id)| {
            writer
                .join()
                .unwrap()
                .into_iter()
                .map(move |(day, text, saved)| (coach_id, day, text, saved))
        })
        .collect();
    eventually(30, "held plans written through", || {
        store.health().writable && !store.is_holding()
    });
    let (direct, _) = PostgresStore::open(&db.config()).unwrap();
    for (coach_id, day, text, saved) in &results {
        // The fallback holds what the database cannot take: every save is acknowledged.
        assert!(saved.is_ok(), "{coach_id} {day}: {saved:?}");
        let stored = direct.live_plan(&coach(coach_id), date(day)).unwrap();
        assert_eq!(
            stored.map(|plan| plan.text.to_string()).as_deref(),
            Some(text.as_str()),
            "{coach_id} {day}"
        );
    }
    assert_eq!(direct.stats().unwrap().live_plans, 4 * PER_WRITER as u64);
    assert_eq!(store.close(), None, "nothing left held");
}

#[test]
fn a_server_that_accepts_and_never_answers_is_given_up_on_within_the_connect_timeout() {
    // Something else listens on the port: it takes the connection and says nothing.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = DatabaseConfig {
        url: Some(DatabaseUrl::new(format!(
            "postgres://coach:s3cret@127.0.0.1:{port}/plans?sslmode=disable"
        ))),
        connection_timeout: Duration::from_secs(1),
        ..DatabaseConfig::default()
    };
    let started = Instant::now();
    let error = PostgresStore::open(&config).err().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(error.is_unavailable(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("did not answer within 1 s"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
    drop(silent);
}
