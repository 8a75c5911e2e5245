//! SPEC 6.2: the native `/api/v1` API.

use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::wire::{CoachInfo, CoachList, InvalidCursor, PlanHistory};
use coach_plans_model::{PlanDate, PlanId, UserId, shorten};
use coach_plans_service::{AuthorFilter, PlanQuery, PlanRef};

use crate::charts;
use crate::error::{ApiError, ECHO_CHARS};
use crate::query::{self, Query};
use crate::respond;
use crate::state::AppState;

/// The page size when `limit` is absent, and the largest allowed.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
/// The longest author name accepted as a filter.
const MAX_AUTHOR_LEN: usize = 100;

/// `GET /api/v1/coaches`.
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
        .collect::<Result<Vec<_>, _>>()?;
    // `PlanPage`'s shape, with each plan's chart entries as the native API shows them.
    respond::tagged(
        &req,
        &serde_json::json!({"plans": plans, "next_cursor": page.next}),
    )
}

/// `GET /api/v1/plans/{id}`.
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
        Some(plan) => respond::tagged(&req, &charts::native_plan(&state, &plan)?),
        None => Err(ApiError::NotFound(format!("No plan with id {id}"))),
    }
}

/// `GET /api/v1/plans/{id}/history`: 404 only for a plan that never existed (a deleted plan
/// still has its history).
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
