//! PostgreSQL's storage figures for `cargo xtask bench`, beside SQLite's `storage_bench`: plan
//! lookup and durable save latency with 1,000 plans stored and again with `--plans N` (the cost
//! must stay flat), in a database of its own on the test server (`COACH_PLANS_TEST_POSTGRES_URL`
//! or 127.0.0.1:5432), dropped afterwards.
//!
//! ```text
//! cargo run --release -p coach-plans-postgres --example pg_storage_bench -- [--plans N]
//! cargo run --release -p coach-plans-postgres --example pg_storage_bench -- --hold
//! ```
//!
//! `--hold` creates an empty database, prints its URL and keeps it until standard input
//! closes (for the HTTP bench's server), then drops it.
//!
//! Prints JSON lines. The table grows past 1,000 plans by one `INSERT … SELECT` on the server
//! (importing through the store, every plan read back, would take minutes over the network);
//! the lookups and saves measured are the store's own.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use coach_plans_model::{Author, Channel, Chart, CoachId, PlanDate, PlanText, Timestamp};
use coach_plans_postgres::PostgresStore;
use coach_plans_postgres::testing::TestDatabase;
use coach_plans_storage::{NewPlan, PlanStore};

const COACHES: [&str; 4] = ["d", "i", "s", "n"];

fn main() {
    let mut args = std::env::args().skip(1);
    let mut target = 100_000usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--plans" => target = args.next().unwrap().parse().unwrap(),
            "--hold" => {
                let db = TestDatabase::create();
                println!("{}", db.url());
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let db = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();

    store.import_plans(&plans(0, 1_000)).unwrap();
    let mut next_save = 0;
    report(&store, 1_000, &mut next_save);

    if target > 1_000 {
        let started = Instant::now();
        // The same plans `plan(n)` makes, for n from 1,000 up, each with one chart.
        // Triggers off while growing (session_replication_role), the counters set after.
        db.execute(&format!(
            "SET session_replication_role = replica;
             INSERT INTO coach_plans (coach_name, date, plan, author, channel, created_at)
             SELECT 'coach_' || (ARRAY['d','i','s','n'])[n % 4 + 1],
                    to_char(DATE '1900-01-01' + (n / 4), 'YYYY-MM-DD'),
                    'Plan ' || n || ': SPY holding the 520 shelf. Longs above 521.50, target 526, stop 518.',
                    'coach_dana', 'day-trading',
                    to_char(DATE '1900-01-01' + (n / 4), 'YYYY-MM-DD') || 'T08:41:12.503211'
             FROM generate_series(1000, {last}) AS n;
             INSERT INTO plan_charts (plan_id, chart_url, filename, added_at)
             SELECT id, 'https://cdn.discordapp.com/attachments/1/' || id || '/chart.png',
                    'chart.png', created_at
             FROM coach_plans WHERE id > 1000;
             RESET session_replication_role;
             UPDATE plan_counters SET value = (SELECT COUNT(*) FROM coach_plans)
                 WHERE name = 'live_plans';
             UPDATE plan_counters SET value = (SELECT COUNT(*) FROM plan_charts)
                 WHERE name IN ('live_charts', 'live_charts_pending');
             ANALYZE;",
            last = target - 1
        ));
        eprintln!(
            "postgres: grew to {target} plans in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        report(&store, target, &mut next_save);
    }
}

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
            "Plan {n}: SPY holding the 520 shelf. Longs above 521.50, target 526, stop 518."
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

/// Lookup and durable-save latency at the current size, as SQLite's `storage_bench` measures.
fn report(store: &PostgresStore, stored: usize, next_save: &mut usize) {
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
    // Saves: 500 new plans, each its own transaction, committed with synchronous_commit=on.
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
        "{{\"bench\":\"storage_postgres\",\"plans\":{stored},\"lookup_p50_us\":{:.1},\"lookup_p99_us\":{:.1},\"save_p50_us\":{:.1},\"save_p99_us\":{:.1}}}",
        percentile(&mut lookups, 0.5),
        percentile(&mut lookups, 0.99),
        percentile(&mut saves, 0.5),
        percentile(&mut saves, 0.99),
    );
}
