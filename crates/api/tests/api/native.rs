//! SPEC 6.2: the native `/api/v1` API.

use actix_web::http::StatusCode;
use coach_plans_model::UserId;
use coach_plans_service::{Actor, PlanRef};
use serde_json::json;

use crate::helpers::{dana, keys, spawn_app};

#[actix_web::test]
async fn the_roster_is_listed_in_order() {
    let body = spawn_app().get("/api/v1/coaches").await.json();
    let ids: Vec<_> = body["coaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d", "i", "s", "n"]);
    assert_eq!(
        keys(&body["coaches"][0]),
        ["description", "display_name", "id", "key"]
    );
    assert_eq!(body["coaches"][0]["key"], "coach_d");
}

#[actix_web::test]
async fn a_plan_is_served_with_typed_charts_and_ids() {
    let app = spawn_app();
    let plan = app
        .post("d", "2024-05-10", "NVDA above 950", &["a.png", "b.png"])
        .await;
    let reply = app.get(&format!("/api/v1/plans/{}", plan.id)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(
        keys(&body),
        [
            "author",
            "channel",
            "charts",
            "coach",
            "created_at",
            "date",
            "deleted",
            "edited_at",
            "id",
            "message_id",
            "text"
        ]
    );
    assert_eq!(body["id"], plan.id.get());
    assert_eq!(body["author"], json!({"id": "42", "name": "dana"}));
    assert_eq!(body["channel"], json!({"id": "77", "name": "day-trading"}));
    assert_eq!(body["message_id"], "555");
    assert_eq!(
        body["charts"][1],
        json!({
            "url": "https://cdn.discordapp.com/attachments/1/2/b.png",
            "filename": "b.png",
            "content_type": "image/png",
            "size": 1234,
            "position": 1,
            // SPEC 14: where the archived image is (not archived yet).
            "sha256": null,
            "archived_url": null,
            "discord_url": "https://cdn.discordapp.com/attachments/1/2/b.png",
            "status": "pending",
            "reason": null,
        })
    );
}

#[actix_web::test]
async fn plan_responses_carry_an_etag_and_answer_304_when_unchanged() {
    let app = spawn_app();
    let plan = app.post("d", "2024-05-10", "v1", &[]).await;
    let uri = format!("/api/v1/plans/{}", plan.id);
    let first = app.get(&uri).await;
    let etag = first.header("etag").unwrap().to_owned();
    let again = app.request("GET", &uri, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    app.edit(&plan, "v2").await;
    let changed = app.request("GET", &uri, &[("If-None-Match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header("etag").unwrap(), etag);
    let compat = app.get("/api/coach-plans/?coach=d&date=2024-05-10").await;
    let compat_tag = compat.header("etag").unwrap().to_owned();
    let compat_again = app
        .request(
            "GET",
            "/api/coach-plans/?coach=d&date=2024-05-10",
            &[("If-None-Match", &compat_tag)],
        )
        .await;
    assert_eq!(compat_again.status, StatusCode::NOT_MODIFIED);
}

#[actix_web::test]
async fn absent_plans_are_404_and_bad_ids_400_naming_the_parameter() {
    let app = spawn_app();
    let missing = app.get("/api/v1/plans/999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"error": "Not Found", "message": "No plan with id 999"})
    );
    for bad in ["abc", "0", "-1", "1.5", "99999999999999999999"] {
        let reply = app.get(&format!("/api/v1/plans/{bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(keys(&reply.json()), ["error", "message", "parameter"]);
        assert_eq!(reply.json()["parameter"], "id");
    }
    let plan = app.post("d", "2024-05-10", "v1", &[]).await;
    app.service
        .delete_plan(&dana(), PlanRef::Id(plan.id))
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/plans/{}", plan.id)).await.status,
        StatusCode::NOT_FOUND
    );
    let history = app.get(&format!("/api/v1/plans/{}/history", plan.id)).await;
    assert_eq!(
        history.status,
        StatusCode::OK,
        "a deleted plan keeps its history"
    );
    assert_eq!(history.json()["history"][0]["action"], "delete");
    assert_eq!(
        app.get("/api/v1/plans/999/history").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn plans_are_listed_newest_first_in_keyset_pages() {
    let app = spawn_app();
    for day in 1..=7 {
        app.post("d", &format!("2024-05-0{day}"), &format!("day {day}"), &[])
            .await;
    }
    let mut seen = Vec::new();
    let mut uri = "/api/v1/plans?limit=3".to_owned();
    loop {
        let body = app.get(&uri).await.json();
        assert_eq!(keys(&body), ["next_cursor", "plans"]);
        seen.extend(
            body["plans"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["text"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/plans?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "day 7", "day 6", "day 5", "day 4", "day 3", "day 2", "day 1"
        ]
    );
}

#[actix_web::test]
async fn plans_can_be_filtered_by_date_coach_author_and_range() {
    let app = spawn_app();
    let ivan = Actor::new(UserId::new(7).unwrap(), "ivan");
    app.post("d", "2024-05-09", "d9", &[]).await;
    app.post("d", "2024-05-10", "d10", &[]).await;
    app.post_as(&ivan, "i", "2024-05-10", "i10", &[]).await;
    let texts = |body: serde_json::Value| -> Vec<String> {
        body["plans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts(app.get("/api/v1/plans?date=2024-05-10").await.json()),
        ["i10", "d10"]
    );
    assert_eq!(
        texts(app.get("/api/v1/plans?coach=coach_d").await.json()),
        ["d10", "d9"]
    );
    assert_eq!(
        texts(app.get("/api/v1/plans?author=7").await.json()),
        ["i10"]
    );
    assert_eq!(
        texts(app.get("/api/v1/plans?author=dana").await.json()),
        ["d10", "d9"]
    );
    assert_eq!(
        texts(
            app.get("/api/v1/plans?from=2024-05-10&to=2024-05-10&coach=d")
                .await
                .json()
        ),
        ["d10"]
    );
    assert_eq!(
        texts(app.get("/api/v1/plans?to=2024-05-09").await.json()),
        ["d9"]
    );
    // `today` is today in the server's time zone (the test clock says 2024-05-10).
    assert_eq!(
        texts(app.get("/api/v1/plans?date=today&coach=d").await.json()),
        ["d10"]
    );
}

#[actix_web::test]
async fn numbers_and_dates_with_a_sign_or_spaces_are_refused_not_trimmed() {
    let app = spawn_app();
    let plan = app.post("d", "2024-05-10", "v1", &[]).await;
    for (query, parameter) in [
        ("limit=%2B1", "limit"),
        ("limit=+1", "limit"),
        ("limit=%201", "limit"),
        ("limit=1%20", "limit"),
        ("limit=%EF%BC%91", "limit"),
        ("date=+2024-05-10", "date"),
        ("date=%2B2024-05-10", "date"),
        ("from=%202024-05-10", "from"),
        ("to=2024-05-10%20", "to"),
        ("cursor=%202024-05-10.1", "cursor"),
        ("cursor=2024-05-10.%2B1", "cursor"),
        ("cursor=2024-05-10.+1", "cursor"),
    ] {
        let reply = app.get(&format!("/api/v1/plans?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.json()["parameter"], parameter, "{query}");
    }
    for id in ["+1", "%201", "1%20", "%2B1"] {
        let reply = app.get(&format!("/api/v1/plans/{id}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{id}");
        assert_eq!(reply.json()["parameter"], "id", "{id}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/plans/{}", plan.id)).await.status,
        StatusCode::OK
    );
    // An author id is digits only: `+42` is a display name (nobody's), not user 42.
    let by_id = app.get("/api/v1/plans?author=42").await.json();
    assert_eq!(by_id["plans"].as_array().unwrap().len(), 1);
    let signed = app.get("/api/v1/plans?author=%2B42").await.json();
    assert_eq!(signed["plans"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn bad_listing_parameters_are_400_naming_the_parameter() {
    let app = spawn_app();
    let cases = [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("cursor=garbage", "cursor"),
        ("coach=x", "coach"),
        ("date=2024-02-30", "date"),
        ("from=yesterday", "from"),
        ("to=2024-13-01", "to"),
        ("from=2024-05-10&to=2024-05-01", "from"),
        ("date=2024-05-10&from=2024-05-01", "date"),
        ("author=", "author"),
    ];
    for (query, parameter) in cases {
        let reply = app.get(&format!("/api/v1/plans?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let body = reply.json();
        assert_eq!(keys(&body), ["error", "message", "parameter"], "{query}");
        assert_eq!(body["parameter"], parameter, "{query}");
        assert_eq!(body["error"], "Bad Request");
    }
    assert_eq!(
        app.get("/api/v1/plans?limit=500").await.status,
        StatusCode::OK
    );
}
