//! Assembling the app: state, middleware and routes, served on a listener the caller bound.

use std::net::TcpListener;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use coach_plans_service::{ChartStore, PlanService};

use crate::bot_status::BotStatusSource;
use crate::cache::ReadCache;
use crate::metrics::Metrics;
use crate::middleware::Middleware;
use crate::state::{ApiSettings, AppState, ChartServing};
use crate::{access, routes};

/// The HTTP API over a [`PlanService`]. Cheap to clone; clones share state (metrics, cache).
#[derive(Clone)]
pub struct Api {
    state: web::Data<AppState>,
}

impl Api {
    /// The API for this service, with these settings, reporting this bot's state, without
    /// archived charts: `/api/v1/charts/*` answers 404 and plans list Discord's links. A server
    /// that archives charts uses [`Api::with_charts`].
    pub fn new(service: PlanService, settings: ApiSettings, bot: Arc<dyn BotStatusSource>) -> Self {
        Self::build(service, settings, bot, None)
    }

    /// The API serving archived charts from `charts` (SPEC 14): `GET
    /// /api/v1/charts/{sha256}.{ext}`, and plans list `{public_url}/api/v1/charts/...` for
    /// archived charts. `public_url` is where clients reach this API (`api.public_url`, or
    /// `http://{host}:{the port actually bound}`); a trailing `/` is dropped.
    pub fn with_charts(
        service: PlanService,
        settings: ApiSettings,
        bot: Arc<dyn BotStatusSource>,
        charts: Arc<dyn ChartStore>,
        public_url: impl Into<String>,
    ) -> Self {
        let public_url = public_url.into().trim_end_matches('/').to_owned();
        let serving = ChartServing {
            store: charts,
            public_url,
        };
        Self::build(service, settings, bot, Some(serving))
    }

    fn build(
        service: PlanService,
        settings: ApiSettings,
        bot: Arc<dyn BotStatusSource>,
        charts: Option<ChartServing>,
    ) -> Self {
        let cache = ReadCache::new(settings.read_cache_bytes);
        Self {
            state: web::Data::new(AppState {
                session_value: settings
                    .auth_token
                    .as_ref()
                    .map(crate::dashboard::session_value),
                service,
                settings,
                bot,
                metrics: Metrics::new(routes::ENDPOINTS),
                cache,
                started: Instant::now(),
                last_plan_count: AtomicU64::new(0),
                charts,
                chart_stats: Mutex::new(None),
                openapi: OnceLock::new(),
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
            .wrap(Middleware {
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
