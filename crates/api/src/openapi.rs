//! SPEC 17: the OpenAPI 3.1 document of this API, `GET /api/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` attributes and the wire types' schemas.
//!
//! The route table stays the one source of routes: [`document`] adds each alias of
//! [`ENDPOINTS`] as a copy of its route's operation, and the tests below fail when a route is
//! missing from the document or the document names a path no route serves. With a bearer
//! token configured, every operation that needs it says so (`security`: the bearer token, or
//! on the dashboard's pages and chart images the session cookie too, and its 401 answer: the
//! login page or JSON, as the server answers); the document itself is public, like `/` and `/health*`, so tools can read the contract
//! before they hold a token.

use actix_web::{HttpRequest, HttpResponse, web};
use coach_plans_model::CoachId;
use coach_plans_model::wire::ErrorBody;
use utoipa::OpenApi as _;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};

use crate::access::Access;
use crate::cache::Cached;
use crate::respond;
use crate::routes::ENDPOINTS;
use crate::state::AppState;

/// The name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

/// The name of the dashboard's session cookie scheme in the document.
const SESSION: &str = "session";

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
        crate::dashboard::root,
        crate::dashboard::plan,
        crate::dashboard::login_page,
        crate::dashboard::sign_in,
        crate::dashboard::logout,
        crate::dashboard::assets::serve,
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
        (name = "dashboard", description = "The web dashboard's pages, login and stylesheet: HTML for browsers (SPEC 17)"),
        (name = "documentation", description = "This document"),
    )
)]
struct Generated;

/// The whole document: the generated part, each alias of [`ENDPOINTS`] as a copy of its
/// route's operation, `X-Request-ID` on every answer, 500 on the `/api` routes that read
/// storage, the configured coaches as the values of every `coach` parameter, and, when
/// `token_required`, the bearer and session cookie schemes, 401 on every route that is not
/// public (and on `/` for its page), and `POST /login`'s form body, 303 and 401.
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
    for (path, item) in &mut doc.paths.paths {
        let access = Access::of(path);
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
            if token_required {
                protect(path, access, operation);
            }
        }
    }
    // `/logout` takes GET and POST alike (one handler, one annotation); operation ids are unique.
    if let Some(post) = doc
        .paths
        .paths
        .get_mut("/logout")
        .and_then(|logout| logout.post.as_mut())
    {
        post.operation_id = Some("dashboard_logout_post".to_owned());
    }
    if token_required
        && let Some(sign_in) = doc
            .paths
            .paths
            .get_mut("/login")
            .and_then(|login| login.post.as_mut())
    {
        document_sign_in(sign_in);
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
                        "The server's api.auth_token (API_AUTH_TOKEN); `/`, `/health*`, this document and the dashboard's login, logout and stylesheet need none",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::dashboard::SESSION_COOKIE,
                "The dashboard's session cookie, set by `POST /login` (HttpOnly, SameSite=Strict, 30 days): taken instead of the bearer token by the dashboard's pages and the chart images",
            ))),
        );
    }
    doc
}

/// With a token configured: what `operation` (of the route at `path`) needs, and its 401.
fn protect(path: &str, access: Access, operation: &mut Operation) {
    let bearer = || SecurityRequirement::new(BEARER, [""; 0]);
    let session = || SecurityRequirement::new(SESSION, [""; 0]);
    let (security, refusal) = match access {
        // `/` answers programs without a token; the page it answers browsers needs a session.
        Access::Public if path == "/" => (
            vec![SecurityRequirement::default(), bearer(), session()],
            login_page_response(
                "The page only, without the session cookie or the bearer token: the login form",
            ),
        ),
        Access::Public => return,
        Access::Token => (
            vec![bearer()],
            error_response(
                "No valid bearer token: send `Authorization: Bearer <token>`",
                Some(("WWW-Authenticate", "`Bearer`")),
            ),
        ),
        Access::TokenOrSession => (
            vec![bearer(), session()],
            error_response(
                "Neither a valid bearer token nor the dashboard's session cookie",
                Some(("WWW-Authenticate", "`Bearer`")),
            ),
        ),
        Access::Dashboard => (
            vec![bearer(), session()],
            login_page_response(
                "Neither the session cookie nor a valid bearer token: the login form, which comes back to this page",
            ),
        ),
    };
    operation.security = Some(security);
    operation
        .responses
        .responses
        .insert("401".to_owned(), refusal);
}

/// `POST /login` with a token configured: its form body, the 303 that signs in and the 401
/// that does not.
fn document_sign_in(operation: &mut Operation) {
    let form = ObjectBuilder::new()
        .property(
            "token",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
                .description(Some("The server's access token (api.auth_token)")),
        )
        .property(
            "next",
            ObjectBuilder::new().schema_type(Type::String).description(Some(
                "Where to go after signing in: a path on this server (anything else goes to `/`)",
            )),
        )
        .required("token");
    operation.request_body = Some(RefOr::T(
        RequestBodyBuilder::new()
            .description(Some("The login form's fields"))
            .content(
                "application/x-www-form-urlencoded",
                ContentBuilder::new().schema(Some(form)).build(),
            )
            .required(Some(Required::True))
            .build(),
    ));
    let header = |what: &str| {
        HeaderBuilder::new()
            .schema(Some(string_schema()))
            .description(Some(what))
            .build()
    };
    operation.responses.responses.insert(
        "303".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("The token is right: signed in, on to `next`")
                .header("Location", header("`next`, or `/`"))
                .header(
                    "Set-Cookie",
                    header("The session cookie: `coach_plans_session=<hash>; Path=/; Max-Age=2592000; HttpOnly; SameSite=Strict` (and `Secure` when api.public_url is https)"),
                )
                .header("Cache-Control", header("`no-store`"))
                .header("X-Request-ID", header("The request's id, as in the server's log"))
                .build(),
        ),
    );
    operation.responses.responses.insert(
        "401".to_owned(),
        login_page_response("Not the token (or none given): the form again, saying so"),
    );
    operation.responses.responses.remove("200");
}

/// A 401 answered with the login form (HTML).
fn login_page_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "text/html",
                ContentBuilder::new().schema(Some(string_schema())).build(),
            )
            .header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(string_schema()))
                    .description(Some("`Bearer`"))
                    .build(),
            )
            .header(
                "X-Request-ID",
                HeaderBuilder::new()
                    .schema(Some(string_schema()))
                    .description(Some("The request's id, as in the server's log"))
                    .build(),
            )
            .build(),
    )
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

/// The operations of a path item (GET everywhere, POST on the dashboard's login and logout;
/// HEAD and OPTIONS follow from GET).
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
    respond::cached(&req, serialized(&state))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use coach_plans_model::Roster;

    use super::document;
    use crate::access::Access;
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
            // Which routes take POST is checked against the server in tests/api/openapi.rs.
            assert!(
                methods == ["get"] || methods == ["get", "post"],
                "{}: the routes serve GET (and HEAD), the dashboard's forms POST too: {methods:?}",
                endpoint.path()
            );
            assert_eq!(
                item["get"]["operationId"],
                endpoint.name(),
                "{}",
                endpoint.path()
            );
        }
        let mut ids = BTreeSet::new();
        for (path, item) in &paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(
                    ids.insert(id),
                    "{method} {path}: operationId {id:?} is not unique"
                );
            }
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
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["session"]["type"], "apiKey");
        assert_eq!(schemes["session"]["in"], "cookie");
        assert_eq!(schemes["session"]["name"], "coach_plans_session");
        let bearer = serde_json::json!([{"bearer": []}]);
        let either = serde_json::json!([{"bearer": []}, {"session": []}]);
        let optional = serde_json::json!([{}, {"bearer": []}, {"session": []}]);
        for endpoint in ENDPOINTS {
            let path = endpoint.path();
            for method in ["get", "post"] {
                let operation = &doc["paths"][path][method];
                if operation.is_null() {
                    continue;
                }
                assert!(
                    open["paths"][path][method]["responses"]["401"].is_null(),
                    "no token, no 401: {method} {path}"
                );
                assert!(open["paths"][path][method]["security"].is_null());
                let refusal = &operation["responses"]["401"];
                let (security, media) = match Access::of(path) {
                    Access::Public if path == "/" => (&optional, "text/html"),
                    Access::Public if (path, method) == ("/login", "post") => {
                        (&Value::Null, "text/html")
                    }
                    Access::Public => {
                        assert!(refusal.is_null(), "{method} {path}");
                        assert!(operation["security"].is_null(), "{method} {path}");
                        continue;
                    }
                    Access::Token => (&bearer, "application/json"),
                    Access::TokenOrSession => (&either, "application/json"),
                    Access::Dashboard => (&either, "text/html"),
                };
                assert_eq!(&operation["security"], security, "{method} {path}");
                assert!(
                    refusal["content"][media].is_object(),
                    "{method} {path}: 401 {refusal}"
                );
                assert!(refusal["headers"]["WWW-Authenticate"].is_object());
            }
        }
        assert!(
            ENDPOINTS
                .iter()
                .any(|e| e.path() == "/api/openapi.json" && e.is_public())
        );
    }

    #[test]
    fn the_login_form_is_documented_only_where_there_is_a_login() {
        let open = json(false);
        let sign_in = &open["paths"]["/login"]["post"];
        assert!(sign_in["requestBody"].is_null());
        assert!(sign_in["responses"]["200"]["content"]["text/html"].is_object());
        let doc = json(true);
        let sign_in = &doc["paths"]["/login"]["post"];
        let form =
            &sign_in["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
        assert_eq!(form["required"], serde_json::json!(["token"]));
        assert_eq!(form["properties"]["token"]["format"], "password");
        assert_eq!(form["properties"]["next"]["type"], "string");
        let see_other = &sign_in["responses"]["303"];
        assert!(see_other["headers"]["Location"].is_object());
        assert!(see_other["headers"]["Set-Cookie"].is_object());
        assert!(sign_in["responses"]["200"].is_null());
        assert!(sign_in["responses"]["401"]["content"]["text/html"].is_object());
    }

    #[test]
    fn the_dashboard_routes_are_tagged_and_answer_html() {
        let doc = json(false);
        let index = &doc["paths"]["/"]["get"];
        assert_eq!(
            index["tags"],
            serde_json::json!(["operations", "dashboard"])
        );
        let ok = &index["responses"]["200"]["content"];
        assert_eq!(
            ok["application/json"]["schema"]["$ref"],
            "#/components/schemas/Index"
        );
        assert_eq!(ok["text/html"]["schema"]["type"], "string");
        for path in ["/plans/{id}", "/login", "/logout", "/assets/{asset}"] {
            for (method, operation) in doc["paths"][path].as_object().into_iter().flatten() {
                assert_eq!(
                    operation["tags"],
                    serde_json::json!(["dashboard"]),
                    "{method} {path}"
                );
            }
        }
        assert!(
            doc["paths"]["/plans/{id}"]["get"]["responses"]["404"]["content"]["text/html"]
                .is_object()
        );
        let css = &doc["paths"]["/assets/{asset}"]["get"]["responses"];
        assert!(css["200"]["content"]["text/css"].is_object());
        assert!(css["200"]["headers"]["Cache-Control"].is_object());
        assert!(css["304"]["headers"]["ETag"].is_object());
        assert!(css["404"]["content"]["text/html"].is_object());
        assert!(
            doc["paths"]["/logout"]["post"]["responses"]["200"]["headers"]["Set-Cookie"]
                .is_object()
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
