//! The effective configuration as YAML with secrets masked, for `coach-plans check-config`.

use serde::Serialize;

use crate::{Config, LogFormat, Secret};

#[derive(Serialize)]
struct View<'a> {
    discord: DiscordView<'a>,
    database: DatabaseView<'a>,
    api: ApiView<'a>,
    logging: LoggingView<'a>,
    cache: CacheView,
    mock: MockView,
    plans: PlansView<'a>,
    coaches: &'a [coach_plans_model::Coach],
}

#[derive(Serialize)]
struct DiscordView<'a> {
    bot_token: Option<&'static str>,
    command_prefix: &'a str,
    reconnect_attempts: u32,
    reconnect_delay_seconds: f64,
    channels: &'a [coach_plans_model::ChannelId],
    admin_user_ids: &'a [coach_plans_model::UserId],
    admin_role_ids: &'a [coach_plans_model::RoleId],
    gateway_url: Option<&'a str>,
    api_url: Option<&'a str>,
}

#[derive(Serialize)]
struct DatabaseView<'a> {
    path: &'a std::path::Path,
    connection_timeout: f64,
    pool_size: u32,
    retry_max_delay: f64,
    state_dir: Option<&'a std::path::Path>,
}

#[derive(Serialize)]
struct ApiView<'a> {
    host: &'a str,
    port: u16,
    cors_origins: &'a [String],
    auth_token: Option<&'static str>,
}

#[derive(Serialize)]
struct LoggingView<'a> {
    level: &'static str,
    file: &'a std::path::Path,
    max_size_mb: f64,
    backup_count: u32,
    format: &'static str,
}

#[derive(Serialize)]
struct CacheView {
    ttl_seconds: u64,
    max_size: usize,
}

#[derive(Serialize)]
struct MockView {
    enabled: bool,
    seed_days: u32,
}

#[derive(Serialize)]
struct PlansView<'a> {
    timezone: &'a str,
    max_chart_attachments: usize,
}

fn mask(secret: &Option<Secret>) -> Option<&'static str> {
    secret.as_ref().map(|_| "***")
}

impl Config {
    /// Every setting as YAML, in the file's layout, with secrets shown as `***` (or `null` when
    /// unset). What `coach-plans check-config` prints.
    pub fn to_masked_yaml(&self) -> String {
        let view = View {
            discord: DiscordView {
                bot_token: mask(&self.discord.bot_token),
                command_prefix: &self.discord.command_prefix,
                reconnect_attempts: self.discord.reconnect_attempts,
                reconnect_delay_seconds: self.discord.reconnect_delay.as_secs_f64(),
                channels: &self.discord.channels,
                admin_user_ids: &self.discord.admin_user_ids,
                admin_role_ids: &self.discord.admin_role_ids,
                gateway_url: self.discord.gateway_url.as_deref(),
                api_url: self.discord.api_url.as_deref(),
            },
            database: DatabaseView {
                path: &self.database.path,
                connection_timeout: self.database.connection_timeout.as_secs_f64(),
                pool_size: self.database.pool_size,
                retry_max_delay: self.database.retry_max_delay.as_secs_f64(),
                state_dir: self.database.state_dir.as_deref(),
            },
            api: ApiView {
                host: &self.api.host,
                port: self.api.port,
                cors_origins: &self.api.cors_origins,
                auth_token: mask(&self.api.auth_token),
            },
            logging: LoggingView {
                level: self.logging.level.as_str(),
                file: &self.logging.file,
                max_size_mb: self.logging.max_size_mb,
                backup_count: self.logging.backup_count,
                format: match self.logging.format {
                    LogFormat::Text => "text",
                    LogFormat::Json => "json",
                },
            },
            cache: CacheView {
                ttl_seconds: self.cache.ttl.as_secs(),
                max_size: self.cache.max_size,
            },
            mock: MockView {
                enabled: self.mock.enabled,
                seed_days: self.mock.seed_days,
            },
            plans: PlansView {
                timezone: &self.plans.timezone,
                max_chart_attachments: self.plans.max_chart_attachments,
            },
            coaches: &self.coaches,
        };
        serde_yaml::to_string(&view)
            .unwrap_or_else(|e| format!("# the configuration could not be printed: {e}\n"))
    }
}
