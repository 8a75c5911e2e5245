//! The access patterns users have (issue 16), beside the one-plan figures: random coach/date
//! lookups over the whole grown database, the same lookups against a naive actix-web + r2d2 +
//! rusqlite server on the same file (the reference), and a mix of 90% today's plans with 10%
//! random history, each followed by the server's resident set.
//!
//! `cargo xtask bench random [--quick]` runs only these (plus the ceiling and one plan, for the
//! table), keeping the grown database in `target/bench/random/` between runs.

use std::path::Path;

use super::{Served, json_lines, load_on, render, run_tool};
use crate::{cargo, workspace_root};

/// Plans `storage_bench --plans target` stores: 1,000, then imports of 100,000 until at least
/// `target`; coaches d, i, s, n in turn and one date per four plans from 1900-01-01.
fn stored_plans(target: usize) -> usize {
    let mut stored = 1_000;
    while stored < target {
        stored += 100_000;
    }
    stored
}

const FIRST_DATE: &str = "1900-01-01";
const LOOKUP: &str = "/api/coach-plans/?coach={coach}&date={date}";

/// `cargo xtask bench random [--quick]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let (plans, seconds, memory_requests) = if quick {
        (100_000, 2, 100_000)
    } else {
        (1_000_000, 5, 1_000_000)
    };
    cargo(&["build", "--release", "-p", "coach-plans-server"], &[])?;
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-api",
            "-p",
            "coach-plans-sqlite",
            "--examples",
        ],
        &[],
    )?;
    let release = workspace_root().join("target/release");
    let out_dir = workspace_root().join("target/bench");
    let work = out_dir.join("random");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    // Growing a million plans takes a minute: keep the database while its size fits.
    let db = work.join("big.db");
    let stamp = work.join("big.db.plans");
    let grown = std::fs::read_to_string(&stamp).ok();
    let mut lines = Vec::new();
    if grown.as_deref() != Some(plans.to_string().as_str()) || !db.exists() {
        eprintln!("storage: growing a database to {plans} plans");
        let _ = std::fs::remove_file(&stamp);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(work.join(format!("big.db{suffix}")));
        }
        lines.extend(json_lines(&run_tool(
            &release.join("examples/storage_bench"),
            &[
                "--plans",
                &plans.to_string(),
                "--db",
                &db.display().to_string(),
            ],
        )?));
        std::fs::write(&stamp, plans.to_string()).map_err(|e| e.to_string())?;
    }
    let loadgen = release.join("examples/loadgen");
    let ceiling = Served::start(&release.join("examples/fixed_body"), &[], &work)?;
    lines.push(load_on(
        &loadgen,
        &ceiling,
        "/",
        "ceiling: fixed 330-byte body",
        seconds,
        None,
        &[],
    )?);
    drop(ceiling);
    lines.extend(patterns(
        &release,
        &db,
        plans,
        seconds,
        memory_requests,
        &work,
    )?);
    let raw = out_dir.join("random.jsonl");
    std::fs::write(&raw, lines.join("\n") + "\n")
        .map_err(|e| format!("cannot write {}: {e}", raw.display()))?;
    let report = render(&lines);
    let report_path = out_dir.join("random.md");
    std::fs::write(&report_path, &report)
        .map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
    println!("{report}");
    eprintln!(
        "bench random: report in {}, raw lines in {}",
        report_path.display(),
        raw.display()
    );
    Ok(())
}

/// One plan, random lookups (and a memory run of them), the naive reference and the mix over
/// the database `storage_bench --plans plans` grew at `db`; JSON lines.
pub(crate) fn patterns(
    release: &Path,
    db: &Path,
    plans: usize,
    seconds: u32,
    memory_requests: u64,
    work: &Path,
) -> Result<Vec<String>, String> {
    let loadgen = release.join("examples/loadgen");
    let stored = stored_plans(plans);
    let days = (stored / 4).to_string();
    let random = ["--first-date", FIRST_DATE, "--days", days.as_str()];
    let label = format!("{stored} plans");
    let mut lines = Vec::new();
    let rss = |served: &Served, after: &str| -> Result<String, String> {
        Ok(format!(
            "{{\"bench\":\"rss\",\"after\":\"{after}\",\"rss_kib\":{}}}",
            served.resident_kib()?
        ))
    };

    // The reference first, so neither server finds the file warmer than the other did. It is
    // built as a plain project would build it, with libsqlite3-sys's own SQLite flags; the same
    // server with this workspace's flags (`.cargo/config.toml`) shows how much of the difference
    // is those flags.
    let plain = build_naive_reference()?;
    for (binary, how) in [
        (plain.as_path(), "naive actix + r2d2 + rusqlite"),
        (
            release.join("examples/naive_lookup").as_path(),
            "naive reference with this workspace's SQLite flags",
        ),
    ] {
        let naive = Served::start_with_args(binary, &[&db.display().to_string()], &[], work)?;
        lines.push(load_on(
            &loadgen,
            &naive,
            LOOKUP,
            &format!("{how}, random coach/date, {label}"),
            seconds,
            None,
            &random,
        )?);
        lines.push(rss(&naive, &format!("{how}: random lookups"))?);
    }

    let dir = work.join("served");
    let served = Served::coach_plans(release, &dir, db, "0", &[])?;
    let today = served.today()?;
    lines.push(load_on(
        &loadgen,
        &served,
        &format!("/api/coach-plans/?coach=d&date={today}"),
        &format!("one plan, {label}"),
        seconds,
        None,
        &[],
    )?);
    lines.push(load_on(
        &loadgen,
        &served,
        LOOKUP,
        &format!("random coach/date, {label}"),
        seconds,
        None,
        &random,
    )?);
    lines.push(rss(&served, "one plan and random lookups")?);
    lines.push(load_on(
        &loadgen,
        &served,
        LOOKUP,
        &format!("memory run: {memory_requests} random lookups, {label}"),
        seconds,
        Some(memory_requests),
        &random,
    )?);
    lines.push(rss(
        &served,
        &format!("{memory_requests} more random lookups over {label}"),
    )?);
    drop(served);

    let served = Served::coach_plans(release, &dir, db, "0", &[])?;
    let mut mix = random.to_vec();
    mix.extend(["--today", today.as_str(), "--today-share", "0.9"]);
    lines.push(load_on(
        &loadgen,
        &served,
        LOOKUP,
        &format!("mix: 90% today's plans, 10% random history, {label}"),
        seconds,
        None,
        &mix,
    )?);
    lines.push(rss(&served, "the mix (a fresh server)")?);
    drop(served);
    Ok(lines)
}

/// Builds the naive reference as a project of its own would be built: with the SQLite flags of
/// libsqlite3-sys and none of `.cargo/config.toml`'s (an empty `LIBSQLITE3_FLAGS` wins over the
/// config's), in a target directory of its own so the workspace's build is left as it is.
fn build_naive_reference() -> Result<std::path::PathBuf, String> {
    let target = workspace_root().join("target/bench/naive-build");
    let target_arg = target.display().to_string();
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-sqlite",
            "--example",
            "naive_lookup",
            "--target-dir",
            &target_arg,
        ],
        &[("LIBSQLITE3_FLAGS", " ")],
    )?;
    Ok(target.join("release/examples/naive_lookup"))
}
