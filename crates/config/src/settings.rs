//! The one table of settings (SPEC 9). The public structs in lib.rs give each setting its key
//! (the field's serde name), its type and its default; everything else about a setting is its
//! row here: the environment variable that overrides it, how that variable's text is read, what
//! is checked beyond the type, and whether it is deprecated. Loading, error messages and
//! `check-config` all go through this table, and the tests at the bottom fail when the structs
//! and the table disagree (a field without a row, a row without a field).

use std::time::Duration;

use serde_yaml::{Mapping, Number, Value};

use crate::hosts::ChartHost;
use crate::yaml::take;

/// One setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting {
    /// The key path in the file: `api.port`.
    pub(crate) key: &'static str,
    /// The environment variable that overrides it; `None` for a file-only setting.
    pub(crate) env: Option<&'static str>,
    /// How a value from the file or the environment is read.
    pub(crate) read: Read,
    /// What a value must be beyond its type; the error says what is expected.
    pub(crate) check: Option<Check>,
    /// For a deprecated setting, what to use instead (a warning when it is set).
    pub(crate) deprecated: Option<&'static str>,
}

/// A check of a value: `Err` says what is expected (`must be at least 1`).
pub(crate) type Check = fn(&Value) -> Result<(), String>;

/// How a setting's value is read, from the file or from an environment variable's text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Read {
    /// As given: text, a path, or (file only) a list.
    AsIs,
    /// Text without surrounding spaces (URLs, the time zone).
    Trimmed,
    /// A secret: trimmed, unset when empty, never echoed in a message.
    Secret,
    /// A number; the text describes valid ones for messages ("a whole number").
    Number(&'static str),
    /// A number of seconds from 0 to 86400, decimals allowed.
    Seconds,
    /// Yes or no; the environment also takes 1/0, yes/no, on/off.
    Flag,
    /// One of some words in any case: (word, what it stands for), and a description of them.
    Word(&'static [(&'static str, &'static str)], &'static str),
    /// A colon-separated list of directories, the first of which is used (systemd sets
    /// `STATE_DIRECTORY` so when a unit names several).
    FirstDirectory,
    /// A base URL: trimmed, without trailing slashes (`https://plans.example.com/`).
    BaseUrl,
    /// A comma-separated list of `host[:port]` (the file may also give a YAML list), each
    /// checked and lowercased; the message names a bad entry.
    Hosts,
}

const WHOLE: Read = Read::Number("a whole number");
const LEVELS: Read = Read::Word(
    &[
        ("DEBUG", "DEBUG"),
        ("INFO", "INFO"),
        ("WARNING", "WARNING"),
        ("WARN", "WARNING"),
        ("ERROR", "ERROR"),
    ],
    "DEBUG, INFO, WARNING (or WARN) or ERROR",
);
const SLASH_SCOPES: Read = Read::Word(
    &[("global", "global"), ("guild", "guild"), ("off", "off")],
    "global, guild or off",
);
const FORMATS: Read = Read::Word(&[("text", "text"), ("json", "json")], "text or json");
const CHART_BACKENDS: Read = Read::Word(
    &[
        ("auto", "auto"),
        ("directory", "directory"),
        ("database", "database"),
    ],
    "auto, directory or database",
);

/// Every setting, in the file's order.
pub(crate) const SETTINGS: &[Setting] = &[
    // Checked only by commands that connect to Discord: see load.rs.
    var("discord.bot_token", "DISCORD_BOT_TOKEN", Read::Secret),
    var("discord.command_prefix", "COMMAND_PREFIX", Read::AsIs).check(command_prefix),
    var("discord.reconnect_attempts", "RECONNECT_ATTEMPTS", WHOLE).check(at_least_one),
    var(
        "discord.reconnect_delay_seconds",
        "RECONNECT_DELAY_SECONDS",
        Read::Seconds,
    ),
    file_only("discord.channels"),
    file_only("discord.admin_user_ids"),
    file_only("discord.admin_role_ids"),
    var("discord.gateway_url", "DISCORD_GATEWAY_URL", Read::Trimmed).check(websocket_url),
    var("discord.api_url", "DISCORD_API_URL", Read::Trimmed).check(http_url),
    var("discord.slash_commands", "SLASH_COMMANDS", SLASH_SCOPES),
    var(
        "discord.message_content_intent",
        "MESSAGE_CONTENT_INTENT",
        Read::Flag,
    ),
    var(
        "discord.backfill_max_age_hours",
        "BACKFILL_MAX_AGE_HOURS",
        WHOLE,
    ),
    var("database.path", "DATABASE_PATH", Read::AsIs).check(not_empty),
    var(
        "database.connection_timeout",
        "CONNECTION_TIMEOUT",
        Read::Seconds,
    )
    .check(some_seconds),
    var("database.pool_size", "DATABASE_POOL_SIZE", WHOLE).check(at_least_one),
    var("database.page_cache_kib", "DATABASE_PAGE_CACHE_KIB", WHOLE).check(at_least_one),
    var("database.mmap_mib", "DATABASE_MMAP_MIB", WHOLE),
    var(
        "database.retry_max_delay",
        "DATABASE_RETRY_MAX_DELAY",
        Read::Seconds,
    )
    .check(some_seconds),
    var(
        "database.state_dir",
        "STATE_DIRECTORY",
        Read::FirstDirectory,
    ),
    var("database.url", "DATABASE_URL", Read::Secret).check(postgres_url),
    var(
        "database.statement_timeout",
        "DATABASE_STATEMENT_TIMEOUT",
        Read::Seconds,
    )
    .check(some_seconds),
    var("api.host", "API_HOST", Read::AsIs).check(host),
    var(
        "api.port",
        "API_PORT",
        Read::Number("a whole number from 0 to 65535"),
    ),
    file_only("api.cors_origins"),
    var("api.auth_token", "API_AUTH_TOKEN", Read::Secret).check(api_token),
    var("api.read_cache_kib", "API_READ_CACHE_KIB", WHOLE),
    var("api.public_url", "API_PUBLIC_URL", Read::BaseUrl).check(public_url),
    var("logging.level", "LOG_LEVEL", LEVELS),
    var("logging.file", "LOG_FILE", Read::AsIs).check(not_empty),
    var(
        "logging.max_size_mb",
        "LOG_MAX_SIZE_MB",
        Read::Number("a size in MiB"),
    )
    .check(mebibytes),
    var("logging.backup_count", "LOG_BACKUP_COUNT", WHOLE),
    var("logging.format", "LOG_FORMAT", FORMATS),
    var(
        "cache.ttl_seconds",
        "CACHE_TTL_SECONDS",
        Read::Number("a whole number of seconds"),
    )
    .check(at_least_one)
    .deprecated(
        "a client sets how long it keeps plans with coach_plans_client::ClientBuilder::cache_ttl",
    ),
    var("cache.max_size", "MAX_CACHE_SIZE", WHOLE)
        .check(at_least_one)
        .deprecated(
            "a client sets how many plans it keeps with \
             coach_plans_client::ClientBuilder::cache_capacity",
        ),
    var("mock.enabled", "MOCK_MODE", Read::Flag),
    var("mock.seed_days", "MOCK_SEED_DAYS", WHOLE),
    var("plans.timezone", "PLANS_TIMEZONE", Read::Trimmed).check(time_zone),
    var(
        "plans.max_chart_attachments",
        "MAX_CHART_ATTACHMENTS",
        WHOLE,
    )
    .check(chart_attachments),
    var("charts.allowed_hosts", "CHART_ALLOWED_HOSTS", Read::Hosts).check(some_hosts),
    var("charts.max_bytes", "CHART_MAX_BYTES", WHOLE).check(at_least_one),
    var("charts.store", "CHART_STORE", Read::AsIs).check(not_empty),
    // That `database` has a `database.url` to use is checked in load.rs.
    var("charts.backend", "CHART_BACKEND", CHART_BACKENDS),
    // Checked as a whole (a non-empty roster, no id twice) where it is read: see units.rs.
    file_only("coaches"),
];

/// A setting the environment can override.
const fn var(key: &'static str, env: &'static str, read: Read) -> Setting {
    Setting {
        key,
        env: Some(env),
        read,
        check: None,
        deprecated: None,
    }
}

/// A setting only the file can give.
const fn file_only(key: &'static str) -> Setting {
    Setting {
        key,
        env: None,
        read: Read::AsIs,
        check: None,
        deprecated: None,
    }
}

impl Setting {
    const fn check(self, check: Check) -> Self {
        Self {
            check: Some(check),
            ..self
        }
    }

    const fn deprecated(self, instead: &'static str) -> Self {
        Self {
            deprecated: Some(instead),
            ..self
        }
    }
}

impl Read {
    /// What an environment variable's text stands for, or what is wrong with it. `Ok(None)`
    /// leaves the setting as the file has it.
    pub(crate) fn parse_env(self, raw: &str) -> Result<Option<Value>, String> {
        let text = raw.trim();
        let string = |s: &str| Ok(Some(Value::String(s.to_owned())));
        match self {
            // normalize() trims these, for the file's values too.
            Self::AsIs | Self::Trimmed | Self::Secret | Self::Word(..) | Self::BaseUrl => {
                string(raw)
            }
            Self::Hosts => hosts(raw).map(Some),
            Self::FirstDirectory => Ok(raw
                .split(':')
                .find(|dir| !dir.is_empty())
                .map(|dir| Value::String(dir.to_owned()))),
            Self::Number(_) | Self::Seconds => number(text)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| self.not_expected(raw)),
            Self::Flag => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(Value::Bool(true))),
                "false" | "0" | "no" | "off" => Ok(Some(Value::Bool(false))),
                _ => Err(self.not_expected(raw)),
            },
        }
    }

    /// A value, from the file or the environment, as the public structs read it, or what is
    /// wrong with it. `Ok(None)` means not set (an empty secret). A value of another type is
    /// left for serde, whose message names the type expected.
    pub(crate) fn normalize(self, value: Value) -> Result<Option<Value>, String> {
        Ok(Some(match (self, value) {
            (Self::Trimmed, Value::String(text)) => Value::String(text.trim().to_owned()),
            (Self::BaseUrl, Value::String(text)) => {
                Value::String(text.trim().trim_end_matches('/').to_owned())
            }
            (Self::Hosts, Value::String(text)) => hosts(&text)?,
            (Self::Hosts, Value::Sequence(entries)) => Value::Sequence(
                entries
                    .into_iter()
                    .map(|entry| match entry {
                        Value::String(text) => {
                            ChartHost::parse(&text).map(|host| Value::String(host.to_string()))
                        }
                        other => Err(format!(
                            "each entry must be a host[:port] text, not {}",
                            serde_yaml::to_string(&other)
                                .map(|t| shorten(t.trim()))
                                .unwrap_or_default()
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (Self::Secret, Value::String(text)) => {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(None);
                }
                Value::String(text.to_owned())
            }
            (Self::Seconds, Value::Number(n)) => {
                let seconds = n.as_f64().unwrap_or(f64::NAN);
                if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
                    return Err(format!(
                        "{seconds} is not a number of seconds from 0 to 86400"
                    ));
                }
                Value::Number(n)
            }
            (Self::Word(words, _), Value::String(text)) => {
                let Some((_, meaning)) = words
                    .iter()
                    .find(|(word, _)| word.eq_ignore_ascii_case(text.trim()))
                else {
                    return Err(self.not_expected(&text));
                };
                Value::String((*meaning).to_owned())
            }
            (_, value) => value,
        }))
    }

    /// `'abc' is not a whole number`: the message for a value this setting cannot take.
    pub(crate) fn not_expected(self, raw: &str) -> String {
        let expected = match self {
            Self::Number(what) | Self::Word(_, what) => what,
            Self::Seconds => "a number of seconds",
            Self::Flag => "true/1/yes or false/0/no",
            Self::Hosts => "a comma-separated list of host[:port]",
            Self::AsIs | Self::Trimmed | Self::Secret | Self::FirstDirectory | Self::BaseUrl => {
                "text"
            }
        };
        format!("'{}' is not {expected}", shorten(raw))
    }
}

/// `a.example, B.example:8443` as a list of checked, lowercased `host[:port]` texts.
fn hosts(text: &str) -> Result<Value, String> {
    text.split(',')
        .map(|entry| ChartHost::parse(entry).map(|host| Value::String(host.to_string())))
        .collect::<Result<_, _>>()
        .map(Value::Sequence)
}

/// A number as the environment writes one: whole (possibly negative) or with decimals.
fn number(text: &str) -> Option<Number> {
    text.parse::<u64>()
        .map(Number::from)
        .or_else(|_| text.parse::<i64>().map(Number::from))
        .or_else(|_| text.parse::<f64>().map(Number::from))
        .ok()
}

/// The row of `key`, if it is a setting (`coaches[0].id` is not).
pub(crate) fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.key == key)
}

/// Whether `name` is a section of the file (`api`), not a setting of its own (`coaches`).
pub(crate) fn is_section(name: &str) -> bool {
    SETTINGS.iter().any(|setting| {
        setting
            .key
            .split_once('.')
            .is_some_and(|(section, _)| section == name)
    })
}

/// The environment variable that overrides `key`, if any.
pub(crate) fn variable_for(key: &str) -> Option<&'static str> {
    setting(key).and_then(|setting| setting.env)
}

/// `key (VAR)`, or just `key` for a file-only one: how every message names a setting.
pub(crate) fn describe(key: &str) -> String {
    match variable_for(key) {
        Some(var) => format!("{key} ({var})"),
        None => key.to_owned(),
    }
}

/// Removes deprecated settings (and sections they leave empty) from a configuration tree: what
/// `check-config` prints is what the service uses.
pub(crate) fn drop_deprecated(tree: &mut Value) {
    for setting in SETTINGS.iter().filter(|s| s.deprecated.is_some()) {
        take(tree, setting.key);
    }
    if let Value::Mapping(sections) = tree {
        sections.retain(|_, section| !section.as_mapping().is_some_and(Mapping::is_empty));
    }
}

/// An environment variable name as sh and systemd accept it: letters, digits and `_`, not
/// starting with a digit.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// User input as echoed in an error: at most 64 characters.
pub(crate) fn shorten(input: &str) -> String {
    match input.char_indices().nth(64) {
        None => input.to_owned(),
        Some((cut, _)) => format!("{}…", &input[..cut]),
    }
}

// The checks. Each sees a value of the setting's type (serde read it already).

fn at_least_one(value: &Value) -> Result<(), String> {
    match value.as_u64() {
        Some(0) => Err("must be at least 1".to_owned()),
        _ => Ok(()),
    }
}

fn some_seconds(value: &Value) -> Result<(), String> {
    // Zero after rounding to nanoseconds, as the Duration will be.
    match value.as_f64().map(Duration::try_from_secs_f64) {
        Some(Ok(duration)) if duration.is_zero() => Err("must be more than 0 seconds".to_owned()),
        _ => Ok(()),
    }
}

/// A PostgreSQL URL. The message never repeats the value: it may hold a password.
fn postgres_url(value: &Value) -> Result<(), String> {
    match value.as_str() {
        None => Ok(()),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(()),
        Some(_) => Err(
            "must be a postgres:// or postgresql:// URL (for SQLite, set database.path instead)"
                .to_owned(),
        ),
    }
}

fn not_empty(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some("") => Err("must not be empty".to_owned()),
        _ => Ok(()),
    }
}

fn command_prefix(value: &Value) -> Result<(), String> {
    let prefix = value.as_str().unwrap_or("!");
    if prefix.is_empty() || prefix.chars().count() > 16 || prefix.chars().any(char::is_whitespace) {
        return Err("use 1 to 16 characters without spaces, like !".to_owned());
    }
    Ok(())
}

fn url_with(value: &Value, schemes: [&str; 2], described: &str) -> Result<(), String> {
    match value.as_str() {
        Some(url) if !schemes.iter().any(|scheme| url.starts_with(scheme)) => {
            Err(format!("'{}' is not {described} URL", shorten(url)))
        }
        _ => Ok(()),
    }
}

fn websocket_url(value: &Value) -> Result<(), String> {
    url_with(value, ["ws://", "wss://"], "a ws:// or wss://")
}

fn http_url(value: &Value) -> Result<(), String> {
    url_with(value, ["http://", "https://"], "an http:// or https://")
}

fn public_url(value: &Value) -> Result<(), String> {
    let Some(url) = value.as_str() else {
        return Ok(());
    };
    let bad = |why: &str| {
        Err(format!(
            "'{}' is not an absolute http:// or https:// URL {why} (example: \
             https://plans.example.com)",
            shorten(url)
        ))
    };
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return bad("");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return bad("(the host is missing)");
    }
    if url.contains(['?', '#']) {
        return bad("without a query or fragment");
    }
    if url.contains(char::is_whitespace) {
        return bad("without spaces");
    }
    Ok(())
}

fn some_hosts(value: &Value) -> Result<(), String> {
    match value.as_sequence() {
        Some(hosts) if hosts.is_empty() => Err(
            "must name at least one host (default: cdn.discordapp.com,media.discordapp.net)"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

fn mebibytes(value: &Value) -> Result<(), String> {
    // At least 1 KiB, so a typo such as 0.0000001 does not rotate on every line.
    match value.as_f64() {
        Some(mib) if !(mib.is_finite() && mib >= 1.0 / 1024.0) => {
            Err("must be a size in MiB of at least 0.001 (1 KiB)".to_owned())
        }
        _ => Ok(()),
    }
}

fn chart_attachments(value: &Value) -> Result<(), String> {
    match value.as_u64() {
        Some(1..=10) | None => Ok(()),
        Some(_) => Err(
            "must be from 1 to 10 (Discord sends at most 10 attachments per message)".to_owned(),
        ),
    }
}

fn time_zone(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(zone) if jiff::tz::TimeZone::get(zone).is_err() => Err(format!(
            "'{}' is not a known time zone; use an IANA name like America/New_York",
            shorten(zone)
        )),
        _ => Ok(()),
    }
}

fn api_token(value: &Value) -> Result<(), String> {
    match value.as_str().and_then(|token| unprintable(token, true)) {
        Some(problem) => Err(format!(
            "{problem}; clients send it in an Authorization header, which carries only \
             printable ASCII"
        )),
        None => Ok(()),
    }
}

/// The first character of `value` that is not printable ASCII (nor a space, when
/// `spaces` allows them), described by kind and position, never echoed: `value` is a secret.
pub(crate) fn unprintable(value: &str, spaces: bool) -> Option<String> {
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

fn host(value: &Value) -> Result<(), String> {
    match value.as_str().and_then(host_problem) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Why `host` cannot be an address to listen on, or `None`: an IP address (`127.0.0.1`,
/// `0.0.0.0`, `::`) or a host name (`localhost`, `plans.example.com`). Whether a name
/// resolves is a question for the network ([`crate::ApiConfig::socket_addrs`]).
fn host_problem(host: &str) -> Option<String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    if is_host_name(host) {
        return None;
    }
    Some(format!(
        "'{}' is not an IP address or a host name (examples: 127.0.0.1, 0.0.0.0, ::, localhost; \
         no scheme, port or brackets)",
        shorten(host)
    ))
}

/// Whether `host` is a host name (`localhost`, `plans.example.com`, an IPv4 address), a
/// trailing dot allowed.
pub(crate) fn is_host_name(host: &str) -> bool {
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
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::yaml::get as at;
    use crate::{Config, ConfigWarning};

    /// A value each setting can take other than its default: (file YAML, environment text,
    /// what the loaded configuration holds, as YAML). A row without one fails the tests.
    fn sample(key: &str) -> (&'static str, &'static str, &'static str) {
        match key {
            "discord.bot_token" => ("MTIz.file-token", "MTIz.env-token", "'***'"),
            "discord.command_prefix" => ("'?'", "?", "'?'"),
            "discord.reconnect_attempts" => ("2", "2", "2"),
            "discord.backfill_max_age_hours" => ("24", "24", "24"),
            "discord.reconnect_delay_seconds" => ("0.5", " 0.5", "0.5"),
            "discord.channels" => ("['12', 13]", "", "['12', '13']"),
            "discord.admin_user_ids" => ("[34]", "", "['34']"),
            "discord.admin_role_ids" => ("['56']", "", "['56']"),
            "discord.gateway_url" => (
                "ws://127.0.0.1:9001",
                "ws://127.0.0.1:9001 ",
                "ws://127.0.0.1:9001",
            ),
            "discord.api_url" => (
                "' http://127.0.0.1:9002'",
                "http://127.0.0.1:9002",
                "http://127.0.0.1:9002",
            ),
            "discord.slash_commands" => ("Guild", " GUILD", "guild"),
            "discord.message_content_intent" => ("false", "no", "false"),
            "database.path" => ("/srv/plans.db", "/srv/plans.db", "/srv/plans.db"),
            "database.connection_timeout" => ("3", "3", "3.0"),
            "database.pool_size" => ("2", "2", "2"),
            "database.page_cache_kib" => ("512", "512", "512"),
            "database.mmap_mib" => ("64", "64", "64"),
            "database.retry_max_delay" => ("7.5", "7.5", "7.5"),
            "database.state_dir" => ("/var/lib/cp", "/var/lib/cp:/other", "/var/lib/cp"),
            "database.url" => (
                "postgres://coach:file-token@db/plans",
                "postgres://coach:env-token@db/plans ",
                "postgres://coach:***@db/plans",
            ),
            "database.statement_timeout" => ("5", "5", "5.0"),
            "api.host" => ("0.0.0.0", "0.0.0.0", "0.0.0.0"),
            "api.port" => ("6000", "6000", "6000"),
            "api.cors_origins" => ("['https://a.example']", "", "['https://a.example']"),
            "api.auth_token" => ("file api token", "env-api-token", "'***'"),
            "api.read_cache_kib" => ("256", "256", "256"),
            "api.public_url" => (
                "https://plans.example.com/",
                " https://plans.example.com/ ",
                "https://plans.example.com",
            ),
            "logging.level" => ("warn", "Warning", "WARNING"),
            "logging.file" => ("/var/log/cp.log", "/var/log/cp.log", "/var/log/cp.log"),
            "logging.max_size_mb" => ("0.5", "0.5", "0.5"),
            "logging.backup_count" => ("0", "0", "0"),
            "logging.format" => ("JSON", "json", "json"),
            "cache.ttl_seconds" => ("60", "60", "60"),
            "cache.max_size" => ("7", "7", "7"),
            "mock.enabled" => ("true", "yes", "true"),
            "mock.seed_days" => ("2", "2", "2"),
            "plans.timezone" => ("Europe/Berlin", "Europe/Berlin", "Europe/Berlin"),
            "plans.max_chart_attachments" => ("3", "3", "3"),
            "charts.allowed_hosts" => (
                "['CDN.example.com', '127.0.0.1:9002']",
                "CDN.example.com, 127.0.0.1:9002",
                "['cdn.example.com', '127.0.0.1:9002']",
            ),
            "charts.max_bytes" => ("1000", "1000", "1000"),
            "charts.store" => ("/srv/charts", "/srv/charts", "/srv/charts"),
            "charts.backend" => ("Directory", " DIRECTORY", "directory"),
            "coaches" => (
                "[{id: Coach_X, display_name: X}]",
                "",
                "[{id: x, display_name: X, description: '', poster_user_ids: [], poster_role_ids: []}]",
            ),
            other => panic!("{other} has no sample value in settings.rs's tests"),
        }
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    /// Checks what `config` holds for `setting`, and what `check-config` prints of it.
    fn assert_holds(config: &Config, setting: &Setting, expected: &str, from: &str) {
        let key = setting.key;
        let held = serde_yaml::to_value(config).unwrap();
        assert_eq!(at(&held, key), Some(&yaml(expected)), "{key} from {from}");
        let default = serde_yaml::to_value(Config::defaults()).unwrap();
        assert_ne!(
            at(&default, key),
            at(&held, key),
            "{key}: the sample is the default"
        );
        let printed = yaml(&config.to_masked_yaml());
        let deprecated = ConfigWarning::Deprecated {
            key,
            env: setting.env,
            instead: setting.deprecated.unwrap_or_default(),
        };
        if matches!(setting.read, Read::Secret) {
            let text = config.to_masked_yaml();
            assert!(
                !(text.contains("-token") || text.contains(" token")),
                "{key} shows: {text}"
            );
        }
        if setting.deprecated.is_some() {
            assert_eq!(at(&printed, key), None, "{key} is deprecated: not printed");
            assert_eq!(config.warnings(), [deprecated], "{key} from {from}");
        } else {
            assert_eq!(at(&printed, key), Some(&yaml(expected)), "{key} printed");
            assert!(
                config.warnings().is_empty(),
                "{key}: {:?}",
                config.warnings()
            );
        }
        assert_eq!(
            matches!(setting.read, Read::Secret),
            expected.contains("***"),
            "{key}: a secret's row reads it as one, and only a secret is printed masked"
        );
    }

    #[test]
    fn every_setting_is_read_from_the_file_and_its_variable_and_printed_masked() {
        for setting in SETTINGS {
            let (in_file, in_env, expected) = sample(setting.key);
            // A token from the environment, except where the token is what is tested.
            let token: &[(&str, &str)] = match setting.key {
                "discord.bot_token" => &[],
                _ => &[("DISCORD_BOT_TOKEN", "MTIz.base")],
            };
            let pairs = |extra: &[(&str, &str)]| {
                token
                    .iter()
                    .chain(extra)
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<Vec<_>>()
            };
            let file = match setting.key.split_once('.') {
                Some((section, name)) => format!("{section}:\n  {name}: {in_file}\n"),
                None => format!("{}: {in_file}\n", setting.key),
            };
            let from_file = Config::from_sources(Some(("t.yaml", &file)), pairs(&[]), false)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_holds(&from_file, setting, expected, "the file");

            let Some(var) = setting.env else { continue };
            let from_env = Config::from_sources(None, pairs(&[(var, in_env)]), false)
                .unwrap_or_else(|e| panic!("{var}={in_env}: {e}"));
            assert_holds(&from_env, setting, expected, var);
            // The environment wins over the file.
            let both =
                Config::from_sources(Some(("t.yaml", &file)), pairs(&[(var, in_env)]), false)
                    .unwrap();
            assert_eq!(both, from_env, "{var} over the file");
        }
    }

    /// The key paths of a configuration tree down to its settings (a list is one setting).
    fn keys(tree: &Value, prefix: &str, out: &mut Vec<String>) {
        match tree {
            Value::Mapping(fields) if prefix.is_empty() || !prefix.contains('.') => {
                for (name, value) in fields {
                    let name = name.as_str().unwrap();
                    let key = if prefix.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    match value {
                        Value::Mapping(_) => keys(value, &key, out),
                        _ => out.push(key),
                    }
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn every_field_of_the_configuration_has_a_row_and_every_row_a_field() {
        // Serialize writes every field of the public structs under its key: a field added
        // without a row here (or a row left after its field went) fails this test.
        let mut fields = Vec::new();
        keys(
            &serde_yaml::to_value(Config::defaults()).unwrap(),
            "",
            &mut fields,
        );
        let rows: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        assert_eq!(
            fields, rows,
            "the structs' keys against SETTINGS: a new field needs a row"
        );
        for (i, setting) in SETTINGS.iter().enumerate() {
            let dupe = SETTINGS[..i]
                .iter()
                .find(|s| s.env.is_some() && s.env == setting.env);
            assert!(dupe.is_none(), "{:?} overrides two settings", setting.env);
        }
    }

    #[test]
    fn every_default_passes_its_check() {
        let defaults = serde_yaml::to_value(Config::defaults()).unwrap();
        for setting in SETTINGS {
            if let (Some(check), Some(value)) = (setting.check, at(&defaults, setting.key)) {
                assert_eq!(check(value), Ok(()), "{}", setting.key);
            }
        }
    }

    #[test]
    fn the_reference_and_the_example_name_every_setting_as_the_table_does() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
        let reference = std::fs::read_to_string(format!("{root}docs/configuration.md")).unwrap();
        // Rows such as: | `api.port` | `API_PORT` | 5000 | ... |
        let documented: Vec<(String, Option<String>)> = reference
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code =
                    |cell: &str| cell.strip_prefix('`')?.strip_suffix('`').map(str::to_owned);
                (code(cells[1]).unwrap(), code(cells[2]))
            })
            .collect();
        let table: Vec<(String, Option<String>)> = SETTINGS
            .iter()
            .map(|s| (s.key.to_owned(), s.env.map(str::to_owned)))
            .collect();
        assert_eq!(documented, table, "docs/configuration.md against SETTINGS");

        let example = std::fs::read_to_string(format!("{root}config.example.yaml")).unwrap();
        for setting in SETTINGS {
            let name = setting.key.rsplit('.').next().unwrap();
            assert!(
                example.contains(&format!("{name}:")),
                "the example lacks {}",
                setting.key
            );
            if let Some(var) = setting.env {
                assert!(example.contains(var), "the example does not name {var}");
            }
        }
    }
}
