//! The route table: every path the API serves, in one list the router is built from, so
//! whatever walks the table (the access tests do) sees every route there is.

use actix_web::http::Method;
use actix_web::{Resource, Route, guard, web};
use coach_plans_config::Secret;

use crate::access::{self, Access, BearerToken, PUBLIC_PATHS};
use crate::dashboard::{self, SessionCookie};
use crate::{charts, compat, native, openapi, ops};

/// One route: its path pattern, its name (the `route` label of the metrics) and its handler.
pub struct Endpoint {
    path: &'static str,
    name: &'static str,
    handler: fn() -> Route,
}

impl Endpoint {
    /// The path pattern, as actix-web matches it (`{id}` is a path parameter).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The route's resource name, unique in the table. An alias of a route (another path to
    /// the same handler) is named `<route>.<alias>`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The `route` label of the metrics: the name, aliases counted under their route.
    pub fn route_label(&self) -> &'static str {
        route_label(self.name)
    }

    /// Whether it is served without the bearer token (`/`, `/health*`, the OpenAPI document
    /// and the dashboard's login, logout and stylesheet); every other route needs it (or, for
    /// dashboard pages and chart images, the dashboard's session cookie) when one is configured.
    pub fn is_public(&self) -> bool {
        PUBLIC_PATHS.contains(&self.path)
    }
}

/// The route label of a resource name: up to the first `.`.
pub(crate) fn route_label(name: &str) -> &str {
    name.split_once('.').map_or(name, |(route, _)| route)
}

const fn endpoint(path: &'static str, name: &'static str, handler: fn() -> Route) -> Endpoint {
    Endpoint {
        path,
        name,
        handler,
    }
}

/// Every route the API serves. Static paths rather than one resource with two paths: actix
/// matches a multi-path resource with a regular expression on every request that reaches it.
///
/// The router tries routes in turn, so the table is ordered for it: the API's routes, which
/// trading systems poll, come first, and registration puts every static path before the paths
/// with a `{parameter}`, which the router matches with a regular expression. No static path
/// here can be matched by a parameterised one, so the order changes speed, never meaning.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint("/api/coach-plans/", "coach_plan", || get().to(compat::plan)),
    endpoint("/api/coach-plans", "coach_plan.no_slash", || {
        get().to(compat::plan)
    }),
    endpoint("/api/coach-plans/all", "coach_plans_all", || {
        get().to(compat::all)
    }),
    endpoint("/api/coach-plans/history", "coach_plan_history", || {
        get().to(compat::history)
    }),
    endpoint("/api/v1/coaches", "v1_coaches", || {
        get().to(native::coaches)
    }),
    endpoint("/api/v1/plans", "v1_plans", || get().to(native::plans)),
    endpoint("/api/v1/plans/{id}", "v1_plan", || get().to(native::plan)),
    endpoint("/api/v1/plans/{id}/history", "v1_plan_history", || {
        get().to(native::history)
    }),
    endpoint("/api/v1/charts/{file}", "v1_chart", || {
        get().to(charts::chart)
    }),
    endpoint("/health", "health", || get().to(ops::health)),
    endpoint("/health/live", "health_live", || get().to(ops::live)),
    endpoint("/health/ready", "health_ready", || get().to(ops::ready)),
    endpoint("/metrics", "metrics", || get().to(ops::metrics)),
    endpoint("/metrics/prometheus", "metrics_prometheus", || {
        get().to(ops::prometheus)
    }),
    endpoint("/api/openapi.json", "openapi", || {
        get().to(openapi::openapi_json)
    }),
    // Browsers (`Accept: text/html`) get the dashboard, everything else the JSON index.
    endpoint("/", "index", || get().to(dashboard::root)),
    endpoint("/plans/{id}", "dashboard_plan", || {
        get().to(dashboard::plan)
    }),
    endpoint("/login", "dashboard_login", || {
        get_or_post().to(dashboard::login)
    }),
    endpoint("/logout", "dashboard_logout", || {
        get_or_post().to(dashboard::logout)
    }),
    endpoint("/assets/{asset}", "dashboard_asset", || {
        get().to(dashboard::asset)
    }),
];

/// Whether the router matches `path` with a regular expression (it has a `{parameter}`).
fn is_parameterised(path: &str) -> bool {
    path.contains('{')
}

/// Registers every route of [`ENDPOINTS`], static paths first (see there); with a token
/// configured, every route not public serves only requests that carry it.
pub(crate) fn register(cfg: &mut web::ServiceConfig, token: Option<&Secret>) {
    let (parameterised, fixed): (Vec<&Endpoint>, Vec<&Endpoint>) =
        ENDPOINTS.iter().partition(|e| is_parameterised(e.path));
    for endpoint in fixed.into_iter().chain(parameterised) {
        cfg.service(resource(endpoint, token));
    }
}

/// An endpoint's resource. Requests its route does not take (another method, no token,
/// OPTIONS) get [`access::refused`]'s answer.
fn resource(endpoint: &Endpoint, token: Option<&Secret>) -> Resource {
    let access = Access::of(endpoint.path);
    let mut route = (endpoint.handler)();
    if let Some(token) = token {
        route = match access {
            Access::Public => route,
            Access::Token => route.guard(BearerToken(token.clone())),
            Access::TokenOrSession | Access::Dashboard => {
                route.guard(guard::Any(BearerToken(token.clone())).or(SessionCookie::new(token)))
            }
        };
    }
    web::resource(endpoint.path)
        .name(endpoint.name)
        .route(route)
        .default_service(web::to(move |req, state| {
            access::refused(req, state, access)
        }))
}

/// GET, and HEAD (answered like GET, without the body).
fn get() -> Route {
    web::route().guard(Methods(&[Method::GET, Method::HEAD]))
}

/// GET, HEAD and POST (the dashboard's login and logout forms).
fn get_or_post() -> Route {
    web::route().guard(Methods(&[Method::GET, Method::HEAD, Method::POST]))
}

/// Passes requests whose method is one of these. actix's own method guards (`guard::Get()`)
/// also record, on every request, each method they check in the request's extensions, for
/// the `Allow` header of actix's own 405: a map insert and an allocation per guard. This API
/// writes its 405 itself ([`access::refused`]), so that work would only be thrown away.
struct Methods(&'static [Method]);

impl guard::Guard for Methods {
    fn check(&self, ctx: &guard::GuardContext<'_>) -> bool {
        self.0.contains(&ctx.head().method)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::ResourceDef;

    use super::{ENDPOINTS, is_parameterised};

    /// [`register`](super::register) puts static paths first; that must not change which route
    /// serves a path, so no parameterised pattern may match a static one.
    #[test]
    fn no_parameterised_route_matches_a_static_path() {
        for pattern in ENDPOINTS.iter().filter(|e| is_parameterised(e.path())) {
            let resource = ResourceDef::new(pattern.path());
            for fixed in ENDPOINTS.iter().filter(|e| !is_parameterised(e.path())) {
                assert!(
                    !resource.is_match(fixed.path()),
                    "{} matches {}",
                    pattern.path(),
                    fixed.path()
                );
            }
        }
    }
}
