//! SPEC 6.1 and 6.3: the index, health, readiness and metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use coach_plans_model::wire::legacy::{
    ChartMetrics, DatabaseMetrics, Index, Metrics, RequestMetrics,
};
use coach_plans_model::wire::{
    BotHealth, BotStatus, ChartHealth, ComponentStatus, DatabaseHealth, HealthComponents,
    HealthReport, HealthStatus, Role,
};
use coach_plans_service::{ChartCounts, StoreStats};
use serde::Serialize;
use utoipa::ToSchema;

use crate::respond::json;
use crate::state::AppState;

/// The JSON index: the service and its endpoints (what `GET /` answers programs; its
/// document entry is [`crate::dashboard::root`]'s, as the route negotiates).
pub(crate) async fn index() -> HttpResponse {
    let endpoints = [
        ("health", "/health"),
        ("health_live", "/health/live"),
        ("health_ready", "/health/ready"),
        ("metrics", "/metrics"),
        ("metrics_prometheus", "/metrics/prometheus"),
        (
            "coach_plan",
            "/api/coach-plans/?coach=<coach>&date=<YYYY-MM-DD>",
        ),
        ("all_plans", "/api/coach-plans/all?date=<YYYY-MM-DD>"),
        (
            "plan_history",
            "/api/coach-plans/history?coach=<coach>&date=<YYYY-MM-DD>",
        ),
        ("v1_coaches", "/api/v1/coaches"),
        ("v1_plans", "/api/v1/plans"),
        ("v1_plan", "/api/v1/plans/<id>"),
        ("v1_plan_history", "/api/v1/plans/<id>/history"),
        ("v1_chart", "/api/v1/charts/<sha256>.<ext>"),
        ("openapi", "/api/openapi.json"),
    ];
    json(
        StatusCode::OK,
        &Index {
            name: "coach-plans".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            endpoints: endpoints
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            documentation: concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/api.md")
                .to_owned(),
        },
    )
}

/// Storage counts, or the last known plan count when storage cannot answer.
async fn stats(state: &AppState) -> StoreStats {
    match state.service.stats().await {
        Ok(stats) => {
            state
                .last_plan_count
                .store(stats.live_plans, Ordering::Relaxed);
            stats
        }
        Err(error) => {
            log::warn!("storage figures unavailable: {error}");
            StoreStats {
                live_plans: state.last_plan_count.load(Ordering::Relaxed),
                ..StoreStats::default()
            }
        }
    }
}

/// Charts of live plans by archive state, or `None` (logged) when storage cannot answer.
async fn chart_counts(state: &AppState) -> Option<ChartCounts> {
    match state.service.chart_counts().await {
        Ok(counts) => Some(counts),
        Err(error) => {
            log::warn!("chart figures unavailable: {error}");
            None
        }
    }
}

/// `GET /health`: 200 when the database is up (`healthy`, or `degraded` when the bot is
/// disconnected outside mock mode or some charts could not be archived), 503 `unhealthy` when
/// it is down.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    summary = "Health of the service and its components",
    description = "`healthy`; `degraded` (still 200) when the Discord bot is disconnected outside mock mode or some charts could not be archived; `unhealthy` (503) when the database is down.",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthReport),
        (status = 503, description = "Unhealthy: the database is down", body = HealthReport),
    )
)]
pub(crate) async fn health(state: web::Data<AppState>) -> HttpResponse {
    let store = state.service.store_health();
    let stats = stats(&state).await;
    let bot = state.bot.bot_health();
    let charts = chart_counts(&state).await.map(|counts| ChartHealth {
        archived: counts.archived,
        pending: counts.pending,
        failed: counts.failed,
    });
    let status = if !store.writable {
        HealthStatus::Unhealthy
    } else if bot.status == BotStatus::Disconnected || charts.is_some_and(|c| c.failed > 0) {
        // (A follower's `standby` is not `disconnected`: it is how a follower should be.)
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    };
    let report = HealthReport {
        status,
        timestamp: state.service.now().to_string(),
        components: HealthComponents {
            database: DatabaseHealth {
                status: if store.writable {
                    ComponentStatus::Up
                } else {
                    ComponentStatus::Down
                },
                plan_count: stats.live_plans,
                pending_writes: store.pending_writes,
                error: store.error,
            },
            discord_bot: bot,
            charts,
        },
    };
    let code = if status == HealthStatus::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json(code, &report)
}

/// `GET /health/live`: 200 while the process runs.
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "health_live",
    tag = "operations",
    summary = "Liveness: 200 while the process runs",
    responses((status = 200, description = "Alive", body = Liveness))
)]
pub(crate) async fn live() -> HttpResponse {
    json(StatusCode::OK, &Liveness { status: "alive" })
}

/// The body of `GET /health/live`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Liveness {
    /// Always `alive`.
    #[schema(value_type = String, pattern = "^alive$")]
    status: &'static str,
}

/// The body of `GET /health/ready`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// `ready` or `not ready`.
    #[schema(value_type = String, pattern = "^(ready|not ready)$")]
    status: &'static str,
    /// `up` when the database takes writes, else `down`.
    database: ComponentStatus,
    /// The Discord bot's state.
    discord_bot: BotStatus,
}

/// `GET /health/ready`: 200 when the database takes writes and the bot is connected (or in
/// mock mode, or a follower replica's bot stands by), else 503.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "health_ready",
    tag = "operations",
    summary = "Readiness: the database takes writes and the bot is connected (or in mock mode, or standing by on a follower replica)",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready", body = Readiness),
    )
)]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let store = state.service.store_health();
    let BotHealth { status: bot, .. } = state.bot.bot_health();
    // A follower serves the API as the leader does: ready too.
    let ready = store.writable
        && matches!(
            bot,
            BotStatus::Connected | BotStatus::Mock | BotStatus::Standby
        );
    let body = Readiness {
        status: if ready { "ready" } else { "not ready" },
        database: if store.writable {
            ComponentStatus::Up
        } else {
            ComponentStatus::Down
        },
        discord_bot: bot,
    };
    json(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &body,
    )
}

/// `GET /metrics`: the Python version's figures.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Request and storage figures (the Python version's shape, plus charts)",
    responses((status = 200, description = "The figures", body = Metrics))
)]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (total, errors) = state.metrics.totals();
    let rate = if total == 0 {
        0.0
    } else {
        (errors as f64 / total as f64 * 10_000.0).round() / 100.0
    };
    let stats = stats(&state).await;
    let charts = chart_metrics(&state).await;
    let bot = state.bot.bot_health();
    json(
        StatusCode::OK,
        &Metrics {
            timestamp: state.service.now().to_string(),
            uptime_seconds: (state.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            requests: RequestMetrics {
                total,
                success: total - errors,
                error: errors,
                error_rate_percent: rate,
            },
            database: DatabaseMetrics {
                total_plans: stats.live_plans,
                total_charts: stats.live_charts,
                total_edits: stats.history_entries,
                latest_plan: stats.latest_plan_date.map(|d| d.to_string()),
            },
            charts,
            backfill: bot.backfill,
            role: bot.role,
        },
    )
}

/// Chart archiving figures: counts from the store's counters, bytes from the chart store
/// (reused for up to a minute: counting walks the store). `None` when the counts cannot be
/// read; bytes are 0 when the chart store cannot say (logged).
async fn chart_metrics(state: &AppState) -> Option<ChartMetrics> {
    let counts = chart_counts(state).await?;
    Some(ChartMetrics {
        charts_archived: counts.archived,
        charts_pending: counts.pending,
        charts_failed: counts.failed,
        chart_bytes_stored: crate::charts::bytes_stored(state).await.unwrap_or(0),
    })
}

/// `GET /metrics/prometheus`: Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics/prometheus",
    operation_id = "metrics_prometheus",
    tag = "operations",
    summary = "Figures in Prometheus text format",
    description = "Requests by route and status, a request duration histogram, plans stored, bot connected, cache, storage and chart figures.",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"))
)]
pub(crate) async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    let stats = stats(&state).await;
    let store = state.service.store_health();
    let bot = state.bot.bot_health();
    let (hits, misses, entries) = state.cache.figures();
    let charts = chart_metrics(&state).await;
    let mut out = String::with_capacity(4096);
    state.metrics.render(&mut out);
    let gauges: [(&str, &str, &str, f64); 11] = [
        (
            "coach_plans_plans_stored",
            "gauge",
            "Live plans stored.",
            stats.live_plans as f64,
        ),
        (
            "coach_plans_charts_stored",
            "gauge",
            "Charts of live plans.",
            stats.live_charts as f64,
        ),
        (
            "coach_plans_history_entries",
            "gauge",
            "Edits, replacements and deletions kept.",
            stats.history_entries as f64,
        ),
        (
            "coach_plans_database_up",
            "gauge",
            "1 when the database takes writes.",
            f64::from(u8::from(store.writable)),
        ),
        (
            "coach_plans_pending_writes",
            "gauge",
            "Changes held in memory for the database.",
            store.pending_writes as f64,
        ),
        (
            "coach_plans_bot_connected",
            "gauge",
            "1 when the Discord bot is connected (or in mock mode).",
            f64::from(u8::from(matches!(
                bot.status,
                BotStatus::Connected | BotStatus::Mock
            ))),
        ),
        (
            "coach_plans_leader",
            "gauge",
            "0 on a follower replica (another holds the Discord gateway), else 1.",
            f64::from(u8::from(bot.role != Some(Role::Follower))),
        ),
        (
            "coach_plans_read_cache_hits_total",
            "counter",
            "Responses served from the read cache.",
            hits as f64,
        ),
        (
            "coach_plans_read_cache_misses_total",
            "counter",
            "Responses the read cache had to build.",
            misses as f64,
        ),
        (
            "coach_plans_read_cache_entries",
            "gauge",
            "Bodies held by the read cache.",
            entries as f64,
        ),
        (
            "coach_plans_uptime_seconds",
            "gauge",
            "Seconds since the API started.",
            state.started.elapsed().as_secs_f64(),
        ),
    ];
    let chart_gauges = charts.map(|charts| {
        [
            (
                "coach_plans_charts_archived",
                "gauge",
                "Charts of live plans archived.",
                charts.charts_archived as f64,
            ),
            (
                "coach_plans_charts_pending",
                "gauge",
                "Charts of live plans waiting to be archived.",
                charts.charts_pending as f64,
            ),
            (
                "coach_plans_charts_failed",
                "gauge",
                "Charts of live plans given up on.",
                charts.charts_failed as f64,
            ),
            (
                "coach_plans_chart_bytes_stored",
                "gauge",
                "Bytes of chart images stored (at most a minute old).",
                charts.chart_bytes_stored as f64,
            ),
        ]
    });
    let backfill_gauges = bot.backfill.as_ref().map(|backfill| {
        let last = backfill
            .last_backfill_at
            .parse::<jiff::Timestamp>()
            .map_or(0.0, |at| at.as_millisecond() as f64 / 1000.0);
        [
            (
                "coach_plans_backfill_messages_recovered_total",
                "counter",
                "Discord commands missed while disconnected and handled late (SPEC 15).",
                backfill.messages_recovered as f64,
            ),
            (
                "coach_plans_backfill_last_timestamp_seconds",
                "gauge",
                "When the last backfill after a new gateway session finished (Unix time).",
                last,
            ),
            (
                "coach_plans_backfill_channels_skipped",
                "gauge",
                "Channels whose history the last backfill could not read.",
                backfill.channels_skipped as f64,
            ),
        ]
    });
    for (name, kind, help, value) in gauges
        .into_iter()
        .chain(chart_gauges.into_iter().flatten())
        .chain(backfill_gauges.into_iter().flatten())
    {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .body(out)
}
