//! The command line of the built binary: check-config and migrate, exit codes and messages.
#![allow(clippy::unwrap_used)]

use coach_plans_e2e::{fixture, run};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_prints_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["check-config"],
        &[
            ("DISCORD_BOT_TOKEN", "MTIz.very-secret"),
            ("API_PORT", "6123"),
            ("API_AUTH_TOKEN", "api-secret"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("port: 6123"), "{printed}");
    assert!(
        printed.contains("bot_token: '***'") && printed.contains("auth_token: '***'"),
        "{printed}"
    );
    assert!(!printed.contains("very-secret") && !printed.contains("api-secret"));
}

#[test]
fn configuration_errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "api:\n  prot: 1\n").unwrap();
    // (arguments, environment, what the message must name)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 4] = [
        (&["check-config"], &[], "DISCORD_BOT_TOKEN"),
        (
            &["--mock", "check-config"],
            &[("API_PORT", "abc")],
            "invalid API_PORT (api.port)",
        ),
        (
            &["--mock", "--config", "bad.yaml", "check-config"],
            &[],
            "api.prot",
        ),
        (
            &["--mock", "--config", "missing.yaml", "check-config"],
            &[],
            "missing.yaml",
        ),
    ];
    for (args, env, needle) in cases {
        let out = run(dir.path(), args, env);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let usage = run(dir.path(), &["--no-such-flag"], &[]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn migrate_upgrades_a_python_database_after_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coach_plans.db");
    std::fs::copy(fixture("legacy-v1-sample.db"), &db).unwrap();
    let env = [("MOCK_MODE", "true"), ("DATABASE_PATH", "coach_plans.db")];

    let dry = run(dir.path(), &["migrate", "--dry-run"], &env);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let said = text(&dry.stdout);
    assert!(
        said.contains("schema version: 1") && said.contains("would apply migration 2"),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        std::fs::read(fixture("legacy-v1-sample.db")).unwrap(),
        "a dry run changes nothing"
    );

    let out = run(dir.path(), &["migrate"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("schema version before: 1") && said.contains("schema version after: 2"),
        "{said}"
    );
    let backup_line = said.lines().find(|l| l.starts_with("backup: ")).unwrap();
    let backup = dir.path().join(
        backup_line
            .trim_start_matches("backup: ")
            .trim_start_matches("./"),
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        std::fs::read(fixture("legacy-v1-sample.db")).unwrap()
    );

    let again = run(dir.path(), &["migrate"], &env);
    assert!(
        text(&again.stdout).contains("up to date"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn migrate_refuses_a_newer_database_with_exit_3_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.db");
    std::fs::copy(fixture("legacy-v1-sample.db"), &db).unwrap();
    mark_as_future_schema(&db);
    let before = std::fs::read(&db).unwrap();
    let out = run(
        dir.path(),
        &["migrate"],
        &[("MOCK_MODE", "1"), ("DATABASE_PATH", "future.db")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("newer than this build"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// Marks a database as schema version 99.
fn mark_as_future_schema(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')", [])
        .unwrap();
}

#[test]
fn help_tells_an_operator_what_it_does_the_default_command_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let first = help.lines().next().unwrap_or_default();
    assert!(
        first.contains("Discord") && first.contains("HTTP") && !first.contains("binary"),
        "the first line says what the program does: {first}"
    );
    for command in [
        "serve",
        "check-config",
        "migrate",
        "import-legacy",
        "simulate",
    ] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{command} ")))
            .unwrap_or_else(|| panic!("{command} is listed: {help}"));
        if command == "serve" {
            assert!(line.contains("default"), "serve is the default: {line}");
        }
    }
    assert!(
        help.contains("Without a command, coach-plans serves"),
        "{help}"
    );
    for (code, meaning) in [
        ("0", "success"),
        ("1", "runtime failure"),
        ("2", "configuration or usage error"),
        ("3", "database incompatible"),
    ] {
        assert!(
            help.lines().any(|line| {
                let line = line.trim_start();
                line.starts_with(code) && line.contains(meaning)
            }),
            "exit code {code} ({meaning}): {help}"
        );
    }
    assert!(help.contains("docs/"), "where the docs are: {help}");
}

#[test]
fn mock_is_offered_only_where_it_means_something() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["serve", "check-config"] {
        let help = text(&run(dir.path(), &[command, "--help"], &[]).stdout);
        assert!(help.contains("--mock"), "{command}: {help}");
    }
    for command in [
        &["migrate"][..],
        &["import-legacy", "export.json"],
        &["simulate"],
    ] {
        let help = text(&run(dir.path(), &[command[0], "--help"], &[]).stdout);
        assert!(!help.contains("--mock"), "{command:?}: {help}");
        for args in [
            [command, &["--mock"]].concat(),
            [&["--mock"], command].concat(),
        ] {
            let out = run(dir.path(), &args, &[("DATABASE_PATH", "plans.db")]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?}: {}",
                text(&out.stderr)
            );
            assert!(text(&out.stderr).contains("--mock"), "{args:?}");
        }
    }
    assert!(
        !dir.path().join("plans.db").exists(),
        "a usage error touches nothing"
    );
    // Where it means something, either place works: check-config needs no token in mock mode.
    for args in [["check-config", "--mock"], ["--mock", "check-config"]] {
        let out = run(dir.path(), &args, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
