//! SPEC 14: archived chart images, served by the SHA-256 of their bytes, and the links plans
//! give to them.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::wire::ErrorBody;
use coach_plans_model::{
    Author, Channel, Chart, ChartStatus, CoachId, ImageKind, MessageId, Plan, PlanDate, PlanId,
    PlanText, Sha256, Timestamp, shorten,
};
use coach_plans_service::{BlobStats, ChartStoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ECHO_CHARS};
use crate::respond;
use crate::state::{AppState, ChartServing};

/// How long metrics reuse the chart store's figures: counting a directory of blobs walks it.
pub(crate) const BYTES_STORED_MAX_AGE: Duration = Duration::from_secs(60);

/// A blob never changes under its name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /api/v1/charts/{sha256}.{ext}`: the archived image's exact bytes. 404 for a name that
/// is not 64 lowercase hex characters and a known extension, for an extension naming another
/// type than the bytes are, for an unknown blob, and for a damaged one (removed, and logged).
#[utoipa::path(
    get,
    path = "/api/v1/charts/{file}",
    operation_id = "v1_chart",
    tag = "charts",
    summary = "An archived chart image, by the SHA-256 of its bytes",
    description = "The exact bytes archived. The name never changes meaning, so answers may be cached for a year. Links come from plans (`archived_url`, and the compatibility endpoints' `charts`).",
    params(
        ("file" = String, Path, description = "`<sha256>.<ext>`: 64 lowercase hex digits, a dot, and `png`, `jpg`, `jpeg`, `gif` or `webp` (matching what the bytes are)", pattern = "^[0-9a-f]{64}\\.([Pp][Nn][Gg]|[Jj][Pp][Ee]?[Gg]|[Gg][Ii][Ff]|[Ww][Ee][Bb][Pp])$", example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.png"),
        ("If-None-Match" = Option<String>, Header, description = "`\"<sha256>\"` from an earlier answer: 304"),
    ),
    responses(
        (status = 200, description = "The image", content(
            (ChartImage = "image/png"),
            (ChartImage = "image/jpeg"),
            (ChartImage = "image/gif"),
            (ChartImage = "image/webp"),
        ), headers(
            ("ETag" = String, description = "`\"<sha256>\"`"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
        )),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(
            ("ETag" = String, description = "`\"<sha256>\"`"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
        )),
        (status = 404, description = "No such chart: a malformed name, an extension other than the image's type, an unknown or damaged blob, or a server that does not archive charts", body = ErrorBody),
    )
)]
pub(crate) async fn chart(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("file").unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("No chart {}", shorten(name, ECHO_CHARS)));
    let (Some((sha256, wanted)), Some(serving)) = (parse_name(name), state.charts.as_ref()) else {
        return Err(not_found());
    };
    let store = Arc::clone(&serving.store);
    let read = web::block(move || store.get(&sha256))
        .await
        .map_err(|e| ApiError::Internal(format!("reading a chart: {e}")))?;
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(not_found()),
        Err(ChartStoreError::Corrupt { sha256, found }) => {
            remove_damaged(&state, serving, sha256, found).await;
            return Err(not_found());
        }
        Err(other) => return Err(ApiError::Internal(format!("reading a chart: {other}"))),
    };
    let Some(image) = ImageKind::from_signature(&bytes).filter(|image| *image == wanted) else {
        return Err(not_found());
    };
    let etag = format!("\"{sha256}\"");
    if respond::client_has(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(image.content_type()),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)))
        .insert_header((header::ETAG, etag))
        .body(bytes))
}

/// The bytes of an archived image, for the OpenAPI document.
pub(crate) struct ChartImage;

impl utoipa::PartialSchema for ChartImage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The image's bytes"))
            .into()
    }
}

impl ToSchema for ChartImage {}

/// `{sha256}.{ext}`: 64 lowercase hex characters, a dot, an extension
/// [`ImageKind::from_extension`] knows.
fn parse_name(name: &str) -> Option<(Sha256, ImageKind)> {
    let (hex, extension) = name.split_once('.')?;
    Some((
        Sha256::parse(hex).ok()?,
        ImageKind::from_extension(extension)?,
    ))
}

/// Drops a blob whose bytes no longer match its name and puts the charts archived as it back
/// in the archiver's queue, so the image is fetched and stored again.
async fn remove_damaged(state: &AppState, serving: &ChartServing, sha256: Sha256, found: Sha256) {
    log::warn!(
        "chart {sha256} is damaged (its bytes hash to {found}): not served, removed from the chart store, and fetched again"
    );
    // Removed first, then queued: the archiver's new copy must not be the one removed.
    let store = Arc::clone(&serving.store);
    match web::block(move || store.remove(&sha256)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => log::warn!("removing the damaged chart {sha256}: {error}"),
        Err(error) => log::warn!("removing the damaged chart {sha256}: {error}"),
    }
    let reason = format!("the archived copy was damaged (its bytes hashed to {found})");
    if let Err(error) = state.service.requeue_charts_of_blob(sha256, reason).await {
        log::warn!("putting the charts of the damaged chart {sha256} back in the queue: {error}");
    }
}

/// The absolute URL of a chart's archived image, once it is archived (and this API serves
/// archived charts).
pub(crate) fn archived_url(state: &AppState, chart: &Chart) -> Option<String> {
    let serving = state.charts.as_ref()?;
    Some(format!(
        "{}{}",
        serving.public_url,
        archived_path(state, chart)?
    ))
}

/// The path on this server of an archived chart's image (`/api/v1/charts/{sha256}.{ext}`), when
/// this server serves archived charts and this one is archived.
pub(crate) fn archived_path(state: &AppState, chart: &Chart) -> Option<String> {
    state.charts.as_ref()?;
    let archive = chart.archive();
    if archive.status != ChartStatus::Archived {
        return None;
    }
    let (sha256, image) = (archive.sha256?, archive.image?);
    Some(format!("/api/v1/charts/{sha256}.{}", image.extension()))
}

/// What the compatibility endpoints list for a plan's charts: the archived image's URL once
/// there is one, Discord's link until then.
pub(crate) fn links(state: &AppState, plan: &Plan) -> Vec<String> {
    plan.charts
        .iter()
        .map(|chart| archived_url(state, chart).unwrap_or_else(|| chart.url().to_owned()))
        .collect()
}

/// A plan as the native API shows it (`GET /api/v1/plans/{id}`, and each plan of a page): the
/// stored plan's fields, with each chart's archive state as [`NativeChart`] shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NativePlan {
    /// Stable across edits and replacements.
    id: PlanId,
    /// Whose plan it is.
    coach: CoachId,
    /// The trading day it is for.
    date: PlanDate,
    /// The plan itself.
    text: PlanText,
    /// Who posted it.
    author: Author,
    /// Where it was posted.
    channel: Channel,
    /// The Discord message that posted it, when known.
    message_id: Option<MessageId>,
    /// When it was first posted.
    created_at: Timestamp,
    /// When it was last edited or replaced; null until then.
    edited_at: Option<Timestamp>,
    /// Chart screenshots in the order attached.
    charts: Vec<NativeChart>,
    /// Whether it was deleted (always false here: deleted plans are not served).
    deleted: bool,
}

/// A chart of a plan on the native API: what Discord said of the attachment, and whether our
/// own copy is archived.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NativeChart {
    /// Discord's link to the image (signed links expire; prefer `archived_url`).
    url: String,
    /// The attachment's file name, when known.
    filename: Option<String>,
    /// The type Discord reported, when known.
    content_type: Option<String>,
    /// The size Discord reported, in bytes, when known.
    size: Option<u64>,
    /// The chart's place among the plan's charts, from 0.
    position: u32,
    /// The archived image's SHA-256, once archived.
    sha256: Option<Sha256>,
    /// Where this API serves the archived image, once archived.
    archived_url: Option<String>,
    /// Discord's link (the same as `url`).
    discord_url: String,
    /// Where archiving stands.
    status: ChartStatus,
    /// Why archiving gave up, when it failed.
    reason: Option<String>,
}

/// A plan as the native API shows it: the stored plan, each chart entry with `sha256`,
/// `archived_url`, `discord_url`, `status` and `reason` in place of the stored archive state.
pub(crate) fn native_plan(state: &AppState, plan: &Plan) -> NativePlan {
    let charts = plan
        .charts
        .iter()
        .map(|chart| {
            let archive = chart.archive();
            NativeChart {
                url: chart.url().to_owned(),
                filename: chart.filename().map(str::to_owned),
                content_type: chart.content_type().map(str::to_owned),
                size: chart.size(),
                position: chart.position(),
                sha256: archive
                    .sha256
                    .filter(|_| archive.status == ChartStatus::Archived),
                archived_url: archived_url(state, chart),
                discord_url: chart.url().to_owned(),
                status: archive.status,
                reason: archive
                    .reason
                    .clone()
                    .filter(|_| archive.status == ChartStatus::Failed),
            }
        })
        .collect();
    NativePlan {
        id: plan.id,
        coach: plan.coach.clone(),
        date: plan.date,
        text: plan.text.clone(),
        author: plan.author.clone(),
        channel: plan.channel.clone(),
        message_id: plan.message_id,
        created_at: plan.created_at.clone(),
        edited_at: plan.edited_at.clone(),
        charts,
        deleted: plan.deleted,
    }
}

/// The bytes of chart images stored, at most [`BYTES_STORED_MAX_AGE`] old; 0 when charts are
/// not archived here, `None` when the store cannot say.
pub(crate) async fn bytes_stored(state: &AppState) -> Option<u64> {
    let Some(serving) = state.charts.as_ref() else {
        return Some(0);
    };
    if let Some((taken, stats)) = *state
        .chart_stats
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        && taken.elapsed() < BYTES_STORED_MAX_AGE
    {
        return Some(stats.bytes);
    }
    let store = Arc::clone(&serving.store);
    let stats: BlobStats = match web::block(move || store.stats()).await {
        Ok(Ok(stats)) => stats,
        Ok(Err(error)) => {
            log::warn!("chart store figures unavailable: {error}");
            return None;
        }
        Err(error) => {
            log::warn!("chart store figures unavailable: {error}");
            return None;
        }
    };
    *state
        .chart_stats
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), stats));
    Some(stats.bytes)
}
