//! The dashboard's static files, embedded in the binary and served with long cache headers.
//! Pages link them with `?v=<hash of the content>`, so a new build's file is a new URL.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::respond;

/// A file served under `/assets/`.
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// The entity tag of the body (quoted), also the `v` of the links.
    etag: String,
}

impl Asset {
    /// The link pages use: `/assets/<name>?v=<hash>`.
    pub(crate) fn href(&self) -> String {
        format!("/assets/{}?v={}", self.name, self.etag.trim_matches('"'))
    }
}

/// Every asset. One stylesheet; no script is needed for anything the dashboard does.
static ASSETS: LazyLock<[Asset; 1]> = LazyLock::new(|| {
    [asset(
        "dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/dashboard.css"),
    )]
});

fn asset(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type,
        body,
        etag: crate::cache::entity_tag(body),
    }
}

/// The stylesheet.
pub(crate) fn stylesheet() -> &'static Asset {
    &ASSETS[0]
}

/// A year, and never revalidated: a changed file gets a new `v`.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /assets/{asset}`: the file, or 404.
#[utoipa::path(
    get,
    path = "/assets/{asset}",
    operation_id = "dashboard_asset",
    tag = "dashboard",
    summary = "The dashboard's stylesheet",
    description = "Embedded in the binary. Pages link it as `/assets/dashboard.css?v=<hash>`, so a new build's file is a new URL and answers may be cached for a year.",
    params(
        ("asset" = String, Path, description = "The file: `dashboard.css`; any other name answers the 404 page", example = "dashboard.css"),
        ("v" = Option<String>, Query, description = "The content's hash, to make each version its own URL; not checked"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304"),
    ),
    responses(
        (status = 200, description = "The stylesheet", body = String, content_type = "text/css", headers(
            ("ETag" = String, description = "Entity tag of the file"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
            ("X-Content-Type-Options" = String, description = "`nosniff`"),
        )),
        (status = 304, description = "The browser's copy (If-None-Match) is current", headers(
            ("ETag" = String, description = "Entity tag of the file"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
        )),
        (status = 404, description = "No such file (a page saying so)", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn serve(req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("asset").unwrap_or_default();
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return super::pages::not_found_response(&format!(
            "There is no file {}.",
            coach_plans_model::shorten(name, crate::error::ECHO_CHARS)
        ));
    };
    if respond::client_has(&req, &asset.etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, asset.etag.as_str()))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)))
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(asset.body)
}
