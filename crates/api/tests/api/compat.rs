//! SPEC 6.1: the Python version's endpoints, key for key and message for message.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TODAY, keys, spawn_app};

#[actix_web::test]
async fn a_posted_plan_is_served_with_the_python_keys() {
    let app = spawn_app();
    app.post(
        "d",
        "2024-05-10",
        "NVDA above 950, stop 920",
        &["a.png", "b.png"],
    )
    .await;
    let reply = app.get("/api/coach-plans/?coach=d&date=2024-05-10").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(
        keys(&body),
        [
            "author",
            "channel",
            "charts",
            "created_at",
            "edited_at",
            "plan"
        ]
    );
    assert_eq!(body["plan"], "NVDA above 950, stop 920");
    assert_eq!(body["author"], "dana");
    assert_eq!(body["channel"], "day-trading");
    assert_eq!(body["edited_at"], json!(null));
    assert_eq!(body["created_at"], "2024-05-10T16:00:00.000000+00:00");
    assert_eq!(
        body["charts"],
        json!([
            "https://cdn.discordapp.com/attachments/1/2/a.png",
            "https://cdn.discordapp.com/attachments/1/2/b.png"
        ])
    );
}

#[actix_web::test]
async fn a_missing_plan_says_no_plan_available_as_python_clients_expect() {
    let app = spawn_app();
    let reply = app.get("/api/coach-plans/?coach=i&date=2024-05-10").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"plan": "No plan available for coach_i on 2024-05-10", "charts": []})
    );
    assert!(reply.json()["plan"].as_str().unwrap().starts_with("No"));
}

#[actix_web::test]
async fn the_coach_may_be_written_as_people_write_it_and_the_date_defaults_to_today() {
    let app = spawn_app();
    app.post("d", TODAY, "today's plan", &[]).await;
    for coach in ["d", "D", "coach_d", "Coach_D", "%20d%20"] {
        let reply = app.get(&format!("/api/coach-plans/?coach={coach}")).await;
        assert_eq!(reply.json()["plan"], "today's plan", "coach={coach}");
    }
    let without_slash = app.get("/api/coach-plans?coach=d").await;
    assert_eq!(without_slash.json()["plan"], "today's plan");
}

#[actix_web::test]
async fn a_missing_coach_is_a_400_naming_the_parameter() {
    let app = spawn_app();
    for uri in [
        "/api/coach-plans/",
        "/api/coach-plans/?date=2024-05-10",
        "/api/coach-plans/?coach=",
        "/api/coach-plans/history",
    ] {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            reply.json(),
            json!({"error": "Missing required parameter: coach"}),
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn an_unknown_coach_is_a_400_listing_the_valid_ones() {
    let app = spawn_app();
    let reply = app.get("/api/coach-plans/?coach=x").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json(),
        json!({"error": "Invalid coach name 'x'. Valid coaches: d, i, s, n"})
    );
    let history = app
        .get("/api/coach-plans/history?coach=zz&date=2024-05-10")
        .await;
    assert_eq!(
        history.json(),
        json!({"error": "Invalid coach name 'zz'. Valid coaches: d, i, s, n"})
    );
}

#[actix_web::test]
async fn a_bad_date_is_a_400_showing_the_format() {
    let app = spawn_app();
    for (date, shown) in [
        ("2024-02-30", "2024-02-30"),
        ("tomorrow", "tomorrow"),
        ("", ""),
        ("2024-5-1", "2024-5-1"),
        // Exactly YYYY-MM-DD: no sign, no spaces (a `+` in a query string is a space).
        ("+2024-01-01", " 2024-01-01"),
        ("%2B2024-01-01", "+2024-01-01"),
        ("%202024-01-01", " 2024-01-01"),
        ("2024-01-01%20", "2024-01-01 "),
        ("%092024-01-01", "\t2024-01-01"),
        ("%EF%BC%92024-01-01", "\u{ff12}024-01-01"),
    ] {
        for path in [
            "/api/coach-plans/?coach=d&date=",
            "/api/coach-plans/all?date=",
            "/api/coach-plans/history?coach=d&date=",
        ] {
            let reply = app.get(&format!("{path}{date}")).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}{date}");
            assert_eq!(
                reply.json(),
                json!({"error": format!("Invalid date '{shown}'. Use YYYY-MM-DD")}),
                "{path}{date}"
            );
        }
    }
}

#[actix_web::test]
async fn all_plans_lists_only_coaches_with_a_live_plan() {
    let app = spawn_app();
    let empty = app.get("/api/coach-plans/all?date=2024-05-10").await;
    assert_eq!((empty.status, empty.json()), (StatusCode::OK, json!({})));
    app.post("d", "2024-05-10", "day plan", &["d.png"]).await;
    app.post("n", "2024-05-10", "news plan", &[]).await;
    app.post("s", "2024-05-11", "another day", &[]).await;
    let body = app.get("/api/coach-plans/all?date=2024-05-10").await.json();
    assert_eq!(keys(&body), ["coach_d", "coach_n"]);
    assert_eq!(
        keys(&body["coach_d"]),
        ["author", "charts", "created_at", "edited_at", "plan"]
    );
    assert_eq!(
        body["coach_d"]["charts"],
        json!(["https://cdn.discordapp.com/attachments/1/2/d.png"])
    );
    assert_eq!(body["coach_n"]["plan"], "news plan");
    assert_eq!(
        app.get("/api/coach-plans/all").await.json(),
        body,
        "the date defaults to today"
    );
}

#[actix_web::test]
async fn history_lists_previous_versions_newest_first() {
    let app = spawn_app();
    assert_eq!(
        app.get("/api/coach-plans/history?coach=d&date=2024-05-10")
            .await
            .json(),
        json!({"history": []})
    );
    let plan = app.post("d", "2024-05-10", "v1", &[]).await;
    app.edit(&plan, "v2").await;
    app.edit(&plan, "v3").await;
    let body = app
        .get("/api/coach-plans/history?coach=d&date=2024-05-10")
        .await
        .json();
    let history = body["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        keys(&history[0]),
        ["edited_at", "edited_by", "id", "plan_id", "plan_text"]
    );
    assert_eq!(history[0]["plan_text"], "v2");
    assert_eq!(history[1]["plan_text"], "v1");
    assert_eq!(history[0]["plan_id"], plan.id.get());
    assert_eq!(history[0]["edited_by"], "dana");
}

#[actix_web::test]
async fn a_new_post_is_served_at_once_despite_the_read_cache() {
    let app = spawn_app();
    let uri = "/api/coach-plans/?coach=s&date=2024-05-10";
    assert!(
        app.get(uri).await.json()["plan"]
            .as_str()
            .unwrap()
            .starts_with("No plan")
    );
    assert!(
        app.get(uri).await.json()["plan"]
            .as_str()
            .unwrap()
            .starts_with("No plan"),
        "now cached"
    );
    let plan = app.post("s", "2024-05-10", "swing list", &[]).await;
    assert_eq!(app.get(uri).await.json()["plan"], "swing list");
    app.edit(&plan, "swing list, edited").await;
    assert_eq!(app.get(uri).await.json()["plan"], "swing list, edited");
    assert_eq!(
        app.get("/api/coach-plans/all?date=2024-05-10").await.json()["coach_s"]["plan"],
        "swing list, edited"
    );
}

#[actix_web::test]
async fn huge_and_odd_query_values_get_clear_errors() {
    let app = spawn_app();
    // Long, yet within the URI length the API reads (longer is a 414, see protocol.rs).
    let huge = "x".repeat(5_000);
    let reply = app.get(&format!("/api/coach-plans/?coach={huge}")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.len() < 300,
        "the echo is shortened: {} bytes",
        message.len()
    );
    for query in [
        "coach=%FF%FE",
        "coach=d%00",
        "coach=%E2%80%AEd",
        "coach=d&coach=i&coach=s",
        "coach=d&date=%32%30%32%34-05-10",
    ] {
        let reply = app.get(&format!("/api/coach-plans/?{query}")).await;
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.status
        );
        let _ = reply.json();
    }
    let first_wins = app
        .get("/api/coach-plans/?coach=d&coach=x&date=2024-05-10")
        .await;
    assert_eq!(
        first_wins.status,
        StatusCode::OK,
        "the first value of a repeated parameter wins, as in Flask"
    );
}
