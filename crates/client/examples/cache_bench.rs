//! SPEC 13's client figure for `cargo xtask bench`: the latency of a cache hit (target: under
//! 2 µs median). A canned local server answers the one miss; every later call is a hit.
//!
//! `cargo run --release -p coach-plans-client --example cache_bench -- [CALLS]` prints a JSON line.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use coach_plans_client::{CoachId, PlanClient, PlanDate};
use coach_plans_model::wire::PlanPage;
use coach_plans_model::{Author, Channel, Chart, Plan, PlanId, PlanText, Timestamp};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn page() -> String {
    let date = PlanDate::parse("2024-05-10").unwrap();
    let plan = Plan {
        id: PlanId::new(1).unwrap(),
        coach: CoachId::parse("d").unwrap(),
        date,
        text: PlanText::parse(
            "SPY holding the 520 shelf. Longs above 521.50, target 526, stop 518.",
        )
        .unwrap(),
        author: Author::legacy("coach_dana"),
        channel: Channel::default(),
        message_id: None,
        created_at: Timestamp::parse("2024-05-10T08:41:12.503211").unwrap(),
        edited_at: None,
        charts: vec![
            Chart::from_stored("https://example.com/a.png", None, None, None, 0).unwrap(),
            Chart::from_stored("https://example.com/b.png", None, None, None, 1).unwrap(),
        ],
        deleted: false,
    };
    serde_json::to_string(&PlanPage {
        plans: vec![plan],
        next_cursor: None,
    })
    .unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = page();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    let client = PlanClient::new(base).unwrap();
    let coach = CoachId::parse("d").unwrap();
    let date = PlanDate::from_ymd(2024, 5, 10);
    assert!(client.fetch_coach_plan(&coach, date).await.is_found());
    let mut samples: Vec<Duration> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let outcome = client.fetch_coach_plan(&coach, date).await;
        samples.push(started.elapsed());
        assert!(outcome.is_found());
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let metrics = client.metrics();
    assert_eq!(metrics.cache_hits as usize, calls);
    println!(
        "{{\"bench\":\"client_cache_hit\",\"calls\":{calls},\"p50_ns\":{},\"p99_ns\":{}}}",
        at(0.5).as_nanos(),
        at(0.99).as_nanos()
    );
}
