//! Merging defaults, the file and the environment, then validating the result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use coach_plans_model::{Coach, CoachId, Roster};

use crate::env::{EnvConfig, flag, parsed, shorten};
use crate::env_file::parse_env_file;
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
    /// Environment files (`--env-file`, systemd `EnvironmentFile=` syntax), read in order;
    /// their assignments override the process environment, as systemd's `EnvironmentFile=`
    /// overrides `Environment=`, and a later file overrides an earlier one.
    pub env_files: Vec<PathBuf>,
    /// The `--mock` flag: mock mode on whatever the file and environment say.
    pub mock: bool,
    /// The command does not connect to Discord (`migrate`, `import-legacy`, `simulate`), so
    /// the bot token is not required.
    pub offline: bool,
}

impl Config {
    /// Loads defaults < the file < the process environment (with the environment files
    /// applied over it), and validates the result.
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
        let mut env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        for path in &options.env_files {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::ReadEnvFile {
                    path: path.clone(),
                    source,
                })?;
            env.extend(parse_env_file(&path.display().to_string(), &text)?);
        }
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
        let token_reference = file
            .unset_references
            .iter()
            .find(|(key, var)| key == "discord.bot_token" && var != "DISCORD_BOT_TOKEN")
            .map(|(_, var)| var.clone());
        let config = merge(file, &overrides, mock)?;
        if needs_token && !config.mock.enabled && config.discord.bot_token.is_none() {
            return Err(ConfigError::MissingToken {
                unset_reference: token_reference,
            });
        }
        config.validate(needs_token)?;
        Ok(config)
    }

    /// The coach roster.
    pub fn roster(&self) -> Roster {
        // Validation built this roster once already, so it cannot fail here.
        Roster::new(self.coaches.clone()).unwrap_or_default()
    }

    fn validate(&self, needs_token: bool) -> Result<(), ConfigError> {
        let invalid = |key, message: String| Err(ConfigError::invalid(key, message));
        // Commands that never talk to Discord do not look at the token at all. Discord's
        // tokens are printable ASCII; a line break or space pasted in would otherwise be sent
        // in the Authorization header, fail there, and read as "cannot reach Discord".
        if needs_token
            && let Some(token) = &self.discord.bot_token
            && let Some(problem) = unprintable(
                token
                    .expose()
                    .strip_prefix("Bot ")
                    .unwrap_or(token.expose()),
                false,
            )
        {
            return invalid(
                "discord.bot_token",
                format!(
                    "{problem}; a bot token is printable ASCII without spaces or line breaks \
                     (copy it again from the Developer Portal: Bot -> Reset Token)"
                ),
            );
        }
        if let Some(token) = &self.api.auth_token
            && let Some(problem) = unprintable(token.expose(), true)
        {
            return invalid(
                "api.auth_token",
                format!(
                    "{problem}; clients send it in an Authorization header, which carries only \
                     printable ASCII"
                ),
            );
        }
        let prefix = &self.discord.command_prefix;
        if prefix.is_empty()
            || prefix.chars().count() > 16
            || prefix.chars().any(char::is_whitespace)
        {
            return invalid(
                "discord.command_prefix",
                "use 1 to 16 characters without spaces, like !".into(),
            );
        }
        if let Some(url) = &self.discord.gateway_url
            && !(url.starts_with("ws://") || url.starts_with("wss://"))
        {
            return invalid(
                "discord.gateway_url",
                format!("'{}' is not a ws:// or wss:// URL", shorten(url)),
            );
        }
        if let Some(url) = &self.discord.api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(
                "discord.api_url",
                format!("'{}' is not an http:// or https:// URL", shorten(url)),
            );
        }
        if self.discord.reconnect_attempts == 0 {
            return invalid("discord.reconnect_attempts", "must be at least 1".into());
        }
        if self.database.path.as_os_str().is_empty() {
            return invalid("database.path", "must not be empty".into());
        }
        if self.database.connection_timeout.is_zero() {
            return invalid(
                "database.connection_timeout",
                "must be more than 0 seconds".into(),
            );
        }
        if self.database.retry_max_delay.is_zero() {
            return invalid(
                "database.retry_max_delay",
                "must be more than 0 seconds".into(),
            );
        }
        if self.database.pool_size == 0 {
            return invalid("database.pool_size", "must be at least 1".into());
        }
        if let Some(problem) = host_problem(&self.api.host) {
            return invalid("api.host", problem);
        }
        // At least 1 KiB, so a typo such as 0.0000001 does not rotate on every line.
        if !(self.logging.max_size_mb.is_finite() && self.logging.max_size_mb >= 1.0 / 1024.0) {
            return invalid(
                "logging.max_size_mb",
                "must be a size in MiB of at least 0.001 (1 KiB)".into(),
            );
        }
        if self.logging.file.as_os_str().is_empty() {
            return invalid("logging.file", "must not be empty".into());
        }
        if self.cache.max_size == 0 {
            return invalid("cache.max_size", "must be at least 1".into());
        }
        if self.cache.ttl.is_zero() {
            return invalid("cache.ttl_seconds", "must be at least 1".into());
        }
        if !(1..=10).contains(&self.plans.max_chart_attachments) {
            return invalid(
                "plans.max_chart_attachments",
                "must be from 1 to 10 (Discord sends at most 10 attachments per message)".into(),
            );
        }
        if jiff::tz::TimeZone::get(&self.plans.timezone).is_err() {
            return invalid(
                "plans.timezone",
                format!(
                    "'{}' is not a known time zone; use an IANA name like America/New_York",
                    shorten(&self.plans.timezone)
                ),
            );
        }
        if let Err(error) = Roster::new(self.coaches.clone()) {
            return invalid("coaches", error.to_string());
        }
        Ok(())
    }
}

/// A number of seconds from the environment (winning) or the file.
fn seconds(
    from_env: &Option<String>,
    from_file: Option<f64>,
    key: &'static str,
) -> Result<Option<Duration>, ConfigError> {
    let value = match parsed::<f64>(from_env, key, "a number of seconds")? {
        Some(value) => value,
        None => match from_file {
            Some(value) => value,
            None => return Ok(None),
        },
    };
    if value.is_finite() && (0.0..=86_400.0).contains(&value) {
        Ok(Some(Duration::from_secs_f64(value)))
    } else {
        Err(ConfigError::invalid(
            key,
            format!("{value} is not a number of seconds from 0 to 86400"),
        ))
    }
}

fn secret(value: Option<String>) -> Option<Secret> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

/// The first character of `value` that is not printable ASCII (nor a space, when
/// `spaces` allows them), described by kind and position, never echoed: `value` is a secret.
fn unprintable(value: &str, spaces: bool) -> Option<String> {
    let (at, c) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_graphic() || (spaces && *c == ' ')))?;
    let what = match c {
        '\n' | '\r' => "a line break",
        ' ' => "a space",
        c if c.is_control() => "a control character",
        c if c.is_whitespace() => "a space",
        _ => "a non-ASCII character",
    };
    Some(format!("it contains {what} (character {})", at + 1))
}

/// Why `host` cannot be an address to listen on, or `None`: an IP address (`127.0.0.1`,
/// `0.0.0.0`, `::`) or a host name (`localhost`, `plans.example.com`). Whether a name
/// resolves is a question for the network ([`crate::ApiConfig::socket_addrs`]).
fn host_problem(host: &str) -> Option<String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    // Underscores are not allowed in DNS host names, but /etc/hosts and container networks
    // resolve them, and so does the bind.
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok) {
        return None;
    }
    Some(format!(
        "'{}' is not an IP address or a host name (examples: 127.0.0.1, 0.0.0.0, ::, localhost; \
         no scheme, port or brackets)",
        shorten(host)
    ))
}

fn log_level(raw: &str) -> Result<LogLevel, ConfigError> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "DEBUG" => Ok(LogLevel::Debug),
        "INFO" => Ok(LogLevel::Info),
        "WARNING" | "WARN" => Ok(LogLevel::Warn),
        "ERROR" => Ok(LogLevel::Error),
        _ => Err(ConfigError::invalid(
            "logging.level",
            format!(
                "'{}' is not DEBUG, INFO, WARNING (or WARN) or ERROR",
                shorten(raw)
            ),
        )),
    }
}

fn log_format(raw: &str) -> Result<LogFormat, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(ConfigError::invalid(
            "logging.format",
            format!("'{}' is not text or json", shorten(raw)),
        )),
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

    let reconnect_delay = seconds(
        &env.reconnect_delay_seconds,
        d.reconnect_delay_seconds,
        "discord.reconnect_delay_seconds",
    )?;
    let connection_timeout = seconds(
        &env.connection_timeout,
        db.connection_timeout,
        "database.connection_timeout",
    )?;
    let retry_max_delay = seconds(
        &env.database_retry_max_delay,
        db.retry_max_delay,
        "database.retry_max_delay",
    )?;
    let level = env
        .log_level
        .as_deref()
        .or(log.level.as_deref())
        .map(log_level)
        .transpose()?;
    let format = env
        .log_format
        .as_deref()
        .or(log.format.as_deref())
        .map(log_format)
        .transpose()?;
    let coaches = match file.coaches {
        None => defaults.coaches.clone(),
        Some(list) => list
            .into_iter()
            .map(|c| {
                let id = CoachId::parse(&c.id)
                    .map_err(|e| ConfigError::invalid("coaches", e.to_string()))?;
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
            pool_size: parsed(&env.database_pool_size, "database.pool_size", whole)?
                .or(db.pool_size)
                .unwrap_or(defaults.database.pool_size),
        },
        api: ApiConfig {
            host: env
                .api_host
                .clone()
                .or(api.host)
                .unwrap_or(defaults.api.host),
            port: parsed(&env.api_port, "api.port", "a whole number from 0 to 65535")?
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
            max_size_mb: parsed(&env.log_max_size_mb, "logging.max_size_mb", "a size in MiB")?
                .or(log.max_size_mb)
                .unwrap_or(defaults.logging.max_size_mb),
            backup_count: parsed(&env.log_backup_count, "logging.backup_count", whole)?
                .or(log.backup_count)
                .unwrap_or(defaults.logging.backup_count),
            format: format.unwrap_or(defaults.logging.format),
        },
        cache: CacheConfig {
            ttl: parsed::<u64>(
                &env.cache_ttl_seconds,
                "cache.ttl_seconds",
                "a whole number of seconds",
            )?
            .or(cache.ttl_seconds)
            .map_or(defaults.cache.ttl, Duration::from_secs),
            max_size: parsed(&env.max_cache_size, "cache.max_size", whole)?
                .or(cache.max_size)
                .unwrap_or(defaults.cache.max_size),
        },
        mock: MockConfig {
            enabled: mock_flag
                || flag(&env.mock_mode, "mock.enabled")?
                    .or(mock.enabled)
                    .unwrap_or(false),
            seed_days: parsed(&env.mock_seed_days, "mock.seed_days", whole)?
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
                "plans.max_chart_attachments",
                whole,
            )?
            .or(plans.max_chart_attachments)
            .unwrap_or(defaults.plans.max_chart_attachments),
        },
        coaches,
    })
}
