//! `cargo xtask bench slash`: a `/plan` slash command from INTERACTION_CREATE to the
//! interaction callback against the fake Discord (issue 13: under 10 ms median), with the
//! in-memory store (the bot's own path) and with SQLite (durable writes). Writes
//! `target/bench/slash.md` and prints it.

use crate::{cargo, workspace_root};

/// How many `/plan` commands each run sends (`--quick`: 100).
const COUNT: usize = 500;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let count = if args.iter().any(|a| a == "--quick") {
        100
    } else {
        COUNT
    };
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-bot",
            "--example",
            "slash_latency",
        ],
        &[],
    )?;
    let tool = workspace_root().join("target/release/examples/slash_latency");
    let mut report = String::from("# Slash commands: `/plan` to callback\n\n");
    for store in [None, Some("--sqlite")] {
        let mut args = vec![count.to_string()];
        args.extend(store.map(str::to_owned));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        eprintln!("slash: /plan to callback ({})", store.unwrap_or("memory"));
        let output = super::run_tool(&tool, &args)?;
        for line in output.lines() {
            if line.starts_with('{') {
                let field = |name: &str| super::field(line, name).to_owned();
                report.push_str(&format!(
                    "- `/plan` INTERACTION_CREATE -> callback, {} store, {} commands: median {} us, p90 {} us, p99 {} us, max {} us\n",
                    field("store"),
                    field("count"),
                    field("median_us"),
                    field("p90_us"),
                    field("p99_us"),
                    field("max_us"),
                ));
            }
        }
    }
    println!("{report}");
    let out_dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("slash.md"), report).map_err(|e| e.to_string())
}
