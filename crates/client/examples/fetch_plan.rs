//! The README's example: coach D's plan for today, then every coach's, then a cache hit.
//!
//! `cargo run -p coach-plans-client --example fetch_plan -- [BASE_URL]`
#![allow(clippy::print_stdout)]

use std::time::Duration;

use coach_plans_client::{ArchiveStatus, ClientBuilder, CoachId, PlanOutcome};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server's address: the first argument, or the default.
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:5000".to_owned());
    let client = ClientBuilder::new(base)
        .timeout(Duration::from_secs(5))
        .cache_ttl(Duration::from_secs(600))
        .build()?;

    // Coach D's plan for today (the server's today; pass `Some(date)` for another day).
    let coach = CoachId::parse("d")?;
    match client.fetch_coach_plan(&coach, None).await {
        PlanOutcome::Found(plan) => {
            println!("{} posted: {}", plan.author.name, plan.text);
            // Each chart's archive state: an archived image outlives Discord's link.
            for chart in client.fetch_plan_charts(plan.id).await? {
                println!(
                    "  chart {} ({}): {}",
                    chart.position,
                    chart.status,
                    chart.best_url()
                );
                if chart.status == ArchiveStatus::Archived {
                    // The bytes are checked against the SHA-256 in the URL.
                    let image = client.fetch_chart(chart.best_url()).await?;
                    println!("    {} bytes of {}", image.bytes.len(), image.content_type);
                }
            }
        }
        PlanOutcome::NotPosted { .. } => println!("no plan yet"),
        PlanOutcome::Unavailable(reason) => println!("coach-plans unavailable: {}", reason.chain()),
        // `PlanOutcome` is non-exhaustive: later versions may add outcomes.
        other => println!("unexpected: {other:?}"),
    }

    // Every coach's plan for today; each goes into the cache, so the next lookup is a hit.
    let today = client.fetch_all_coach_plans(None).await?;
    println!("{} coaches posted today", today.len());
    let again = client.fetch_coach_plan(&coach, None).await;
    println!(
        "found: {}, metrics: {:?}",
        again.is_found(),
        client.metrics()
    );
    Ok(())
}
