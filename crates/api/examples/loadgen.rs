//! A small wrk-like HTTP/1.1 load generator for `cargo xtask bench`: keep-alive connections
//! spread over a few threads, each sending one GET after another, with every latency recorded.
//!
//! ```text
//! cargo run --release -p coach-plans-api --example loadgen -- URL [--connections 32]
//!     [--threads 2] [--seconds 5 | --requests N] [--label NAME]
//! ```
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
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--connections" => options.connections = value().parse().unwrap(),
            "--threads" => options.threads = value().parse().unwrap(),
            "--seconds" => options.seconds = value().parse().unwrap(),
            "--requests" => options.requests = Some(value().parse().unwrap()),
            "--label" => options.label = value(),
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
    let request: Arc<[u8]> =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: loadgen\r\n\r\n")
            .into_bytes()
            .into();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let latencies: Vec<Vec<u32>> = runtime.block_on(async {
        let tasks: Vec<_> = (0..options.connections)
            .map(|_| {
                let (host, request) = (host.to_owned(), Arc::clone(&request));
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
    let mut all: Vec<u32> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"bench\":\"http\",\"label\":\"{}\",\"url\":\"{}\",\"connections\":{},\"threads\":{},\"seconds\":{elapsed:.2},\"requests\":{},\"errors\":{},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
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
    request: &[u8],
    stop: &AtomicBool,
    sent: &AtomicU64,
    errors: &AtomicU64,
    limit: Option<u64>,
) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut buf = vec![0u8; 64 * 1024];
    let mut stream: Option<TcpStream> = None;
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
        let begun = Instant::now();
        match exchange(conn, request, &mut buf).await {
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
