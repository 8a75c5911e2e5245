//! Helpers for the end-to-end tests in `tests/`: they run the built `coach-plans` binary and
//! talk to it only through its command line, files, HTTP and logs.

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
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."));
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--package",
                "coach-plans-server",
                "--bin",
                "coach-plans",
            ])
            .current_dir(workspace)
            .status()
            .unwrap_or_else(|e| panic!("could not run cargo to build coach-plans: {e}"));
        assert!(status.success(), "building coach-plans failed");
        // This test runs from <target>/<profile>/deps; the binary sits in <target>/<profile>.
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| panic!("odd test path {exe:?}"));
        let binary = profile_dir.join("coach-plans");
        assert!(binary.exists(), "{binary:?} was not built");
        binary
    })
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
