//! Fetches one coach's plan for today (or a given date) and prints it.
//!
//! `cargo run -p coach-plans-client --example fetch_plan -- [BASE_URL] [COACH] [YYYY-MM-DD]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use coach_plans_client::{CoachId, PlanClient, PlanDate, PlanOutcome};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:5000".into());
    let coach = CoachId::parse(&args.next().unwrap_or_else(|| "d".into()))?;
    let date = args.next().map(|d| PlanDate::parse(&d)).transpose()?;

    let client = PlanClient::new(base)?;
    match client.fetch_coach_plan(&coach, date).await {
        PlanOutcome::Found(plan) => {
            println!("{} for {} by {}:", plan.coach, plan.date, plan.author.name);
            println!("{}", plan.text);
            for chart in &plan.charts {
                println!("chart {}: {}", chart.position(), chart.url());
            }
        }
        PlanOutcome::NotPosted { coach, .. } => println!("{coach} has not posted a plan"),
        PlanOutcome::Unavailable(reason) => {
            eprintln!("coach-plans is unavailable: {}", reason.chain());
            std::process::exit(1);
        }
        // The outcome may gain kinds in later versions.
        other => eprintln!("unexpected outcome: {other:?}"),
    }
    println!("client metrics: {:?}", client.metrics());
    Ok(())
}
