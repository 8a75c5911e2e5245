//! The contract test of SPEC 17: schemathesis (from PyPI, pinned, in a virtual environment
//! under `target/`) against the mock server's own `/api/openapi.json`.
//!
//! Two runs: one against a server without a token, one against a server with a token (the
//! document then carries the bearer scheme) sending it, which also checks that the routes
//! refuse requests without it. Each server starts from a copy of the Python version's sample
//! database (`tests/fixtures/legacy-v1-sample.db`, upgraded on open), so the answers include
//! imported plans (authors without ids, naive timestamps, history without charts) besides the
//! mock plans. Any finding fails: a 5xx, a response that breaks its schema, a
//! status code, content type or header the document does not list, a schema-invalid request
//! accepted, a method answered that the document does not list.
//!
//! Without python3 and its venv module, the suite is skipped with a loud line, or fails under
//! `CI=true`.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::workspace_root;

/// The schemathesis release the suite runs (bump it on purpose, with the checks still green).
const VERSION: &str = "4.32.5";

/// Test cases per operation and phase: enough to reach every status an operation documents,
/// few enough for well under a minute a run on two cores.
const MAX_EXAMPLES: &str = "40";

/// The checks run. Not `positive_data_acceptance`: it counts a 400 for a request whose
/// parameters each match the document as a failure, and OpenAPI cannot say that `date`
/// excludes `from`/`to` or that `from` must not be after `to` (answered 400, documented).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,\
missing_required_header,unsupported_method,ignored_auth";

/// How to get python3 with venv on Debian and Ubuntu.
const INSTALL: &str = "apt-get install python3 python3-venv";

/// The token of the run with one (a throwaway for this test server only).
const TOKEN: &str = "schemathesis-run-token";

/// Runs the contract test (see the module documentation).
pub(crate) fn run() -> Result<(), String> {
    let dir = target_dir().join("schemathesis");
    let Some(python) = python_with_venv() else {
        let message = format!(
            "schemathesis contract test: python3 with its venv module is missing; install it with `{INSTALL}`"
        );
        if crate::in_ci() {
            return Err(message);
        }
        eprintln!("\n*** SKIPPED {message} ***\n");
        return Ok(());
    };
    let schemathesis = install(&python, &dir)?;
    let binary = target_dir().join("debug").join("coach-plans");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: build it with `cargo build -p coach-plans-server --bin coach-plans`",
            binary.display()
        ));
    }
    let started = Instant::now();
    check(&schemathesis, &binary, &dir, None)?;
    check(&schemathesis, &binary, &dir, Some(TOKEN))?;
    eprintln!(
        "schemathesis: no findings (two runs, {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `target/` of the workspace (or `CARGO_TARGET_DIR`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// `python3`, when it runs and has the venv module.
fn python_with_venv() -> Option<PathBuf> {
    let python = PathBuf::from("python3");
    let works = Command::new(&python)
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(python)
}

/// The schemathesis program of the virtual environment under `dir`, installed when missing or
/// at another version.
fn install(python: &Path, dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("venv");
    let program = venv.join("bin").join("schemathesis");
    if installed_version(&program).as_deref() == Some(VERSION) {
        return Ok(program);
    }
    eprintln!(
        "$ {} -m venv --clear {} && pip install schemathesis=={VERSION}",
        python.display(),
        venv.display()
    );
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    run_quietly(
        Command::new(python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "creating the schemathesis virtual environment",
    )?;
    run_quietly(
        Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("schemathesis=={VERSION}"),
        ]),
        "installing schemathesis from PyPI",
    )?;
    match installed_version(&program) {
        Some(version) if version == VERSION => Ok(program),
        other => Err(format!(
            "schemathesis {VERSION} was installed, but {} reports {other:?}",
            program.display()
        )),
    }
}

/// The version `schemathesis --version` reports (`schemathesis, version 4.32.5`).
fn installed_version(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    output
        .status
        .success()
        .then(|| text.trim().rsplit(' ').next().map(str::to_owned))
        .flatten()
}

fn run_quietly(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Starts the mock server (with `token` when given) in a fresh directory, runs schemathesis
/// against it, stops it and removes the directory.
fn check(
    schemathesis: &Path,
    binary: &Path,
    dir: &Path,
    token: Option<&str>,
) -> Result<(), String> {
    let label = if token.is_some() {
        "with-token"
    } else {
        "open"
    };
    let data = dir.join(format!("run-{label}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&data);
    fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    let legacy = workspace_root().join("tests/fixtures/legacy-v1-sample.db");
    fs::copy(&legacy, data.join("plans.db"))
        .map_err(|e| format!("copying {} into {}: {e}", legacy.display(), data.display()))?;
    let mut server = MockServer::start(binary, &data, token)?;
    let url = server.url.clone();
    let mut command = Command::new(schemathesis);
    command
        .arg("run")
        .arg(format!("{url}/api/openapi.json"))
        .args(["--url", &url])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        // One worker: hypothesis describing strategies from two threads has crashed CPython
        // 3.11's parser ("AST constructor recursion depth mismatch").
        .args(["--workers", "1"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(dir.join("report").join(format!("junit-{label}.xml")))
        // Hypothesis keeps its example database in the working directory.
        .current_dir(dir);
    if let Some(token) = token {
        command.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    eprintln!(
        "$ schemathesis run {url}/api/openapi.json ({label} server, checks {CHECKS}, {MAX_EXAMPLES} examples)"
    );
    let status = command
        .status()
        .map_err(|e| format!("could not run {}: {e}", schemathesis.display()));
    let server_log = server.stop();
    let _ = fs::remove_dir_all(&data);
    let status = status?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "schemathesis found responses that break /api/openapi.json ({label} server; {status}); \
             the failures and a `curl` for each are printed above, JUnit report in {}.\n\
             The server's output:\n{server_log}",
            dir.join("report").display()
        ))
    }
}

/// `coach-plans --mock` on port 0, its address read from its `ready:` line.
struct MockServer {
    child: Child,
    url: String,
    output: mpsc::Receiver<String>,
}

impl MockServer {
    fn start(binary: &Path, dir: &Path, token: Option<&str>) -> Result<Self, String> {
        let mut command = Command::new(binary);
        command
            .arg("--mock")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("API_PORT", "0")
            .env("DATABASE_PATH", dir.join("plans.db"))
            .env("LOG_FILE", dir.join("coach-plans.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("API_AUTH_TOKEN", token);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let (lines, output) = mpsc::channel();
        // Both pipes are read to the end so the server never blocks on a full pipe.
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match output.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("ready: ") {
                        let url = address.trim().to_owned();
                        return Ok(Self { child, url, output });
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!(
                            "the mock server exited ({status}) before it was ready:\n{}",
                            seen.join("\n")
                        ));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "the mock server was not ready within 60 s:\n{}",
            seen.join("\n")
        ))
    }

    /// Stops the server; what it printed since it was ready.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
