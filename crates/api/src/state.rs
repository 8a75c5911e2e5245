//! What every handler shares, and the settings it is built from. Handlers import it from here,
//! not from the module that assembles the app.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use coach_plans_config::{ApiConfig, Secret};
use coach_plans_service::{BlobStats, ChartStore, PlanService};

use crate::bot_status::BotStatusSource;
use crate::cache::{Cached, ReadCache};
use crate::metrics::Metrics;

/// How the API behaves, from the `api` section of the configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Origins allowed to call the API from a browser; empty means any (`*`).
    pub cors_origins: Vec<String>,
    /// When set, every route except `/`, `/health*` and `/api/openapi.json` needs
    /// `Authorization: Bearer <token>`.
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
    /// Archived chart images, when the server archives them (`Api::with_charts`).
    pub(crate) charts: Option<ChartServing>,
    /// The chart store's figures and when they were taken (its `stats` may walk a directory,
    /// so metrics reuse them for [`crate::charts::BYTES_STORED_MAX_AGE`]).
    pub(crate) chart_stats: Mutex<Option<(Instant, BlobStats)>>,
    /// `GET /api/openapi.json`'s body, built on its first request.
    pub(crate) openapi: OnceLock<Cached>,
    /// What the dashboard's session cookie holds for `settings.auth_token` (derived once, not
    /// per request).
    pub(crate) session_value: Option<String>,
}

/// Where archived charts are read and how their absolute URLs start.
pub(crate) struct ChartServing {
    pub(crate) store: Arc<dyn ChartStore>,
    /// `api.public_url` without a trailing slash, e.g. `https://plans.example.com`.
    pub(crate) public_url: String,
}
