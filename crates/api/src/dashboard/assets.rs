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
