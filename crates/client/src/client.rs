//! The async HTTP client and its builder.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use coach_plans_model::wire::legacy::Metrics;
use coach_plans_model::wire::{ErrorBody, HealthReport, PlanPage};
use coach_plans_model::{CoachId, Plan, PlanDate, PlanId};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::cache::{Cached, Key, PlanCache};
use crate::charts::{ChartBytes, PlanChart, PlanCharts, archived_name, sha256_of};
use crate::metrics::{ClientMetrics, Counters};
use crate::outcome::{ClientError, ClientErrorKind, PlanOutcome};

/// The largest page the server gives; enough for every coach on one date.
const ALL_PLANS_LIMIT: u32 = 500;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL is not an absolute `http://` or `https://` URL.
    #[error("invalid base URL '{0}': give an absolute http:// or https:// URL")]
    BaseUrl(String),
    /// The cache capacity is zero.
    #[error("the cache capacity must be at least 1")]
    CacheCapacity,
    /// The auth token cannot be sent in an HTTP header (control characters).
    #[error("the auth token contains characters that cannot go in an HTTP header")]
    AuthToken,
    /// The HTTP stack could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
}

/// Builds a [`PlanClient`]. Every setting has a default (SPEC 7).
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    timeout: Duration,
    retries: usize,
    cache_ttl: Duration,
    miss_ttl: Duration,
    cache_capacity: usize,
    retry_min_delay: Duration,
    retry_max_delay: Duration,
    max_retry_after: Duration,
    auth_token: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("cache_ttl", &self.cache_ttl)
            .field("miss_ttl", &self.miss_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "********"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder for the server at `base_url`, such as `http://127.0.0.1:5000`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(10),
            retries: 3,
            cache_ttl: Duration::from_secs(3600),
            miss_ttl: Duration::from_secs(60),
            cache_capacity: 100,
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            auth_token: None,
        }
    }

    /// How long one attempt may take, connection included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a transient failure is retried (default 3; 0 turns retries off).
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// How long a found plan stays cached (default 3600 s; zero turns caching off).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a "not posted" answer stays cached (default 60 s), so a plan posted later is
    /// seen soon. Lookups of the server's "today" (no date given) also use this TTL, so a cached
    /// answer does not outlive the day by long.
    pub fn miss_ttl(mut self, ttl: Duration) -> Self {
        self.miss_ttl = ttl;
        self
    }

    /// How many answers the cache holds before evicting the least recently used (default 100).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The first and the longest delay between retries (default 200 ms and 5 s); the delay
    /// doubles each time, with jitter.
    pub fn retry_delays(mut self, min: Duration, max: Duration) -> Self {
        self.retry_min_delay = min;
        self.retry_max_delay = max.max(min);
        self
    }

    /// The longest `Retry-After` the client waits for (default 30 s); a server asking for a
    /// longer wait gets the failure reported at once instead.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The bearer token, when the server sets `api.auth_token`.
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// Builds the client. No request is made.
    pub fn build(self) -> Result<PlanClient, BuildError> {
        let mut base = Url::parse(&self.base_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| BuildError::BaseUrl(self.base_url.clone()))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        let capacity = NonZeroUsize::new(self.cache_capacity).ok_or(BuildError::CacheCapacity)?;
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = &self.auth_token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| BuildError::AuthToken)?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http_client = |headers| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls_config()?)
                .timeout(self.timeout)
                .default_headers(headers)
                .user_agent(concat!("coach-plans-client/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| BuildError::Http(crate::outcome::error_chain(&e)))
        };
        let http = http_client(headers)?;
        // For links to other hosts (Discord's): the token is for the API alone.
        let anonymous = http_client(reqwest::header::HeaderMap::new())?;
        Ok(PlanClient {
            inner: Arc::new(Inner {
                http,
                anonymous,
                base,
                cache: Mutex::new(PlanCache::new(capacity)),
                counters: Counters::default(),
                settings: self,
            }),
        })
    }
}

/// TLS with ring as the crypto provider and the platform's certificate verifier, given to
/// reqwest directly: a library must not install a process-wide provider behind its caller's
/// back (reqwest is built without one, so the tree has no C crypto library).
fn tls_config() -> Result<rustls::ClientConfig, BuildError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map(|builder| builder.with_no_client_auth())
        .map_err(|e| BuildError::Http(e.to_string()))
}

/// The coach-plans HTTP client: typed outcomes, an LRU + TTL cache, retries on transient
/// failures. Cheap to clone; clones share the cache and the counters.
#[derive(Clone, Debug)]
pub struct PlanClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Sends the bearer token: for the API at `base` only.
    http: reqwest::Client,
    /// Sends no token: for links to other hosts.
    anonymous: reqwest::Client,
    base: Url,
    cache: Mutex<PlanCache>,
    counters: Counters,
    settings: ClientBuilder,
}

/// What one attempt received.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
    message: Option<String>,
}

impl Answer {
    /// The error for an answer with an unexpected status.
    fn status_error(&self) -> ClientError {
        ClientError::new(ClientErrorKind::Status {
            status: self.status.as_u16(),
            message: self.message.clone(),
        })
    }

    /// The JSON body decoded when the status is one of `accept`, else the status error.
    fn json<T: DeserializeOwned>(&self, accept: &[StatusCode]) -> Result<T, ClientError> {
        if !accept.contains(&self.status) {
            return Err(self.status_error());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ClientError::with_source(ClientErrorKind::InvalidResponse, e))
    }
}

/// One failed attempt, with the server's requested wait when it gave one.
struct Failure {
    error: ClientError,
    retry_after: Option<Duration>,
}

impl PlanClient {
    /// A client for `base_url` with the default settings.
    pub fn new(base_url: impl Into<String>) -> Result<Self, BuildError> {
        ClientBuilder::new(base_url).build()
    }

    /// A builder, to change the defaults.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url)
    }

    /// The plan `coach` posted for `date` (`None`: today in the server's time zone).
    ///
    /// Answers from the cache when it can. Never fails: a server that cannot be reached after
    /// the retries gives [`PlanOutcome::Unavailable`] with the reason.
    pub async fn fetch_coach_plan(&self, coach: &CoachId, date: Option<PlanDate>) -> PlanOutcome {
        match self.cached(coach, date) {
            Ok(hit) => hit,
            Err(key) => self.fetch_uncached(key).await,
        }
    }

    /// The cached answer (a hit), or the key to ask the server for (a miss); counted either way.
    pub(crate) fn cached(
        &self,
        coach: &CoachId,
        date: Option<PlanDate>,
    ) -> Result<PlanOutcome, Key> {
        let counters = &self.inner.counters;
        Counters::bump(&counters.requests);
        let key = Key {
            coach: coach.clone(),
            date,
        };
        let Some(cached) = self.cache().get(&key, tokio::time::Instant::now()) else {
            Counters::bump(&counters.cache_misses);
            log::debug!("cache miss for {} on {}", coach, day(date));
            return Err(key);
        };
        Counters::bump(&counters.cache_hits);
        log::debug!("cache hit for {} on {}", coach, day(date));
        Ok(match cached {
            Cached::Found(plan) => PlanOutcome::Found(plan),
            Cached::NotPosted => PlanOutcome::NotPosted {
                coach: key.coach,
                date,
            },
        })
    }

    /// Asks the server and caches its answer.
    pub(crate) async fn fetch_uncached(&self, key: Key) -> PlanOutcome {
        let url = self.plans_url(Some(&key.coach), key.date, 1);
        match self.get_plan_page(url).await {
            Ok(page) => match page.plans.into_iter().next() {
                Some(plan) => {
                    let plan = Arc::new(plan);
                    self.remember(&plan, key.date);
                    PlanOutcome::Found(plan)
                }
                None => {
                    let (coach, date) = (key.coach.clone(), key.date);
                    let ttl = self.inner.settings.miss_ttl;
                    self.cache()
                        .put(key, Cached::NotPosted, ttl, tokio::time::Instant::now());
                    PlanOutcome::NotPosted { coach, date }
                }
            },
            Err(error) => PlanOutcome::Unavailable(error),
        }
    }

    /// Every live plan for `date` (`None`: the server's today), one per coach who posted, in
    /// the server's order (newest first). Each is put in the cache, so the following
    /// [`fetch_coach_plan`](Self::fetch_coach_plan) calls for those coaches are hits.
    pub async fn fetch_all_coach_plans(
        &self,
        date: Option<PlanDate>,
    ) -> Result<Vec<Arc<Plan>>, ClientError> {
        let url = self.plans_url(None, date, ALL_PLANS_LIMIT);
        let page = self.get_plan_page(url).await?;
        Ok(page
            .plans
            .into_iter()
            .map(|plan| {
                let plan = Arc::new(plan);
                self.remember(&plan, date);
                plan
            })
            .collect())
    }

    /// The server's `/health` report. A server whose database is down answers 503 with a
    /// report, which is returned as `Ok` with status `unhealthy`.
    pub async fn check_health(&self) -> Result<HealthReport, ClientError> {
        let url = self.url("health");
        self.get_json(url, &[StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE])
            .await
    }

    /// The server's `/metrics` (request counts, plans stored).
    pub async fn server_metrics(&self) -> Result<Metrics, ClientError> {
        let url = self.url("metrics");
        self.get_json(url, &[StatusCode::OK]).await
    }

    /// The charts of plan `plan` with their archive state (`GET /api/v1/plans/{id}`), fresh
    /// from the server: not cached, since a chart goes from pending to archived soon after the
    /// plan is posted. A plan that does not exist gives [`ClientErrorKind::NotFound`].
    pub async fn fetch_plan_charts(&self, plan: PlanId) -> Result<Vec<PlanChart>, ClientError> {
        let url = self.url(&format!("api/v1/plans/{plan}"));
        self.get(&self.inner.http, url, |answer| {
            if answer.status == StatusCode::NOT_FOUND {
                return Err(ClientError::new(ClientErrorKind::NotFound));
            }
            answer
                .json::<PlanCharts>(&[StatusCode::OK])
                .map(|plan| plan.charts)
        })
        .await
    }

    /// A chart image: its exact bytes and content type, from either kind of link a plan gives
    /// (the compatibility endpoints' `charts` list, or [`PlanChart::best_url`]).
    ///
    /// - An archived chart's URL (`…/api/v1/charts/{sha256}.{ext}`) is fetched from this
    ///   client's server (the base URL), whatever host the URL names, so the bearer token
    ///   never leaves for another host; the name is the content's hash, so whichever server
    ///   answers, the bytes are checked against it:
    ///   [`ClientErrorKind::Corrupt`] when they do not match.
    /// - Any other link on the base URL's origin is fetched with the token.
    /// - A link to another host (Discord's, for a chart not archived yet) is fetched
    ///   **without** the token: it is never sent anywhere but the configured server.
    ///
    /// 404 gives [`ClientErrorKind::NotFound`] (an expired Discord link answers 404 too);
    /// timeouts and retries are the client's. Nothing is cached: callers can cache by
    /// [`ChartBytes::sha256`], since an archived chart never changes.
    pub async fn fetch_chart(&self, url: &str) -> Result<ChartBytes, ClientError> {
        let invalid = || {
            ClientError::new(ClientErrorKind::InvalidUrl {
                url: coach_plans_model::shorten(url, 64),
            })
        };
        let parsed = Url::parse(url.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(invalid)?;
        let named = archived_name(&parsed);
        let (target, http) = match named {
            Some((sha256, image)) => (
                self.url(&format!("api/v1/charts/{sha256}.{}", image.extension())),
                &self.inner.http,
            ),
            None if parsed.origin() == self.inner.base.origin() => (parsed, &self.inner.http),
            None => (parsed, &self.inner.anonymous),
        };
        let expected = named.map(|(sha256, _)| sha256);
        self.get(http, target, |answer| {
            if answer.status == StatusCode::NOT_FOUND {
                return Err(ClientError::new(ClientErrorKind::NotFound));
            }
            if answer.status != StatusCode::OK {
                return Err(answer.status_error());
            }
            if let Some(expected) = expected {
                let found = sha256_of(&answer.body);
                if found != expected {
                    return Err(ClientError::new(ClientErrorKind::Corrupt {
                        expected,
                        found,
                    }));
                }
            }
            Ok(ChartBytes {
                bytes: answer.body,
                content_type: answer
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                sha256: expected,
            })
        })
        .await
    }

    /// Empties the cache and says how many entries it held.
    pub fn clear_cache(&self) -> usize {
        let dropped = self.cache().clear();
        log::debug!("cache cleared: {dropped} entries dropped");
        dropped
    }

    /// What this client (and its clones) has done so far.
    pub fn metrics(&self) -> ClientMetrics {
        let size = self.cache().len();
        self.inner.counters.snapshot(size)
    }

    /// Caches a found plan under its own date, and under "today" when that was what was asked.
    fn remember(&self, plan: &Arc<Plan>, asked: Option<PlanDate>) {
        let settings = &self.inner.settings;
        let now = tokio::time::Instant::now();
        let mut cache = self.cache();
        if asked.is_none() {
            let today = Key {
                coach: plan.coach.clone(),
                date: None,
            };
            let ttl = settings.miss_ttl.min(settings.cache_ttl);
            cache.put(today, Cached::Found(Arc::clone(plan)), ttl, now);
        }
        let dated = Key {
            coach: plan.coach.clone(),
            date: Some(plan.date),
        };
        cache.put(
            dated,
            Cached::Found(Arc::clone(plan)),
            settings.cache_ttl,
            now,
        );
    }

    fn cache(&self) -> MutexGuard<'_, PlanCache> {
        // The cache holds no invariant a panic elsewhere could break.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let joined = format!("{}{path}", url.path());
        url.set_path(&joined);
        url
    }

    fn plans_url(&self, coach: Option<&CoachId>, date: Option<PlanDate>, limit: u32) -> Url {
        let mut url = self.url("api/v1/plans");
        {
            let mut query = url.query_pairs_mut();
            if let Some(coach) = coach {
                query.append_pair("coach", coach.as_str());
            }
            match date {
                Some(date) => query.append_pair("date", &date.to_string()),
                None => query.append_pair("date", "today"),
            };
            query.append_pair("limit", &limit.to_string());
        }
        url
    }

    /// GETs a page of plans. A chart's stored archive record naming a status this client does
    /// not know (a newer server) is left out rather than failing the page.
    async fn get_plan_page(&self, url: Url) -> Result<PlanPage, ClientError> {
        self.get(&self.inner.http, url, |answer| {
            let mut page: serde_json::Value = answer.json(&[StatusCode::OK])?;
            crate::charts::forget_unknown_archive_records(&mut page);
            serde_json::from_value(page)
                .map_err(|e| ClientError::with_source(ClientErrorKind::InvalidResponse, e))
        })
        .await
    }

    /// GETs `url` from the API and decodes a JSON body answered with one of `accept`.
    async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        accept: &[StatusCode],
    ) -> Result<T, ClientError> {
        self.get(&self.inner.http, url, |answer| answer.json(accept))
            .await
    }

    /// GETs `url` with `http` and reads the answer with `read`, retrying transient failures
    /// with exponential backoff and jitter (honouring `Retry-After`).
    async fn get<T>(
        &self,
        http: &reqwest::Client,
        url: Url,
        read: impl Fn(Answer) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let settings = &self.inner.settings;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(settings.retry_min_delay)
            .with_max_delay(settings.retry_max_delay)
            .with_max_times(settings.retries)
            .with_jitter();
        let max_retry_after = settings.max_retry_after;
        let result = (|| self.attempt(http, &url, &read))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|failure: &Failure| failure.error.is_transient())
            .adjust(move |failure, next| match failure.retry_after {
                Some(wait) if wait > max_retry_after => None,
                Some(wait) => next.map(|_| wait),
                None => next,
            })
            .notify(|failure, wait| {
                Counters::bump(&self.inner.counters.retries);
                log::debug!(
                    "GET {} failed ({}); retrying in {wait:?}",
                    url.path(),
                    failure.error.chain()
                );
            })
            .await;
        match result {
            Ok(value) => {
                Counters::bump(&self.inner.counters.api_successes);
                Ok(value)
            }
            Err(failure) => {
                Counters::bump(&self.inner.counters.errors);
                log::warn!("GET {} failed: {}", url.path(), failure.error.chain());
                Err(failure.error)
            }
        }
    }

    async fn attempt<T>(
        &self,
        http: &reqwest::Client,
        url: &Url,
        read: &impl Fn(Answer) -> Result<T, ClientError>,
    ) -> Result<T, Failure> {
        let settings = &self.inner.settings;
        let started = Instant::now();
        let transport = |error: reqwest::Error| Failure {
            error: {
                let kind = if error.is_timeout() {
                    ClientErrorKind::Timeout(settings.timeout)
                } else if error.is_connect() {
                    ClientErrorKind::Connect {
                        url: if url.origin() == self.inner.base.origin() {
                            self.inner.base.to_string()
                        } else {
                            url.origin().ascii_serialization()
                        },
                    }
                } else {
                    ClientErrorKind::Transport
                };
                ClientError::with_source(kind, error)
            },
            retry_after: None,
        };
        let response = http.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = Vec::from(response.bytes().await.map_err(transport)?);
        log::debug!(
            "GET {} -> {} in {:?}",
            url.path(),
            status.as_u16(),
            started.elapsed()
        );
        let message = if status.is_success() {
            None
        } else {
            serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .map(|body| body.message.unwrap_or(body.error))
        };
        let answer = Answer {
            status,
            content_type,
            body,
            message,
        };
        read(answer).map_err(|error| Failure { error, retry_after })
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by coach-plans and is ignored).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn day(date: Option<PlanDate>) -> String {
    date.map_or_else(|| "today".to_owned(), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_a_client_installs_no_process_wide_tls_provider() {
        assert!(PlanClient::new("https://plans.example.com").is_ok());
        assert!(
            rustls::crypto::CryptoProvider::get_default().is_none(),
            "the application's choice of provider is left to the application"
        );
    }

    #[test]
    fn bad_base_urls_and_settings_are_refused_at_build() {
        for url in ["", "not a url", "ftp://x", "/relative", "http://"] {
            assert!(
                matches!(ClientBuilder::new(url).build(), Err(BuildError::BaseUrl(_))),
                "{url:?}"
            );
        }
        assert!(matches!(
            ClientBuilder::new("http://x").cache_capacity(0).build(),
            Err(BuildError::CacheCapacity)
        ));
        assert!(matches!(
            ClientBuilder::new("http://x").auth_token("a\nb").build(),
            Err(BuildError::AuthToken)
        ));
    }

    #[test]
    fn urls_keep_a_path_prefix_and_encode_the_query() {
        let client = PlanClient::new("http://host:5000/coach-plans").unwrap();
        let url = client.plans_url(
            Some(&CoachId::parse("d").unwrap()),
            PlanDate::from_ymd(2024, 5, 10),
            1,
        );
        assert_eq!(
            url.as_str(),
            "http://host:5000/coach-plans/api/v1/plans?coach=d&date=2024-05-10&limit=1"
        );
        assert_eq!(
            client.url("health").as_str(),
            "http://host:5000/coach-plans/health"
        );
        let today = client.plans_url(None, None, 500);
        assert_eq!(today.query(), Some("date=today&limit=500"));
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let builder = ClientBuilder::new("http://x").auth_token("s3cret-token");
        assert!(!format!("{builder:?}").contains("s3cret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("s3cret"));
    }
}
