//! `MockPlanSource` through the client's `PlanSource` trait, as downstream code uses it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use coach_plans_client::{ClientError, ClientErrorKind, PlanOutcome, PlanSource};
use coach_plans_mock::{MockPlanSource, mock_plan};
use coach_plans_model::{CoachId, PlanDate};

fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap()
}

fn date(s: &str) -> PlanDate {
    PlanDate::parse(s).unwrap()
}

#[tokio::test]
async fn every_coach_has_the_mock_plan_up_to_today_and_nothing_after() {
    let source: Arc<dyn PlanSource> = Arc::new(MockPlanSource::new(date("2024-05-10")));
    let today = source.fetch_coach_plan(&coach("d"), None).await;
    let plan = today.plan().unwrap();
    let expected = mock_plan(&coach("d"), date("2024-05-10"));
    assert_eq!(plan.text.as_str(), expected.text);
    assert_eq!(plan.date, date("2024-05-10"));
    assert_eq!(plan.charts.len(), expected.charts.len());
    assert!(plan.charts[0].url().starts_with("https://example.com/"));
    let earlier = source
        .fetch_coach_plan(&coach("s"), Some(date("2024-05-01")))
        .await;
    assert!(earlier.is_found());
    let tomorrow = source
        .fetch_coach_plan(&coach("d"), Some(date("2024-05-11")))
        .await;
    assert!(matches!(tomorrow, PlanOutcome::NotPosted { .. }));
    let stranger = source.fetch_coach_plan(&coach("zz"), None).await;
    assert!(matches!(stranger, PlanOutcome::NotPosted { .. }));
    let all = source.fetch_all_coach_plans(None).await.unwrap();
    let ids: Vec<_> = all.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(ids, ["d", "i", "s", "n"]);
    let distinct: std::collections::BTreeSet<_> = all.iter().map(|p| p.id).collect();
    assert_eq!(distinct.len(), 4, "ids are unique");
}

#[tokio::test]
async fn a_test_can_take_a_plan_away_or_the_whole_service() {
    let mock = MockPlanSource::new(date("2024-05-10"));
    mock.mark_not_posted(&coach("i"), date("2024-05-10"));
    assert!(!mock.fetch_coach_plan(&coach("i"), None).await.is_found());
    assert_eq!(mock.fetch_all_coach_plans(None).await.unwrap().len(), 3);
    mock.set_unavailable(Some(ClientError::with_source(
        ClientErrorKind::Transport,
        "down for the test",
    )));
    assert!(matches!(
        mock.fetch_coach_plan(&coach("d"), None).await,
        PlanOutcome::Unavailable(_)
    ));
    assert!(mock.fetch_all_coach_plans(None).await.is_err());
    mock.set_unavailable(None);
    assert!(mock.fetch_coach_plan(&coach("d"), None).await.is_found());
}

#[tokio::test]
async fn a_configured_roster_is_served_in_its_order() {
    let roster: coach_plans_model::Roster = test_roster();
    let mock = MockPlanSource::for_roster(date("2024-05-10"), &roster);
    let all = mock
        .fetch_all_coach_plans(Some(date("2024-05-10")))
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(ids, ["x", "d"]);
    assert!(
        mock.plan(&coach("i"), date("2024-05-10")).is_none(),
        "not on this roster"
    );
}

fn test_roster() -> coach_plans_model::Roster {
    let coach = |id: &str| coach_plans_model::Coach::new(coach(id), format!("Coach {id}"), "test");
    coach_plans_model::Roster::new(vec![coach("x"), coach("d")]).unwrap()
}
