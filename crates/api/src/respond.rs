//! Writing JSON bodies with entity tags, and answering `If-None-Match` with 304.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::cache::Cached;
use crate::error::ApiError;

/// 200 with the cached body, or 304 when the client already holds it.
pub(crate) fn cached(req: &HttpRequest, cached: Cached) -> HttpResponse {
    if client_has_value(req, &cached.etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, cached.etag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .insert_header((header::ETAG, cached.etag))
        .body(cached.body)
}

/// A value serialized as a JSON body with an entity tag (304 when the client holds it).
pub(crate) fn tagged<T: Serialize>(req: &HttpRequest, value: &T) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::Internal(format!("serializing a response: {e}")))?;
    Ok(cached(req, Cached::new(0, body)))
}

/// A value serialized as a JSON body, with this status.
pub(crate) fn json<T: Serialize>(status: actix_web::http::StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).json(value)
}

/// [`client_has`] for an entity tag held as a header value.
pub(crate) fn client_has_value(req: &HttpRequest, etag: &HeaderValue) -> bool {
    etag.to_str().is_ok_and(|etag| client_has(req, etag))
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub(crate) fn client_has(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|tag| tag == etag || tag == "*" || tag.strip_prefix("W/") == Some(etag))
        })
}
