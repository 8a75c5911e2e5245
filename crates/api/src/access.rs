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

/// The paths served without the token. Everything else needs it: deny by default. The OpenAPI
/// document is public so tools can read the contract before they hold a token.
pub(crate) const PUBLIC_PATHS: [&str; 5] = [
    "/",
    "/health",
    "/health/live",
    "/health/ready",
    "/api/openapi.json",
];

/// A route guard that passes requests carrying the configured token. Requests it turns away
/// reach the resource's default service, [`refused`], which answers 401.
pub(crate) struct BearerToken(pub(crate) Secret);

impl Guard for BearerToken {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        presents(&self.0, ctx.head().headers())
    }
}

/// Whether the headers carry `Authorization: Bearer <expected>` (compared in constant time).
fn presents(expected: &Secret, headers: &HeaderMap) -> bool {
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
/// protected and the token is missing, otherwise 405.
pub(crate) async fn refused(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: bool,
) -> Result<HttpResponse, ApiError> {
    if req.method() == Method::OPTIONS {
        return Ok(preflight());
    }
    if !public && lacks_token(&state.settings, req.headers()) {
        return Err(ApiError::Unauthorized);
    }
    Err(ApiError::MethodNotAllowed {
        method: shorten(req.method().as_str(), ECHO_CHARS),
        path: shorten(req.path(), ECHO_CHARS),
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
/// `Access-Control-Allow-Origin` header added to every response.
fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, If-None-Match, X-Request-ID",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
