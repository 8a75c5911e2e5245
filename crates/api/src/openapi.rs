//! SPEC 17: the OpenAPI 3.1 document of this API, `GET /api/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` attributes and the wire types' schemas.
//!
//! The route table stays the one source of routes: [`document`] adds each alias of
//! [`ENDPOINTS`] as a copy of its route's operation, and the tests below fail when a route is
//! missing from the document or the document names a path no route serves. With a bearer
//! token configured, every operation that needs it says so (`security`, and its 401 answer);
//! the document itself is public, like `/` and `/health*`, so tools can read the contract
//! before they hold a token.

use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::CoachId;
use coach_plans_model::wire::ErrorBody;
use utoipa::OpenApi as _;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use crate::cache::Cached;
use crate::respond;
use crate::routes::ENDPOINTS;
use crate::state::AppState;

/// The name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

/// The schema of every `coach` parameter: one named type, so a generated client has one enum.
const COACH_NAME: &str = "CoachName";

/// The document's generated part: every handler and the schemas they name.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "coach-plans",
        description = "Trading coaches' daily plans, posted in Discord, as data. \
The compatibility endpoints keep the Python version's paths, keys and messages; `/api/v1` is \
the native API. Every GET also answers HEAD (the same status and headers, no body) and OPTIONS \
(a CORS preflight, 204). Every answer carries `X-Request-ID` (the request's own when it is 1 to \
64 characters of `[A-Za-z0-9._-]`) and `Access-Control-Allow-Origin`. Errors are JSON \
(`ErrorBody`): an unknown path is 404, another method 405 (with `Allow`), a request URI over \
8 KiB 414, request headers over 32 KiB or 64 fields 431, an internal failure 500 with nothing \
internal in it.",
        license(name = "MIT"),
    ),
    paths(
        crate::ops::index,
        crate::ops::health,
        crate::ops::live,
        crate::ops::ready,
        crate::ops::metrics,
        crate::ops::prometheus,
        crate::compat::plan,
        crate::compat::all,
        crate::compat::history,
        crate::native::coaches,
        crate::native::plans,
        crate::native::plan,
        crate::native::history,
        crate::charts::chart,
        openapi_json,
    ),
    components(schemas(ErrorBody, crate::native::DateOrToday)),
    tags(
        (name = "compatibility", description = "The Python version's endpoints, key for key (SPEC 6.1)"),
        (name = "plans", description = "The native API (SPEC 6.2)"),
        (name = "charts", description = "Archived chart images (SPEC 14)"),
        (name = "operations", description = "Index, health, readiness and metrics (SPEC 6.1, 6.3)"),
        (name = "documentation", description = "This document"),
    )
)]
struct Generated;

/// The whole document: the generated part, each alias of [`ENDPOINTS`] as a copy of its
/// route's operation, `X-Request-ID` on every answer, 500 on the `/api` routes that read
/// storage, the configured coaches as the values of every `coach` parameter, and, when
/// `token_required`, the bearer scheme and 401 on every route that is not public.
pub(crate) fn document(token_required: bool, coaches: &[CoachId]) -> OpenApi {
    let mut doc = Generated::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for endpoint in ENDPOINTS {
        let Some((route, _alias)) = endpoint.name().split_once('.') else {
            continue;
        };
        let original = ENDPOINTS.iter().find(|e| e.name() == route);
        let copied = original
            .and_then(|original| doc.paths.get_path_item(original.path()))
            .cloned();
        if let Some(mut item) = copied {
            for operation in operations(&mut item) {
                operation.operation_id = Some(endpoint.name().to_owned());
                operation.description = Some(format!(
                    "The same as `{}`.",
                    original.map_or("", |o| o.path())
                ));
            }
            doc.paths.paths.insert(endpoint.path().to_owned(), item);
        }
    }
    let protected: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|e| !e.is_public())
        .map(|e| e.path())
        .collect();
    for (path, item) in &mut doc.paths.paths {
        let protect = token_required && protected.contains(&path.as_str());
        // What the `/api` handlers read may fail; the operations routes answer from counters.
        let reads_storage = path.starts_with("/api/") && path != "/api/openapi.json";
        for operation in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && parameter.name == "coach"
                {
                    parameter.schema = Some(RefOr::Ref(Ref::from_schema_name(COACH_NAME)));
                }
            }
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response.headers.insert(
                        "X-Request-ID".to_owned(),
                        RefOr::T(
                            HeaderBuilder::new()
                                .schema(Some(string_schema()))
                                .description(Some("The request's id, as in the server's log"))
                                .build(),
                        ),
                    );
                }
            }
            if reads_storage {
                operation.responses.responses.insert(
                    "500".to_owned(),
                    error_response(
                        "An internal failure (storage failing otherwise than being down): the body says no more, the cause is in the server's log",
                        None,
                    ),
                );
            }
            if protect {
                operation.security = Some(vec![SecurityRequirement::new(BEARER, [""; 0])]);
                operation.responses.responses.insert(
                    "401".to_owned(),
                    error_response(
                        "No valid bearer token: send `Authorization: Bearer <token>`",
                        Some(("WWW-Authenticate", "`Bearer`")),
                    ),
                );
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .insert(COACH_NAME.to_owned(), coach_schema(coaches));
    }
    if token_required && let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The server's api.auth_token (API_AUTH_TOKEN); `/`, `/health*` and this document need none",
                    ))
                    .build(),
            ),
        );
    }
    doc
}

/// A response with the JSON error body, and a header when given (name, description).
fn error_response(description: &str, header: Option<(&str, &str)>) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if let Some((name, what)) = header {
        response = response.header(
            name,
            HeaderBuilder::new()
                .schema(Some(string_schema()))
                .description(Some(what))
                .build(),
        );
    }
    RefOr::T(response.build())
}

/// The operations of a path item (this API serves GET only; HEAD and OPTIONS follow from it).
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// A `coach` parameter's values: each configured id, bare and as its compatibility key
/// (`d`, `coach_d`). The API also takes them in any case; the document lists one spelling.
fn coach_schema(coaches: &[CoachId]) -> RefOr<utoipa::openapi::schema::Schema> {
    let values: Vec<String> = coaches
        .iter()
        .map(|id| id.as_str().to_owned())
        .chain(coaches.iter().map(CoachId::api_key))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(
            "A configured coach: its id or its compatibility key (the API also takes any case)",
        ))
        .into()
}

/// The schema of a string header.
fn string_schema() -> RefOr<utoipa::openapi::schema::Schema> {
    <String as utoipa::PartialSchema>::schema()
}

/// The document as this API serves it, built on first request and kept (it depends on the
/// settings and the roster only).
fn serialized(state: &AppState) -> Cached {
    state
        .openapi
        .get_or_init(|| {
            let coaches: Vec<CoachId> = state
                .service
                .roster()
                .coaches()
                .iter()
                .map(|coach| coach.id.clone())
                .collect();
            let doc = document(state.settings.auth_token.is_some(), &coaches);
            // Serializing maps and strings cannot fail; should it, `{}` is still JSON.
            let body = serde_json::to_vec(&doc).unwrap_or_else(|error| {
                log::error!("serializing the OpenAPI document: {error}");
                b"{}".to_vec()
            });
            Cached::new(0, body)
        })
        .clone()
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "documentation",
    summary = "This OpenAPI 3.1 document",
    description = "Public even when a token is configured. Generate a client from it in any language (see docs/api.md).",
    params(
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 when the body is unchanged"),
    ),
    responses(
        (status = 200, description = "The document", body = Object, headers(("ETag" = String, description = "Entity tag of the body"))),
        (status = 304, description = "The client's copy (If-None-Match) is current", headers(("ETag" = String, description = "Entity tag of the body"))),
    )
)]
pub(crate) async fn openapi_json(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond::cached(&req, &serialized(&state))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use coach_plans_model::Roster;

    use super::document;
    use crate::routes::ENDPOINTS;

    fn json(token_required: bool) -> Value {
        let roster = Roster::default();
        let coaches: Vec<_> = roster.coaches().iter().map(|c| c.id.clone()).collect();
        serde_json::to_value(document(token_required, &coaches)).unwrap_or_default()
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc = json(false);
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn every_route_is_documented_with_its_name_and_every_documented_path_is_a_route() {
        let doc = json(false);
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for endpoint in ENDPOINTS {
            let item = paths
                .get(endpoint.path())
                .unwrap_or_else(|| panic!("{} is not in the document", endpoint.path()));
            let methods: Vec<&str> = item
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(
                methods,
                ["get"],
                "{}: the routes serve GET (and HEAD)",
                endpoint.path()
            );
            assert_eq!(
                item["get"]["operationId"],
                endpoint.name(),
                "{}",
                endpoint.path()
            );
        }
        let routes: BTreeSet<&str> = ENDPOINTS.iter().map(|e| e.path()).collect();
        let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(documented, routes);
    }

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => found.push(target),
                        _ => refs(value, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        for token in [false, true] {
            let doc = json(token);
            let mut found = Vec::new();
            refs(&doc, &mut found);
            assert!(found.len() > 20, "{} references", found.len());
            for target in found {
                let name = target
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("{target} is not a schema reference"));
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{target} is not defined"
                );
            }
        }
    }

    #[test]
    fn path_parameters_are_declared_and_typed() {
        let doc = json(false);
        for endpoint in ENDPOINTS.iter().filter(|e| e.path().contains('{')) {
            let params = doc["paths"][endpoint.path()]["get"]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let path_params: Vec<&Value> = params.iter().filter(|p| p["in"] == "path").collect();
            assert_eq!(path_params.len(), 1, "{}", endpoint.path());
            let name = path_params[0]["name"].as_str().unwrap_or_default();
            assert!(endpoint.path().contains(&format!("{{{name}}}")), "{name}");
            assert_eq!(path_params[0]["required"], true);
        }
        let plans = &doc["paths"]["/api/v1/plans/{id}"]["get"]["parameters"][0]["schema"];
        assert_eq!(plans["type"], "integer");
        assert_eq!(plans["minimum"], 1);
    }

    #[test]
    fn coach_parameters_list_the_configured_coaches() {
        let doc = json(false);
        let mut seen = 0;
        for path in [
            "/api/coach-plans/",
            "/api/coach-plans",
            "/api/coach-plans/history",
            "/api/v1/plans",
        ] {
            let params = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for param in params.iter().filter(|p| p["name"] == "coach") {
                assert_eq!(
                    param["schema"]["$ref"], "#/components/schemas/CoachName",
                    "{path}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 4);
        assert_eq!(
            doc["components"]["schemas"]["CoachName"]["enum"],
            serde_json::json!([
                "d", "i", "s", "n", "coach_d", "coach_i", "coach_s", "coach_n"
            ])
        );
    }

    #[test]
    fn with_a_token_every_route_but_the_public_ones_needs_it_and_may_answer_401() {
        let open = json(false);
        assert!(open["components"]["securitySchemes"].is_null());
        let doc = json(true);
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        for endpoint in ENDPOINTS {
            let operation = &doc["paths"][endpoint.path()]["get"];
            assert!(
                open["paths"][endpoint.path()]["get"]["responses"]["401"].is_null(),
                "no token, no 401: {}",
                endpoint.path()
            );
            if endpoint.is_public() {
                assert!(operation["security"].is_null(), "{}", endpoint.path());
                assert!(
                    operation["responses"]["401"].is_null(),
                    "{}",
                    endpoint.path()
                );
            } else {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{"bearer": []}]),
                    "{}",
                    endpoint.path()
                );
                assert_eq!(
                    operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{}",
                    endpoint.path()
                );
            }
        }
        assert!(
            ENDPOINTS
                .iter()
                .any(|e| e.path() == "/api/openapi.json" && e.is_public())
        );
    }

    #[test]
    fn answers_with_an_etag_document_it_and_304() {
        let doc = json(false);
        for path in [
            "/api/coach-plans/",
            "/api/coach-plans/all",
            "/api/coach-plans/history",
            "/api/v1/coaches",
            "/api/v1/plans",
            "/api/v1/plans/{id}",
            "/api/v1/plans/{id}/history",
            "/api/v1/charts/{file}",
        ] {
            let responses = &doc["paths"][path]["get"]["responses"];
            assert!(responses["200"]["headers"]["ETag"].is_object(), "{path}");
            assert!(responses["304"].is_object(), "{path}");
        }
        let chart = &doc["paths"]["/api/v1/charts/{file}"]["get"]["responses"]["200"];
        assert!(chart["headers"]["Cache-Control"].is_object());
        assert!(chart["content"]["image/png"].is_object());
    }
}
