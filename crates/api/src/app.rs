//! Assembling the app: shared state, routes, and serving on a listener the caller bound.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, Resource, guard, web};
use coach_plans_config::{ApiConfig, Secret};
use coach_plans_service::PlanService;

use crate::bot::BotStatusSource;
use crate::cache::ReadCache;
use crate::error::{ApiError, echo};
use crate::gate::Gate;
use crate::metrics::Metrics;
use crate::{compat, native, ops};

/// How the API behaves, from the `api` section of the configuration.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// Origins allowed to call the API from a browser; empty means any (`*`).
    pub cors_origins: Vec<String>,
    /// When set, `/api/*` and `/metrics*` need `Authorization: Bearer <token>`.
    pub auth_token: Option<Secret>,
    /// Worker threads; the number of CPUs when `None`.
    pub workers: Option<usize>,
}

impl ApiSettings {
    /// The settings of an `api` configuration section.
    pub fn from_config(config: &ApiConfig) -> Self {
        Self {
            cors_origins: config.cors_origins.clone(),
            auth_token: config.auth_token.clone(),
            workers: None,
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request, if its origin is allowed.
    pub(crate) fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        if self.cors_origins.is_empty() || self.cors_origins.iter().any(|o| o == "*") {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = headers.get(header::ORIGIN)?;
        let origin_text = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|allowed| allowed == origin_text)
            .then(|| origin.clone())
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) service: PlanService,
    pub(crate) settings: ApiSettings,
    pub(crate) bot: Arc<dyn BotStatusSource>,
    pub(crate) metrics: Metrics,
    pub(crate) cache: ReadCache,
    pub(crate) started: Instant,
    /// The live plan count last read, served while storage cannot answer.
    pub(crate) last_plan_count: AtomicU64,
}

/// The HTTP API over a [`PlanService`]. Cheap to clone; clones share state (metrics, cache).
#[derive(Clone)]
pub struct Api {
    state: web::Data<AppState>,
}

impl Api {
    /// The API for this service, with these settings, reporting this bot's state.
    pub fn new(service: PlanService, settings: ApiSettings, bot: Arc<dyn BotStatusSource>) -> Self {
        Self {
            state: web::Data::new(AppState {
                service,
                settings,
                bot,
                metrics: Metrics::new(),
                cache: ReadCache::new(),
                started: Instant::now(),
                last_plan_count: AtomicU64::new(0),
            }),
        }
    }

    /// The actix app: every route, the middleware, and JSON 404s. Use it in tests with
    /// `actix_web::test::init_service(api.app())`.
    pub fn app(
        &self,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody + use<>>,
            Error = actix_web::Error,
            InitError = (),
        > + use<>,
    > {
        App::new()
            .app_data(self.state.clone())
            .wrap(Gate {
                state: self.state.clone(),
            })
            .configure(routes)
            .default_service(web::to(not_found))
    }

    /// Serves on a listener the caller bound (port 0 included). The returned server is a
    /// future to spawn; stop it through `server.handle().stop(true)`, which lets requests in
    /// flight finish (up to 10 seconds). It installs no signal handlers: the caller owns those.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<Server> {
        let workers = self.state.settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let server = HttpServer::new(move || self.app())
            .workers(workers)
            .disable_signals()
            .shutdown_timeout(10)
            .listen(listener)?
            .run();
        Ok(server)
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(&["/"], "index").route(get().to(ops::index)))
        .service(resource(&["/health"], "health").route(get().to(ops::health)))
        .service(resource(&["/health/live"], "health_live").route(get().to(ops::live)))
        .service(resource(&["/health/ready"], "health_ready").route(get().to(ops::ready)))
        .service(resource(&["/metrics"], "metrics").route(get().to(ops::metrics)))
        .service(
            resource(&["/metrics/prometheus"], "metrics_prometheus")
                .route(get().to(ops::prometheus)),
        )
        // Two static resources rather than one with two paths: actix matches a multi-path
        // resource with a regular expression on every request that reaches it.
        .service(resource(&["/api/coach-plans/"], "coach_plan").route(get().to(compat::plan)))
        .service(
            resource(&["/api/coach-plans"], "coach_plan.no_slash").route(get().to(compat::plan)),
        )
        .service(
            resource(&["/api/coach-plans/all"], "coach_plans_all").route(get().to(compat::all)),
        )
        .service(
            resource(&["/api/coach-plans/history"], "coach_plan_history")
                .route(get().to(compat::history)),
        )
        .service(resource(&["/api/v1/coaches"], "v1_coaches").route(get().to(native::coaches)))
        .service(resource(&["/api/v1/plans"], "v1_plans").route(get().to(native::plans)))
        .service(resource(&["/api/v1/plans/{id}"], "v1_plan").route(get().to(native::plan)))
        .service(
            resource(&["/api/v1/plans/{id}/history"], "v1_plan_history")
                .route(get().to(native::history)),
        );
}

/// A resource answering 405 (in JSON) to methods it has no route for.
fn resource(paths: &[&str], name: &str) -> Resource {
    web::resource(paths.to_vec())
        .name(name)
        .default_service(web::to(method_not_allowed))
}

/// GET, and HEAD (answered like GET, without the body).
fn get() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
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
