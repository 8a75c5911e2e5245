//! `cargo xtask bench`: every figure of SPEC 13, measured side by side in one run on this
//! machine, written to `target/bench/report.md` (and the raw JSON lines beside it).
//!
//! The HTTP figures come from `coach-plans-api`'s `loadgen` example (wrk's method: keep-alive
//! connections over a few threads, every latency recorded) against, in turn, the fixed-body
//! actix server (the ceiling), the release `coach-plans` serving 1,000 plans, and the same
//! serving 1,000,000 plans.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, workspace_root};

mod backfill;
mod postgres;
mod random;
mod slash;

/// Options: `--quick` measures 100,000 plans instead of 1,000,000 and runs each load for 2 s;
/// `http` measures only the HTTP figures with 1,000 plans (the ceiling, the four endpoints and
/// one plan at `LOG_LEVEL=WARN`), skipping storage, client, bot and the grown database;
/// `charts` measures only the chart figures (issue 12). Each HTTP figure is the median of three
/// runs.
struct Options {
    plans: usize,
    seconds: u32,
    memory_requests: u64,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "random") {
        return random::run(args);
    }
    if args.iter().any(|a| a == "slash") {
        return slash::run(args);
    }
    if args.iter().any(|a| a == "backfill") {
        return backfill::run();
    }
    let quick = args.iter().any(|a| a == "--quick");
    let http_only = args.iter().any(|a| a == "http");
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--quick" | "http" | "random" | "charts"))
    {
        return Err(format!(
            "unknown bench argument '{unknown}': `--quick`, `http`, `random`, `charts` and `backfill` are known"
        ));
    }
    if args.iter().any(|a| a == "charts") {
        cargo(&["build", "--release", "-p", "coach-plans-server"], &[])?;
        build_chart_bench()?;
        let out_dir = workspace_root().join("target/bench");
        std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
        let lines = measure_charts(&workspace_root().join("target/release"), quick)?;
        let report = render(&lines);
        println!("{report}");
        return std::fs::write(out_dir.join("charts.md"), report).map_err(|e| e.to_string());
    }
    let options = if quick {
        Options {
            plans: 100_000,
            seconds: 2,
            memory_requests: 100_000,
        }
    } else {
        Options {
            plans: 1_000_000,
            seconds: 5,
            memory_requests: 1_000_000,
        }
    };
    cargo(&["build", "--release", "-p", "coach-plans-server"], &[])?;
    if http_only {
        cargo(
            &["build", "--release", "-p", "coach-plans-api", "--examples"],
            &[],
        )?;
    } else {
        build_tools_outside_http()?;
    }
    let release = workspace_root().join("target/release");
    let out_dir = workspace_root().join("target/bench");
    let work = out_dir.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let examples = release.join("examples");
    let mut lines: Vec<String> = Vec::new();

    let big_db = work.join("big.db");
    if !http_only {
        measure_outside_http(&examples, &big_db, &options, &mut lines)?;
    }

    let loadgen = examples.join("loadgen");
    // See `load_on`: the median of three runs, with the server's CPU time per request.
    let load = |server: &Served, path: &str, label: &str, requests: Option<u64>| {
        load_on(
            &loadgen,
            server,
            path,
            label,
            options.seconds,
            requests,
            &[],
        )
    };

    // The ceiling, kept running for the paired runs below.
    let ceiling = Served::start(&examples.join("fixed_body"), &[], &work)?;
    lines.push(load(&ceiling, "/", "ceiling: fixed 330-byte body", None)?);

    // coach-plans with 1,000 plans (mock mode seeds 4 coaches x 250 days), default logging.
    let small_dir = work.join("small");
    let small = Served::coach_plans(
        &release,
        &small_dir,
        &small_dir.join("plans.db"),
        "249",
        &[],
    )?;
    let date = small.today()?;
    let endpoints = [
        (format!("/api/coach-plans/?coach=d&date={date}"), "one plan"),
        (format!("/api/coach-plans/all?date={date}"), "/all"),
        ("/health".to_owned(), "/health"),
        ("/metrics".to_owned(), "/metrics"),
    ];
    for (path, name) in &endpoints {
        lines.push(load(&small, path, &format!("{name}, 1,000 plans"), None)?);
    }
    lines.push(paired_share(
        &loadgen,
        &ceiling,
        &small,
        &endpoints[0].0,
        // Twice as many runs as the table's, half as long each.
        options.seconds.div_ceil(2),
    )?);
    drop(ceiling);
    // The dashboard's day page (issue 15): `/` as a browser asks for it, cached like the JSON.
    lines.push(load_on(
        &loadgen,
        &small,
        "/",
        "dashboard / (HTML), 1,000 plans",
        options.seconds,
        None,
        &["--header", "Accept: text/html"],
    )?);
    drop(small);
    let quiet_dir = work.join("quiet");
    let quiet = Served::coach_plans(
        &release,
        &quiet_dir,
        &small_dir.join("plans.db"),
        "249",
        &[("LOG_LEVEL", "WARN")],
    )?;
    lines.push(load(
        &quiet,
        &endpoints[0].0,
        "one plan, 1,000 plans, LOG_LEVEL=WARN (no access lines)",
        None,
    )?);
    drop(quiet);
    // PostgreSQL beside SQLite: storage figures and one plan over HTTP (issue 14).
    lines.extend(postgres::measure(
        &release,
        &work,
        options.plans,
        http_only,
        |server, path, label, extra| {
            load_on(&loadgen, server, path, label, options.seconds, None, extra)
        },
    )?);
    if http_only {
        return write_report(&out_dir, &lines);
    }

    // The same with the grown database.
    let big_dir = work.join("big");
    let big = Served::coach_plans(&release, &big_dir, &big_db, "0", &[])?;
    let big_date = big.today()?;
    let plan_path = format!("/api/coach-plans/?coach=d&date={big_date}");
    let big_label = format!("{} plans", options.plans);
    for (path, name) in endpoints.iter().skip(1) {
        lines.push(load(&big, path, &format!("{name}, {big_label}"), None)?);
    }
    lines.push(load(
        &big,
        &plan_path,
        &format!("one plan, {big_label}"),
        None,
    )?);
    // Memory after a million requests.
    lines.push(load(
        &big,
        &plan_path,
        &format!(
            "memory run: {} requests, {big_label}",
            options.memory_requests
        ),
        Some(options.memory_requests),
    )?);
    let rss = big.resident_kib()?;
    lines.push(format!(
        "{{\"bench\":\"memory\",\"plans\":{},\"rss_kib\":{rss}}}",
        options.plans
    ));
    drop(big);

    // The access patterns of issue 16 over the same database.
    lines.extend(random::patterns(
        &release,
        &big_db,
        options.plans,
        options.seconds,
        options.memory_requests,
        &work,
    )?);
    lines.extend(measure_charts(&release, quick)?);
    write_report(&out_dir, &lines)
}

/// Runs `loadgen` against `server` at `path`: three runs of `seconds` reporting the one with the
/// median throughput (one run of `requests` when given), with the server's CPU time per request
/// added to the line. On a 2-core machine that also runs the load generator single runs vary by
/// 20% or more; the CPU time per request is disturbed far less by other work. `extra` are more loadgen arguments (random coach/date options).
fn load_on(
    loadgen: &Path,
    server: &Served,
    path: &str,
    label: &str,
    seconds: u32,
    requests: Option<u64>,
    extra: &[&str],
) -> Result<String, String> {
    eprintln!("http: {label}");
    let url = format!("{}{path}", server.base);
    let mut args = vec![url, "--label".to_owned(), label.to_owned()];
    match requests {
        Some(n) => args.extend(["--requests".to_owned(), n.to_string()]),
        None => args.extend(["--seconds".to_owned(), seconds.to_string()]),
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let runs = if requests.is_some() { 1 } else { 3 };
    let mut results = Vec::new();
    for _ in 0..runs {
        let cpu_before = server.cpu_seconds()?;
        let run = json_lines(&run_tool(loadgen, &args)?);
        let cpu = server.cpu_seconds()? - cpu_before;
        results.extend(run.into_iter().map(|line| {
            let served: f64 = field(&line, "requests").parse().unwrap_or(0.0);
            let micros = if served > 0.0 {
                cpu * 1e6 / served
            } else {
                0.0
            };
            match line.strip_suffix('}') {
                Some(open) => format!("{open},\"server_cpu_us\":{micros:.1}}}"),
                None => line,
            }
        }));
    }
    results.sort_by(|a, b| {
        let rps = |l: &str| field(l, "rps").parse::<f64>().unwrap_or(0.0);
        rps(a).total_cmp(&rps(b))
    });
    results
        .get(results.len() / 2)
        .cloned()
        .ok_or_else(|| format!("loadgen printed nothing for {label}"))
}

/// One plan's share of the ceiling, from alternating runs. The machine's speed drifts from one
/// run to the next by more than the two differ (the ceiling alone measured 108,000 to 139,000
/// req/s within one minute on a quiet machine), so each pair of neighbouring runs is compared
/// on its own: [`SHARE_PAIRS`] pairs of runs of `seconds` each, in turn ceiling first and one
/// plan first (a steady drift favours neither), and the median of the shares is reported.
fn paired_share(
    loadgen: &Path,
    ceiling: &Served,
    served: &Served,
    path: &str,
    seconds: u32,
) -> Result<String, String> {
    eprintln!("http: one plan against the ceiling, alternating runs");
    let rps = |server: &Served, path: &str| -> Result<f64, String> {
        let url = format!("{}{path}", server.base);
        let seconds = seconds.to_string();
        let output = run_tool(loadgen, &[url.as_str(), "--seconds", seconds.as_str()])?;
        json_lines(&output)
            .first()
            .and_then(|line| field(line, "rps").parse().ok())
            .ok_or_else(|| format!("loadgen printed no rate for {url}"))
    };
    let mut shares = Vec::new();
    for pair in 0..SHARE_PAIRS {
        let (fixed, plan) = if pair % 2 == 0 {
            let fixed = rps(ceiling, "/")?;
            (fixed, rps(served, path)?)
        } else {
            let plan = rps(served, path)?;
            (rps(ceiling, "/")?, plan)
        };
        if fixed > 0.0 {
            shares.push(plan * 100.0 / fixed);
        }
    }
    let median = median(&shares).ok_or("no paired run measured a rate")?;
    let listed: Vec<String> = shares.iter().map(|s| format!("{s:.1}%")).collect();
    Ok(format!(
        "{{\"bench\":\"http_share\",\"shares\":\"{}\",\"median_share\":{median:.1}}}",
        listed.join(", ")
    ))
}

/// How many pairs of runs [`paired_share`] compares.
const SHARE_PAIRS: usize = 6;

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

fn write_report(out_dir: &Path, lines: &[String]) -> Result<(), String> {
    let raw = out_dir.join("results.jsonl");
    std::fs::write(&raw, lines.join("\n") + "\n")
        .map_err(|e| format!("cannot write {}: {e}", raw.display()))?;
    let report = render(lines);
    let report_path = out_dir.join("report.md");
    std::fs::write(&report_path, &report)
        .map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
    println!("{report}");
    eprintln!(
        "bench: report in {}, raw lines in {}",
        report_path.display(),
        raw.display()
    );
    Ok(())
}

/// The chart figures (issue 12): `tests/examples/chart_bench.rs` runs the release server
/// against the fake Discord's CDN.
fn build_chart_bench() -> Result<(), String> {
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-api",
            "--example",
            "loadgen",
        ],
        &[],
    )?;
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-e2e",
            "--example",
            "chart_bench",
        ],
        &[],
    )
}

/// Time from `!plan` with three 1 MiB charts to all archived, an archived 200 KB chart served
/// beside one plan, and the resident set while 1,000 charts are archived.
fn measure_charts(release: &Path, quick: bool) -> Result<Vec<String>, String> {
    eprintln!("charts: archiving and serving against the fake Discord's CDN");
    let server = release.join("coach-plans").display().to_string();
    let loadgen = release.join("examples/loadgen").display().to_string();
    let mut args = vec![server.as_str(), loadgen.as_str()];
    if quick {
        args.push("--quick");
    }
    Ok(json_lines(&run_tool(
        &release.join("examples/chart_bench"),
        &args,
    )?))
}

/// The examples that measure storage, the client cache and the bot.
fn build_tools_outside_http() -> Result<(), String> {
    build_chart_bench()?;
    backfill::build()?;
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-api",
            "-p",
            "coach-plans-sqlite",
            "-p",
            "coach-plans-client",
            "--examples",
        ],
        &[],
    )?;
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "coach-plans-bot",
            "--example",
            "message_latency",
        ],
        &[],
    )
}

/// Storage, client cache and bot figures; the storage run grows `big_db` for the HTTP runs.
fn measure_outside_http(
    examples: &Path,
    big_db: &Path,
    options: &Options,
    lines: &mut Vec<String>,
) -> Result<(), String> {
    eprintln!("storage: growing a database to {} plans", options.plans);
    lines.extend(json_lines(&run_tool(
        &examples.join("storage_bench"),
        &[
            "--plans",
            &options.plans.to_string(),
            "--db",
            &big_db.display().to_string(),
        ],
    )?));

    eprintln!("client: cache hits");
    lines.extend(json_lines(&run_tool(&examples.join("cache_bench"), &[])?));

    eprintln!("bot: MESSAGE_CREATE to plan stored");
    lines.extend(json_lines(&run_tool(
        &examples.join("message_latency"),
        &["500", "--sqlite"],
    )?));
    lines.extend(backfill::measure(examples)?);
    Ok(())
}

fn run_tool(program: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !output.status.success() {
        return Err(format!("{} failed ({})", program.display(), output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn json_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_owned)
        .collect()
}

/// A server started for the bench, stopped when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(program: &Path, env: &[(&str, &str)], dir: &Path) -> Result<Self, String> {
        Self::start_with_args(program, &[], env, dir)
    }

    fn start_with_args(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        dir: &Path,
    ) -> Result<Self, String> {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.strip_prefix("ready: ") {
                        break address.to_owned();
                    }
                }
                _ => return Err(format!("{} exited before it was ready", program.display())),
            }
        };
        // Keep draining standard output so the server never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, base })
    }

    fn coach_plans(
        release: &Path,
        dir: &Path,
        db: &Path,
        seed_days: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let db = db.display().to_string();
        let log = dir.join("coach-plans.log").display().to_string();
        let mut env = vec![
            ("MOCK_MODE", "true"),
            ("API_PORT", "0"),
            ("DATABASE_PATH", db.as_str()),
            ("LOG_FILE", log.as_str()),
            ("MOCK_SEED_DAYS", seed_days),
        ];
        env.extend_from_slice(extra);
        Self::start(&release.join("coach-plans"), &env, dir)
    }

    /// Today as the server sees it, from its newest plan's date.
    fn today(&self) -> Result<String, String> {
        let address = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
        write!(
            stream,
            "GET /api/v1/plans?date=today&limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut body = String::new();
        stream
            .read_to_string(&mut body)
            .map_err(|e| e.to_string())?;
        body.split("\"date\":\"")
            .nth(1)
            .and_then(|rest| rest.get(..10))
            .map(str::to_owned)
            .ok_or_else(|| format!("no plan for today: {body}"))
    }

    /// The CPU time the server has used so far (user and system), in seconds.
    fn cpu_seconds(&self) -> Result<f64, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map_err(|e| format!("cannot read the server's CPU time: {e}"))?;
        // Fields after the parenthesised command name: state is the 3rd field of the line,
        // utime and stime the 14th and 15th, in clock ticks (USER_HZ, 100 on Linux).
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |n: usize| -> Result<f64, String> {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("no field {n} in /proc/{}/stat", self.child.id()))
        };
        Ok((ticks(14)? + ticks(15)?) / 100.0)
    }

    fn resident_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("cannot read the server's memory: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| "no VmRSS line".to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of a flat JSON line, as text (string values may hold commas).
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let needle = format!("\"{name}\":");
    let Some(rest) = line.split(&needle).nth(1) else {
        return "?";
    };
    match rest.strip_prefix('"') {
        Some(text) => &text[..text.find('"').unwrap_or(text.len())],
        // A list of numbers, whole.
        None if rest.starts_with('[') => &rest[..rest.find(']').map_or(rest.len(), |end| end + 1)],
        None => &rest[..rest.find([',', '}']).unwrap_or(rest.len())],
    }
}

fn render(lines: &[String]) -> String {
    let mut out = String::from("# coach-plans benchmark\n\n");
    out.push_str(&format!(
        "Measured by `cargo xtask bench` on this machine ({} CPUs), all in one run.\n\n",
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get)
    ));
    let ceiling: f64 = lines
        .iter()
        .find(|l| field(l, "label").starts_with("ceiling"))
        .and_then(|l| field(l, "rps").parse().ok())
        .unwrap_or(0.0);
    out.push_str("## HTTP (32 connections, 2 threads, keep-alive; median of 3 runs)\n\n");
    out.push_str("| what | requests/s | % of ceiling | p50 µs | p99 µs | errors | server CPU µs/request |\n|---|---|---|---|---|---|---|\n");
    for line in lines.iter().filter(|l| field(l, "bench") == "http") {
        let rps: f64 = field(line, "rps").parse().unwrap_or(0.0);
        let share = if ceiling > 0.0 {
            rps * 100.0 / ceiling
        } else {
            0.0
        };
        out.push_str(&format!(
            "| {} | {rps:.0} | {share:.0}% | {} | {} | {} | {} |\n",
            field(line, "label"),
            field(line, "p50_us"),
            field(line, "p99_us"),
            field(line, "errors"),
            field(line, "server_cpu_us"),
        ));
    }
    for line in lines
        .iter()
        .filter(|l| field(l, "bench") == "http" && l.contains("\"per_target\""))
    {
        out.push_str(&format!(
            "\n{}: {} req/s in all, answered by each replica: {} (requests in the median run of 3).\n",
            field(line, "label"),
            field(line, "rps"),
            field(line, "per_target"),
        ));
    }
    for line in lines.iter().filter(|l| field(l, "bench") == "http_share") {
        out.push_str(&format!(
            "\nOne plan (1,000 plans, INFO) against the ceiling in alternating runs: {} of it (median {}%).\n",
            field(line, "shares"),
            field(line, "median_share"),
        ));
    }
    out.push_str("\n## Storage (SQLite, synchronous=FULL)\n\n| plans stored | lookup p50 µs | lookup p99 µs | durable save p50 µs | save p99 µs |\n|---|---|---|---|---|\n");
    for line in lines.iter().filter(|l| field(l, "bench") == "storage") {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            field(line, "plans"),
            field(line, "lookup_p50_us"),
            field(line, "lookup_p99_us"),
            field(line, "save_p50_us"),
            field(line, "save_p99_us"),
        ));
    }
    out.push_str("\n## Storage (PostgreSQL on this machine, synchronous_commit=on)\n\n| plans stored | lookup p50 µs | lookup p99 µs | durable save p50 µs | save p99 µs |\n|---|---|---|---|---|\n");
    for line in lines
        .iter()
        .filter(|l| field(l, "bench") == "storage_postgres")
    {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            field(line, "plans"),
            field(line, "lookup_p50_us"),
            field(line, "lookup_p99_us"),
            field(line, "save_p50_us"),
            field(line, "save_p99_us"),
        ));
    }
    for line in lines
        .iter()
        .filter(|l| field(l, "bench") == "storage_import")
    {
        out.push_str(&format!(
            "\nImporting {} legacy plans in one transaction (every record verified): {} s (slowest of {} such imports: {} s).\n",
            field(line, "plans"),
            field(line, "first_seconds"),
            field(line, "chunks"),
            field(line, "slowest_seconds"),
        ));
    }
    out.push_str("\n## Client, bot, memory\n\n");
    for line in lines {
        match field(line, "bench") {
            "client_cache_hit" => out.push_str(&format!(
                "- client cache hit: p50 {} ns, p99 {} ns over {} calls\n",
                field(line, "p50_ns"),
                field(line, "p99_ns"),
                field(line, "calls")
            )),
            "bot_message_to_plan" => out.push_str(&format!(
                "- bot, MESSAGE_CREATE sent by the fake Discord to the plan readable through the service ({} store): median {} µs, p99 {} µs over {} messages\n",
                field(line, "store"),
                field(line, "median_us"),
                field(line, "p99_us"),
                field(line, "count")
            )),
            "backfill" => out.push_str(&format!(
                "- bot, backfill after a lost session ({} store): {} missed plans stored in {} s (median of {} runs; min {} s, max {} s)\n",
                field(line, "store"),
                field(line, "plans"),
                field(line, "median_s"),
                field(line, "runs"),
                field(line, "min_s"),
                field(line, "max_s")
            )),
            "chart_archive" => out.push_str(&format!(
                "- charts: `!plan` with {} charts of {} bytes each to all archived (fake Discord's CDN on this machine): median {} ms, p90 {} ms over {} plans\n",
                field(line, "charts"),
                field(line, "bytes_each"),
                field(line, "p50_ms"),
                field(line, "p90_ms"),
                field(line, "count")
            )),
            "chart_archive_all" => out.push_str(&format!(
                "- charts: {} charts of 200 KB archived in {} s\n",
                field(line, "charts"),
                field(line, "seconds")
            )),
            "rss" => out.push_str(&format!(
                "- server resident set after {}: {:.1} MiB\n",
                field(line, "after"),
                field(line, "rss_kib").parse::<f64>().unwrap_or(0.0) / 1024.0
            )),
            "memory" => out.push_str(&format!(
                "- server resident set after the memory run with {} plans: {:.1} MiB\n",
                field(line, "plans"),
                field(line, "rss_kib").parse::<f64>().unwrap_or(0.0) / 1024.0
            )),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[80.0, 70.0, 90.0, 60.0]), Some(75.0));
    }
}
