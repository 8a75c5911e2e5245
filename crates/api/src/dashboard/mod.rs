//! The web dashboard (SPEC 17): server-rendered HTML pages over the same service as the API,
//! working without JavaScript.
//!
//! - `GET /` with `Accept: text/html` (a browser): every coach's plan for one date; any other
//!   `Accept` (`*/*`, `application/json`, none) keeps the Python version's JSON index, so its
//!   clients see no change. Both answers say `Vary: Accept`.
//! - `GET /plans/{id}`: one plan and its history.
//! - `GET|POST /login`, `GET|POST /logout`, `GET /assets/{asset}`.
//!
//! With `api.auth_token` set, pages need the session cookie that the login form sets (or the
//! bearer token); without it they answer 401 with the login form, never plan data. The cookie
//! is `Secure` when `api.public_url` is https: that is the operator's statement that browsers
//! reach the server over TLS (through a proxy; the server itself speaks plain HTTP).
//! `X-Forwarded-Proto` is not trusted, as any client can send it.
//!
//! The day page is cached like the API's JSON: rendered once per date and service generation
//! in the shared read cache, with an entity tag.

pub(crate) mod assets;
mod diff;
mod pages;
mod session;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::wire::legacy::Index;
use coach_plans_model::{Chart, ChartStatus, Plan, PlanId, shorten};
use coach_plans_service::{PlanRef, ServiceError};

use crate::cache::{CacheKey, Cached};
use crate::error::ECHO_CHARS;
use crate::query::{self, Query};
use crate::respond;
use crate::state::AppState;

pub(crate) use assets::serve as asset;
pub(crate) use session::{COOKIE as SESSION_COOKIE, SessionCookie, session_value};

use pages::{ChartState, ChartView, Chrome, CoachDay};

/// The longest `next` path the login form carries back.
const MAX_NEXT_BYTES: usize = 2048;

/// Whether the client asked for HTML: `text/html` (or `application/xhtml+xml`) listed in
/// `Accept` with a quality above zero and above that of `application/json`. `*/*` alone is not
/// a request for HTML: scripts and HTTP libraries send it and expect the JSON index.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (0.0_f32, 0.0_f32);
    for range in headers
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("text/html")
            || media.eq_ignore_ascii_case("application/xhtml+xml")
        {
            html = html.max(quality);
        } else if media.eq_ignore_ascii_case("application/json") {
            json = json.max(quality);
        }
    }
    html > 0.0 && html > json
}

/// Whether the request may see the dashboard: no token configured, or the session cookie, or
/// the bearer token.
fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .settings
        .auth_token
        .as_ref()
        .is_none_or(|token| crate::access::presents(token, headers) || has_session(state, headers))
}

/// Whether the request carries the session cookie for the configured token (none without one).
pub(crate) fn has_session(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .session_value
        .as_deref()
        .is_some_and(|value| session::has_session(value, headers))
}

fn chrome(state: &AppState) -> Chrome<'_> {
    Chrome {
        logout: state.settings.auth_token.is_some(),
        timezone: &state.service.settings().timezone,
    }
}

/// Whether cookies get `Secure`: when clients reach the server at an https `api.public_url`.
fn secure_cookies(state: &AppState) -> bool {
    state
        .charts
        .as_ref()
        .is_some_and(|serving| serving.public_url.starts_with("https://"))
}

/// `GET /`: the day page for browsers, the JSON index for everything else.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "index",
    tags = ["operations", "dashboard"],
    summary = "What this service is (JSON), or, for a browser, the dashboard's day page (HTML)",
    description = "Negotiated by `Accept`: the JSON index unless `Accept` lists `text/html` (or `application/xhtml+xml`) with a quality above zero and above `application/json`'s, as browsers do; `*/*`, `application/json` or no `Accept` keep the JSON. The page shows every coach's plan for one date. With a token configured the JSON needs none, the page needs the session cookie or the bearer token (else 401 with the login form).",
    params(
        ("date" = Option<String>, Query, description = "The page only: the date to show, `YYYY-MM-DD` or `today` (the default); anything else answers the 400 page. The JSON index ignores it.", example = "2024-05-10"),
        ("If-None-Match" = Option<String>, Header, description = "The page only: an ETag from an earlier answer: 304 when the page is unchanged"),
    ),
    responses(
        (status = 200, description = "The JSON index, or the day page for a browser", content(
            (Index = "application/json"),
            (String = "text/html"),
        ), headers(
            ("Vary" = String, description = "`Accept, Cookie`"),
            ("ETag" = String, description = "The page only: entity tag of the page"),
            ("Cache-Control" = String, description = "The page only: `private, no-cache`"),
            ("Content-Security-Policy" = String, description = "The page only: no scripts, images and styles from this server"),
        )),
        (status = 304, description = "The page only: the browser's copy (If-None-Match) is current", headers(
            ("ETag" = String, description = "Entity tag of the page"),
        )),
        (status = 400, description = "The page only: `date` is not a date (a page saying so)", body = String, content_type = "text/html"),
        (status = 500, description = "The page only: an internal failure (a page that says no more; the cause is in the server's log)", body = String, content_type = "text/html"),
        (status = 503, description = "The page only: the database cannot be read just now (a page saying so)", body = String, content_type = "text/html", headers(
            ("Retry-After" = String, description = "Seconds to wait: `5`"),
        )),
    )
)]
pub(crate) async fn root(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut response = if wants_html(req.headers()) {
        if signed_in(&state, req.headers()) {
            day(&req, &state).await
        } else {
            login_required(&req, &state)
        }
    } else {
        crate::ops::index().await
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
    response
}

/// The day page, from the read cache when it holds the current generation's.
async fn day(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let query = Query::parse(req.query_string());
    let date = match query.non_empty("date") {
        None => state.service.today(),
        Some(input) if input.eq_ignore_ascii_case("today") => state.service.today(),
        Some(input) => match query::date(input) {
            Some(date) => date,
            None => {
                return problem(
                    state,
                    StatusCode::BAD_REQUEST,
                    "Not a date",
                    &format!(
                        "'{}' is not a date the dashboard can show. Use YYYY-MM-DD, a real calendar date from 0001-01-01 to 9999-12-31, for example 2024-05-10.",
                        shorten(input, ECHO_CHARS)
                    ),
                );
            }
        },
    };
    // The generation is read before the data, as the API's cache does.
    let generation = state.service.generation();
    let key = CacheKey::Day(date);
    if let Some(hit) = state.cache.get(key, generation) {
        return html_cached(req, &hit);
    }
    let plans = match state.service.plans_on(date).await {
        Ok(plans) => plans,
        Err(error) => return service_problem(state, error),
    };
    let coaches: Vec<CoachDay<'_>> = state
        .service
        .roster()
        .coaches()
        .iter()
        .map(|coach| CoachDay {
            coach_id: coach.id.as_str(),
            display_name: &coach.display_name,
            plan: plans
                .iter()
                .find(|plan| plan.coach == coach.id)
                .map(|plan| (plan, chart_views(state, &plan.charts))),
        })
        .collect();
    let body = pages::day(&chrome(state), date, &coaches).into_string();
    let fresh = Cached::new(generation, body.into_bytes());
    state.cache.put(key, fresh.clone());
    html_cached(req, &fresh)
}

/// 200 with a cached page (or 304 when the browser holds it).
fn html_cached(req: &HttpRequest, cached: &Cached) -> HttpResponse {
    let status = if respond::client_has_value(req, &cached.etag) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = HttpResponse::build(status);
    pages::with_headers(&mut response);
    response.insert_header((header::ETAG, cached.etag.clone()));
    if status == StatusCode::NOT_MODIFIED {
        // No body, so no content type (the page headers' `text/html` would describe nothing).
        let mut response = response.finish();
        response.headers_mut().remove(header::CONTENT_TYPE);
        response
    } else {
        response.body(cached.body.clone())
    }
}

/// How each chart is shown: the archived image served here (a path on this server, so the
/// CSP's `img-src 'self'` holds whatever host name the browser used), or a placeholder.
fn chart_views<'p>(state: &AppState, charts: &'p [Chart]) -> Vec<ChartView<'p>> {
    charts
        .iter()
        .enumerate()
        .map(|(i, chart)| {
            let archive = chart.archive();
            let path = crate::charts::archived_path(state, chart);
            let state = match (path, archive.status) {
                (Some(path), _) => ChartState::Archived(path),
                (None, ChartStatus::Failed) => ChartState::Failed(
                    archive
                        .reason
                        .as_deref()
                        .unwrap_or("no reason was recorded"),
                ),
                _ => ChartState::Pending(chart.url()),
            };
            ChartView {
                number: i + 1,
                filename: chart.filename(),
                state,
            }
        })
        .collect()
}

/// `GET /plans/{id}`: one plan (deleted ones included) and its history.
#[utoipa::path(
    get,
    path = "/plans/{id}",
    operation_id = "dashboard_plan",
    tag = "dashboard",
    summary = "One plan and its history, newest first, as a page",
    description = "Deleted plans included. With a token configured: the session cookie or the bearer token, else 401 with the login form.",
    params(
        ("id" = i64, Path, minimum = 1, description = "The plan id (a positive whole number); anything else answers the 404 page", example = 1),
    ),
    responses(
        (status = 200, description = "The plan's page", body = String, content_type = "text/html", headers(
            ("Cache-Control" = String, description = "`private, no-cache`"),
            ("Content-Security-Policy" = String, description = "No scripts; images and styles from this server"),
        )),
        (status = 404, description = "No such plan, or not a plan id (a page saying so)", body = String, content_type = "text/html"),
        (status = 500, description = "An internal failure (a page that says no more; the cause is in the server's log)", body = String, content_type = "text/html"),
        (status = 503, description = "The database cannot be read just now (a page saying so)", body = String, content_type = "text/html", headers(
            ("Retry-After" = String, description = "Seconds to wait: `5`"),
        )),
    )
)]
pub(crate) async fn plan(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let raw = req.match_info().get("id").unwrap_or_default();
    let missing = || {
        problem(
            &state,
            StatusCode::NOT_FOUND,
            "No such plan",
            &format!("There is no plan {}.", shorten(raw, ECHO_CHARS)),
        )
    };
    let Some(id) = query::number::<PlanId>(raw) else {
        return missing();
    };
    let found = match state.service.history(PlanRef::Id(id)).await {
        Ok(found) => found,
        Err(ServiceError::NotFound(_)) => return missing(),
        Err(error) => return service_problem(&state, error),
    };
    let plan: &Plan = &found.plan;
    let display_name = state
        .service
        .roster()
        .get(&plan.coach)
        .map_or(plan.coach.as_str(), |coach| coach.display_name.as_str());
    let views = chart_views(&state, &plan.charts);
    let body = pages::plan(&chrome(&state), display_name, plan, &views, &found.history);
    pages::respond(StatusCode::OK, body.into_string())
}

/// A problem page with this status.
fn problem(state: &AppState, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    pages::respond(
        status,
        pages::problem(&chrome(state), title, message).into_string(),
    )
}

/// The page for a service failure: 503 while storage is down, else 500 (the cause is logged,
/// never shown).
fn service_problem(state: &AppState, error: ServiceError) -> HttpResponse {
    match error {
        ServiceError::Unavailable(_) => {
            let mut response = problem(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Plans unavailable",
                "The database cannot be read just now. Try again in a few seconds.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        other => {
            log::error!("dashboard request failed: {other}");
            problem(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An unexpected error occurred.",
            )
        }
    }
}

/// 401 with the login form, for a dashboard page asked without a session. After signing in,
/// the browser comes back to the page it asked for.
pub(crate) fn login_required(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let next = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    login_form(state, StatusCode::UNAUTHORIZED, None, &safe_next(&next))
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
    next: &str,
) -> HttpResponse {
    let mut response = pages::respond(
        status,
        pages::login(&chrome(state), message, next).into_string(),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Where to go after signing in: a path on this server, else `/` (never another site:
/// `//host` and `/\host` are other sites to a browser).
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= MAX_NEXT_BYTES
        && HeaderValue::from_str(next).is_ok();
    if local {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `GET|POST /login`: [`login_page`] or [`sign_in`].
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    if req.method() == actix_web::http::Method::POST {
        sign_in(&state, &body)
    } else {
        login_page(&state)
    }
}

/// `GET /login`: the form. Without a configured token there is nothing to log in to: a page
/// saying so.
#[utoipa::path(
    get,
    path = "/login",
    operation_id = "dashboard_login",
    tag = "dashboard",
    summary = "The login form",
    description = "With a token configured, the form that asks for it once; without one, a page saying no login is needed.",
    responses(
        (status = 200, description = "The login form, or the page saying no login is needed", body = String, content_type = "text/html", headers(
            ("Cache-Control" = String, description = "`private, no-cache`"),
            ("Content-Security-Policy" = String, description = "No scripts; images and styles from this server"),
        )),
    )
)]
pub(crate) fn login_page(state: &AppState) -> HttpResponse {
    if state.settings.auth_token.is_none() {
        return no_login_needed(state);
    }
    login_form(state, StatusCode::OK, None, "/")
}

/// `POST /login` (`token`, `next`, form-encoded): the token checked in constant time; right,
/// a session cookie and 303 to `next`; wrong, the form again (401) with a message. Without a
/// configured token, the page saying no login is needed, whatever the body.
#[utoipa::path(
    post,
    path = "/login",
    operation_id = "dashboard_sign_in",
    tag = "dashboard",
    summary = "Log in: the token for a session cookie",
    description = "Without a token configured there is nothing to log in to: the page saying so, whatever the body.",
    responses(
        (status = 200, description = "No token is configured: the page saying no login is needed", body = String, content_type = "text/html"),
    )
)]
pub(crate) fn sign_in(state: &AppState, body: &[u8]) -> HttpResponse {
    let Some(token) = state.settings.auth_token.as_ref() else {
        return no_login_needed(state);
    };
    let (mut given, mut next) = (None, None);
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "token" if given.is_none() => given = Some(value),
            "next" if next.is_none() => next = Some(value),
            _ => {}
        }
    }
    let next = safe_next(next.as_deref().unwrap_or("/"));
    if !given.is_some_and(|given| session::token_matches(token, given.trim())) {
        return login_form(
            state,
            StatusCode::UNAUTHORIZED,
            Some("That is not the access token. Check it and try again."),
            &next,
        );
    }
    let mut response = see_other(&next);
    if let Ok(cookie) =
        HeaderValue::from_str(&session::sign_in_cookie(token, secure_cookies(state)))
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET|POST /logout`: the session cookie cleared, and the login form (without a configured
/// token, a page saying there is no login).
#[utoipa::path(
    method(get, post),
    path = "/logout",
    operation_id = "dashboard_logout",
    tag = "dashboard",
    summary = "Log out: the session cookie cleared",
    description = "GET and POST alike (a link or a form). With a token configured, the login form saying you are logged out, and a `Set-Cookie` that expires the session cookie; without one, the page saying no login is needed.",
    responses(
        (status = 200, description = "The login form (or the page saying no login is needed)", body = String, content_type = "text/html", headers(
            ("Set-Cookie" = String, description = "With a token configured: the session cookie, expired (`Max-Age=0`)"),
            ("Cache-Control" = String, description = "`private, no-cache`"),
        )),
    )
)]
pub(crate) async fn logout(state: web::Data<AppState>) -> HttpResponse {
    if state.settings.auth_token.is_none() {
        return no_login_needed(&state);
    }
    let mut response = login_form(&state, StatusCode::OK, Some("You are logged out."), "/");
    if let Ok(cookie) = HeaderValue::from_str(&session::sign_out_cookie(secure_cookies(&state))) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn no_login_needed(state: &AppState) -> HttpResponse {
    problem(
        state,
        StatusCode::OK,
        "No login needed",
        "This server has no access token (API_AUTH_TOKEN), so the dashboard is open to everyone who can reach it.",
    )
}

fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.insert_header((header::LOCATION, location));
    }
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .finish()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderMap, HeaderValue};

    use super::{safe_next, wants_html};

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            actix_web::http::header::ACCEPT,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn browsers_get_html_and_programs_keep_json() {
        for browser in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "application/json;q=0.5, text/html",
        ] {
            assert!(wants_html(&accept(browser)), "{browser}");
        }
        for program in [
            "*/*",
            "application/json",
            "",
            "text/*",
            "text/html;q=0",
            "application/json, text/html",
            "text/html;q=0.5, application/json",
        ] {
            assert!(!wants_html(&accept(program)), "{program}");
        }
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn after_login_the_browser_only_goes_to_a_path_here() {
        assert_eq!(safe_next("/plans/3"), "/plans/3");
        assert_eq!(safe_next("/?date=2024-05-10"), "/?date=2024-05-10");
        for elsewhere in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "plans",
            "/a\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(safe_next(elsewhere), "/", "{elsewhere:?}");
        }
    }
}
