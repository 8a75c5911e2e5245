//! Merging defaults, the file and the environment, then validating the result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use coach_plans_model::{Coach, CoachId, Roster};

use crate::env::{EnvConfig, flag, parsed, shorten};
use crate::error::ConfigError;
use crate::file::{self, FileConfig};
use crate::{
    ApiConfig, CacheConfig, Config, DatabaseConfig, DiscordConfig, LogFormat, LogLevel,
    LoggingConfig, MockConfig, PlansConfig, Secret,
};

/// Where to load the configuration from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A YAML file (`--config`); defaults and the environment alone when `None`.
    pub file: Option<PathBuf>,
    /// The `--mock` flag: mock mode on whatever the file and environment say.
    pub mock: bool,
    /// The command does not connect to Discord (`migrate`, `import-legacy`, `simulate`), so
    /// the bot token is not required.
    pub offline: bool,
}

impl Config {
    /// Loads defaults < the file < the process environment, and validates the result.
    pub fn load(options: &LoadOptions) -> Result<Self, ConfigError> {
        let text = match &options.file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let label = options
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // vars_os, not vars: one non-UTF-8 variable anywhere must not stop the server.
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::build(
            text.as_deref().map(|t| (label.as_str(), t)),
            env,
            options.mock,
            !options.offline,
        )
    }

    /// Builds the configuration from a file's text (with a label for messages), environment
    /// pairs and the `--mock` flag. Tests use this instead of the process environment.
    pub fn from_sources(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        mock: bool,
    ) -> Result<Self, ConfigError> {
        Self::build(file, env, mock, true)
    }

    fn build(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        mock: bool,
        needs_token: bool,
    ) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = env.into_iter().collect();
        let file = match file {
            Some((label, text)) => file::parse(label, text, &env)?,
            None => FileConfig::default(),
        };
        let overrides = EnvConfig::read(&env)?;
        let config = merge(file, &overrides, mock)?;
        config.validate(needs_token)?;
        Ok(config)
    }

    /// The coach roster.
    pub fn roster(&self) -> Roster {
        // Validation built this roster once already, so it cannot fail here.
        Roster::new(self.coaches.clone()).unwrap_or_default()
    }

    fn validate(&self, needs_token: bool) -> Result<(), ConfigError> {
        let invalid = |key, env, message: String| Err(ConfigError::Invalid { key, env, message });
        if needs_token && !self.mock.enabled && self.discord.bot_token.is_none() {
            return Err(ConfigError::MissingToken);
        }
        let prefix = &self.discord.command_prefix;
        if prefix.is_empty()
            || prefix.chars().count() > 16
            || prefix.chars().any(char::is_whitespace)
        {
            return invalid(
                "discord.command_prefix",
                Some("COMMAND_PREFIX"),
                "use 1 to 16 characters without spaces, like !".into(),
            );
        }
        if let Some(url) = &self.discord.gateway_url
            && !(url.starts_with("ws://") || url.starts_with("wss://"))
        {
            return invalid(
                "discord.gateway_url",
                Some("DISCORD_GATEWAY_URL"),
                format!("'{}' is not a ws:// or wss:// URL", shorten(url)),
            );
        }
        if let Some(url) = &self.discord.api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(
                "discord.api_url",
                Some("DISCORD_API_URL"),
                format!("'{}' is not an http:// or https:// URL", shorten(url)),
            );
        }
        if self.discord.reconnect_attempts == 0 {
            return invalid(
                "discord.reconnect_attempts",
                Some("RECONNECT_ATTEMPTS"),
                "must be at least 1".into(),
            );
        }
        if self.database.path.as_os_str().is_empty() {
            return invalid(
                "database.path",
                Some("DATABASE_PATH"),
                "must not be empty".into(),
            );
        }
        if self.database.connection_timeout.is_zero() {
            return invalid(
                "database.connection_timeout",
                Some("CONNECTION_TIMEOUT"),
                "must be more than 0 seconds".into(),
            );
        }
        if self.database.retry_max_delay.is_zero() {
            return invalid(
                "database.retry_max_delay",
                Some("DATABASE_RETRY_MAX_DELAY"),
                "must be more than 0 seconds".into(),
            );
        }
        if self.database.pool_size == 0 {
            return invalid(
                "database.pool_size",
                Some("DATABASE_POOL_SIZE"),
                "must be at least 1".into(),
            );
        }
        if self.api.host.trim().is_empty() {
            return invalid("api.host", Some("API_HOST"), "must not be empty".into());
        }
        // At least 1 KiB, so a typo such as 0.0000001 does not rotate on every line.
        if !(self.logging.max_size_mb.is_finite() && self.logging.max_size_mb >= 1.0 / 1024.0) {
            return invalid(
                "logging.max_size_mb",
                Some("LOG_MAX_SIZE_MB"),
                "must be a size in MiB of at least 0.001 (1 KiB)".into(),
            );
        }
        if self.logging.file.as_os_str().is_empty() {
            return invalid("logging.file", Some("LOG_FILE"), "must not be empty".into());
        }
        if self.cache.max_size == 0 {
            return invalid(
                "cache.max_size",
                Some("MAX_CACHE_SIZE"),
                "must be at least 1".into(),
            );
        }
        if self.cache.ttl.is_zero() {
            return invalid(
                "cache.ttl_seconds",
                Some("CACHE_TTL_SECONDS"),
                "must be at least 1".into(),
            );
        }
        if !(1..=10).contains(&self.plans.max_chart_attachments) {
            return invalid(
                "plans.max_chart_attachments",
                Some("MAX_CHART_ATTACHMENTS"),
                "must be from 1 to 10 (Discord sends at most 10 attachments per message)".into(),
            );
        }
        if jiff::tz::TimeZone::get(&self.plans.timezone).is_err() {
            return invalid(
                "plans.timezone",
                Some("PLANS_TIMEZONE"),
                format!(
                    "'{}' is not a known time zone; use an IANA name like America/New_York",
                    shorten(&self.plans.timezone)
                ),
            );
        }
        if let Err(error) = Roster::new(self.coaches.clone()) {
            return invalid("coaches", None, error.to_string());
        }
        Ok(())
    }
}

fn seconds(value: f64, key: &'static str, env: &'static str) -> Result<Duration, ConfigError> {
    if value.is_finite() && (0.0..=86_400.0).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::Invalid {
            key,
            env: Some(env),
            message: format!("{value} is not a number of seconds from 0 to 86400"),
        })
    }
}

fn secret(value: Option<String>) -> Option<Secret> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

fn log_level(raw: &str, from_env: bool) -> Result<LogLevel, ConfigError> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "DEBUG" => Ok(LogLevel::Debug),
        "INFO" => Ok(LogLevel::Info),
        "WARNING" | "WARN" => Ok(LogLevel::Warn),
        "ERROR" => Ok(LogLevel::Error),
        _ => {
            let message = format!(
                "'{}' is not DEBUG, INFO, WARNING (or WARN) or ERROR",
                shorten(raw)
            );
            Err(if from_env {
                ConfigError::Env {
                    var: "LOG_LEVEL",
                    key: "logging.level",
                    message,
                }
            } else {
                ConfigError::Invalid {
                    key: "logging.level",
                    env: Some("LOG_LEVEL"),
                    message,
                }
            })
        }
    }
}

fn log_format(raw: &str, from_env: bool) -> Result<LogFormat, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => {
            let message = format!("'{}' is not text or json", shorten(raw));
            Err(if from_env {
                ConfigError::Env {
                    var: "LOG_FORMAT",
                    key: "logging.format",
                    message,
                }
            } else {
                ConfigError::Invalid {
                    key: "logging.format",
                    env: Some("LOG_FORMAT"),
                    message,
                }
            })
        }
    }
}

fn merge(file: FileConfig, env: &EnvConfig, mock_flag: bool) -> Result<Config, ConfigError> {
    let defaults = Config::defaults();
    let d = file.discord.unwrap_or_default();
    let db = file.database.unwrap_or_default();
    let api = file.api.unwrap_or_default();
    let log = file.logging.unwrap_or_default();
    let cache = file.cache.unwrap_or_default();
    let mock = file.mock.unwrap_or_default();
    let plans = file.plans.unwrap_or_default();

    let reconnect_delay = match parsed::<f64>(
        &env.reconnect_delay_seconds,
        "RECONNECT_DELAY_SECONDS",
        "discord.reconnect_delay_seconds",
        "a number of seconds",
    )? {
        Some(v) => Some(seconds(
            v,
            "discord.reconnect_delay_seconds",
            "RECONNECT_DELAY_SECONDS",
        )?),
        None => d
            .reconnect_delay_seconds
            .map(|v| {
                seconds(
                    v,
                    "discord.reconnect_delay_seconds",
                    "RECONNECT_DELAY_SECONDS",
                )
            })
            .transpose()?,
    };
    let connection_timeout = match parsed::<f64>(
        &env.connection_timeout,
        "CONNECTION_TIMEOUT",
        "database.connection_timeout",
        "a number of seconds",
    )? {
        Some(v) => Some(seconds(
            v,
            "database.connection_timeout",
            "CONNECTION_TIMEOUT",
        )?),
        None => db
            .connection_timeout
            .map(|v| seconds(v, "database.connection_timeout", "CONNECTION_TIMEOUT"))
            .transpose()?,
    };
    let retry_max_delay = match parsed::<f64>(
        &env.database_retry_max_delay,
        "DATABASE_RETRY_MAX_DELAY",
        "database.retry_max_delay",
        "a number of seconds",
    )? {
        Some(v) => Some(seconds(
            v,
            "database.retry_max_delay",
            "DATABASE_RETRY_MAX_DELAY",
        )?),
        None => db
            .retry_max_delay
            .map(|v| seconds(v, "database.retry_max_delay", "DATABASE_RETRY_MAX_DELAY"))
            .transpose()?,
    };
    let level = match &env.log_level {
        Some(raw) => Some(log_level(raw, true)?),
        None => log
            .level
            .as_deref()
            .map(|raw| log_level(raw, false))
            .transpose()?,
    };
    let format = match &env.log_format {
        Some(raw) => Some(log_format(raw, true)?),
        None => log
            .format
            .as_deref()
            .map(|raw| log_format(raw, false))
            .transpose()?,
    };
    let coaches = match file.coaches {
        None => defaults.coaches.clone(),
        Some(list) => list
            .into_iter()
            .map(|c| {
                let id = CoachId::parse(&c.id).map_err(|e| ConfigError::Invalid {
                    key: "coaches",
                    env: None,
                    message: e.to_string(),
                })?;
                Ok(Coach {
                    id,
                    display_name: c.display_name,
                    description: c.description,
                    poster_user_ids: c.poster_user_ids,
                    poster_role_ids: c.poster_role_ids,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?,
    };
    let whole = "a whole number";
    Ok(Config {
        discord: DiscordConfig {
            bot_token: secret(env.discord_bot_token.clone()).or_else(|| secret(d.bot_token)),
            command_prefix: env
                .command_prefix
                .clone()
                .or(d.command_prefix)
                .unwrap_or(defaults.discord.command_prefix),
            reconnect_attempts: parsed(
                &env.reconnect_attempts,
                "RECONNECT_ATTEMPTS",
                "discord.reconnect_attempts",
                whole,
            )?
            .or(d.reconnect_attempts)
            .unwrap_or(defaults.discord.reconnect_attempts),
            reconnect_delay: reconnect_delay.unwrap_or(defaults.discord.reconnect_delay),
            channels: d.channels.unwrap_or_default(),
            admin_user_ids: d.admin_user_ids.unwrap_or_default(),
            admin_role_ids: d.admin_role_ids.unwrap_or_default(),
            gateway_url: env
                .discord_gateway_url
                .clone()
                .or(d.gateway_url)
                .map(|u| u.trim().to_owned()),
            api_url: env
                .discord_api_url
                .clone()
                .or(d.api_url)
                .map(|u| u.trim().to_owned()),
        },
        database: DatabaseConfig {
            path: env
                .database_path
                .clone()
                .map(PathBuf::from)
                .or(db.path)
                .unwrap_or(defaults.database.path),
            connection_timeout: connection_timeout.unwrap_or(defaults.database.connection_timeout),
            retry_max_delay: retry_max_delay.unwrap_or(defaults.database.retry_max_delay),
            // systemd sets STATE_DIRECTORY to a colon-separated list when a unit names several.
            state_dir: env
                .state_directory
                .as_deref()
                .and_then(|dirs| dirs.split(':').find(|d| !d.is_empty()))
                .map(PathBuf::from)
                .or(db.state_dir),
            pool_size: parsed(
                &env.database_pool_size,
                "DATABASE_POOL_SIZE",
                "database.pool_size",
                whole,
            )?
            .or(db.pool_size)
            .unwrap_or(defaults.database.pool_size),
        },
        api: ApiConfig {
            host: env
                .api_host
                .clone()
                .or(api.host)
                .unwrap_or(defaults.api.host),
            port: parsed(
                &env.api_port,
                "API_PORT",
                "api.port",
                "a whole number from 0 to 65535",
            )?
            .or(api.port)
            .unwrap_or(defaults.api.port),
            cors_origins: api.cors_origins.unwrap_or_default(),
            auth_token: secret(env.api_auth_token.clone()).or_else(|| secret(api.auth_token)),
        },
        logging: LoggingConfig {
            level: level.unwrap_or(defaults.logging.level),
            file: env
                .log_file
                .clone()
                .map(PathBuf::from)
                .or(log.file)
                .unwrap_or(defaults.logging.file),
            max_size_mb: parsed(
                &env.log_max_size_mb,
                "LOG_MAX_SIZE_MB",
                "logging.max_size_mb",
                "a size in MiB",
            )?
            .or(log.max_size_mb)
            .unwrap_or(defaults.logging.max_size_mb),
            backup_count: parsed(
                &env.log_backup_count,
                "LOG_BACKUP_COUNT",
                "logging.backup_count",
                whole,
            )?
            .or(log.backup_count)
            .unwrap_or(defaults.logging.backup_count),
            format: format.unwrap_or(defaults.logging.format),
        },
        cache: CacheConfig {
            ttl: parsed::<u64>(
                &env.cache_ttl_seconds,
                "CACHE_TTL_SECONDS",
                "cache.ttl_seconds",
                "a whole number of seconds",
            )?
            .or(cache.ttl_seconds)
            .map_or(defaults.cache.ttl, Duration::from_secs),
            max_size: parsed(
                &env.max_cache_size,
                "MAX_CACHE_SIZE",
                "cache.max_size",
                whole,
            )?
            .or(cache.max_size)
            .unwrap_or(defaults.cache.max_size),
        },
        mock: MockConfig {
            enabled: mock_flag
                || flag(&env.mock_mode, "MOCK_MODE", "mock.enabled")?
                    .or(mock.enabled)
                    .unwrap_or(false),
            seed_days: parsed(
                &env.mock_seed_days,
                "MOCK_SEED_DAYS",
                "mock.seed_days",
                whole,
            )?
            .or(mock.seed_days)
            .unwrap_or(defaults.mock.seed_days),
        },
        plans: PlansConfig {
            timezone: env
                .plans_timezone
                .clone()
                .or(plans.timezone)
                .map(|t| t.trim().to_owned())
                .unwrap_or(defaults.plans.timezone),
            max_chart_attachments: parsed(
                &env.max_chart_attachments,
                "MAX_CHART_ATTACHMENTS",
                "plans.max_chart_attachments",
                whole,
            )?
            .or(plans.max_chart_attachments)
            .unwrap_or(defaults.plans.max_chart_attachments),
        },
        coaches,
    })
}
