//! `cargo xtask bench backfill`: 1,000 plans posted while the bot's gateway session was lost,
//! from the new session to all stored (SPEC 15; target under 5 s), measured by the bot crate's
//! `backfill_bench` example against the fake Discord with a SQLite store. The full
//! `cargo xtask bench` runs it too.

use std::path::Path;

use super::{json_lines, render, run_tool};
use crate::{cargo, workspace_root};

/// Builds the example (release).
pub(super) fn build() -> Result<(), String> {
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-bot",
            "--example",
            "backfill_bench",
        ],
        &[],
    )
}

/// Runs the example built in `examples` and returns its JSON lines.
pub(super) fn measure(examples: &Path) -> Result<Vec<String>, String> {
    eprintln!("bot: backfill of 1,000 missed plans");
    Ok(json_lines(&run_tool(
        &examples.join("backfill_bench"),
        &["1000", "--runs", "3"],
    )?))
}

/// `cargo xtask bench backfill`: the report goes to `target/bench/backfill.md`.
pub(crate) fn run() -> Result<(), String> {
    build()?;
    let lines = measure(&workspace_root().join("target/release/examples"))?;
    let out_dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let report = render(&lines);
    println!("{report}");
    std::fs::write(out_dir.join("backfill.md"), report).map_err(|e| e.to_string())
}
