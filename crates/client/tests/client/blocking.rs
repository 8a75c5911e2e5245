//! The blocking facade, from a plain thread.

use coach_plans_client::blocking::PlanClient;
use coach_plans_client::{CoachId, PlanDate};

use crate::against_api::serve_api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_works_from_synchronous_code() {
    let served = serve_api(None);
    served
        .post("d", PlanDate::from_ymd(2024, 5, 10), "sync plan")
        .await;
    let base = served.base.clone();
    let (text, all, health_ok, metrics) = std::thread::spawn(move || {
        let client = PlanClient::new(base).unwrap();
        let d = CoachId::parse("d").unwrap();
        let outcome = client.fetch_coach_plan(&d, PlanDate::from_ymd(2024, 5, 10));
        let again = client.fetch_coach_plan(&d, PlanDate::from_ymd(2024, 5, 10));
        assert!(again.is_found());
        let all = client
            .fetch_all_coach_plans(PlanDate::from_ymd(2024, 5, 10))
            .unwrap()
            .len();
        let text = outcome.plan().map(|p| p.text.as_str().to_owned());
        (text, all, client.check_health().is_ok(), client.metrics())
    })
    .join()
    .unwrap();
    assert_eq!(text.as_deref(), Some("sync plan"));
    assert_eq!(all, 1);
    assert!(health_ok);
    assert_eq!((metrics.cache_hits, metrics.cache_misses), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_fetches_charts_too() {
    let png = b"\x89PNG\r\n\x1a\nnot really an image";
    let sha = "a987c0d1fac0abc31d18ab48abf7ce4f156642cf3cdb1c86c4e045cbf9a55e07";
    let api = crate::canned::serve_bytes(vec![crate::canned::bytes_response(
        "200 OK",
        "image/png",
        png,
    )])
    .await;
    let url = format!("{}/api/v1/charts/{sha}.png", api.base);
    let base = api.base.clone();
    let chart = std::thread::spawn(move || PlanClient::new(base).unwrap().fetch_chart(&url))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(chart.bytes, png);
    assert_eq!(chart.content_type, "image/png");
    assert_eq!(chart.sha256.map(|s| s.to_string()).as_deref(), Some(sha));
}
