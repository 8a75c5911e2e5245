//! SPEC 6.2: the native `/api/v1` API.

use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::wire::{
    CoachInfo, CoachList, ErrorBody, InvalidCursor, PageCursor, PlanHistory,
};
use coach_plans_model::{PlanDate, PlanId, UserId, shorten};
use coach_plans_service::{AuthorFilter, PlanQuery, PlanRef};
use serde::Serialize;
use utoipa::ToSchema;

use crate::charts::{self, NativePlan};
use crate::error::{ApiError, ECHO_CHARS};
use crate::query::{self, Query};
use crate::respond;
use crate::state::AppState;

/// The page size when `limit` is absent, and the largest allowed.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
/// The longest author name accepted as a filter.
const MAX_AUTHOR_LEN: usize = 100;

/// A page of `GET /api/v1/plans`: the model's `PlanPage`, with each plan as the native API
/// shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NativePage {
    /// The plans on this page, newest first.
    plans: Vec<NativePlan>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next_cursor: Option<PageCursor>,
}

/// A date parameter of the native API, for the OpenAPI document: `YYYY-MM-DD` or `today`.
pub(crate) struct DateOrToday;

impl utoipa::PartialSchema for DateOrToday {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["today"])),
            )
            .description(Some(
                "A calendar date, YYYY-MM-DD, or `today` (in the server's time zone; any case)",
            ))
            .into()
    }
}

impl ToSchema for DateOrToday {}

/// `GET /api/v1/coaches`.
#[utoipa::path(
    get,
    path = "/api/v1/coaches",
    operation_id = "v1_coaches",
    tag = "plans",
    summary = "The roster: every coach, in configured order",
    params(
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "The roster", body = CoachList, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
    )
)]
pub(crate) async fn coaches(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let coaches = state
        .service
        .roster()
        .coaches()
        .iter()
        .map(CoachInfo::from)
        .collect();
    respond::tagged(&req, &CoachList { coaches })
}

/// `GET /api/v1/plans?date=&coach=&author=&from=&to=&limit=&cursor=`.
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    operation_id = "v1_plans",
    tag = "plans",
    summary = "Live plans, newest first, one page at a time",
    description = "Filters combine. Dates are `YYYY-MM-DD` or `today` (in the server's time zone); `date` is one day, `from`/`to` a range (inclusive), not both. Pass a page's `next_cursor` as `cursor` for the next page.",
    params(
        ("date" = Option<DateOrToday>, Query, description = "One trading day: `YYYY-MM-DD` or `today`", example = "2024-05-10"),
        ("coach" = Option<String>, Query, description = "Only this coach (`d`, `coach_d`, any case)", example = "d"),
        ("author" = Option<String>, Query, min_length = 1, max_length = 100, pattern = "\\S", description = "Only plans posted by this author: a Discord user id (digits) or a display name (1 to 100 characters)", example = "Coach D"),
        ("from" = Option<DateOrToday>, Query, description = "The first trading day: `YYYY-MM-DD` or `today`", example = "2024-05-01"),
        ("to" = Option<DateOrToday>, Query, description = "The last trading day: `YYYY-MM-DD` or `today`", example = "2024-05-10"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Plans per page, 1 to 500 (default 50)", example = 50),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}\\.[0-9]+$", example = "2024-05-10.42"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "One page of plans", body = NativePage, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "A parameter is malformed or out of range; `parameter` names it", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn plans(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string());
    let plan_query = plan_query(&state, &query)?;
    let page = state
        .service
        .list_plans(plan_query)
        .await
        .map_err(ApiError::from_service)?;
    let plans = page
        .plans
        .iter()
        .map(|plan| charts::native_plan(&state, plan))
        .collect();
    respond::tagged(
        &req,
        &NativePage {
            plans,
            next_cursor: page.next,
        },
    )
}

/// `GET /api/v1/plans/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}",
    operation_id = "v1_plan",
    tag = "plans",
    summary = "One live plan with its charts",
    params(
        ("id" = i64, Path, minimum = 1, description = "The plan id (a positive whole number)", example = 1),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "The plan", body = NativePlan, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "`id` is not a plan id (`parameter`: `id`)", body = ErrorBody),
        (status = 404, description = "No live plan has this id (never posted, or deleted)", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn plan(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = plan_id(&req)?;
    match state
        .service
        .plan_by_id(id)
        .await
        .map_err(ApiError::from_service)?
    {
        Some(plan) => respond::tagged(&req, &charts::native_plan(&state, &plan)),
        None => Err(ApiError::NotFound(format!("No plan with id {id}"))),
    }
}

/// `GET /api/v1/plans/{id}/history`: 404 only for a plan that never existed (a deleted plan
/// still has its history).
#[utoipa::path(
    get,
    path = "/api/v1/plans/{id}/history",
    operation_id = "v1_plan_history",
    tag = "plans",
    summary = "A plan's previous versions, newest first",
    description = "Deleted plans keep their history; 404 only for an id that never existed.",
    params(
        ("id" = i64, Path, minimum = 1, description = "The plan id (a positive whole number)", example = 1),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "Previous versions, newest first", body = PlanHistory, headers(("ETag" = String, description = "Entity tag of the body; send it back in If-None-Match"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 400, description = "`id` is not a plan id (`parameter`: `id`)", body = ErrorBody),
        (status = 404, description = "No plan ever had this id", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = plan_id(&req)?;
    let found = state
        .service
        .history(PlanRef::Id(id))
        .await
        .map_err(ApiError::from_service)?;
    respond::tagged(
        &req,
        &PlanHistory {
            plan_id: id,
            history: found.history,
        },
    )
}

fn plan_id(req: &HttpRequest) -> Result<PlanId, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    query::number(raw).ok_or_else(|| {
        bad(
            "id",
            format!(
                "'{}' is not a plan id; expected a positive whole number",
                shorten(raw, ECHO_CHARS)
            ),
        )
    })
}

fn bad(parameter: &'static str, message: String) -> ApiError {
    ApiError::BadParameter { parameter, message }
}

/// A date parameter: `YYYY-MM-DD`, or `today` for today in the server's time zone (so clients
/// need not know it).
fn date(
    state: &AppState,
    query: &Query<'_>,
    parameter: &'static str,
) -> Result<Option<PlanDate>, ApiError> {
    query
        .get(parameter)
        .map(|input| {
            if input.eq_ignore_ascii_case("today") {
                return Ok(state.service.today());
            }
            query::date(input).ok_or_else(|| {
                bad(
                    parameter,
                    format!(
                        "'{}' is not a date; use YYYY-MM-DD or today",
                        shorten(input, ECHO_CHARS)
                    ),
                )
            })
        })
        .transpose()
}

fn plan_query(state: &AppState, query: &Query<'_>) -> Result<PlanQuery, ApiError> {
    let coach = query
        .get("coach")
        .map(|input| {
            state
                .service
                .roster()
                .resolve(input)
                .map(|c| c.id.clone())
                .map_err(|unknown| {
                    bad(
                        "coach",
                        format!(
                            "unknown coach '{}'; valid coaches: {}",
                            unknown.input, unknown.valid
                        ),
                    )
                })
        })
        .transpose()?;
    let (mut from, mut to) = (date(state, query, "from")?, date(state, query, "to")?);
    if let Some(day) = date(state, query, "date")? {
        if from.is_some() || to.is_some() {
            return Err(bad(
                "date",
                "use either date or from/to, not both".to_owned(),
            ));
        }
        (from, to) = (Some(day), Some(day));
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(bad("from", format!("from ({f}) is after to ({t})")));
    }
    let author = query
        .get("author")
        .map(|input| {
            let input = input.trim();
            if input.is_empty() || input.chars().count() > MAX_AUTHOR_LEN {
                return Err(bad("author", format!("give a Discord user id or a display name of 1 to {MAX_AUTHOR_LEN} characters")));
            }
            Ok(match query::number::<UserId>(input) {
                Some(id) => AuthorFilter::Id(id),
                None => AuthorFilter::Name(input.to_owned()),
            })
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(input) => query::number::<u32>(input)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                bad(
                    "limit",
                    format!(
                        "'{}' is not a whole number from 1 to {MAX_LIMIT}",
                        shorten(input, ECHO_CHARS)
                    ),
                )
            })?,
    };
    let after = query
        .get("cursor")
        .map(|input| {
            query::cursor(input).ok_or_else(|| {
                let invalid = InvalidCursor {
                    input: shorten(input, ECHO_CHARS),
                };
                bad("cursor", invalid.to_string())
            })
        })
        .transpose()?;
    Ok(PlanQuery {
        coach,
        author,
        from,
        to,
        after,
        limit,
    })
}
