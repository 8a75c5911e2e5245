//! The settings an environment variable can set: one table, so that every message names a
//! setting and its variable the same way.

/// `(key, environment variable)` for every setting the environment can override (SPEC 9).
/// Keys missing here (`discord.channels`, `api.cors_origins`, `coaches`, ...) are file only.
pub(crate) const SETTINGS: &[(&str, &str)] = &[
    ("discord.bot_token", "DISCORD_BOT_TOKEN"),
    ("discord.command_prefix", "COMMAND_PREFIX"),
    ("discord.reconnect_attempts", "RECONNECT_ATTEMPTS"),
    ("discord.reconnect_delay_seconds", "RECONNECT_DELAY_SECONDS"),
    ("discord.gateway_url", "DISCORD_GATEWAY_URL"),
    ("discord.api_url", "DISCORD_API_URL"),
    ("database.path", "DATABASE_PATH"),
    ("database.connection_timeout", "CONNECTION_TIMEOUT"),
    ("database.pool_size", "DATABASE_POOL_SIZE"),
    ("database.retry_max_delay", "DATABASE_RETRY_MAX_DELAY"),
    ("database.state_dir", "STATE_DIRECTORY"),
    ("api.host", "API_HOST"),
    ("api.port", "API_PORT"),
    ("api.auth_token", "API_AUTH_TOKEN"),
    ("logging.level", "LOG_LEVEL"),
    ("logging.file", "LOG_FILE"),
    ("logging.max_size_mb", "LOG_MAX_SIZE_MB"),
    ("logging.backup_count", "LOG_BACKUP_COUNT"),
    ("logging.format", "LOG_FORMAT"),
    ("cache.ttl_seconds", "CACHE_TTL_SECONDS"),
    ("cache.max_size", "MAX_CACHE_SIZE"),
    ("mock.enabled", "MOCK_MODE"),
    ("mock.seed_days", "MOCK_SEED_DAYS"),
    ("plans.timezone", "PLANS_TIMEZONE"),
    ("plans.max_chart_attachments", "MAX_CHART_ATTACHMENTS"),
];

/// The environment variable that overrides `key`, if any.
pub(crate) fn variable_for(key: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, var)| *var)
}

/// `key (VAR)`, or just `key` for a file-only one: how every message names a setting.
pub(crate) fn describe(key: &str) -> String {
    match variable_for(key) {
        Some(var) => format!("{key} ({var})"),
        None => key.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_is_read_from_the_environment() {
        // envy reads the variables through EnvConfig's field names (lowercased): a variable in
        // the table that EnvConfig lacks would be named in messages yet silently ignored.
        let names: Vec<String> = SETTINGS
            .iter()
            .map(|(_, var)| var.to_ascii_lowercase())
            .collect();
        let debug = format!("{:?}", crate::env::EnvConfig::default());
        for name in names {
            assert!(
                debug.contains(&format!("{name}:")),
                "EnvConfig lacks {name}"
            );
        }
    }
}
