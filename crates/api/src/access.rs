//! Who may call what (SPEC 6.3): with a bearer token configured, every route needs it except
//! the short public list, and so does any path no route matches.
//!
//! Protection is decided by the route the router matched, never by the raw path: the router
//! matches a percent-decoded path (`/%61pi/v1/plans` is `/api/v1/plans` to it), so a check on
//! the raw path would protect a different set of requests than the router serves.

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_config::Secret;
use coach_plans_model::shorten;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ECHO_CHARS};
use crate::state::{ApiSettings, AppState};

/// The paths served without the token. Everything else needs it: deny by default. (`/`
/// answers browsers with the dashboard, which asks for the login itself.) The OpenAPI document
/// is public so tools can read the contract before they hold a token.
pub(crate) const PUBLIC_PATHS: [&str; 8] = [
    "/",
    "/health",
    "/health/live",
    "/health/ready",
    "/api/openapi.json",
    "/login",
    "/logout",
    "/assets/{asset}",
];

/// Dashboard pages: served with the dashboard's session cookie or the token; without either,
/// the login form (401), never plan data.
pub(crate) const DASHBOARD_PATHS: [&str; 1] = ["/plans/{id}"];

/// API paths a browser showing the dashboard loads (chart images): the token or the session
/// cookie.
pub(crate) const SESSION_PATHS: [&str; 1] = ["/api/v1/charts/{file}"];

/// Routes that also take POST (the dashboard's login and logout forms).
pub(crate) const FORM_PATHS: [&str; 2] = ["/login", "/logout"];

/// The `Allow` header of the route at `pattern` (a pattern of the route table).
fn allowed_methods(pattern: Option<&str>) -> &'static str {
    if pattern.is_some_and(|pattern| FORM_PATHS.contains(&pattern)) {
        "GET, HEAD, POST, OPTIONS"
    } else {
        "GET, HEAD, OPTIONS"
    }
}

/// What a route needs when a token is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Nothing.
    Public,
    /// The bearer token (every path not listed elsewhere: deny by default).
    Token,
    /// The bearer token or the dashboard's session cookie.
    TokenOrSession,
    /// As `TokenOrSession`; refused GETs get the login form.
    Dashboard,
}

impl Access {
    /// What the route at `path` (a pattern of the route table) needs.
    pub(crate) fn of(path: &str) -> Self {
        if PUBLIC_PATHS.contains(&path) {
            Self::Public
        } else if DASHBOARD_PATHS.contains(&path) {
            Self::Dashboard
        } else if SESSION_PATHS.contains(&path) {
            Self::TokenOrSession
        } else {
            Self::Token
        }
    }
}

/// A route guard that passes requests carrying the configured token. Requests it turns away
/// reach the resource's default service, [`refused`], which answers 401.
pub(crate) struct BearerToken(pub(crate) Secret);

impl Guard for BearerToken {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        presents(&self.0, ctx.head().headers())
    }
}

/// Whether the headers carry `Authorization: Bearer <expected>` (compared in constant time).
pub(crate) fn presents(expected: &Secret, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| {
            bool::from(token.trim().as_bytes().ct_eq(expected.expose().as_bytes()))
        })
}

/// Whether a token is configured and these headers lack it.
fn lacks_token(settings: &ApiSettings, headers: &HeaderMap) -> bool {
    settings
        .auth_token
        .as_ref()
        .is_some_and(|expected| !presents(expected, headers))
}

/// What a route's resource answers when none of its routes took the request: a CORS
/// preflight to OPTIONS (browsers send no credentials with it), 401 when the route is
/// protected and the token (or, where taken, the session cookie) is missing, with the login
/// form on a dashboard page, otherwise 405.
pub(crate) async fn refused(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Access,
) -> Result<HttpResponse, ApiError> {
    let allow = allowed_methods(req.match_pattern().as_deref());
    if req.method() == Method::OPTIONS {
        return Ok(preflight(allow));
    }
    let lacking = match access {
        Access::Public => false,
        Access::Token => lacks_token(&state.settings, req.headers()),
        Access::TokenOrSession | Access::Dashboard => {
            lacks_token(&state.settings, req.headers())
                && !crate::dashboard::has_session(&state, req.headers())
        }
    };
    if lacking && access == Access::Dashboard && matches!(*req.method(), Method::GET | Method::HEAD)
    {
        return Ok(crate::dashboard::login_required(&req, &state));
    }
    if lacking {
        return Err(ApiError::Unauthorized);
    }
    Err(ApiError::MethodNotAllowed {
        method: shorten(req.method().as_str(), ECHO_CHARS),
        path: shorten(req.path(), ECHO_CHARS),
        allow,
    })
}

/// The answer for a path no route matches, whatever the method: 404, or 401 when a token is
/// configured and missing (an unknown path is not public).
pub(crate) async fn not_found(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if lacks_token(&state.settings, req.headers()) {
        return Err(ApiError::Unauthorized);
    }
    Err(ApiError::NotFound(format!(
        "Endpoint {} not found",
        shorten(req.path(), ECHO_CHARS)
    )))
}

/// The answer to OPTIONS on a route that exists. Whether the origin is allowed is said by the
/// `Access-Control-Allow-Origin` header added to every response. Cross-origin requests may
/// only read (SPEC 6.1), so the login and logout forms' POST is in `Allow` but not CORS's list.
fn preflight(allow: &'static str) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, If-None-Match, X-Request-ID",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
