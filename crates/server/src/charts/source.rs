//! The archiver's [`ChartSource`] on the real network: [`ChartFetcher`] for downloads, Discord's
//! `refresh-urls` for expired links.

use std::io::Write;

use coach_plans_config::Secret;
use coach_plans_model::ImageKind;
use coach_plans_service::{BoxFuture, ChartSource, FetchFailure};

use super::{ChartFetcher, FetchError, redact};

/// Where expired links are refreshed: Discord's REST base and the bot token.
#[derive(Debug, Clone)]
pub(crate) struct Refresher {
    /// The REST base with its version (`https://discord.com/api/v10`, or a fake Discord's).
    pub(crate) api_base: String,
    /// The bot token the request is authorized with.
    pub(crate) token: Secret,
}

/// Downloads charts under `charts.*`'s rules and refreshes expired links through Discord when
/// there is a Discord to ask (not in mock mode).
#[derive(Debug, Clone)]
pub(crate) struct NetworkChartSource {
    fetcher: ChartFetcher,
    refresher: Option<Refresher>,
    /// Why an expired link cannot be refreshed when there is no refresher.
    no_refresh: &'static str,
}

impl NetworkChartSource {
    /// A source downloading with `fetcher` and refreshing through `refresher`, if any.
    pub(crate) fn new(fetcher: ChartFetcher, refresher: Option<Refresher>) -> Self {
        Self {
            fetcher,
            refresher,
            no_refresh: "the link has expired and there is no Discord to ask for a fresh one (mock mode)",
        }
    }

    /// Says `reason` when an expired link cannot be refreshed (there is no refresher).
    pub(crate) fn no_refresh_because(mut self, reason: &'static str) -> Self {
        self.no_refresh = reason;
        self
    }
}

impl ChartSource for NetworkChartSource {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        sink: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<ImageKind, FetchFailure>> {
        Box::pin(async move {
            self.fetcher
                .fetch_into(url, sink)
                .await
                .map(|fetched| fetched.kind)
                .map_err(|error| failure(url, &error))
        })
    }

    fn refresh<'a>(
        &'a self,
        urls: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, FetchFailure>> {
        Box::pin(async move {
            let Some(refresher) = &self.refresher else {
                return Err(FetchFailure::failed(self.no_refresh));
            };
            self.fetcher
                .refresh_urls(&refresher.api_base, &refresher.token, urls)
                .await
                .map_err(|error| FetchFailure::failed(error.to_string()))
        })
    }
}

/// The archiver's failure for `error` on `url`: where (without the link's signature) and why.
fn failure(url: &str, error: &FetchError) -> FetchFailure {
    let reason = format!("{}: {error}", redact(url));
    if error.is_expired() {
        FetchFailure::expired(reason)
    } else {
        FetchFailure::failed(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_place_without_the_signature_and_says_when_the_link_expired() {
        let url = "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=secret";
        let expired = failure(url, &FetchError::Status(404));
        assert!(expired.expired);
        assert!(
            expired
                .reason
                .starts_with("cdn.discordapp.com/attachments/1/2/a.png")
        );
        assert!(!expired.reason.contains("secret"), "{}", expired.reason);
        assert!(!failure(url, &FetchError::Timeout).expired);
    }
}
