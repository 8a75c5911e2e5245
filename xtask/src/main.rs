//! The repository's own automation. `cargo xtask ci` runs exactly what CI runs.
// A developer tool: it talks to the person running it on the terminal.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod browser;
mod ci;
mod postgres;
mod schemathesis;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("deps") => ci::check_dependency_rules(),
        Some("schemathesis") => schemathesis::run(),
        Some("help" | "--help" | "-h") | None => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci      format check, clippy (-D warnings), tests, the schemathesis contract test, rustdoc
          (-D warnings), dependency checks
  deps    the dependency checks alone: SPEC 2's rules on each crate's dependency tree
  schemathesis the OpenAPI contract test alone (part of ci): schemathesis against the mock
          server (build it first: cargo build -p coach-plans-server --bin coach-plans)
  bench   every performance figure of SPEC 13 in one run (release builds first, then several
          minutes of measuring), written to target/bench/report.md; `bench --quick` uses
          100,000 plans and 2 s loads; `bench http` only the HTTP figures with 1,000 plans;
          `bench slash` a /plan slash command to its callback (target/bench/slash.md);
          `bench backfill` only the backfill of 1,000 missed plans";

/// Whether this runs under CI (`CI=true`, or `1` as some CI systems set it): suites that need a
/// service or a tool fail there instead of printing SKIPPED.
pub(crate) fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    // `cargo xtask` (cargo run) says where the xtask package is at run time; the path built in
    // is only a fallback for running the binary directly. A binary built in another checkout
    // (a target directory copied between worktrees) would otherwise check that checkout.
    let manifest_dir =
        env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    Path::new(&manifest_dir)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs `cargo` with these arguments from the workspace root, echoing the command.
fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// Runs `cargo` and returns its standard output.
fn cargo_output(args: &[&str]) -> Result<String, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if output.status.success() {
        String::from_utf8(output.stdout)
            .map_err(|e| format!("`cargo {}` printed non-UTF-8: {e}", args.join(" ")))
    } else {
        Err(format!(
            "`cargo {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
