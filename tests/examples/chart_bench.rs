//! The chart figures of `cargo xtask bench` (issue 12): the release `coach-plans` against the
//! fake Discord, whose CDN serves the images from this process.
//!
//! ```text
//! cargo run --release -p coach-plans-e2e --example chart_bench -- \
//!     target/release/coach-plans target/release/examples/loadgen [--quick]
//! ```
//!
//! Prints JSON lines: the time from `!plan` with three 1 MiB charts to all three archived
//! (`chart_archive`), the throughput of serving an archived 200 KB chart beside the one-plan
//! lookup in the same run (`http`, median of three runs each), and the server's peak resident
//! set while it archives 1,000 charts of 200 KB (`rss`).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coach_plans_e2e::discord::Discord;
use coach_plans_fake_discord::{FakeAttachment, FakeDiscord, FakeMessage};
use serde_json::Value;

const CHANNEL: u64 = 500_000_000_000_000_001;
const DANA: u64 = 400_000_000_000_000_042;

/// A PNG signature followed by filler that makes each image distinct (a distinct blob).
fn image(seed: u64, size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// `GET path` on `addr`, the body as JSON (`Value::Null` if it is not).
fn get_json(addr: &str, path: &str) -> Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null)
}

fn resident_kib(server: &Child) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", server.id()))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The archive states of coach's charts on date.
fn statuses(addr: &str, coach: &str, date: &str) -> Vec<String> {
    let page = get_json(addr, &format!("/api/v1/plans?coach={coach}&date={date}"));
    page["plans"][0]["charts"]
        .as_array()
        .map(|charts| {
            charts
                .iter()
                .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn post(fake: &FakeDiscord, text: &str, files: Vec<(String, Vec<u8>)>) -> u64 {
    let mut message = FakeMessage::new(CHANNEL, DANA, "dana", text);
    for (name, bytes) in files {
        let size = bytes.len() as u64;
        let url = fake.host_file(CHANNEL, &name, bytes);
        let mut attachment = FakeAttachment::png(&name);
        attachment.url = Some(url);
        attachment.size = size;
        message = message.attach(attachment);
    }
    fake.send_message(message)
}

/// The `n`th date of `year` (n < 336).
fn date(year: u32, n: u64) -> String {
    format!("{year}-{:02}-{:02}", 1 + (n / 28) % 12, 1 + n % 28)
}

/// Runs loadgen three times against `url` and prints the run with the median throughput.
fn load(loadgen: &Path, url: &str, label: &str, seconds: u32) {
    let mut runs: Vec<String> = (0..3)
        .map(|_| {
            let out = Command::new(loadgen)
                .args([url, "--label", label, "--seconds", &seconds.to_string()])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .collect();
    let rps = |line: &String| {
        serde_json::from_str::<Value>(line).map_or(0.0, |v| v["rps"].as_f64().unwrap_or(0.0))
    };
    runs.sort_by(|a, b| rps(a).total_cmp(&rps(b)));
    println!("{}", runs[1]);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let absolute =
        |path: String| std::fs::canonicalize(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let binary = absolute(args.next().expect("the coach-plans binary"));
    let loadgen = absolute(args.next().expect("the loadgen binary"));
    let quick = args.any(|a| a == "--quick");
    let (latency_runs, seconds) = if quick { (6, 2) } else { (21, 5) };

    let Discord { runtime, fake } = Discord::with_wait_timeout(Duration::from_secs(120));
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(&binary)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs([
            ("API_PORT", "0".to_owned()),
            (
                "DATABASE_PATH",
                dir.path().join("plans.db").display().to_string(),
            ),
            (
                "LOG_FILE",
                dir.path().join("coach-plans.log").display().to_string(),
            ),
            (
                "CHART_STORE",
                dir.path().join("charts").display().to_string(),
            ),
            ("DISCORD_BOT_TOKEN", fake.token().to_owned()),
            ("DISCORD_GATEWAY_URL", fake.gateway_url()),
            ("DISCORD_API_URL", fake.api_url()),
            ("CHART_ALLOWED_HOSTS", fake.api_addr().to_string()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("coach-plans exited before it was ready")
            .unwrap();
        if let Some(base) = line.strip_prefix("ready: ") {
            break base.to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let addr = base.trim_start_matches("http://").to_owned();
    runtime.block_on(fake.wait_for_ready(1)).unwrap();

    // 1. `!plan` with three 1 MiB charts to all three archived; the first run warms up.
    let mut latencies = Vec::new();
    for run in 0..latency_runs {
        let day = date(2020, run);
        let files = (0..3)
            .map(|k| (format!("chart{k}.png"), image(run * 3 + k, 1 << 20)))
            .collect();
        let started = Instant::now();
        post(&fake, &format!("!plan d {day} three charts"), files);
        loop {
            let states = statuses(&addr, "d", &day);
            if states.len() == 3 && states.iter().all(|s| s == "archived") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not archived: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        if run > 0 {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort_unstable();
    let ms = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    println!(
        "{{\"bench\":\"chart_archive\",\"charts\":3,\"bytes_each\":{},\"count\":{},\"p50_ms\":{:.1},\"p90_ms\":{:.1}}}",
        1 << 20,
        latencies.len(),
        ms(0.5),
        ms(0.9)
    );

    // 2. Serving an archived 200 KB chart, beside the one-plan lookup.
    let day = date(2021, 0);
    post(
        &fake,
        &format!("!plan i {day} one chart"),
        vec![("served.png".to_owned(), image(999_999, 200 * 1024))],
    );
    let chart = loop {
        let page = get_json(&addr, &format!("/api/v1/plans?coach=i&date={day}"));
        if let Some(url) = page["plans"][0]["charts"][0]["archived_url"].as_str() {
            break url.to_owned();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    load(
        Path::new(&loadgen),
        &format!("{base}/api/coach-plans/?coach=i&date={day}"),
        "one plan (charts bench)",
        seconds,
    );
    load(
        Path::new(&loadgen),
        &chart,
        "an archived 200 KB chart",
        seconds,
    );

    // 3. The resident set while 1,000 charts of 200 KB are archived (100 plans of 10).
    let mut peak = resident_kib(&server);
    for n in 0..100u64 {
        let coach = ["d", "i", "s", "n"][(n % 4) as usize];
        let files = (0..10)
            .map(|k| (format!("c{k}.png"), image(10_000 + n * 10 + k, 200 * 1024)))
            .collect();
        post(
            &fake,
            &format!("!plan {coach} {} ten charts", date(2022, n / 4)),
            files,
        );
        peak = peak.max(resident_kib(&server));
    }
    let started = Instant::now();
    loop {
        peak = peak.max(resident_kib(&server));
        let metrics = get_json(&addr, "/metrics");
        if metrics["charts"]["charts_pending"].as_u64() == Some(0)
            && metrics["charts"]["charts_archived"].as_u64().unwrap_or(0) >= 1_000
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "still archiving: {}",
            metrics["charts"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "{{\"bench\":\"rss\",\"after\":\"archiving 1,000 charts of 200 KB (peak while archiving)\",\"rss_kib\":{peak}}}"
    );
    println!(
        "{{\"bench\":\"chart_archive_all\",\"charts\":1000,\"seconds\":{:.1}}}",
        started.elapsed().as_secs_f64()
    );
    let _ = server.kill();
    let _ = server.wait();
}
