//! What the gateway runner needs from configuration.

use std::time::Duration;

use coach_plans_config::{DiscordConfig, Secret};

/// Connection settings of the gateway runner. `Debug` never shows the token.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The bot token (`DISCORD_BOT_TOKEN`).
    pub token: Secret,
    /// A `ws://` or `wss://` URL replacing Discord's gateway (a fake Discord in tests).
    pub gateway_url: Option<String>,
    /// An `http://` or `https://` base URL replacing Discord's REST API (a fake in tests).
    pub api_url: Option<String>,
    /// Connection attempts at startup before giving up (at least 1).
    pub reconnect_attempts: u32,
    /// The first delay between startup attempts, doubled after each failure.
    pub reconnect_delay: Duration,
    /// Identify at once instead of pacing identifies 5 s apart as Discord requires. Only for a
    /// fake Discord.
    pub fast_identify: bool,
    /// On every new gateway session, read back each channel's messages since the last one
    /// processed, at most this far back, and handle the commands missed meanwhile (Discord
    /// does not replay them); zero turns this off. `discord.backfill_max_age_hours`.
    pub backfill_max_age: Duration,
}

/// A setting the runner cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSettings {
    /// No token, and not in mock mode.
    #[error(
        "no Discord bot token: set DISCORD_BOT_TOKEN (or discord.bot_token), or run in mock mode"
    )]
    MissingToken,
    /// The REST URL is not an http(s) URL.
    #[error(
        "discord.api_url / DISCORD_API_URL must be an http:// or https:// URL such as http://127.0.0.1:9002, not '{0}'"
    )]
    ApiUrl(String),
    /// The gateway URL is not a ws(s) URL.
    #[error(
        "discord.gateway_url / DISCORD_GATEWAY_URL must be a ws:// or wss:// URL such as ws://127.0.0.1:9001, not '{0}'"
    )]
    GatewayUrl(String),
}

impl GatewaySettings {
    /// Discord's own endpoints, 5 attempts starting 5 s apart, backfill up to 72 hours.
    pub fn new(token: Secret) -> Self {
        Self {
            token,
            gateway_url: None,
            api_url: None,
            reconnect_attempts: 5,
            reconnect_delay: Duration::from_secs(5),
            fast_identify: false,
            backfill_max_age: Duration::from_secs(72 * 3600),
        }
    }

    /// The settings from the `discord` configuration section.
    pub fn from_config(config: &DiscordConfig) -> Result<Self, InvalidSettings> {
        let token = config
            .bot_token
            .clone()
            .ok_or(InvalidSettings::MissingToken)?;
        let settings = Self {
            gateway_url: config.gateway_url.clone(),
            api_url: config.api_url.clone(),
            reconnect_attempts: config.reconnect_attempts,
            reconnect_delay: config.reconnect_delay,
            backfill_max_age: Duration::from_secs(u64::from(config.backfill_max_age_hours) * 3600),
            ..Self::new(token)
        };
        settings.rest_proxy()?;
        settings.gateway_proxy()?;
        Ok(settings)
    }

    /// Settings for a fake Discord at these URLs: no identify pacing, short delays.
    pub fn for_fake(token: &str, gateway_url: String, api_url: String) -> Self {
        Self {
            gateway_url: Some(gateway_url),
            api_url: Some(api_url),
            reconnect_attempts: 3,
            reconnect_delay: Duration::from_millis(50),
            fast_identify: true,
            ..Self::new(Secret::new(token))
        }
    }

    /// twilight-http's proxy: `host:port` and whether to use plain HTTP.
    pub(crate) fn rest_proxy(&self) -> Result<Option<(String, bool)>, InvalidSettings> {
        let Some(url) = self
            .api_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let invalid = || InvalidSettings::ApiUrl(url.to_owned());
        let (rest, use_http) = if let Some(rest) = strip_scheme(url, "http://") {
            (rest, true)
        } else if let Some(rest) = strip_scheme(url, "https://") {
            (rest, false)
        } else {
            return Err(invalid());
        };
        // twilight appends `/api/v10/...` itself; accept a pasted API base too.
        let rest = rest.trim_end_matches('/');
        let rest = rest
            .strip_suffix("/api/v10")
            .or_else(|| rest.strip_suffix("/api"))
            .unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
            return Err(invalid());
        }
        Ok(Some((rest.to_owned(), use_http)))
    }

    /// The base of Discord's REST API as twilight-http reaches it, without a trailing slash:
    /// `https://discord.com/api/v10`, or `discord.api_url`'s host with `/api/v10` (a fake
    /// Discord). For the requests twilight-http has no method for
    /// (`POST /attachments/refresh-urls`).
    pub fn rest_api_base(&self) -> Result<String, InvalidSettings> {
        Ok(match self.rest_proxy()? {
            None => "https://discord.com/api/v10".to_owned(),
            Some((host, true)) => format!("http://{host}/api/v10"),
            Some((host, false)) => format!("https://{host}/api/v10"),
        })
    }

    /// twilight-gateway's proxy URL: no trailing slash.
    pub(crate) fn gateway_proxy(&self) -> Result<Option<String>, InvalidSettings> {
        let Some(url) = self
            .gateway_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let host = strip_scheme(url, "ws://").or_else(|| strip_scheme(url, "wss://"));
        match host {
            Some(host)
                if !host.trim_end_matches('/').is_empty() && !host.contains([' ', '?', '#']) =>
            {
                Ok(Some(url.trim_end_matches('/').to_owned()))
            }
            _ => Err(InvalidSettings::GatewayUrl(url.to_owned())),
        }
    }
}

fn strip_scheme<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let head = url.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &url[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_api(url: &str) -> GatewaySettings {
        GatewaySettings {
            api_url: Some(url.to_owned()),
            ..GatewaySettings::new(Secret::new("t"))
        }
    }

    #[test]
    fn rest_urls_become_twilight_proxies() {
        assert_eq!(
            with_api("http://127.0.0.1:9002").rest_proxy(),
            Ok(Some(("127.0.0.1:9002".into(), true)))
        );
        assert_eq!(
            with_api("http://127.0.0.1:9002/").rest_proxy(),
            Ok(Some(("127.0.0.1:9002".into(), true)))
        );
        assert_eq!(
            with_api("HTTPS://proxy.internal/api/v10").rest_proxy(),
            Ok(Some(("proxy.internal".into(), false)))
        );
        assert_eq!(with_api("  ").rest_proxy(), Ok(None));
        for bad in [
            "127.0.0.1:9002",
            "ws://x",
            "http://",
            "http://a/b",
            "http://a b",
        ] {
            assert!(with_api(bad).rest_proxy().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rest_api_base_is_the_one_twilight_uses() {
        let base = |settings: GatewaySettings| settings.rest_api_base().unwrap_or_default();
        assert_eq!(
            base(GatewaySettings::new(Secret::new("t"))),
            "https://discord.com/api/v10"
        );
        assert_eq!(
            base(with_api("http://127.0.0.1:9002/")),
            "http://127.0.0.1:9002/api/v10"
        );
        assert_eq!(
            base(with_api("https://proxy.internal/api/v10")),
            "https://proxy.internal/api/v10"
        );
        assert!(with_api("ftp://x").rest_api_base().is_err());
    }

    #[test]
    fn gateway_urls_must_be_websocket_urls() {
        let with = |url: &str| GatewaySettings {
            gateway_url: Some(url.to_owned()),
            ..GatewaySettings::new(Secret::new("t"))
        };
        assert_eq!(
            with("ws://127.0.0.1:9001/").gateway_proxy(),
            Ok(Some("ws://127.0.0.1:9001".into()))
        );
        assert_eq!(
            with("wss://gateway.example").gateway_proxy(),
            Ok(Some("wss://gateway.example".into()))
        );
        assert!(with("http://127.0.0.1:9001").gateway_proxy().is_err());
        assert!(with("ws://").gateway_proxy().is_err());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let settings = GatewaySettings::new(Secret::new("super-secret-token"));
        assert!(!format!("{settings:?}").contains("super-secret"));
    }
}
