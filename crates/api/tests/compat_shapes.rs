//! Walks every SPEC 6.1 endpoint and compares each response with the shape SPEC 6.1 writes
//! down: the same keys, each holding the same kind of value. The shapes below are transcribed
//! from the specification, not from our code.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::test;
use coach_plans_api::{Api, ApiSettings, StaticBotStatus};
use coach_plans_model::{Attachment, Channel, CoachId, PlanText, UserId};
use coach_plans_service::{Actor, NewPost, PlanEdit, PlanRef, PlanService, ServiceSettings};
use coach_plans_storage::MemoryStore;
use serde_json::{Value, json};

/// Whether `value` has the shape of `template`: objects with exactly the template's keys,
/// arrays whose items match the template's one item, and leaves named by type:
/// "string", "number", "string|null", "status:<a>|<b>" (a string among those), "object:any".
fn check(path: &str, template: &Value, value: &Value) {
    match (template, value) {
        (Value::Object(expected), Value::Object(actual)) => {
            let mut want: Vec<_> = expected.keys().collect();
            let mut have: Vec<_> = actual.keys().collect();
            want.sort();
            have.sort();
            assert_eq!(have, want, "keys at {path}");
            for (key, sub) in expected {
                check(&format!("{path}.{key}"), sub, &actual[key]);
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            assert!(
                !actual.is_empty() || expected.is_empty() || path.ends_with("charts"),
                "{path} is empty: walk it with data"
            );
            for (i, item) in actual.iter().enumerate() {
                check(&format!("{path}[{i}]"), &expected[0], item);
            }
        }
        (Value::String(kind), value) => {
            let ok = match kind.as_str() {
                "string" => value.is_string(),
                "number" => value.is_number(),
                "string|null" => value.is_string() || value.is_null(),
                "object:any" => value.is_object(),
                status if status.starts_with("status:") => status["status:".len()..]
                    .split('|')
                    .any(|s| value.as_str() == Some(s)),
                other => panic!("unknown template kind {other}"),
            };
            assert!(ok, "{path}: expected {kind}, got {value}");
        }
        (template, value) => panic!("{path}: expected {template}, got {value}"),
    }
}

async fn get(api: &Api, uri: &str) -> (u16, Value) {
    let app = test::init_service(api.app()).await;
    let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(&test::read_body(res).await).unwrap(),
    )
}

#[actix_web::test]
async fn every_compatibility_endpoint_answers_in_the_shape_of_spec_6_1() {
    let service = PlanService::new(Arc::new(MemoryStore::new()), ServiceSettings::default());
    let api = Api::new(
        service.clone(),
        ApiSettings::default(),
        Arc::new(StaticBotStatus::mock()),
    );
    let dana = Actor::new(UserId::new(42).unwrap(), "dana");
    let chart = Attachment {
        url: "https://cdn.example/c.png".into(),
        filename: "c.png".into(),
        content_type: None,
        size: None,
    };
    let post = NewPost {
        coach: CoachId::parse("d").unwrap(),
        date: None,
        text: PlanText::parse("v1").unwrap(),
        attachments: vec![chart],
        channel: Channel {
            id: None,
            name: Some("trading".into()),
        },
        message_id: None,
    };
    let plan = service.post_plan(&dana, post).await.unwrap().plan;
    let edit = PlanEdit {
        target: PlanRef::Id(plan.id),
        text: PlanText::parse("v2").unwrap(),
        attachments: vec![],
        message_id: None,
    };
    service.edit_plan(&dana, edit).await.unwrap();

    let found = json!({"plan": "string", "charts": ["string"], "author": "string", "created_at": "string",
                       "edited_at": "string|null", "channel": "string|null"});
    let missing = json!({"plan": "string", "charts": []});
    let all_entry = json!({"plan": "string", "charts": ["string"], "author": "string", "created_at": "string",
                           "edited_at": "string|null"});
    let cases: Vec<(&str, u16, Value)> = vec![
        (
            "/",
            200,
            json!({"name": "string", "version": "string", "endpoints": "object:any", "documentation": "string"}),
        ),
        (
            "/health",
            200,
            json!({"status": "status:healthy|degraded|unhealthy", "timestamp": "string",
            "components": {"database": {"status": "status:up|down", "plan_count": "number"},
                           "discord_bot": {"status": "status:connected|disconnected|mock"},
                           // SPEC 14: chart archiving (any failed chart degrades).
                           "charts": {"archived": "number", "pending": "number", "failed": "number"}}}),
        ),
        (
            "/metrics",
            200,
            json!({"timestamp": "string", "uptime_seconds": "number",
            "requests": {"total": "number", "success": "number", "error": "number", "error_rate_percent": "number"},
            "database": {"total_plans": "number", "total_charts": "number", "total_edits": "number",
                         "latest_plan": "string|null"},
            // SPEC 14: charts archived, pending, failed, bytes stored.
            "charts": {"charts_archived": "number", "charts_pending": "number",
                       "charts_failed": "number", "chart_bytes_stored": "number"}}),
        ),
        ("/api/coach-plans/?coach=d", 200, found),
        ("/api/coach-plans/?coach=i", 200, missing),
        ("/api/coach-plans/all", 200, json!({"coach_d": all_entry})),
        ("/api/coach-plans/all?date=1999-01-01", 200, json!({})),
        (
            "/api/coach-plans/history?coach=d",
            200,
            json!({"history": [{"id": "number", "plan_id": "number",
            "plan_text": "string", "edited_by": "string", "edited_at": "string"}]}),
        ),
        ("/api/coach-plans/", 400, json!({"error": "string"})),
        ("/api/coach-plans/?coach=x", 400, json!({"error": "string"})),
        (
            "/api/coach-plans/?coach=d&date=x",
            400,
            json!({"error": "string"}),
        ),
        ("/x", 404, json!({"error": "string", "message": "string"})),
    ];
    for (uri, status, template) in cases {
        let (actual_status, body) = get(&api, uri).await;
        assert_eq!(actual_status, status, "{uri}");
        check(uri, &template, &body);
    }
    let (_, missing_body) = get(&api, "/api/coach-plans/?coach=i").await;
    assert!(
        missing_body["plan"].as_str().unwrap().starts_with("No"),
        "the Python clients' test"
    );
}
