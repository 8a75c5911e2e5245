//! Helpers for the end-to-end tests in `tests/`: they run the built `coach-plans` binary and
//! talk to it only through its command line, files, HTTP and logs.

pub mod discord;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `coach-plans` binary, built from the current sources on first use.
///
/// `cargo test` does not build other packages' binaries for a test, so the first call runs
/// `cargo build` for the server (a no-op when it is up to date).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        cargo_build(&["--package", "coach-plans-server", "--bin", "coach-plans"]);
        built(Path::new("coach-plans"))
    })
}

/// The `fetch_plan` example of the client library (its README's example), built on first use.
pub fn client_readme_example() -> &'static Path {
    static EXAMPLE: OnceLock<PathBuf> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        cargo_build(&["--package", "coach-plans-client", "--example", "fetch_plan"]);
        built(&Path::new("examples").join("fetch_plan"))
    })
}

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
}

/// Runs `cargo build --quiet ARGS` in the workspace.
fn cargo_build(args: &[&str]) {
    let mut cargo = Command::new(env!("CARGO"));
    // Variables cargo sets for this test describe the test package; build scripts that
    // watch them (ring's watches CARGO_MANIFEST_DIR) would rebuild on every run.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            )
        {
            cargo.env_remove(name.as_ref());
        }
    }
    let status = cargo
        .args(["build", "--quiet"])
        .args(args)
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo build {args:?}: {e}"));
    assert!(status.success(), "cargo build {args:?} failed");
}

/// A file cargo built, by its path under `<target>/<profile>`.
fn built(relative: &Path) -> PathBuf {
    // This test runs from <target>/<profile>/deps.
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("odd test path {exe:?}"));
    let file = profile_dir.join(relative);
    assert!(file.exists(), "{file:?} was not built");
    file
}

/// A `coach-plans` command in `dir` with a clean environment (nothing from the developer's
/// shell leaks in) plus `env`.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied());
    command
}

/// Runs `coach-plans` to completion.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, args, env)
        .output()
        .unwrap_or_else(|e| panic!("could not run coach-plans: {e}"))
}

/// The Python version's fixtures, copied into this repository.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A running `coach-plans serve`, started in a directory with its database and logs in it.
pub struct Server {
    child: std::process::Child,
    /// The address from the `ready:` line.
    pub address: std::net::SocketAddr,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The threads reading its standard output and error; they end when the process does.
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// What a server that did not become ready printed.
#[derive(Debug)]
pub struct NotReady {
    /// The exit code, when it exited.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The environment every server test starts from: a free port, files under `dir`, short
/// timeouts so fault tests run fast.
pub fn base_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("API_PORT".into(), "0".into()),
        (
            "DATABASE_PATH".into(),
            dir.join("data/plans.db").display().to_string(),
        ),
        (
            "LOG_FILE".into(),
            dir.join("logs/coach-plans.log").display().to_string(),
        ),
        ("CONNECTION_TIMEOUT".into(), "1".into()),
        ("DATABASE_RETRY_MAX_DELAY".into(), "0.5".into()),
        ("RECONNECT_DELAY_SECONDS".into(), "0.2".into()),
        ("MOCK_SEED_DAYS".into(), "0".into()),
    ]
}

/// A line reader on a child's pipe, collecting every line.
fn collect_lines(
    pipe: impl std::io::Read + Send + 'static,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ready: Option<std::sync::mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(ready) = &ready
                && let Some(address) = line.strip_prefix("ready: http://")
            {
                let _ = ready.send(address.to_owned());
            }
            lines
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    })
}

impl Server {
    /// Starts `coach-plans ARGS` in `dir` with `env` and waits for its `ready:` line.
    pub fn start(dir: &Path, args: &[&str], env: &[(String, String)]) -> Self {
        Self::try_start(dir, args, env)
            .unwrap_or_else(|e| panic!("the server did not start: {e:?}"))
    }

    /// Like [`Server::start`], returning what it printed when it exits instead.
    pub fn try_start(
        dir: &Path,
        args: &[&str],
        env: &[(String, String)],
    ) -> Result<Self, NotReady> {
        use std::process::Stdio;
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run coach-plans: {e}"));
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(collect_lines(pipe, stdout.clone(), Some(ready_tx)));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(collect_lines(pipe, stderr.clone(), None));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(address) = ready_rx.recv_timeout(std::time::Duration::from_millis(50)) {
                let address = address
                    .parse()
                    .unwrap_or_else(|e| panic!("odd ready address {address}: {e}"));
                return Ok(Self {
                    child,
                    address,
                    stdout,
                    readers,
                });
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || std::time::Instant::now() > deadline {
                if exited.is_none() {
                    let _ = child.kill();
                }
                let code = child.wait().ok().and_then(|s| s.code());
                // The pipes close with the process: the readers end once they have read all.
                for reader in readers {
                    let _ = reader.join();
                }
                let text = |lines: &std::sync::Arc<std::sync::Mutex<Vec<String>>>| {
                    lines
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .join("\n")
                };
                return Err(NotReady {
                    code,
                    stdout: text(&stdout),
                    stderr: text(&stderr),
                });
            }
        }
    }

    /// `GET path` on the server.
    pub fn get(&self, path: &str) -> Response {
        get(self.address, path)
    }

    /// Waits (up to 30 s) until no chart is waiting to be archived and at least one is archived,
    /// as `/metrics` counts them (mock mode archives its generated charts in the background).
    pub fn wait_for_charts_archived(&self) {
        wait_for("charts archived", 30, || {
            let metrics = self.get("/metrics").json();
            let charts = &metrics["charts"];
            (charts["charts_pending"] == 0 && charts["charts_archived"].as_u64() > Some(0))
                .then_some(())
        });
    }

    /// Sends a signal (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("could not run kill: {e}"));
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (up to 30 s) for the process to exit and returns its exit code (`None` when killed
    /// by a signal).
    pub fn wait(mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Everything it printed is collected once its pipes are read to the end.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for the exit code.
    pub fn stop(self) -> Option<i32> {
        self.signal("TERM");
        self.wait()
    }

    /// Everything printed on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, as read off the socket.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The header block.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` over a fresh connection (HTTP/1.1, `Connection: close`).
pub fn get(address: std::net::SocketAddr, path: &str) -> Response {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address)
        .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"));
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("cannot send the request: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("cannot read the response: {e}"));
    parse_response(&raw)
}

/// Splits a raw HTTP response.
pub fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `seconds`.
pub fn wait_for<T>(what: &str, seconds: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An owned environment as the `(&str, &str)` pairs [`run`] takes.
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
