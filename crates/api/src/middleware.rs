//! The one middleware every request passes: request id, CORS, size limits, metrics and the
//! access log line. One layer instead of five keeps the per-request cost small. The bearer
//! token and OPTIONS are answered after routing, by the route that matched (see `access`).

use std::borrow::Cow;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{Error, ResponseError, web};
use coach_plans_model::shorten;

use crate::error::{ApiError, ECHO_CHARS};
use crate::request_id::{LogContext, REQUEST_ID, RequestId};
use crate::state::AppState;

/// Wraps the app; see the module docs.
pub(crate) struct Middleware {
    pub(crate) state: web::Data<AppState>,
}

impl<S, B> Transform<S, ServiceRequest> for Middleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type InitError = ();
    type Transform = MiddlewareService<S>;
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MiddlewareService {
            service,
            state: self.state.clone(),
        }))
    }
}

pub(crate) struct MiddlewareService<S> {
    service: S,
    state: web::Data<AppState>,
}

impl<S, B> Service<ServiceRequest> for MiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = MiddlewareFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let request_id = RequestId::of_request(req.headers());
        let _context = LogContext::enter(request_id);
        let allow_origin = self.state.settings.allowed_origin(req.headers());
        let step = match too_large(&req) {
            Some(refusal) => Step::Done(Some(req.into_response(refusal.error_response()))),
            None => Step::Inner(Box::pin(self.service.call(req))),
        };
        MiddlewareFuture {
            step,
            request_id,
            allow_origin,
            started,
            state: self.state.clone(),
        }
    }
}

/// The longest request URI the API reads, in bytes. actix-http itself refuses URIs over
/// 64 KiB, but with an empty 400; below that, the API answers in JSON with a request id.
/// Every URI of this API fits in a few hundred bytes.
const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) and header fields the API reads. actix-http
/// refuses heads over 128 KiB or 96 fields with an empty 431; below that, the API answers.
const MAX_HEADER_BYTES: usize = 32 * 1024;
const MAX_HEADER_FIELDS: usize = 64;

/// Why a request is too large for the API, if it is.
fn too_large(req: &ServiceRequest) -> Option<ApiError> {
    let uri = req.uri();
    let uri_bytes = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if uri_bytes > MAX_URI_BYTES {
        return Some(ApiError::UriTooLong(uri_bytes, MAX_URI_BYTES));
    }
    let (mut fields, mut bytes) = (0, 0);
    for (name, value) in req.headers() {
        fields += 1;
        bytes += name.as_str().len() + value.len();
    }
    if fields > MAX_HEADER_FIELDS {
        return Some(ApiError::HeadersTooLarge(format!(
            "{fields} fields; the API reads at most {MAX_HEADER_FIELDS}"
        )));
    }
    if bytes > MAX_HEADER_BYTES {
        return Some(ApiError::HeadersTooLarge(format!(
            "{bytes} bytes; the API reads at most {MAX_HEADER_BYTES}"
        )));
    }
    None
}

enum Step<F> {
    Inner(Pin<Box<F>>),
    Done(Option<ServiceResponse>),
}

pub(crate) struct MiddlewareFuture<F> {
    step: Step<F>,
    request_id: RequestId,
    allow_origin: Option<HeaderValue>,
    started: Instant,
    state: web::Data<AppState>,
}

impl<F, B> Future for MiddlewareFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Log lines written while the handler runs carry the request id, whichever request
        // this worker thread polled before.
        let _context = LogContext::enter(this.request_id);
        let mut response = match &mut this.step {
            Step::Inner(inner) => match inner.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(response)) => response.map_into_left_body(),
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            },
            Step::Done(response) => match response.take() {
                Some(response) => response.map_into_right_body(),
                None => {
                    return Poll::Ready(Err(
                        ApiError::Internal("response polled twice".into()).into()
                    ));
                }
            },
        };
        let elapsed = this.started.elapsed();
        let headers = response.headers_mut();
        headers.insert(REQUEST_ID, this.request_id.header_value());
        if let Some(origin) = &this.allow_origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("X-Request-ID, ETag"),
            );
            if origin != "*" {
                headers.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
        let status = response.status().as_u16();
        let request = response.request();
        this.state
            .metrics
            .record(request.match_name(), status, elapsed);
        // Formatted by the log sink only if the level lets it through (`log::info!` checks).
        let query = request.query_string();
        // Whole microseconds (a u64 formats faster than the u128 of `as_nanos`).
        let micros =
            u64::try_from(elapsed.as_nanos().saturating_add(500) / 1000).unwrap_or(u64::MAX);
        log::info!(
            target: ACCESS_TARGET,
            "{} {}{}{} {status} {}.{:03}ms",
            request.method(),
            echoed(request.path()),
            if query.is_empty() { "" } else { "?" },
            echoed(query),
            micros / 1000,
            micros % 1000,
        );
        Poll::Ready(Ok(response))
    }
}

/// `text` as the access line echoes it: cut by [`shorten`] beyond [`ECHO_CHARS`], borrowed
/// without a copy otherwise (nearly every path and query).
fn echoed(text: &str) -> Cow<'_, str> {
    // At most ECHO_CHARS bytes is at most ECHO_CHARS characters: nothing to cut.
    if text.len() <= ECHO_CHARS {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(shorten(text, ECHO_CHARS))
    }
}

/// The log target of the one access line per request.
pub const ACCESS_TARGET: &str = "coach_plans::access";
