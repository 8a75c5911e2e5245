//! PostgreSQL's figures beside SQLite's (issue 14): lookup and durable save from the store
//! (`coach-plans-postgres`'s `pg_storage_bench` example), and one plan over HTTP from the release
//! server with `DATABASE_URL`, seeded and loaded as the SQLite one is, then two replicas on the
//! one database behind one load generator (each replica's share and the total). Against the test server
//! (`COACH_PLANS_TEST_POSTGRES_URL` or 127.0.0.1:5432), in databases of their own dropped
//! afterwards; without a server the figures are skipped with a line saying so.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Served, json_lines, run_tool};
use crate::cargo;

/// Builds the example, then measures; `load` runs the load generator as for SQLite's figures.
pub(super) fn measure(
    release: &Path,
    work: &Path,
    plans: usize,
    http_only: bool,
    load: impl Fn(&Served, &str, &str, &[&str]) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    if let Err(why) = crate::postgres::server_reachable() {
        eprintln!("SKIPPED: the PostgreSQL bench figures: {why}");
        return Ok(Vec::new());
    }
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-postgres",
            "--example",
            "pg_storage_bench",
        ],
        &[],
    )?;
    let bench = release.join("examples/pg_storage_bench");
    let mut lines = Vec::new();
    if !http_only {
        eprintln!("postgres: storage figures, growing to {plans} plans");
        lines.extend(json_lines(&run_tool(
            &bench,
            &["--plans", &plans.to_string()],
        )?));
    }

    // A database held by the example while the server uses it.
    let mut holder = Command::new(&bench)
        .arg("--hold")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bench.display()))?;
    let url = holder
        .stdout
        .take()
        .and_then(|out| BufReader::new(out).lines().next())
        .and_then(Result::ok)
        .ok_or("pg_storage_bench --hold printed no URL")?;
    let dir = work.join("postgres");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let measured = (|| {
        let server = Served::coach_plans(
            release,
            &dir,
            &dir.join("unused.db"),
            "249",
            &[("DATABASE_URL", url.as_str())],
        )?;
        let date = server.today()?;
        let path = format!("/api/coach-plans/?coach=d&date={date}");
        let one = load(&server, &path, "one plan, 1,000 plans, PostgreSQL", &[])?;
        // A second replica on the same database (SPEC 16; in mock mode it finds today's plans
        // there and posts none), the load generator's connections dealt to the two in turn as
        // a round-robin balancer would.
        let second_dir = work.join("postgres-second");
        std::fs::create_dir_all(&second_dir).map_err(|e| e.to_string())?;
        let second = Served::coach_plans(
            release,
            &second_dir,
            &second_dir.join("unused.db"),
            "0",
            &[("DATABASE_URL", url.as_str())],
        )?;
        let also = second.base.trim_start_matches("http://").to_owned();
        let two = load(
            &server,
            &path,
            "one plan, 1,000 plans, PostgreSQL, two replicas",
            &["--also", also.as_str()],
        )?;
        // `load` counts the first replica's CPU time only: per request of both, it means nothing.
        let two = match two.split_once(",\"server_cpu_us\":") {
            Some((open, _)) => format!("{open}}}"),
            None => two,
        };
        Ok::<_, String>([one, two])
    })();
    // Closing its standard input lets the holder drop the database.
    drop(holder.stdin.take());
    let _ = holder.wait();
    lines.extend(measured?);
    Ok(lines)
}
