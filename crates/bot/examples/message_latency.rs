//! Measures the bot's latency from a `MESSAGE_CREATE` leaving the fake Discord to the plan being
//! readable through the service (SPEC 13: under 5 ms median), with the real twilight shard.
//!
//! ```text
//! cargo run --release -p coach-plans-bot --example message_latency -- [COUNT] [--sqlite]
//! ```
//!
//! Prints one human line and one JSON line (`{"bench":"bot_message_to_plan",...}`) for
//! `cargo xtask bench` to read. By default the store is the in-memory one, which measures the
//! bot's own path (gateway frame, parsing, command, service); `--sqlite` puts a SQLite file in a
//! temporary directory behind the service, adding the durable write.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a measuring tool that reports on stdout

use std::sync::Arc;
use std::time::{Duration, Instant};

use coach_plans_bot::{CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::DatabaseConfig;
use coach_plans_fake_discord::{FakeAttachment, FakeDiscord, FakeMessage};
use coach_plans_model::{CoachId, PlanDate};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::{MemoryStore, PlanStore};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(500);
    let sqlite = args.iter().any(|a| a == "--sqlite");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn PlanStore> = if sqlite {
        let config = DatabaseConfig {
            path: dir.path().join("bench.db"),
            connection_timeout: Duration::from_secs(10),
            pool_size: 4,
            ..DatabaseConfig::default()
        };
        Arc::new(SqliteStore::open(&config).unwrap().0)
    } else {
        Arc::new(MemoryStore::new())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let latencies = runtime.block_on(measure(count, store));
    report(&latencies, if sqlite { "sqlite" } else { "memory" });
}

async fn measure(count: usize, store: Arc<dyn PlanStore>) -> Vec<Duration> {
    let fake = FakeDiscord::start().await.unwrap();
    let service = PlanService::new(store, ServiceSettings::default());
    let handler = CommandHandler::new(service.clone(), CommandSettings::default());
    let settings = GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(DiscordBot::new(settings, handler).run(async move {
        let _ = stopped.await;
    }));
    fake.wait_for_ready(1).await.unwrap();

    let coach = CoachId::parse("d").unwrap();
    let first = PlanDate::parse("2000-01-01").unwrap();
    let mut latencies = Vec::with_capacity(count);
    for n in 0..count {
        let date = first.checked_add_days(n as i64).unwrap();
        let message = FakeMessage::new(
            500,
            42,
            "dana",
            &format!("!plan d {date} NVDA above 950, stop 920 (run {n})"),
        )
        .attach(FakeAttachment::png("chart.png"));
        let generation = service.generation();
        let started = Instant::now();
        fake.send_message(message);
        // The generation moves when the write lands; reading it costs no store call.
        while service.generation() == generation {
            tokio::task::yield_now().await;
        }
        let elapsed = started.elapsed();
        assert!(
            service.plan(&coach, date).await.unwrap().is_some(),
            "plan {n} not readable"
        );
        latencies.push(elapsed);
    }
    fake.wait_for_messages(count).await.unwrap();
    let _ = stop.send(());
    bot.await.unwrap().unwrap();
    latencies
}

fn report(latencies: &[Duration], store: &str) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| {
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied().unwrap_or_default().as_secs_f64() * 1e6
    };
    let (median, p90, p99, max) = (at(0.5), at(0.9), at(0.99), at(1.0));
    println!(
        "bot: MESSAGE_CREATE -> plan readable, {store} store, {} messages: median {median:.0} us, p90 {p90:.0} us, p99 {p99:.0} us, max {max:.0} us",
        sorted.len()
    );
    println!(
        r#"{{"bench":"bot_message_to_plan","store":"{store}","count":{},"median_us":{median:.1},"p90_us":{p90:.1},"p99_us":{p99:.1},"max_us":{max:.1}}}"#,
        sorted.len()
    );
}
