//! The mock bot seeds through the real command handler, once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use coach_plans_bot::{CommandHandler, CommandSettings};
use coach_plans_mock::{MockBot, mock_plan};
use coach_plans_model::{CoachId, PlanDate};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_storage::MemoryStore;

fn bot() -> (MockBot, PlanService) {
    let service = PlanService::new(Arc::new(MemoryStore::new()), ServiceSettings::default());
    (
        MockBot::new(CommandHandler::new(
            service.clone(),
            CommandSettings::default(),
        )),
        service,
    )
}

#[tokio::test]
async fn seeding_posts_every_coach_for_today_and_the_days_before() {
    let (bot, service) = bot();
    let today = PlanDate::parse("2024-05-10").unwrap();
    let report = bot.seed(today, 5).await;
    assert_eq!(report.posted.len(), 4 * 6, "{:?}", report.refused);
    assert!(report.refused.is_empty());
    let plans = service.plans_on(today).await.unwrap();
    assert_eq!(plans.len(), 4);
    let d = &plans[0];
    let expected = mock_plan(&CoachId::parse("d").unwrap(), today);
    assert_eq!(
        d.text.as_str(),
        expected.text,
        "the text went through the !plan command unchanged"
    );
    assert_eq!(d.charts.len(), expected.charts.len());
    assert_eq!(d.charts[0].url(), expected.charts[0].url);
    assert_eq!(d.channel.name.as_deref(), Some("#mock-plans"));
    assert!(
        service
            .plans_on(today.checked_add_days(-5).unwrap())
            .await
            .unwrap()
            .len()
            == 4
    );
    assert!(
        service
            .plans_on(today.checked_add_days(-6).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn seeding_again_adds_nothing_and_overwrites_nothing() {
    let (bot, service) = bot();
    let today = PlanDate::parse("2024-05-10").unwrap();
    bot.seed(today, 2).await;
    let before = service.stats().await.unwrap();
    let again = bot.seed(today, 2).await;
    assert!(again.posted.is_empty());
    assert_eq!(again.already_present, 12);
    let after = service.stats().await.unwrap();
    assert_eq!(
        (after.live_plans, after.history_entries),
        (before.live_plans, 0),
        "nothing replaced"
    );
}
