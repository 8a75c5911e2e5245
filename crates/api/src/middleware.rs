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
        // Built only if the level lets it through (the check `log::info!` itself makes first).
        if log::Level::Info <= log::max_level() {
            log_access(request, status, elapsed);
        }
        Poll::Ready(Ok(response))
    }
}

/// Logs the access line of a request: `GET /path?query 200 0.123ms`. The line is assembled in
/// a buffer kept per thread and handed to the logger whole: `format_args!` with five arguments,
/// two of them zero-padded, cost more than the rest of the line's way to the log file (issue 11).
fn log_access(request: &actix_web::HttpRequest, status: u16, elapsed: std::time::Duration) {
    thread_local! {
        static LINE: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(256));
    }
    // Whole microseconds (a u64 formats faster than the u128 of `as_nanos`).
    let micros = u64::try_from(elapsed.as_nanos().saturating_add(500) / 1000).unwrap_or(u64::MAX);
    let query = request.query_string();
    LINE.with(|cell| {
        // A logger that logs while writing this line finds the buffer taken: it gets its own.
        let mut own = String::new();
        let mut borrowed = cell.try_borrow_mut();
        let line = match &mut borrowed {
            Ok(line) => &mut **line,
            Err(_) => &mut own,
        };
        line.clear();
        access_line(
            line,
            request.method().as_str(),
            request.path(),
            query,
            status,
            micros,
        );
        log::info!(target: ACCESS_TARGET, "{}", line.as_str());
        if line.capacity() > 4096 {
            *line = String::with_capacity(256);
        }
    });
}

/// Appends the access line's message to `line`.
fn access_line(line: &mut String, method: &str, path: &str, query: &str, status: u16, micros: u64) {
    line.push_str(method);
    line.push(' ');
    line.push_str(&echoed(path));
    if !query.is_empty() {
        line.push('?');
        line.push_str(&echoed(query));
    }
    line.push(' ');
    push_decimal(line, u64::from(status), 1);
    line.push(' ');
    push_decimal(line, micros / 1000, 1);
    line.push('.');
    push_decimal(line, micros % 1000, 3);
    line.push_str("ms");
}

/// Appends `n` in decimal, zero-padded to at least `width` digits.
fn push_decimal(line: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while n > 0 || digits.len() - start < width {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // Only ASCII digits were written.
    line.push_str(std::str::from_utf8(&digits[start..]).unwrap_or("?"));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(method: &str, path: &str, query: &str, status: u16, micros: u64) -> String {
        let mut line = String::new();
        access_line(&mut line, method, path, query, status, micros);
        line
    }

    #[test]
    fn access_lines_read_as_before() {
        // What `"{} {}{}{} {status} {}.{:03}ms"` wrote.
        for (method, path, query, status, micros) in [
            (
                "GET",
                "/api/coach-plans/",
                "coach=d&date=2024-05-10",
                200,
                123,
            ),
            ("HEAD", "/health", "", 404, 0),
            ("GET", "/", "", 503, 1_234_567),
            ("OPTIONS", "/x", "a=%0A", 204, 1000),
            ("GET", "/y", "", 200, u64::MAX),
        ] {
            let before = format!(
                "{method} {path}{}{query} {status} {}.{:03}ms",
                if query.is_empty() { "" } else { "?" },
                micros / 1000,
                micros % 1000,
            );
            assert_eq!(line(method, path, query, status, micros), before);
        }
    }

    #[test]
    fn long_paths_and_queries_are_cut() {
        let long = "a".repeat(ECHO_CHARS * 3);
        let written = line("GET", &format!("/{long}"), &long, 414, 5);
        assert!(written.len() < 2 * ECHO_CHARS + 40, "{written}");
        assert!(written.ends_with(" 414 0.005ms"), "{written}");
    }
}
