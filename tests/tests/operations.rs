//! What an operator meets: startup errors, a database path that cannot be created, the legacy
//! import, graceful shutdown with a request in flight, log rotation and JSON logs.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use coach_plans_e2e::{Server, base_env, fixture, run, wait_for};

fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

#[test]
fn startup_errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("typo.yaml"), "api:\n  port: 0\n  hots: x\n").unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let env = base_env(dir.path());
    // (arguments, environment, what the one-line error must name)
    type Case<'a> = (&'a [&'a str], Vec<(String, String)>, &'a str);
    // Discord is never reached: any attempt would go to a closed local port.
    let env = with(
        &env,
        &[
            ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9"),
            ("DISCORD_API_URL", "http://127.0.0.1:9"),
        ],
    );
    let cases: [Case<'_>; 6] = [
        (&["serve"], env.clone(), "DISCORD_BOT_TOKEN"),
        (
            &["serve"],
            with(
                &env,
                &[("DISCORD_BOT_TOKEN", "MTIz.header-secret\nX-Forged: 1")],
            ),
            "invalid discord.bot_token (DISCORD_BOT_TOKEN)",
        ),
        (
            &["serve"],
            with(&env, &[("DISCORD_BOT_TOKEN", "MTIz.header-secret\u{7f}")]),
            "invalid discord.bot_token (DISCORD_BOT_TOKEN)",
        ),
        (
            &["--mock"],
            with(&env, &[("API_PORT", "70000")]),
            "API_PORT",
        ),
        (
            &["--mock"],
            with(&env, &[("API_PORT", &busy_port)]),
            &format!("127.0.0.1:{busy_port}"),
        ),
        (
            &["--mock", "--config", "typo.yaml"],
            env.clone(),
            "api.hots",
        ),
    ];
    for (args, env, needle) in &cases {
        // Nothing was created on the way to the error.
        let _ = std::fs::remove_dir_all(dir.path().join("data"));
        let failed = Server::try_start(dir.path(), args, env)
            .err()
            .unwrap_or_else(|| panic!("{args:?} started"));
        assert_eq!(failed.code, Some(2), "{args:?}: {failed:?}");
        let lines: Vec<&str> = failed.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {failed:?}");
        assert!(lines[0].starts_with("coach-plans: "), "{failed:?}");
        assert!(lines[0].contains(needle), "{needle}: {failed:?}");
        assert!(!failed.stderr.contains("header-secret"), "{failed:?}");
        assert!(
            !dir.path().join("data").exists(),
            "{args:?} touched the database"
        );
    }
}

#[test]
fn a_database_that_cannot_be_read_answers_503_and_mock_mode_seeds_only_once_it_can() {
    let dir = tempfile::tempdir().unwrap();
    // The database's directory is a regular file: no amount of retrying opens it until fixed.
    std::fs::write(dir.path().join("data"), "not a directory").unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let health = server.get("/health");
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(health.json()["components"]["database"]["status"], "down");
    let all = server.get("/api/coach-plans/all");
    assert_eq!(
        all.status, 503,
        "nothing is answered from an empty view: {}",
        all.body
    );
    let one = server.get("/api/coach-plans/?coach=d");
    assert_eq!(one.status, 503, "not 'No plan available': {}", one.body);

    std::fs::remove_file(dir.path().join("data")).unwrap();
    wait_for("the database to be created", 30, || {
        (server.get("/health").status == 200).then_some(())
    });
    wait_for(
        "mock mode to seed once the database can be read",
        30,
        || {
            let all = server.get("/api/coach-plans/all");
            (all.status == 200 && all.json().as_object().map(serde_json::Map::len) == Some(4))
                .then_some(())
        },
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn the_python_versions_export_is_imported_and_served_identically() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    let export = fixture("legacy-memory-export.json");
    let out = run(
        dir.path(),
        &["import-legacy", export.to_str().unwrap()],
        &coach_plans_e2e::pairs(&env),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backup: "), "{stdout}");
    assert!(stdout.contains("verified: all"), "{stdout}");

    let records: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let server = Server::start(dir.path(), &["--mock"], &env);
    for (key, record) in &records {
        let (coach, date) = key.rsplit_once('_').unwrap();
        let served = server
            .get(&format!("/api/coach-plans/?coach={coach}&date={date}"))
            .json();
        assert_eq!(served["plan"], record["plan"], "{key}");
        assert_eq!(served["charts"], record["charts"], "{key}");
        assert_eq!(served["author"], record["author"], "{key}");
        assert_eq!(served["channel"], record["channel"], "{key}");
    }
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_malformed_export_changes_nothing_and_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    let flat_env = coach_plans_e2e::pairs(&env);
    let good = fixture("legacy-memory-export.json");
    assert_eq!(
        run(
            dir.path(),
            &["import-legacy", good.to_str().unwrap()],
            &flat_env
        )
        .status
        .code(),
        Some(0)
    );
    let db = dir.path().join("data/plans.db");
    let count = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM coach_plans", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(count(), 4);

    let cases = [
        (
            r#"{"coach_d_2030-01-01": {"plan": "fine", "charts": [], "author": "a", "timestamp": "2030-01-01T08:00:00", "channel": null},
                "coach_d_2030-01-02": {"plan": "", "charts": [], "author": "a", "timestamp": "2030-01-02T08:00:00", "channel": null}}"#,
            "coach_d_2030-01-02",
        ),
        (
            r#"{"coach_d_2030-01-01": {"plan": "fine", "charts": [], "author": "a", "timestamp": "2030-01-01T08:00:00", "channel": null},
                "coach_x_2030-01-02": {"plan": "who?", "charts": [], "author": "a", "timestamp": "2030-01-02T08:00:00", "channel": null}}"#,
            "coach_x_2030-01-02",
        ),
        (
            r#"{"coach_d_2030-02-30": {"plan": "bad date", "charts": [], "author": "a", "timestamp": "2030-01-01T08:00:00", "channel": null}}"#,
            "coach_d_2030-02-30",
        ),
        (
            r#"{"coach_d_2030-01-01": {"plan": 42, "charts": [], "author": "a", "timestamp": "x", "channel": null}}"#,
            "coach_d_2030-01-01",
        ),
        (
            r#"{"coach_d_2024-05-10": {"plan": "a different text for a stored plan", "charts": [], "author": "a", "timestamp": "2024-05-10T08:00:00", "channel": null}}"#,
            "coach_d_2024-05-10",
        ),
        (r#"["not", "an", "object"]"#, "not a legacy export"),
    ];
    for (n, (json, needle)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad-{n}.json"));
        std::fs::write(&file, json).unwrap();
        let out = run(
            dir.path(),
            &["import-legacy", file.to_str().unwrap()],
            &flat_env,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "case {n}: {stderr}");
        assert!(stderr.contains(needle), "case {n} names {needle}: {stderr}");
        assert!(
            stderr.contains("nothing was imported"),
            "case {n}: {stderr}"
        );
        assert_eq!(count(), 4, "case {n} changed nothing");
    }
}

/// How many whole `200` answers with every coach's plan `raw` holds in order, and whether an
/// incomplete one follows them. Panics on anything else.
fn split_answers(raw: &[u8]) -> (usize, bool) {
    let mut rest = raw;
    let mut whole = 0;
    while !rest.is_empty() {
        let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            return (whole, true);
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200 ok"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no content-length: {head}"));
        let body_start = head_end + 4;
        if rest.len() < body_start + length {
            return (whole, true);
        }
        let body: serde_json::Value =
            serde_json::from_slice(&rest[body_start..body_start + length]).unwrap();
        assert_eq!(body.as_object().map(serde_json::Map::len), Some(4));
        whole += 1;
        rest = &rest[body_start + length..];
    }
    (whole, false)
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    // Pipelined requests the client does not read yet: the server is still writing answers
    // (blocked on full socket buffers) when the signal arrives.
    const REQUESTS: usize = 3000;
    let stream = std::net::TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        for _ in 0..REQUESTS {
            if writer
                .write_all(b"GET /api/coach-plans/all HTTP/1.1\r\nHost: x\r\n\r\n")
                .is_err()
            {
                break;
            }
        }
    });
    // Answers are flowing before the signal: the first of them has arrived.
    let mut raw = vec![0; 64 * 1024];
    let first = (&stream).read(&mut raw).unwrap();
    raw.truncate(first);
    server.signal("TERM");
    wait_for("the shutdown to begin", 10, || {
        std::fs::read_to_string(dir.path().join("logs/coach-plans.log"))
            .unwrap_or_default()
            .contains("shutting down")
            .then_some(())
    });
    let mut reader = stream;
    // A reset ends the read with an error: the kernel answers the pipelined requests the
    // server never read with a reset when it closes, and may drop what was not read yet.
    let reset = reader.read_to_end(&mut raw).is_err();
    sending.join().unwrap();
    let (whole, partial) = split_answers(&raw);
    assert!(
        whole > 0,
        "answers written before and after the signal arrive"
    );
    // Every answer that arrived is whole; only a reset can cut the last one short.
    assert!(
        !partial || reset,
        "an answer was cut short on a clean close after {whole} whole answers"
    );
    assert_eq!(server.wait(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("logs/coach-plans.log")).unwrap();
    assert!(
        log.trim_end().ends_with("stopped"),
        "the log ends cleanly: {}",
        log.lines().last().unwrap_or_default()
    );
}

fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn logs_rotate_at_the_configured_size_and_json_lines_parse() {
    let dir = tempfile::tempdir().unwrap();
    let env = with(
        &base_env(dir.path()),
        &[
            ("LOG_MAX_SIZE_MB", "0.01"),
            ("LOG_BACKUP_COUNT", "2"),
            ("LOG_FORMAT", "json"),
            ("API_AUTH_TOKEN", "json-secret-token"),
        ],
    );
    let server = Server::start(dir.path(), &["--mock"], &env);
    for n in 0..150 {
        let reply = server.get(&format!("/health?n={n}"));
        assert_eq!(reply.status, 200);
    }
    assert_eq!(server.stop(), Some(0));

    let logs = dir.path().join("logs");
    let files = log_files(&logs);
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["coach-plans.log", "coach-plans.log.1", "coach-plans.log.2"],
        "the live file and two backups"
    );
    let mut lines = 0;
    for file in &files {
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size <= 10 * 1024 + 2048, "{file:?} is {size} bytes");
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(
                value["level"].is_string() && value["message"].is_string(),
                "{line}"
            );
            assert!(!line.contains("json-secret-token"));
            lines += 1;
        }
    }
    assert!(lines > 50);
}

/// Files beside the database other than the database itself and SQLite's own: backups.
fn backups_beside(db: &Path) -> Vec<String> {
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    let mut found: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|file| {
            ![
                name.clone(),
                format!("{name}-wal"),
                format!("{name}-shm"),
                format!("{name}-journal"),
            ]
            .contains(file)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn an_import_backs_up_only_when_it_will_write_something() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    let flat_env = coach_plans_e2e::pairs(&env);
    let db = dir.path().join("data/plans.db");
    let import = |file: &Path| {
        let out = run(
            dir.path(),
            &["import-legacy", file.to_str().unwrap()],
            &flat_env,
        );
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), said)
    };
    let export = fixture("legacy-memory-export.json");
    let (code, said) = import(&export);
    assert_eq!(code, Some(0), "{said}");
    let after_first = backups_beside(&db);
    assert_eq!(after_first.len(), 1, "one backup: {after_first:?}");

    // The same file again: nothing to write, so no backup.
    let (code, said) = import(&export);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("already present (identical): 4"), "{said}");
    assert!(!said.contains("backup: "), "{said}");
    assert_eq!(backups_beside(&db), after_first, "no new backup");

    // A record that conflicts with a stored plan: refused before any backup.
    let conflict = dir.path().join("conflict.json");
    std::fs::write(
        &conflict,
        r#"{"coach_d_2030-01-01": {"plan": "new", "charts": [], "author": "a", "timestamp": "2030-01-01T08:00:00", "channel": null},
            "coach_d_2024-05-10": {"plan": "a different text for a stored plan", "charts": [], "author": "a", "timestamp": "2024-05-10T08:00:00", "channel": null}}"#,
    )
    .unwrap();
    let (code, said) = import(&conflict);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("coach_d_2024-05-10") && said.contains("nothing was imported"),
        "{said}"
    );
    assert!(!said.contains("backup: "), "{said}");
    assert_eq!(backups_beside(&db), after_first, "no backup left behind");
}
