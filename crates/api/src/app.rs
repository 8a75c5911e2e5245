//! Assembling the app: shared state, routes, and serving on a listener the caller bound.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{App, web};
use coach_plans_config::{ApiConfig, Secret};
use coach_plans_service::PlanService;

use crate::bot::BotStatusSource;
use crate::cache::ReadCache;
use crate::gate::Gate;
use crate::metrics::Metrics;
use crate::{access, routes};

/// How the API behaves, from the `api` section of the configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Origins allowed to call the API from a browser; empty means any (`*`).
    pub cors_origins: Vec<String>,
    /// When set, every route except `/` and `/health*` needs `Authorization: Bearer <token>`.
    pub auth_token: Option<Secret>,
    /// Worker threads; the number of CPUs when `None`.
    pub workers: Option<usize>,
    /// The most the read cache of response bodies holds, in bytes; 0 turns it off.
    pub read_cache_bytes: usize,
}

impl Default for ApiSettings {
    /// Any origin, no token, a worker per CPU, a 4 MiB read cache.
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            auth_token: None,
            workers: None,
            read_cache_bytes: 4 << 20,
        }
    }
}

impl ApiSettings {
    /// The settings of an `api` configuration section.
    pub fn from_config(config: &ApiConfig) -> Self {
        Self {
            cors_origins: config.cors_origins.clone(),
            auth_token: config.auth_token.clone(),
            workers: None,
            read_cache_bytes: usize::try_from(config.read_cache_kib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024),
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
        let cache = ReadCache::new(settings.read_cache_bytes);
        Self {
            state: web::Data::new(AppState {
                service,
                settings,
                bot,
                metrics: Metrics::new(),
                cache,
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
            .configure(|cfg| routes::register(cfg, self.state.settings.auth_token.as_ref()))
            .default_service(web::to(access::not_found))
    }

    /// Serves on a listener the caller bound (port 0 included). The returned server is a
    /// future to spawn; stop it through `server.handle().stop(true)`, which lets requests in
    /// flight finish (up to 10 seconds). It installs no signal handlers: the caller owns those.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<Server> {
        let workers = self.state.settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        crate::listen::serve(self, listener, workers)
    }
}
