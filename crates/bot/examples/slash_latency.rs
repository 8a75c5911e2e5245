//! Measures a `/plan` slash command from INTERACTION_CREATE leaving the fake Discord to the
//! interaction's callback (the answer the user sees) arriving back at it, with the real
//! twilight shard and HTTP client (issue 13: under 10 ms median).
//!
//! ```text
//! cargo run --release -p coach-plans-bot --example slash_latency -- [COUNT] [--sqlite]
//! ```
//!
//! Prints one human line and one JSON line (`{"bench":"slash_plan_to_callback",...}`) for
//! `cargo xtask bench slash` to read. The store is the in-memory one unless `--sqlite` puts a
//! SQLite file (durable writes) behind the service.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a measuring tool that reports on stdout

use std::sync::Arc;
use std::time::{Duration, Instant};

use coach_plans_bot::{CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::{DatabaseConfig, SlashCommands};
use coach_plans_fake_discord::{AnswerKind, FakeAttachment, FakeDiscord, FakeInteraction};
use coach_plans_model::PlanDate;
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
    let settings = GatewaySettings {
        slash_commands: SlashCommands::Off,
        ..GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url())
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(DiscordBot::new(settings, handler).run(async move {
        let _ = stopped.await;
    }));
    fake.wait_for_ready(1).await.unwrap();

    let first = PlanDate::parse("2000-01-01").unwrap();
    let mut latencies = Vec::with_capacity(count);
    for n in 0..count {
        let date = first.checked_add_days(n as i64).unwrap();
        let interaction = FakeInteraction::new(500, 42, "dana", "plan")
            .text("coach", "d")
            .text("text", &format!("NVDA above 950, stop 920 (run {n})"))
            .text("date", &date.to_string())
            .attach("chart1", FakeAttachment::png("chart.png"));
        let started = Instant::now();
        let id = fake.send_interaction(interaction);
        let answer = fake
            .wait_until("the callback", |seen| {
                seen.answers_to(id).first().map(|a| (*a).clone())
            })
            .await
            .unwrap();
        latencies.push(started.elapsed());
        assert_eq!(answer.kind, AnswerKind::Callback(4), "run {n}: {answer:?}");
        assert!(
            answer
                .content
                .as_deref()
                .is_some_and(|c| c.starts_with('✅')),
            "run {n}: {answer:?}"
        );
    }
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
        "bot: /plan INTERACTION_CREATE -> callback, {store} store, {} interactions: median {median:.0} us, p90 {p90:.0} us, p99 {p99:.0} us, max {max:.0} us",
        sorted.len()
    );
    println!(
        r#"{{"bench":"slash_plan_to_callback","store":"{store}","count":{},"median_us":{median:.1},"p90_us":{p90:.1},"p99_us":{p99:.1},"max_us":{max:.1}}}"#,
        sorted.len()
    );
}
