//! Mock mode, in-process.

use coach_plans_client::HealthStatus;
use coach_plans_model::wire::BotStatus;
use coach_plans_server::Exit;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_mode_serves_every_coachs_plan_for_today_and_reports_the_bot_as_mock() {
    let app = spawn_app(|config| config.mock.enabled = true).await;
    let today = app.client.fetch_all_coach_plans(None).await.unwrap();
    let coaches: Vec<&str> = today.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(coaches.len(), 4, "{coaches:?}");
    for plan in &today {
        assert!(!plan.charts.is_empty(), "mock plans carry charts");
    }
    let health = app.client.check_health().await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.components.discord_bot.status, BotStatus::Mock);
    assert_eq!(app.stop().await, Exit::Ok);
}
