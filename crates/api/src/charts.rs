//! SPEC 14: archived chart images, served by the SHA-256 of their bytes, and the links plans
//! give to them.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::{Chart, ChartStatus, ImageKind, Plan, Sha256, shorten};
use coach_plans_service::{BlobStats, ChartStoreError};
use serde_json::{Value, json};

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
    let archive = chart.archive();
    if archive.status != ChartStatus::Archived {
        return None;
    }
    let (sha256, image) = (archive.sha256?, archive.image?);
    Some(format!(
        "{}/api/v1/charts/{sha256}.{}",
        serving.public_url,
        image.extension()
    ))
}

/// What the compatibility endpoints list for a plan's charts: the archived image's URL once
/// there is one, Discord's link until then.
pub(crate) fn links(state: &AppState, plan: &Plan) -> Vec<String> {
    plan.charts
        .iter()
        .map(|chart| archived_url(state, chart).unwrap_or_else(|| chart.url().to_owned()))
        .collect()
}

/// A plan as the native API shows it: the stored plan, each chart entry with `sha256`,
/// `archived_url`, `discord_url`, `status` and `reason` added.
pub(crate) fn native_plan(state: &AppState, plan: &Plan) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(plan)
        .map_err(|e| ApiError::Internal(format!("serializing a plan: {e}")))?;
    if let Some(entries) = value.get_mut("charts").and_then(Value::as_array_mut) {
        for (entry, chart) in entries.iter_mut().zip(&plan.charts) {
            let Some(entry) = entry.as_object_mut() else {
                continue;
            };
            // The stored archive state is shown as the fields below, not as the model's object.
            entry.remove("archive");
            let archive = chart.archive();
            let fields = json!({
                "sha256": archive.sha256.filter(|_| archive.status == ChartStatus::Archived),
                "archived_url": archived_url(state, chart),
                "discord_url": chart.url(),
                "status": archive.status,
                "reason": archive.reason.as_deref().filter(|_| archive.status == ChartStatus::Failed),
            });
            if let Value::Object(fields) = fields {
                entry.extend(fields);
            }
        }
    }
    Ok(value)
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
