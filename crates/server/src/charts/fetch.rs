//! Downloading one chart image without trusting the server that serves it: only from the
//! allowed hosts, over https (plain http only on loopback, for a fake Discord), redirects only
//! within the same host and port, at most `charts.max_bytes` streamed straight into the
//! caller's sink, and only bytes that really are PNG, JPEG, GIF or WebP. Also asks Discord for
//! fresh links to expired attachments (`POST /attachments/refresh-urls`).
//!
//! Discord's CDN links carry a signature in their query (`?ex=&is=&hm=`): no message here ever
//! shows a query; [`redact`] gives the `host/path` to log.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use coach_plans_config::{ChartHost, ChartsConfig, Secret};
use coach_plans_model::ImageKind;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use serde::{Deserialize, Serialize};

/// Redirects followed (same host and port only) before giving up.
const MAX_REDIRECTS: usize = 3;

/// Discord takes at most this many links per `refresh-urls` call.
const REFRESH_BATCH: usize = 50;

/// Bytes needed to tell the image formats apart (WebP's `RIFF????WEBP`).
const SNIFF_LEN: usize = 12;

/// What Discord wants in a bot's User-Agent: `DiscordBot ($url, $version)`.
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/coach-plans/coach-plans, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// A chart written to the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Bytes written, all of the image.
    pub(crate) bytes: u64,
    /// What the bytes are.
    pub(crate) kind: ImageKind,
}

/// Why a chart was not downloaded, or links not refreshed. Messages never show a URL's query
/// or the bot token; the caller names the chart with [`redact`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// Not an absolute http(s) URL.
    #[error("'{url}' is not an http:// or https:// URL")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
    },
    /// The host (and port) is not in `charts.allowed_hosts`.
    #[error("{host} is not an allowed chart host (charts.allowed_hosts / CHART_ALLOWED_HOSTS)")]
    HostNotAllowed {
        /// `host[:port]` as the URL has it.
        host: String,
    },
    /// Plain http to a host that is not loopback.
    #[error("refusing plain http for {url}: charts come over https (http only from loopback)")]
    InsecureScheme {
        /// The URL, redacted.
        url: String,
    },
    /// A redirect to another host or port.
    #[error("the chart server redirected to another host, {to_host}; not followed")]
    Redirect {
        /// `host:port` of the redirect's target.
        to_host: String,
    },
    /// More same-host redirects than allowed.
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    /// An answer other than 2xx (or a redirect without a usable Location).
    #[error("the chart server answered {0}")]
    Status(u16),
    /// The image is larger than `charts.max_bytes`.
    #[error("the image is larger than {limit} bytes (charts.max_bytes / CHART_MAX_BYTES)")]
    TooLarge {
        /// `charts.max_bytes`.
        limit: u64,
    },
    /// The bytes are not PNG, JPEG, GIF or WebP, whatever Content-Type claimed.
    #[error("the file is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    /// The body ended early (the connection was cut).
    #[error("the download was cut off after {received} bytes{}", expected.map(|n| format!(" of {n}")).unwrap_or_default())]
    Truncated {
        /// Bytes received.
        received: u64,
        /// What Content-Length announced, if it did.
        expected: Option<u64>,
    },
    /// No complete answer within the timeout.
    #[error("the server did not answer in time")]
    Timeout,
    /// The server could not be reached, or the exchange failed.
    #[error("request failed: {0}")]
    Request(String),
    /// The sink refused the bytes.
    #[error("cannot write the chart: {0}")]
    Sink(#[source] std::io::Error),
    /// Discord refused `refresh-urls`.
    #[error("Discord refused to refresh attachment links: {status}{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    RefreshRefused {
        /// The HTTP status.
        status: u16,
        /// Discord's own `message`, if it gave one.
        message: String,
    },
    /// Discord's answer to `refresh-urls` was not what it documents.
    #[error("unexpected answer to refresh-urls: {0}")]
    RefreshAnswer(String),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot set up the chart downloader: {0}")]
    Setup(String),
}

impl FetchError {
    /// Whether the link itself has expired (Discord answers 404, or 403/410 elsewhere): ask
    /// Discord for a refreshed link rather than retrying this one.
    pub(crate) fn is_expired(&self) -> bool {
        matches!(self, Self::Status(404 | 403 | 410))
    }
}

/// How patient the downloader is; tests shorten these.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchOptions {
    /// The whole request, body included.
    pub(crate) timeout: Duration,
    /// Connecting.
    pub(crate) connect_timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Downloads chart images under `charts.*`'s rules. Holds one HTTP client; share it.
#[derive(Debug, Clone)]
pub(crate) struct ChartFetcher {
    http: reqwest::Client,
    allowed_hosts: Vec<ChartHost>,
    max_bytes: u64,
}

impl ChartFetcher {
    /// A downloader for `config` with the default timeouts (30 s in all, 10 s to connect).
    pub(crate) fn new(config: &ChartsConfig) -> Result<Self, FetchError> {
        Self::with_options(config, FetchOptions::default())
    }

    /// A downloader for `config` with these timeouts.
    pub(crate) fn with_options(
        config: &ChartsConfig,
        options: FetchOptions,
    ) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            // Redirects are checked and followed by hand: only within the same host and port.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| FetchError::Setup(error_chain(&e.without_url())))?;
        Ok(Self {
            http,
            allowed_hosts: config.allowed_hosts.clone(),
            max_bytes: config.max_bytes,
        })
    }

    /// Downloads the image at `url` into `sink`, chunk by chunk, and says what it was. On an
    /// error the sink may hold part of the body: write to a temporary file and drop it.
    pub(crate) async fn fetch_into(
        &self,
        url: &str,
        sink: &mut (dyn Write + Send),
    ) -> Result<Fetched, FetchError> {
        let mut url =
            Url::parse(url.trim()).map_err(|_| FetchError::InvalidUrl { url: redact(url) })?;
        let mut redirects = 0;
        loop {
            self.check(&url)?;
            let response = self
                .http
                .get(url.clone())
                .send()
                .await
                .map_err(request_error)?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(LOCATION)
            {
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|location| url.join(location).ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                if !same_host_and_port(&url, &next) {
                    // With the port always: https to http on the same host is another port.
                    return Err(FetchError::Redirect {
                        to_host: format!(
                            "{}:{}",
                            next.host_str().unwrap_or_default(),
                            next.port_or_known_default().unwrap_or_default()
                        ),
                    });
                }
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            return self.stream(response, sink).await;
        }
    }

    /// The URL may be fetched: http(s), an allowed host and port, https unless loopback.
    fn check(&self, url: &Url) -> Result<(), FetchError> {
        let (Some(host), Some(port), Some(default_port)) = (
            url.host_str(),
            url.port_or_known_default(),
            default_port(url.scheme()),
        ) else {
            return Err(FetchError::InvalidUrl {
                url: redact(url.as_str()),
            });
        };
        if !self
            .allowed_hosts
            .iter()
            .any(|allowed| allowed.allows(host, port, default_port))
        {
            return Err(FetchError::HostNotAllowed {
                host: host_and_port(url),
            });
        }
        if url.scheme() == "http" && !is_loopback(url) {
            return Err(FetchError::InsecureScheme {
                url: redact(url.as_str()),
            });
        }
        Ok(())
    }

    /// Streams a 2xx body into the sink within the size limit, once its first bytes are an
    /// image's: nothing reaches the sink before that.
    async fn stream(
        &self,
        mut response: reqwest::Response,
        sink: &mut (dyn Write + Send),
    ) -> Result<Fetched, FetchError> {
        let limit = self.max_bytes;
        let expected = response.content_length();
        if expected.is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut kind = None;
        let mut received: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(error) if error.is_timeout() => return Err(FetchError::Timeout),
                Err(_) => return Err(FetchError::Truncated { received, expected }),
            };
            received = received.saturating_add(chunk.len() as u64);
            if received > limit {
                return Err(FetchError::TooLarge { limit });
            }
            if kind.is_some() {
                sink.write_all(&chunk).map_err(FetchError::Sink)?;
                continue;
            }
            head.extend_from_slice(&chunk);
            if head.len() >= SNIFF_LEN {
                kind = Some(ImageKind::from_signature(&head).ok_or(FetchError::NotAnImage)?);
                sink.write_all(&head).map_err(FetchError::Sink)?;
                head = Vec::new();
            }
        }
        if expected.is_some_and(|length| received < length) {
            return Err(FetchError::Truncated { received, expected });
        }
        let kind = match kind {
            Some(kind) => kind,
            // A body shorter than SNIFF_LEN (a tiny GIF, say); an empty one is no image.
            None => {
                let kind = ImageKind::from_signature(&head).ok_or(FetchError::NotAnImage)?;
                sink.write_all(&head).map_err(FetchError::Sink)?;
                kind
            }
        };
        sink.flush().map_err(FetchError::Sink)?;
        Ok(Fetched {
            bytes: received,
            kind,
        })
    }

    /// Asks Discord for fresh links to `urls` (`POST {api_base}/attachments/refresh-urls`, at
    /// most 50 links per call, so several calls for more): `(original, refreshed)` pairs, as
    /// Discord gives them. `api_base` is the REST base with its version
    /// ([`coach_plans_bot::GatewaySettings::rest_api_base`]).
    pub(crate) async fn refresh_urls(
        &self,
        api_base: &str,
        bot_token: &Secret,
        urls: &[String],
    ) -> Result<Vec<(String, String)>, FetchError> {
        let endpoint = format!(
            "{}/attachments/refresh-urls",
            api_base.trim_end_matches('/')
        );
        let token = bot_token.expose();
        let token = token.strip_prefix("Bot ").unwrap_or(token);
        let mut authorization = HeaderValue::from_str(&format!("Bot {token}"))
            .map_err(|_| FetchError::Setup("the bot token is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        let mut pairs = Vec::with_capacity(urls.len());
        for batch in urls.chunks(REFRESH_BATCH) {
            let body = serde_json::to_vec(&RefreshRequest {
                attachment_urls: batch,
            })
            .map_err(|e| FetchError::RefreshAnswer(e.to_string()))?;
            let response = self
                .http
                .post(endpoint.as_str())
                .header(AUTHORIZATION, authorization.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(request_error)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(request_error)?;
            if !status.is_success() {
                let message = serde_json::from_slice::<DiscordError>(&bytes)
                    .map(|error| match token {
                        "" => shorten(&error.message),
                        token => shorten(&error.message.replace(token, "***")),
                    })
                    .unwrap_or_default();
                return Err(FetchError::RefreshRefused {
                    status: status.as_u16(),
                    message,
                });
            }
            let answer: RefreshAnswer = serde_json::from_slice(&bytes)
                .map_err(|e| FetchError::RefreshAnswer(e.to_string()))?;
            pairs.extend(
                answer
                    .refreshed_urls
                    .into_iter()
                    .map(|pair| (pair.original, pair.refreshed)),
            );
        }
        Ok(pairs)
    }
}

#[derive(Serialize)]
struct RefreshRequest<'a> {
    attachment_urls: &'a [String],
}

#[derive(Deserialize)]
struct RefreshAnswer {
    refreshed_urls: Vec<RefreshedUrl>,
}

#[derive(Deserialize)]
struct RefreshedUrl {
    original: String,
    refreshed: String,
}

#[derive(Deserialize)]
struct DiscordError {
    #[serde(default)]
    message: String,
}

/// A URL as it may be logged: `host[:port]/path`, without scheme, user, query or fragment
/// (Discord's CDN signs its links in the query).
pub(crate) fn redact(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(parsed) if parsed.has_host() => {
            format!("{}{}", host_and_port(&parsed), parsed.path())
        }
        _ => {
            // Not a URL: keep what comes before any query or fragment, and after any user.
            let text = url.trim();
            let text = text.split(['?', '#']).next().unwrap_or_default();
            let text = text.split_once("://").map_or(text, |(_, rest)| rest);
            let text = text.rsplit_once('@').map_or(text, |(_, rest)| rest);
            shorten(text)
        }
    }
}

/// At most 200 characters of text from elsewhere, for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(200) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// `host` or `host:port` (a port other than the scheme's default), IPv6 in brackets.
fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn same_host_and_port(a: &Url, b: &Url) -> bool {
    a.host_str()
        .zip(b.host_str())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && a.port_or_known_default() == b.port_or_known_default()
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// A loopback IP address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A failed request as a [`FetchError`], without the URL reqwest would print.
fn request_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Request(error_chain(&error.without_url()))
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// TLS with ring and the platform's certificate verifier, given to reqwest directly (reqwest
/// is built without a provider of its own), as coach-plans-client does.
fn tls_config() -> Result<rustls::ClientConfig, FetchError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map(|builder| builder.with_no_client_auth())
        .map_err(|e| FetchError::Setup(e.to_string()))
}

#[cfg(test)]
mod tests;
