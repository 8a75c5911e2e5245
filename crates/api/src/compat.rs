//! SPEC 6.1: the Python version's endpoints, with its paths, status codes, JSON keys and
//! messages, so its clients keep working unchanged.

use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::wire::ErrorBody;
use coach_plans_model::wire::legacy::{
    AllEntry, AllPlans, FoundPlan, History, HistoryRow, MissingPlan, PlanReply,
};
use coach_plans_model::{Coach, PlanDate, shorten};
use coach_plans_service::{PlanRef, ServiceError};

use crate::cache::{CacheKey, Cached};
use crate::charts;
use crate::error::{ApiError, ECHO_CHARS};
use crate::query::{self, Query};
use crate::respond;
use crate::state::AppState;

/// `GET /api/coach-plans/?coach=C&date=D`: the plan, or `{"plan": "No plan available ...", "charts": []}`.
#[utoipa::path(
    get,
    path = "/api/coach-plans/",
    operation_id = "coach_plan",
    tag = "compatibility",
    summary = "One coach's plan for a date (the Python version's endpoint)",
    description = "The plan, or, when none was posted, `{\"plan\": \"No plan available for coach_<id> on <date>\", \"charts\": []}` with 200: clients test `plan.startswith(\"No\")`. Chart links are the archived copies once archived, Discord's links until then. Also served at `/api/coach-plans` (no trailing slash).",
    params(
        ("coach" = String, Query, description = "The coach: its id (`d`), in any case, with or without `coach_` (`coach_d`, `Coach_D`). Required.", example = "d"),
        ("date" = Option<String>, Query, format = Date, description = "The trading day, `YYYY-MM-DD`; today in the server's time zone when absent.", example = "2024-05-10"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "The plan, or the missing-plan reply", body = PlanReply, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "`coach` missing or unknown, or `date` not a date: `{\"error\": \"Missing required parameter: coach\"}`, `{\"error\": \"Invalid coach name 'x'. Valid coaches: d, i, s, n\"}`, `{\"error\": \"Invalid date 'x'. Use YYYY-MM-DD\"}`", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn plan(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string());
    let (position, coach) = coach_param(&state, &query)?;
    let date = date_param(&state, &query)?;
    let key = CacheKey::Plan(position, date);
    // The generation is read before the data, so a body built from stale data is stored under
    // a stale generation and never served.
    let generation = state.service.generation();
    if let Some(hit) = state.cache.get(key, generation) {
        return Ok(respond::cached(&req, hit));
    }
    // On the worker: the point read is shorter than a hand-off to the blocking pool and back.
    let plan = state
        .service
        .plan_here(&coach.id, date)
        .map_err(ApiError::from_service)?;
    let body = match &plan {
        Some(plan) => serde_json::to_vec(&FoundPlan {
            charts: charts::links(&state, plan),
            ..FoundPlan::from(plan)
        }),
        None => serde_json::to_vec(&MissingPlan::new(&coach.id, date)),
    }
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let fresh = Cached::new(generation, body);
    state.cache.put(key, fresh.clone());
    Ok(respond::cached(&req, fresh))
}

/// `GET /api/coach-plans/all?date=D`: `{"coach_d": {...}, ...}` for coaches with a live plan.
#[utoipa::path(
    get,
    path = "/api/coach-plans/all",
    operation_id = "coach_plans_all",
    tag = "compatibility",
    summary = "Every coach's plan for a date (the Python version's endpoint)",
    description = "`coach_<id>` to plan, only for coaches with a live plan; `{}` when there is none.",
    params(
        ("date" = Option<String>, Query, format = Date, description = "The trading day, `YYYY-MM-DD`; today in the server's time zone when absent.", example = "2024-05-10"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "The plans by `coach_<id>`", body = BTreeMap<String, AllEntry>, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "`date` is not a date: `{\"error\": \"Invalid date 'x'. Use YYYY-MM-DD\"}`", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn all(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string());
    let date = date_param(&state, &query)?;
    let key = CacheKey::All(date);
    let generation = state.service.generation();
    if let Some(hit) = state.cache.get(key, generation) {
        return Ok(respond::cached(&req, hit));
    }
    let plans = state
        .service
        .plans_on(date)
        .await
        .map_err(ApiError::from_service)?;
    let all: AllPlans = plans
        .iter()
        .map(|plan| {
            let entry = AllEntry {
                charts: charts::links(&state, plan),
                ..AllEntry::from(plan)
            };
            (plan.coach.api_key(), entry)
        })
        .collect();
    let body = serde_json::to_vec(&all).map_err(|e| ApiError::Internal(e.to_string()))?;
    let fresh = Cached::new(generation, body);
    state.cache.put(key, fresh.clone());
    Ok(respond::cached(&req, fresh))
}

/// `GET /api/coach-plans/history?coach=C&date=D`: `{"history": [...]}`, newest first.
#[utoipa::path(
    get,
    path = "/api/coach-plans/history",
    operation_id = "coach_plan_history",
    tag = "compatibility",
    summary = "The edit history of a coach's plan for a date (the Python version's endpoint)",
    description = "Previous versions, newest first; an empty list when the plan was never edited or never posted.",
    params(
        ("coach" = String, Query, description = "The coach: its id (`d`), in any case, with or without `coach_`. Required.", example = "d"),
        ("date" = Option<String>, Query, format = Date, description = "The trading day, `YYYY-MM-DD`; today in the server's time zone when absent.", example = "2024-05-10"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "Previous versions, newest first", body = History, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "`coach` missing or unknown, or `date` not a date (`{\"error\": ...}` as on `/api/coach-plans/`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string());
    let (_, coach) = coach_param(&state, &query)?;
    let date = date_param(&state, &query)?;
    let rows = match state
        .service
        .history(PlanRef::CoachDate(coach.id.clone(), Some(date)))
        .await
    {
        Ok(found) => found.history.iter().map(HistoryRow::from).collect(),
        Err(ServiceError::NotFound(_)) => Vec::new(),
        Err(other) => return Err(ApiError::from_service(other)),
    };
    respond::tagged(&req, &History { history: rows })
}

/// The `coach` parameter, resolved on the roster, with the Python version's messages.
fn coach_param<'s>(state: &'s AppState, query: &Query<'_>) -> Result<(u16, &'s Coach), ApiError> {
    let input = query
        .non_empty("coach")
        .ok_or_else(|| ApiError::Compat("Missing required parameter: coach".to_owned()))?;
    let (position, coach) = state
        .service
        .roster()
        .resolve_position(input)
        .map_err(|unknown| {
            ApiError::Compat(format!(
                "Invalid coach name '{}'. Valid coaches: {}",
                unknown.input, unknown.valid
            ))
        })?;
    Ok((u16::try_from(position).unwrap_or(u16::MAX), coach))
}

/// The `date` parameter (today in the configured time zone when absent).
fn date_param(state: &AppState, query: &Query<'_>) -> Result<PlanDate, ApiError> {
    match query.get("date") {
        None => Ok(state.service.today()),
        Some(input) => query::date(input).ok_or_else(|| {
            ApiError::Compat(format!(
                "Invalid date '{}'. Use YYYY-MM-DD",
                shorten(input, ECHO_CHARS)
            ))
        }),
    }
}
