//! The binary on PostgreSQL (`DATABASE_URL`), each test in a database of its own on the test
//! server (`COACH_PLANS_TEST_POSTGRES_URL`, or the machine's own on 127.0.0.1:5432): `copy`
//! from SQLite to PostgreSQL and back, `migrate`, `check-config`, exit 3 for a newer schema,
//! a password that is never printed, and `serve` storing a plan in PostgreSQL.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use coach_plans_e2e::{Server, base_env, fixture, run};
use coach_plans_postgres::testing::TestDatabase;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every row of the three tables of a SQLite file, as text, in id order.
fn sqlite_rows(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for table in ["coach_plans", "plan_charts", "plan_history"] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
            .unwrap();
        let columns = stmt.column_count();
        let mut query = stmt.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    rows
}

/// The `digest …` at the end of a `copy` output line starting with `prefix`.
fn digest_after(output: &str, prefix: &str) -> String {
    output
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit_once("digest "))
        .map(|(_, digest)| digest.to_owned())
        .unwrap_or_else(|| panic!("no '{prefix}… digest' line in:\n{output}"))
}

#[test]
fn copy_moves_the_python_database_to_postgres_and_back_identically() {
    if coach_plans_postgres::testing::skipped(
        "copy_moves_the_python_database_to_postgres_and_back_identically",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let original = dir.path().join("original.db");
    std::fs::copy(fixture("legacy-v1-sample.db"), &original).unwrap();
    let env = [("LOG_FILE", "logs/coach-plans.log")];

    let from = format!("sqlite:{}", original.display());
    let there = run(
        dir.path(),
        &["copy", "--from", &from, "--to", db.url()],
        &env,
    );
    assert_eq!(there.status.code(), Some(0), "{}", stderr(&there));
    let out = stdout(&there);
    assert!(out.contains("copied and verified"), "{out}");
    let source_digest = digest_after(&out, "from sqlite:");
    assert_eq!(digest_after(&out, "to postgres://"), source_digest);
    assert!(!out.contains(" 0 plan(s)"), "the fixture has plans: {out}");

    let back = dir.path().join("back.db");
    let to = format!("sqlite:{}", back.display());
    let again = run(dir.path(), &["copy", "--from", db.url(), "--to", &to], &env);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(digest_after(&stdout(&again), "to sqlite:"), source_digest);
    // The file itself: every row of every table, ids included, as in the upgraded original.
    assert_eq!(sqlite_rows(&back), sqlite_rows(&original));

    // A target that holds plans is refused, and keeps what it had.
    let refused = run(
        dir.path(),
        &["copy", "--from", &from, "--to", db.url()],
        &env,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is not empty"),
        "{}",
        stderr(&refused)
    );
    let kept = run(
        dir.path(),
        &["copy", "--from", db.url(), "--to", "sqlite:kept.db"],
        &env,
    );
    assert_eq!(digest_after(&stdout(&kept), "to sqlite:"), source_digest);
}

#[test]
fn migrate_and_check_config_work_on_postgres_and_never_print_the_password() {
    if coach_plans_postgres::testing::skipped(
        "migrate_and_check_config_work_on_postgres_and_never_print_the_password",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    // The trusting test server ignores the password, so it can be one we look for.
    let url = db.url().replacen(
        "postgres://postgres@",
        "postgres://postgres:Sup3rSecret@",
        1,
    );
    assert!(
        url.contains("Sup3rSecret"),
        "the test server URL has a user: {url}"
    );
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("LOG_FILE", "logs/coach-plans.log"),
    ];

    let dry = run(dir.path(), &["migrate", "--dry-run"], &env);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("would apply migration 1"),
        "{}",
        stdout(&dry)
    );
    let migrate = run(dir.path(), &["migrate"], &env);
    assert_eq!(migrate.status.code(), Some(0), "{}", stderr(&migrate));
    assert!(
        stdout(&migrate).contains("schema version after: 4"),
        "{}",
        stdout(&migrate)
    );
    let check = run(dir.path(), &["check-config", "--mock"], &env);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("postgres://postgres:***@"),
        "{}",
        stdout(&check)
    );
    for output in [&dry, &migrate, &check] {
        assert!(
            !stdout(output).contains("Sup3rSecret"),
            "{}",
            stdout(output)
        );
        assert!(
            !stderr(output).contains("Sup3rSecret"),
            "{}",
            stderr(output)
        );
    }

    // A schema from a newer coach-plans: exit 3, nothing changed.
    db.execute("INSERT INTO schema_version (version, applied_at) VALUES (7, 'later')");
    for args in [&["migrate"][..], &["migrate", "--dry-run"]] {
        let refused = run(dir.path(), args, &env);
        assert_eq!(
            refused.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&refused)
        );
        assert!(
            stderr(&refused).contains("version 7"),
            "{}",
            stderr(&refused)
        );
        assert!(!stderr(&refused).contains("Sup3rSecret"));
    }
    let serve = Server::try_start(dir.path(), &["--mock"], &with_url(dir.path(), &url)).err();
    let serve = serve.expect("serve refuses a newer schema");
    assert_eq!(serve.code, Some(3), "{}", serve.stderr);
    assert!(!serve.stderr.contains("Sup3rSecret") && !serve.stdout.contains("Sup3rSecret"));
}

fn with_url(dir: &Path, url: &str) -> Vec<(String, String)> {
    let mut env = base_env(dir);
    env.push(("DATABASE_URL".to_owned(), url.to_owned()));
    env
}

#[test]
fn serve_stores_plans_in_postgres_and_logs_never_show_the_password() {
    if coach_plans_postgres::testing::skipped(
        "serve_stores_plans_in_postgres_and_logs_never_show_the_password",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let url = db.url().replacen(
        "postgres://postgres@",
        "postgres://postgres:Sup3rSecret@",
        1,
    );
    let server = Server::start(dir.path(), &["--mock"], &with_url(dir.path(), &url));
    let health = server.get("/health");
    assert_eq!(health.status, 200, "{}", health.body);
    // Mock mode seeds today's plans for every coach through the service: into PostgreSQL.
    coach_plans_e2e::wait_for("mock plans in PostgreSQL", 30, || {
        let count: i64 = db
            .client()
            .query_one("SELECT COUNT(*) FROM coach_plans", &[])
            .ok()?
            .get(0);
        (count >= 4).then_some(())
    });
    assert!(
        !dir.path().join("data/plans.db").exists(),
        "no SQLite file when database.url is set"
    );
    // Read back over HTTP: the compatibility lookup (on the HTTP worker) and the listing.
    let one = server.get("/api/coach-plans/?coach=d");
    assert_eq!(one.status, 200, "{}", one.body);
    let all = server.get("/api/v1/plans?date=today");
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.matches("\"coach\"").count() >= 4, "{}", all.body);
    let stdout = server.stdout();
    assert_eq!(server.stop(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("logs/coach-plans.log")).unwrap();
    assert!(
        !log.contains("Sup3rSecret") && !stdout.contains("Sup3rSecret"),
        "{log}"
    );
}

#[test]
fn a_refused_password_is_a_clear_error_from_the_binary_that_never_shows_it() {
    if coach_plans_postgres::testing::skipped(
        "a_refused_password_is_a_clear_error_from_the_binary_that_never_shows_it",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A server that asks for the password and refuses it as PostgreSQL does (28P01).
    let (port, received) = coach_plans_postgres::testing::refusing_server();
    let url = format!("postgres://coach:Sup3rSecret@127.0.0.1:{port}/plans?sslmode=disable");
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("LOG_FILE", "logs/coach-plans.log"),
        ("CONNECTION_TIMEOUT", "2"),
    ];
    let migrate = run(dir.path(), &["migrate"], &env);
    assert_eq!(
        received.recv().unwrap(),
        "Sup3rSecret",
        "the password was sent"
    );
    assert_eq!(migrate.status.code(), Some(1), "{}", stderr(&migrate));
    let said = format!("{}{}", stdout(&migrate), stderr(&migrate));
    assert!(said.contains("password authentication failed"), "{said}");
    assert!(said.contains("postgres://coach:***@127.0.0.1"), "{said}");
    assert!(!said.contains("Sup3rSecret"), "{said}");
    let copy = run(
        dir.path(),
        &["copy", "--from", &url, "--to", "sqlite:out.db"],
        &env,
    );
    assert_eq!(copy.status.code(), Some(1), "{}", stderr(&copy));
    assert!(stderr(&copy).contains("password authentication failed"));
    assert!(!stderr(&copy).contains("Sup3rSecret") && !stdout(&copy).contains("Sup3rSecret"));
}

#[test]
fn serve_starts_with_postgres_down_and_reports_it_without_the_password() {
    if coach_plans_postgres::testing::skipped(
        "serve_starts_with_postgres_down_and_reports_it_without_the_password",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port: PostgreSQL is down at start.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://coach:Sup3rSecret@127.0.0.1:{port}/plans?sslmode=disable");
    let server = Server::start(dir.path(), &["--mock"], &with_url(dir.path(), &url));
    let health = server.get("/health");
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(health.json()["components"]["database"]["status"], "down");
    assert!(
        health.body.contains("postgres://coach:***@127.0.0.1"),
        "{}",
        health.body
    );
    assert!(!health.body.contains("Sup3rSecret"), "{}", health.body);
    let stdout = server.stdout();
    assert_eq!(server.stop(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("logs/coach-plans.log")).unwrap();
    assert!(
        !log.contains("Sup3rSecret") && !stdout.contains("Sup3rSecret"),
        "{log}"
    );
}
