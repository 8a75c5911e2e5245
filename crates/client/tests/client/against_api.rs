//! The client against the real coach-plans API on 127.0.0.1:0 with an in-memory store and a
//! clock stopped at 2024-05-10 (New York).

use std::sync::Arc;
use std::time::Duration;

use coach_plans_api::{Api, ApiSettings, StaticBotStatus};
use coach_plans_client::{
    ClientBuilder, ClientErrorKind, CoachId, HealthStatus, PlanClient, PlanDate, PlanOutcome,
};
use coach_plans_model::{Channel, PlanText, UserId};
use coach_plans_service::{
    Actor, FixedClock, NewPost, PlanEdit, PlanRef, PlanService, ServiceSettings,
};
use coach_plans_storage::MemoryStore;

pub(crate) struct Served {
    pub(crate) base: String,
    service: PlanService,
}

/// Moves the client's clock (tokio's) forward without sleeping.
async fn let_time_pass(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

pub(crate) fn serve_api(auth_token: Option<&str>) -> Served {
    let clock = Arc::new(FixedClock::new("2024-05-10T16:00:00Z".parse().unwrap()));
    let service = PlanService::with_clock(
        Arc::new(MemoryStore::new()),
        ServiceSettings::default(),
        clock,
    );
    let settings = ApiSettings {
        workers: Some(1),
        auth_token: auth_token.map(Into::into),
        ..ApiSettings::default()
    };
    let api = Api::new(service.clone(), settings, Arc::new(StaticBotStatus::mock()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(api.serve(listener).unwrap());
    Served { base, service }
}

fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap()
}

fn day(d: u8) -> Option<PlanDate> {
    PlanDate::from_ymd(2024, 5, d)
}

fn dana() -> Actor {
    Actor::new(UserId::new(42).unwrap(), "dana")
}

impl Served {
    pub(crate) fn service(&self) -> &PlanService {
        &self.service
    }

    pub(crate) async fn post(&self, coach_id: &str, date: Option<PlanDate>, text: &str) {
        self.service
            .post_plan(
                &dana(),
                NewPost {
                    coach: coach(coach_id),
                    date,
                    text: PlanText::parse(text).unwrap(),
                    attachments: Vec::new(),
                    channel: Channel::default(),
                    message_id: None,
                },
            )
            .await
            .unwrap();
    }

    async fn edit(&self, coach_id: &str, date: Option<PlanDate>, text: &str) {
        self.service
            .edit_plan(
                &dana(),
                PlanEdit {
                    target: PlanRef::CoachDate(coach(coach_id), date),
                    text: PlanText::parse(text).unwrap(),
                    attachments: Vec::new(),
                    message_id: None,
                },
            )
            .await
            .unwrap();
    }
}

fn text(outcome: &PlanOutcome) -> &str {
    match outcome.plan() {
        Some(plan) => plan.text.as_str(),
        None => panic!("expected a plan, got {outcome:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_lookup_is_a_cache_hit_and_the_counts_say_so() {
    let served = serve_api(None);
    served.post("d", day(10), "NVDA above 950, stop 920").await;
    let client = PlanClient::new(&served.base).unwrap();
    let first = client.fetch_coach_plan(&coach("d"), day(10)).await;
    let second = client.fetch_coach_plan(&coach("d"), day(10)).await;
    assert_eq!(text(&first), "NVDA above 950, stop 920");
    assert_eq!(text(&second), "NVDA above 950, stop 920");
    let metrics = client.metrics();
    assert_eq!(
        (metrics.requests, metrics.cache_hits, metrics.cache_misses),
        (2, 1, 1)
    );
    assert_eq!(metrics.hit_rate_percent, 50.0);
    assert_eq!(metrics.api_successes, 1, "only the miss asked the server");
    assert_eq!(metrics.cache_size, 1);
    assert_eq!(client.clear_cache(), 1);
    assert_eq!(client.metrics().cache_size, 0);
}

// Current-thread: tokio's clock can be paused only there.
#[tokio::test]
async fn a_cached_plan_expires_after_its_ttl() {
    let served = serve_api(None);
    served.post("d", day(10), "first version").await;
    let client = ClientBuilder::new(&served.base)
        .cache_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(
        text(&client.fetch_coach_plan(&coach("d"), day(10)).await),
        "first version"
    );
    served.edit("d", day(10), "second version").await;
    assert_eq!(
        text(&client.fetch_coach_plan(&coach("d"), day(10)).await),
        "first version",
        "still cached"
    );
    let_time_pass(Duration::from_millis(301)).await;
    assert_eq!(
        text(&client.fetch_coach_plan(&coach("d"), day(10)).await),
        "second version",
        "expired and fetched again"
    );
}

// Current-thread: tokio's clock can be paused only there.
#[tokio::test]
async fn a_miss_is_cached_for_the_shorter_miss_ttl() {
    let served = serve_api(None);
    let client = ClientBuilder::new(&served.base)
        .miss_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = client.fetch_coach_plan(&coach("i"), day(10)).await;
    assert!(
        matches!(&outcome, PlanOutcome::NotPosted { coach: c, date } if c.as_str() == "i" && *date == day(10)),
        "{outcome:?}"
    );
    served.post("i", day(10), "posted late").await;
    assert!(
        !client
            .fetch_coach_plan(&coach("i"), day(10))
            .await
            .is_found(),
        "the miss is still cached"
    );
    let_time_pass(Duration::from_millis(301)).await;
    assert_eq!(
        text(&client.fetch_coach_plan(&coach("i"), day(10)).await),
        "posted late",
        "a plan posted later is seen once the miss expires (the plan TTL is an hour)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_least_recently_used_answer_is_evicted_at_capacity() {
    let served = serve_api(None);
    let client = ClientBuilder::new(&served.base)
        .cache_capacity(2)
        .build()
        .unwrap();
    for id in ["d", "i"] {
        client.fetch_coach_plan(&coach(id), day(10)).await;
    }
    client.fetch_coach_plan(&coach("d"), day(10)).await; // d is now the most recent
    client.fetch_coach_plan(&coach("s"), day(10)).await; // evicts i
    assert_eq!(client.metrics().cache_size, 2);
    let before = client.metrics().cache_misses;
    client.fetch_coach_plan(&coach("d"), day(10)).await;
    assert_eq!(client.metrics().cache_misses, before, "d was kept");
    client.fetch_coach_plan(&coach("i"), day(10)).await;
    assert_eq!(client.metrics().cache_misses, before + 1, "i was evicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_all_plans_fills_the_cache_for_each_coach() {
    let served = serve_api(None);
    served.post("d", day(10), "d plan").await;
    served.post("s", day(10), "s plan").await;
    served.post("d", day(9), "yesterday").await;
    let client = PlanClient::new(&served.base).unwrap();
    let plans = client.fetch_all_coach_plans(day(10)).await.unwrap();
    let mut coaches: Vec<_> = plans.iter().map(|p| p.coach.as_str().to_owned()).collect();
    coaches.sort();
    assert_eq!(coaches, ["d", "s"]);
    assert_eq!(
        text(&client.fetch_coach_plan(&coach("s"), day(10)).await),
        "s plan"
    );
    assert_eq!(client.metrics().cache_hits, 1);
    assert!(
        client
            .fetch_all_coach_plans(day(1))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_date_means_today_in_the_servers_time_zone() {
    let served = serve_api(None);
    served.post("n", None, "today's plan").await;
    let client = PlanClient::new(&served.base).unwrap();
    let outcome = client.fetch_coach_plan(&coach("n"), None).await;
    assert_eq!(text(&outcome), "today's plan");
    assert_eq!(outcome.plan().unwrap().date, day(10).unwrap());
    // Also cached under its real date.
    client.fetch_coach_plan(&coach("n"), day(10)).await;
    assert_eq!(client.metrics().cache_hits, 1);
    let all = client.fetch_all_coach_plans(None).await.unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_server_metrics_are_typed() {
    let served = serve_api(None);
    served.post("d", day(10), "a plan").await;
    let client = PlanClient::new(&served.base).unwrap();
    let health = client.check_health().await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.components.database.plan_count, 1);
    let metrics = client.server_metrics().await.unwrap();
    assert_eq!(metrics.database.total_plans, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_sent_when_the_server_wants_one() {
    let served = serve_api(Some("s3cret"));
    served.post("d", day(10), "guarded").await;
    let without = PlanClient::new(&served.base).unwrap();
    let outcome = without.fetch_coach_plan(&coach("d"), day(10)).await;
    assert!(
        matches!(
            outcome,
            PlanOutcome::Unavailable(ref e) if matches!(e.kind(), ClientErrorKind::Status { status: 401, .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(without.metrics().retries, 0, "401 is not transient");
    let with = ClientBuilder::new(&served.base)
        .auth_token("s3cret")
        .build()
        .unwrap();
    assert_eq!(
        text(&with.fetch_coach_plan(&coach("d"), day(10)).await),
        "guarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_coach_is_unavailable_with_the_servers_reason() {
    let served = serve_api(None);
    let client = PlanClient::new(&served.base).unwrap();
    let outcome = client.fetch_coach_plan(&coach("zz"), day(10)).await;
    let PlanOutcome::Unavailable(error) = outcome else {
        panic!("expected unavailable")
    };
    assert!(error.to_string().contains("unknown coach 'zz'"), "{error}");
}
