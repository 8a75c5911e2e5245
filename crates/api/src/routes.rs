//! The route table: every path the API serves, in one list the router is built from, so
//! whatever walks the table (the access tests do) sees every route there is.

use actix_web::{HttpRequest, HttpResponse, Resource, Route, guard, web};

use crate::error::{ApiError, echo};
use crate::{compat, native, ops};

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

    /// The route's name, as the metrics label it.
    pub fn name(&self) -> &'static str {
        self.name
    }
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
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint("/", "index", || get().to(ops::index)),
    endpoint("/health", "health", || get().to(ops::health)),
    endpoint("/health/live", "health_live", || get().to(ops::live)),
    endpoint("/health/ready", "health_ready", || get().to(ops::ready)),
    endpoint("/metrics", "metrics", || get().to(ops::metrics)),
    endpoint("/metrics/prometheus", "metrics_prometheus", || {
        get().to(ops::prometheus)
    }),
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
];

/// Registers every route of [`ENDPOINTS`].
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    for endpoint in ENDPOINTS {
        cfg.service(resource(endpoint));
    }
}

/// An endpoint's resource, answering 405 (in JSON) to methods it has no route for.
fn resource(endpoint: &Endpoint) -> Resource {
    web::resource(endpoint.path)
        .name(endpoint.name)
        .route((endpoint.handler)())
        .default_service(web::to(method_not_allowed))
}

/// GET, and HEAD (answered like GET, without the body).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// The answer for a path no route matches.
pub(crate) async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "Endpoint {} not found",
        echo(req.path())
    )))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: echo(req.method().as_str()),
        path: echo(req.path()),
    })
}
