//! The blocking facade: today's plans for every coach, from plain synchronous code.
//!
//! `cargo run -p coach-plans-client --example blocking --features blocking -- [BASE_URL]`
#![allow(clippy::print_stdout)]

use coach_plans_client::blocking::PlanClient;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:5000".into());
    let client = PlanClient::new(base)?;
    let health = client.check_health()?;
    println!("server is {:?}", health.status);
    for plan in client.fetch_all_coach_plans(None)? {
        println!("{}: {}", plan.coach, plan.text.preview(60));
    }
    Ok(())
}
