//! Storage figures of SPEC 13 for `cargo xtask bench`: plan lookup and durable save latency with
//! 1,000 plans stored and again with 1,000,000 (the cost must stay flat), and the time to
//! import 100,000 legacy plans.
//!
//! ```text
//! cargo run --release -p coach-plans-sqlite --example storage_bench -- [--plans N] [--db PATH]
//! ```
//!
//! `--db` keeps the grown database at PATH (the HTTP bench serves it). Prints JSON lines.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coach_plans_config::DatabaseConfig;
use coach_plans_model::{Author, Channel, Chart, CoachId, PlanDate, PlanText, Timestamp};
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::{NewPlan, PlanStore};

const COACHES: [&str; 4] = ["d", "i", "s", "n"];
const CHUNK: usize = 100_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut target = 1_000_000usize;
    let mut keep: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--plans" => target = args.next().unwrap().parse().unwrap(),
            "--db" => keep = args.next().map(PathBuf::from),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = keep.unwrap_or_else(|| dir.path().join("bench.db"));
    let _ = std::fs::remove_file(&path);
    let config = DatabaseConfig {
        path: path.clone(),
        ..DatabaseConfig::default()
    };
    let (store, _) = SqliteStore::open(&config).unwrap();

    // 1,000 plans, then the figures.
    store.import_plans(&plans(0, 1_000)).unwrap();
    let mut stored = 1_000;
    let mut next_save = 0;
    report(&store, stored, &mut next_save);

    // Grow in imports of 100,000 (one transaction each, every record verified) until at least
    // `target` plans are stored.
    let mut import_times = Vec::new();
    while stored < target {
        let count = CHUNK;
        let batch = plans(stored, count);
        let started = Instant::now();
        let imported = store.import_plans(&batch).unwrap();
        assert_eq!(imported.imported, count);
        import_times.push((count, started.elapsed()));
        stored += count;
    }
    if let Some((count, first)) = import_times.first() {
        let slowest = import_times.iter().map(|(_, t)| *t).max().unwrap_or(*first);
        println!(
            "{{\"bench\":\"storage_import\",\"plans\":{count},\"first_seconds\":{:.2},\"slowest_seconds\":{:.2},\"chunks\":{}}}",
            first.as_secs_f64(),
            slowest.as_secs_f64(),
            import_times.len()
        );
    }
    if stored > 1_000 {
        report(&store, stored, &mut next_save);
    }
}

/// `count` distinct plans: coaches in turn, one date per four plans from 1900-01-01.
fn plans(first: usize, count: usize) -> Vec<NewPlan> {
    (first..first + count).map(plan).collect()
}

fn key(n: usize) -> (CoachId, PlanDate) {
    let coach = CoachId::parse(COACHES[n % 4]).unwrap();
    let base = PlanDate::parse("1900-01-01").unwrap();
    (coach, base.checked_add_days((n / 4) as i64).unwrap())
}

fn plan(n: usize) -> NewPlan {
    let (coach, date) = key(n);
    NewPlan {
        coach,
        date,
        text: PlanText::parse(&format!(
            "Plan {n}: SPY holding the 520 shelf. Longs above 521.50, target 526, stop 518. Size down into CPI."
        ))
        .unwrap(),
        author: Author::legacy("coach_dana"),
        channel: Channel {
            id: None,
            name: Some("day-trading".into()),
        },
        message_id: None,
        created_at: Timestamp::parse(&format!("{date}T08:41:12.503211")).unwrap(),
        edited_at: None,
        charts: vec![
            Chart::from_stored(
                &format!("https://cdn.discordapp.com/attachments/1/{n}/chart.png"),
                Some("chart.png".into()),
                None,
                None,
                0,
            )
            .unwrap(),
        ],
    }
}

fn percentile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort_unstable();
    let index = ((samples.len() as f64 * q) as usize).min(samples.len() - 1);
    samples[index].as_secs_f64() * 1e6
}

/// Lookup and durable-save latency at the current size.
fn report(store: &SqliteStore, stored: usize, next_save: &mut usize) {
    // Lookups: 20,000 keys spread over the whole table, after a warm-up pass.
    let keys: Vec<_> = (0..20_000)
        .map(|i| key((i * 7_919 + 13) % stored))
        .collect();
    for (coach, date) in keys.iter().take(2_000) {
        store.live_plan(coach, *date).unwrap().unwrap();
    }
    let mut lookups: Vec<Duration> = keys
        .iter()
        .map(|(coach, date)| {
            let started = Instant::now();
            let found = store.live_plan(coach, *date).unwrap();
            let elapsed = started.elapsed();
            assert!(found.is_some());
            elapsed
        })
        .collect();
    // Saves: 500 new plans, each its own transaction with synchronous=FULL.
    let mut saves: Vec<Duration> = (0..500)
        .map(|_| {
            let plan = plan(10_000_000 + *next_save);
            *next_save += 1;
            let started = Instant::now();
            store.create_plan(plan).unwrap();
            started.elapsed()
        })
        .collect();
    println!(
        "{{\"bench\":\"storage\",\"plans\":{stored},\"lookup_p50_us\":{:.1},\"lookup_p99_us\":{:.1},\"save_p50_us\":{:.1},\"save_p99_us\":{:.1}}}",
        percentile(&mut lookups, 0.5),
        percentile(&mut lookups, 0.99),
        percentile(&mut saves, 0.5),
        percentile(&mut saves, 0.99),
    );
}
