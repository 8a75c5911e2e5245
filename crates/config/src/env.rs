//! Environment overrides, read through envy under the Python version's variable names.
//!
//! Every value is read as text and converted here, so an error can name both the variable and
//! the setting it overrides. An empty value counts as not set.

use std::collections::HashMap;
use std::str::FromStr;

use serde::Deserialize;

use crate::error::ConfigError;

/// The environment variables we read (lowercased by envy).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnvConfig {
    pub(crate) discord_bot_token: Option<String>,
    pub(crate) command_prefix: Option<String>,
    pub(crate) reconnect_attempts: Option<String>,
    pub(crate) reconnect_delay_seconds: Option<String>,
    pub(crate) discord_gateway_url: Option<String>,
    pub(crate) discord_api_url: Option<String>,
    pub(crate) database_path: Option<String>,
    pub(crate) connection_timeout: Option<String>,
    pub(crate) database_pool_size: Option<String>,
    pub(crate) database_retry_max_delay: Option<String>,
    pub(crate) state_directory: Option<String>,
    pub(crate) api_host: Option<String>,
    pub(crate) api_port: Option<String>,
    pub(crate) api_auth_token: Option<String>,
    pub(crate) log_level: Option<String>,
    pub(crate) log_file: Option<String>,
    pub(crate) log_max_size_mb: Option<String>,
    pub(crate) log_backup_count: Option<String>,
    pub(crate) log_format: Option<String>,
    pub(crate) cache_ttl_seconds: Option<String>,
    pub(crate) max_cache_size: Option<String>,
    pub(crate) mock_mode: Option<String>,
    pub(crate) mock_seed_days: Option<String>,
    pub(crate) plans_timezone: Option<String>,
    pub(crate) max_chart_attachments: Option<String>,
}

impl EnvConfig {
    /// Reads our variables from `env`, ignoring every other and every empty value.
    pub(crate) fn read(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let ours = env
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()));
        envy::from_iter(ours).map_err(|e| ConfigError::Invalid {
            key: "environment",
            env: None,
            message: e.to_string(),
        })
    }
}

/// A variable's value converted to `T`, with `expected` describing valid values.
pub(crate) fn parsed<T: FromStr>(
    value: &Option<String>,
    key: &'static str,
    expected: &str,
) -> Result<Option<T>, ConfigError> {
    value
        .as_deref()
        .map(|raw| {
            raw.trim().parse::<T>().map_err(|_| {
                ConfigError::invalid(key, format!("'{}' is not {expected}", shorten(raw)))
            })
        })
        .transpose()
}

/// A yes/no variable: true, 1, yes, on / false, 0, no, off (any case).
pub(crate) fn flag(value: &Option<String>, key: &'static str) -> Result<Option<bool>, ConfigError> {
    value
        .as_deref()
        .map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::invalid(
                key,
                format!("'{}' is not true/1/yes or false/0/no", shorten(raw)),
            )),
        })
        .transpose()
}

/// User input as echoed in an error: at most 64 characters.
pub(crate) fn shorten(input: &str) -> String {
    match input.char_indices().nth(64) {
        None => input.to_owned(),
        Some((cut, _)) => format!("{}…", &input[..cut]),
    }
}
