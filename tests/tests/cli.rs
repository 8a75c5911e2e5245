//! The command line of the built binary: check-config and migrate, exit codes and messages.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use coach_plans_e2e::{Server, base_env, fixture, run};

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
    std::fs::write(dir.path().join("port.yaml"), "api:\n  port: abc\n").unwrap();
    let cases: [Case<'_>; 6] = [
        (&["check-config"], &[], "DISCORD_BOT_TOKEN"),
        (
            &["--mock", "check-config"],
            &[("API_PORT", "abc")],
            "invalid api.port (API_PORT): 'abc'",
        ),
        (
            &["--mock", "--config", "port.yaml", "check-config"],
            &[],
            "port.yaml: api.port (API_PORT): invalid type",
        ),
        (
            &["--mock", "check-config"],
            &[("API_HOST", "not a host")],
            "invalid api.host (API_HOST): 'not a host'",
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
        said.contains("schema version before: 1") && said.contains("schema version after: 4"),
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

/// `config.example.yaml` at the repository root.
fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.example.yaml")
}

#[test]
fn check_config_takes_the_example_file_as_it_is_in_mock_mode() {
    let dir = tempfile::tempdir().unwrap();
    let example = example_config();
    let out = run(
        dir.path(),
        &[
            "--mock",
            "--config",
            example.to_str().unwrap(),
            "check-config",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bot_token: null"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_config_reads_the_environment_file_the_service_uses() {
    let dir = tempfile::tempdir().unwrap();
    let example = example_config();
    std::fs::write(
        dir.path().join("env"),
        "# /etc/coach-plans/env\nDISCORD_BOT_TOKEN=\"MTIz.env-file-secret\"\nAPI_PORT=6543\nAPI_AUTH_TOKEN='api # secret'\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--config",
            example.to_str().unwrap(),
            "--env-file",
            "env",
            "check-config",
        ],
        &[("API_PORT", "6000")],
    );
    let printed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        printed.contains("port: 6543"),
        "the file wins, as under systemd: {printed}"
    );
    assert!(
        printed.contains("bot_token: '***'") && printed.contains("auth_token: '***'"),
        "{printed}"
    );
    assert!(!printed.contains("secret"), "{printed}");

    std::fs::write(
        dir.path().join("bad.env"),
        "API_PORT=1\nDISCORD_BOT_TOKEN\n",
    )
    .unwrap();
    let bad = run(dir.path(), &["--env-file", "bad.env", "check-config"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(err.contains("bad.env:2: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// A directory holding a database this build must refuse, and a way to prove nothing in it
/// changed.
struct Refusal {
    dir: tempfile::TempDir,
    /// Every entry of `db/` with its size and a hash of its bytes, before the attempt.
    before: Vec<(String, u64, u64)>,
}

impl Refusal {
    fn snapshot(dir: &Path) -> Vec<(String, u64, u64)> {
        use std::hash::{Hash as _, Hasher as _};
        let mut files: Vec<_> = std::fs::read_dir(dir.join("db"))
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let bytes = if entry.path().is_file() {
                    std::fs::read(entry.path()).unwrap()
                } else {
                    Vec::new()
                };
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    bytes.len() as u64,
                    hasher.finish(),
                )
            })
            .collect();
        files.sort();
        files
    }

    fn new(prepare: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        prepare(&dir.path().join("db"));
        let before = Self::snapshot(dir.path());
        Self { dir, before }
    }

    fn env(&self, database: &str) -> Vec<(String, String)> {
        let mut env = base_env(self.dir.path());
        env.retain(|(k, _)| k != "DATABASE_PATH");
        env.push((
            "DATABASE_PATH".into(),
            self.dir
                .path()
                .join("db")
                .join(database)
                .display()
                .to_string(),
        ));
        env
    }

    /// Runs `migrate --dry-run`, `migrate` and `serve --mock`; each must exit 3, say `needle`
    /// exactly once, and leave `db/` exactly as it was.
    fn assert_refused(&self, database: &str, needle: &str) {
        let env = self.env(database);
        let pairs = coach_plans_e2e::pairs(&env);
        for args in [&["migrate", "--dry-run"][..], &["migrate"][..]] {
            let out = run(self.dir.path(), args, &pairs);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
            assert_eq!(
                err.matches(needle).count(),
                1,
                "{args:?} says it once: {err}"
            );
            assert_eq!(
                Self::snapshot(self.dir.path()),
                self.before,
                "{args:?} changed db/"
            );
        }
        let failed = Server::try_start(self.dir.path(), &["--mock"], &env)
            .err()
            .unwrap_or_else(|| panic!("serve started on a database it must refuse"));
        assert_eq!(failed.code, Some(3), "{failed:?}");
        assert_eq!(
            failed.stderr.matches(needle).count(),
            1,
            "serve says it once: {failed:?}"
        );
        assert_eq!(
            Self::snapshot(self.dir.path()),
            self.before,
            "serve changed db/"
        );
    }
}

#[test]
fn a_newer_database_in_wal_mode_is_refused_once_with_nothing_beside_it_created() {
    let refusal = Refusal::new(|db| {
        let path = db.join("plans.db");
        std::fs::copy(fixture("legacy-v1-sample.db"), &path).unwrap();
        // Upgraded by this build, so in WAL mode like every database it writes.
        let out = run(
            db,
            &["migrate"],
            &[("MOCK_MODE", "1"), ("DATABASE_PATH", "plans.db")],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        for entry in std::fs::read_dir(db).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != "plans.db" {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        mark_as_future_schema(&path);
        let mode: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    });
    refusal.assert_refused("plans.db", "newer than this build");
}

#[test]
fn a_database_path_naming_a_directory_is_refused_naming_the_path() {
    let refusal = Refusal::new(|db| std::fs::create_dir(db.join("plans")).unwrap());
    refusal.assert_refused("plans", "is a directory");
    let out = run(
        refusal.dir.path(),
        &["migrate"],
        &coach_plans_e2e::pairs(&refusal.env("plans")),
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("db{}plans", std::path::MAIN_SEPARATOR)),
        "{err}"
    );
    assert!(!err.contains("disk I/O error"), "{err}");
}

#[test]
fn a_schema_version_table_of_another_shape_is_refused_untouched() {
    let refusal = Refusal::new(|db| {
        let conn = rusqlite::Connection::open(db.join("other.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version TEXT, applied_at TEXT);
             INSERT INTO schema_version VALUES ('2024.1', 'yesterday');
             CREATE TABLE coach_plans (id INTEGER PRIMARY KEY, body TEXT);",
        )
        .unwrap();
    });
    refusal.assert_refused("other.db", "schema_version");
    let out = run(
        refusal.dir.path(),
        &["migrate"],
        &coach_plans_e2e::pairs(&refusal.env("other.db")),
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("other.db") && err.contains("'2024.1'"),
        "{err}"
    );
    assert!(!err.contains("Invalid column type"), "{err}");
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
        "archive-charts",
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
        ("4", "archive-charts"),
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
        &["archive-charts"],
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
