//! A small wrk-like HTTP/1.1 load generator for `cargo xtask bench`: keep-alive connections
//! spread over a few threads, each sending one GET after another, with every latency recorded.
//!
//! ```text
//! cargo run --release -p coach-plans-api --example loadgen -- URL [--connections 32]
//!     [--threads 2] [--seconds 5 | --requests N] [--label NAME] [--header 'Name: value']...
//!     [--coaches d,i,s,n --first-date 1900-01-01 --days N [--today DATE --today-share 0.9]]
//!     [--also HOST:PORT]...
//! ```
//!
//! With `--also`, the connections are dealt in turn to the URL's host and each `--also` host
//! (replicas behind one load generator, as a round-robin balancer would spread them), and the
//! line adds `per_target`: the requests each host answered, in that order.
//!
//! With `--days`, the URL's `{coach}` and `{date}` are replaced on every request by a coach
//! picked at random among `--coaches` and a date at random among the `--days` dates from
//! `--first-date` (or, with probability `--today-share`, by `--today`): random lookups over
//! history, or a mix of today's plans and history. Nothing is cached on this side: every
//! request is built and sent.
//!
//! Prints one JSON line: `{"bench":"http","label",...,"requests","errors","rps","p50_us","p99_us"}`.
//! Only plain `http://host:port/path` URLs; answers must carry `Content-Length` (actix's do).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

struct Options {
    url: String,
    connections: usize,
    threads: usize,
    seconds: f64,
    requests: Option<u64>,
    label: String,
    coaches: Vec<String>,
    first_date: String,
    days: u32,
    today: Option<String>,
    today_share: f64,
    /// Extra request header lines (`Accept: text/html` for the dashboard).
    headers: Vec<String>,
    /// More hosts answering the same path (`--also`).
    also: Vec<String>,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        url: String::new(),
        connections: 32,
        threads: 2,
        seconds: 5.0,
        requests: None,
        label: String::new(),
        coaches: vec!["d".into(), "i".into(), "s".into(), "n".into()],
        first_date: "1900-01-01".into(),
        days: 0,
        today: None,
        today_share: 0.0,
        headers: Vec::new(),
        also: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--connections" => options.connections = value().parse().unwrap(),
            "--threads" => options.threads = value().parse().unwrap(),
            "--seconds" => options.seconds = value().parse().unwrap(),
            "--requests" => options.requests = Some(value().parse().unwrap()),
            "--label" => options.label = value(),
            "--coaches" => options.coaches = value().split(',').map(str::to_owned).collect(),
            "--first-date" => options.first_date = value(),
            "--days" => options.days = value().parse().unwrap(),
            "--today" => options.today = Some(value()),
            "--today-share" => options.today_share = value().parse().unwrap(),
            "--header" => options.headers.push(value()),
            "--also" => options.also.push(value()),
            url => options.url = url.to_owned(),
        }
    }
    assert!(options.url.starts_with("http://"), "give an http:// URL");
    options
}

fn main() {
    let options = options();
    let rest = options.url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let request = Arc::new(Requests::new(&options, host, path));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let hosts: Vec<String> = std::iter::once(host.to_owned())
        .chain(options.also.iter().cloned())
        .collect();
    let latencies: Vec<Vec<u32>> = runtime.block_on(async {
        let tasks: Vec<_> = (0..options.connections)
            .map(|n| {
                let (host, request) = (hosts[n % hosts.len()].clone(), Arc::clone(&request));
                let (stop, sent, errors) = (stop.clone(), sent.clone(), errors.clone());
                let limit = options.requests;
                tokio::spawn(async move {
                    connection(&host, &request, &stop, &sent, &errors, limit).await
                })
            })
            .collect();
        if options.requests.is_none() {
            tokio::time::sleep(Duration::from_secs_f64(options.seconds)).await;
            stop.store(true, Ordering::Relaxed);
        }
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut per_target = vec![0_usize; hosts.len()];
    for (n, answered) in latencies.iter().enumerate() {
        per_target[n % hosts.len()] += answered.len();
    }
    let per_target = if hosts.len() > 1 {
        let counts: Vec<String> = per_target.iter().map(usize::to_string).collect();
        format!(",\"per_target\":[{}]", counts.join(","))
    } else {
        String::new()
    };
    let mut all: Vec<u32> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"bench\":\"http\",\"label\":\"{}\",\"url\":\"{}\",\"connections\":{},\"threads\":{},\"seconds\":{elapsed:.2},\"requests\":{},\"errors\":{},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{}{per_target}}}",
        options.label,
        options.url,
        options.connections,
        options.threads,
        all.len(),
        errors.load(Ordering::Relaxed),
        all.len() as f64 / elapsed,
        pick(0.50),
        pick(0.99)
    );
}

/// One keep-alive connection: request, read the whole answer, record the time, repeat.
async fn connection(
    host: &str,
    requests: &Requests,
    stop: &AtomicBool,
    sent: &AtomicU64,
    errors: &AtomicU64,
    limit: Option<u64>,
) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut buf = vec![0u8; 64 * 1024];
    let mut stream: Option<TcpStream> = None;
    let mut rng = Rng::seeded();
    let mut request = Vec::with_capacity(256);
    while !stop.load(Ordering::Relaxed) {
        if let Some(limit) = limit
            && sent.fetch_add(1, Ordering::Relaxed) >= limit
        {
            break;
        }
        let conn = match &mut stream {
            Some(conn) => conn,
            None => match TcpStream::connect(host).await {
                Ok(conn) => {
                    let _ = conn.set_nodelay(true);
                    stream.insert(conn)
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        requests.build(&mut rng, &mut request);
        let begun = Instant::now();
        match exchange(conn, &request, &mut buf).await {
            Ok(true) => {
                latencies.push(begun.elapsed().as_micros().min(u128::from(u32::MAX)) as u32)
            }
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
                stream = None;
            }
        }
    }
    latencies
}

/// Sends the request and reads one answer; `Ok(true)` for a 2xx/3xx.
async fn exchange(conn: &mut TcpStream, request: &[u8], buf: &mut [u8]) -> std::io::Result<bool> {
    conn.write_all(request).await?;
    let mut filled = 0;
    loop {
        let n = conn.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
        let ok = head
            .as_bytes()
            .get(9)
            .is_some_and(|c| *c == b'2' || *c == b'3');
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let total = end + 4 + length;
        while filled < total {
            if total > buf.len() {
                // Bodies larger than the buffer: read and drop the rest.
                let n = conn.read(&mut buf[..]).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                filled += n;
                continue;
            }
            let n = conn.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            filled += n;
        }
        return Ok(ok);
    }
}

/// What each request asks for: one fixed path, or a coach and date drawn at random per request.
struct Requests {
    /// The request text around `{coach}` and `{date}`: before, between, after (only `before`
    /// for a fixed path).
    parts: Vec<String>,
    coach_first: bool,
    coaches: Vec<String>,
    dates: Vec<String>,
    today: Option<String>,
    today_share: f64,
}

impl Requests {
    fn new(options: &Options, host: &str, path: &str) -> Self {
        let extra: String = options.headers.iter().map(|h| format!("{h}\r\n")).collect();
        let text =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: loadgen\r\n{extra}\r\n");
        if options.days == 0 {
            return Self {
                parts: vec![text],
                coach_first: true,
                coaches: Vec::new(),
                dates: Vec::new(),
                today: None,
                today_share: 0.0,
            };
        }
        let (coach_at, date_at) = (
            text.find("{coach}").expect("the URL needs {coach}"),
            text.find("{date}").expect("the URL needs {date}"),
        );
        let coach_first = coach_at < date_at;
        let parts = if coach_first {
            vec![
                text[..coach_at].to_owned(),
                text[coach_at + 7..date_at].to_owned(),
                text[date_at + 6..].to_owned(),
            ]
        } else {
            vec![
                text[..date_at].to_owned(),
                text[date_at + 6..coach_at].to_owned(),
                text[coach_at + 7..].to_owned(),
            ]
        };
        let first: jiff::civil::Date = options.first_date.parse().unwrap();
        let dates = (0..options.days)
            .map(|n| {
                first
                    .checked_add(jiff::Span::new().days(i64::from(n)))
                    .unwrap()
                    .to_string()
            })
            .collect();
        Self {
            parts,
            coach_first,
            coaches: options.coaches.clone(),
            dates,
            today: options.today.clone(),
            today_share: options.today_share,
        }
    }

    /// Writes the next request into `out`.
    fn build(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        out.clear();
        if self.parts.len() == 1 {
            out.extend_from_slice(self.parts[0].as_bytes());
            return;
        }
        let coach = &self.coaches[rng.below(self.coaches.len())];
        let date = match &self.today {
            Some(today) if rng.unit() < self.today_share => today,
            _ => &self.dates[rng.below(self.dates.len())],
        };
        let (a, b) = if self.coach_first {
            (coach.as_str(), date.as_str())
        } else {
            (date.as_str(), coach.as_str())
        };
        for piece in [
            self.parts[0].as_str(),
            a,
            self.parts[1].as_str(),
            b,
            self.parts[2].as_str(),
        ] {
            out.extend_from_slice(piece.as_bytes());
        }
    }
}

/// splitmix64: enough randomness for picking keys, and no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self(nanos ^ NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
