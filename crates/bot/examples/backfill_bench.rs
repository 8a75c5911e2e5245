//! Measures the backfill (SPEC 15): COUNT `!plan` messages posted while the bot's session was
//! lost, from the new session to every plan stored, with the real twilight shard and HTTP
//! client against the fake Discord and a SQLite file (plans and delivery log, `synchronous=FULL`)
//! in a temporary directory. Target: 1,000 plans in under 5 s.
//!
//! ```text
//! cargo run --release -p coach-plans-bot --example backfill_bench -- [COUNT] [--runs N]
//! ```
//!
//! Prints one human line per run and one JSON line (`{"bench":"backfill",...}`, the median
//! run) for `cargo xtask bench backfill` to read.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a measuring tool that reports on stdout

use std::sync::Arc;
use std::time::{Duration, Instant};

use coach_plans_bot::{CommandHandler, CommandSettings, DiscordBot, GatewaySettings};
use coach_plans_config::DatabaseConfig;
use coach_plans_fake_discord::{FakeDiscord, FakeMessage};
use coach_plans_model::PlanDate;
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::PlanStore as _;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|run| {
            let time = runtime.block_on(measure(count));
            println!(
                "backfill run {}: {count} missed plans stored in {:.3} s ({:.0} plans/s)",
                run + 1,
                time.as_secs_f64(),
                count as f64 / time.as_secs_f64()
            );
            time
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2].as_secs_f64();
    let (min, max) = (times[0].as_secs_f64(), times[times.len() - 1].as_secs_f64());
    println!(
        r#"{{"bench":"backfill","store":"sqlite","plans":{count},"runs":{},"median_s":{median:.3},"min_s":{min:.3},"max_s":{max:.3}}}"#,
        times.len()
    );
}

/// One run: a fresh database and fake, one live plan (the channel's cursor), `count` missed
/// ones, then a lost session; the time from the invalidation to the last plan stored.
async fn measure(count: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig {
        path: dir.path().join("bench.db"),
        connection_timeout: Duration::from_secs(10),
        pool_size: 4,
        ..DatabaseConfig::default()
    };
    let store = Arc::new(SqliteStore::open(&config).unwrap().0);
    let fake = FakeDiscord::builder()
        .wait_timeout(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    let service = PlanService::new(store.clone(), ServiceSettings::default());
    let handler = CommandHandler::new(service, CommandSettings::default());
    let settings = GatewaySettings::for_fake(fake.token(), fake.gateway_url(), fake.api_url());
    let bot = DiscordBot::new(settings, handler).with_delivery_log(store.clone());
    let state = bot.state();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bot.run(async move {
        let _ = stopped.await;
    }));
    fake.wait_for_ready(1).await.unwrap();
    fake.send_message(FakeMessage::new(500, 42, "dana", "!plan d the cursor"));
    fake.wait_for_messages(1).await.unwrap();

    let first = PlanDate::parse("2000-01-01").unwrap();
    for n in 0..count {
        let date = first.checked_add_days((n / 4) as i64).unwrap();
        let coach = ["d", "i", "s", "n"][n % 4];
        fake.add_missed_message(FakeMessage::new(
            500,
            42,
            "dana",
            &format!("!plan {coach} {date} NVDA above 950, stop 920 (missed {n})"),
        ));
    }
    let before = store.stats().unwrap().live_plans;
    let started = Instant::now();
    fake.invalidate_session(false);
    state
        .wait_until(|health| health.backfill.as_ref().is_some_and(|b| b.backfills >= 2))
        .await;
    let elapsed = started.elapsed();
    let stored = store.stats().unwrap().live_plans - before;
    assert_eq!(stored, count as u64, "every missed plan stored");
    fake.wait_for_messages(count + 1).await.unwrap();
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    elapsed
}
