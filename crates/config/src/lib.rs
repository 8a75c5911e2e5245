#![doc = include_str!("../README.md")]

use std::path::PathBuf;
use std::time::Duration;

use coach_plans_model::{ChannelId, Coach, RoleId, Roster, UserId};
use serde::{Deserialize, Serialize};

mod env_file;
mod error;
mod hosts;
mod load;
mod secret;
mod settings;
mod units;
mod yaml;

pub use env_file::parse_env_file;
pub use error::{ConfigError, ConfigWarning};
pub use hosts::ChartHost;
pub use load::LoadOptions;
pub use secret::{DatabaseUrl, Secret, mask_url_password};

/// The whole configuration, after defaults, the YAML file and the environment were applied and
/// everything was validated.
///
/// Serde reads the file's layout into these types (a field's name is its key, its `Default` the
/// default); the environment variable, how its text is read and the checks of each setting are
/// one table in `settings.rs`. Serializing writes the same layout with secrets as `***`; use
/// [`Config::load`] to read a configuration, which applies the environment and the checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default = "Config::defaults", deny_unknown_fields)]
pub struct Config {
    /// The Discord bot.
    pub discord: DiscordConfig,
    /// The SQLite database.
    pub database: DatabaseConfig,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Deprecated: the Python version's client cache settings, which nothing reads. Setting them
    /// gives a [`ConfigWarning::Deprecated`].
    pub cache: CacheConfig,
    /// Mock mode.
    pub mock: MockConfig,
    /// Plan rules.
    pub plans: PlansConfig,
    /// Archiving chart images (SPEC 14).
    pub charts: ChartsConfig,
    /// The coach roster, in order; the four default coaches unless configured.
    #[serde(deserialize_with = "units::roster")]
    pub coaches: Vec<Coach>,
    /// What loading found worth a warning, for the server to log once logging is up.
    #[serde(skip)]
    warnings: Vec<ConfigWarning>,
}

/// `discord.*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// `discord.bot_token` / `DISCORD_BOT_TOKEN`: required unless mock mode is on.
    pub bot_token: Option<Secret>,
    /// `discord.command_prefix` / `COMMAND_PREFIX`, default `!`.
    pub command_prefix: String,
    /// `discord.reconnect_attempts` / `RECONNECT_ATTEMPTS`, default 5.
    pub reconnect_attempts: u32,
    /// `discord.reconnect_delay_seconds` / `RECONNECT_DELAY_SECONDS`, default 5 s: the first
    /// backoff delay, doubled after each failed attempt.
    #[serde(rename = "reconnect_delay_seconds", with = "units::seconds")]
    pub reconnect_delay: Duration,
    /// `discord.channels`: channels the bot listens in; empty means all.
    pub channels: Vec<ChannelId>,
    /// `discord.admin_user_ids`: users who may edit and delete any plan.
    pub admin_user_ids: Vec<UserId>,
    /// `discord.admin_role_ids`: roles whose members may edit and delete any plan.
    pub admin_role_ids: Vec<RoleId>,
    /// `discord.gateway_url` / `DISCORD_GATEWAY_URL`: a ws:// or wss:// URL replacing Discord's
    /// gateway (for a fake Discord in tests); `None` means Discord's own.
    pub gateway_url: Option<String>,
    /// `discord.api_url` / `DISCORD_API_URL`: an http:// or https:// base URL replacing Discord's
    /// REST API; `None` means Discord's own.
    pub api_url: Option<String>,
    /// `discord.slash_commands` / `SLASH_COMMANDS`, default `global`: where the slash commands
    /// are registered at startup.
    #[serde(deserialize_with = "units::word")]
    pub slash_commands: SlashCommands,
    /// `discord.message_content_intent` / `MESSAGE_CONTENT_INTENT`, default true: whether the
    /// bot asks Discord for the privileged Message Content intent. Without it only slash
    /// commands work.
    pub message_content_intent: bool,
    /// `discord.backfill_max_age_hours` / `BACKFILL_MAX_AGE_HOURS`, default 72: after a new
    /// gateway session, messages missed while disconnected are read back this far at most; 0
    /// turns the backfill off.
    pub backfill_max_age_hours: u32,
}

/// Where the bot registers its slash commands (`discord.slash_commands`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlashCommands {
    /// For every server the bot is in (Discord may take up to an hour to show changes).
    Global,
    /// In each server the bot is in, at READY and GUILD_CREATE (shown at once).
    Guild,
    /// Not registered by the bot.
    Off,
}

/// `database.*`: what the storage crate needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `database.path` / `DATABASE_PATH`, default `./data/coach_plans.db`.
    pub path: PathBuf,
    /// `database.connection_timeout` / `CONNECTION_TIMEOUT` (seconds), default 10: how long to
    /// wait for a connection or a lock held by another writer.
    #[serde(with = "units::seconds")]
    pub connection_timeout: Duration,
    /// `database.pool_size` / `DATABASE_POOL_SIZE`, default 8.
    pub pool_size: u32,
    /// `database.page_cache_kib` / `DATABASE_PAGE_CACHE_KIB`, default 1024: SQLite's page cache
    /// per connection, in KiB, so at most this times `pool_size` in all.
    pub page_cache_kib: u32,
    /// `database.mmap_mib` / `DATABASE_MMAP_MIB`, default 0 (off): how much of the database file
    /// SQLite reads through a memory map instead of `pread`, in MiB. Mapped pages that were read
    /// count in the server's resident set (they are the OS page cache, shared and reclaimable).
    pub mmap_mib: u32,
    /// `database.retry_max_delay` / `DATABASE_RETRY_MAX_DELAY` (seconds), default 60: the
    /// longest wait between attempts to reach the database while plans are held in memory
    /// (the wait starts at a quarter of a second and doubles).
    #[serde(with = "units::seconds")]
    pub retry_max_delay: Duration,
    /// `database.state_dir` / `STATE_DIRECTORY`: where changes held while the database is
    /// unavailable are journaled, and refused changes kept. Default: the database's directory.
    /// systemd sets `STATE_DIRECTORY` for a unit with `StateDirectory=`.
    pub state_dir: Option<PathBuf>,
    /// `database.url` / `DATABASE_URL`: a `postgres://` or `postgresql://` URL selecting the
    /// PostgreSQL store instead of SQLite at `path`; its password is masked wherever it is
    /// printed. `None` (the default): SQLite.
    pub url: Option<DatabaseUrl>,
    /// `database.statement_timeout` / `DATABASE_STATEMENT_TIMEOUT` (seconds), default 30: the
    /// longest a PostgreSQL statement may run before the server cancels it (the call then
    /// fails as the database being unavailable, and the fallback holds a write).
    #[serde(with = "units::seconds")]
    pub statement_timeout: Duration,
}

/// `api.*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// `api.host` / `API_HOST`, default `127.0.0.1`.
    pub host: String,
    /// `api.port` / `API_PORT`, default 5000; 0 binds a free port.
    pub port: u16,
    /// `api.cors_origins`: allowed origins; empty means any (`*`).
    pub cors_origins: Vec<String>,
    /// `api.auth_token` / `API_AUTH_TOKEN`: when set, `/api/*` and `/metrics*` need
    /// `Authorization: Bearer <token>`.
    pub auth_token: Option<Secret>,
    /// `api.read_cache_kib` / `API_READ_CACHE_KIB`, default 4096: the most the read cache of
    /// serialized response bodies holds, in KiB (bodies, tags and bookkeeping counted); 0 turns
    /// it off.
    pub read_cache_kib: u32,
    /// `api.public_url` / `API_PUBLIC_URL`: the absolute http(s) URL clients reach the API at
    /// (behind a reverse proxy, say), without query, fragment or trailing slash; archived
    /// charts' links are built from it. `None`: see [`ApiConfig::public_url_or`].
    pub public_url: Option<String>,
}

/// `logging.*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// `logging.level` / `LOG_LEVEL`, default INFO.
    #[serde(deserialize_with = "units::word")]
    pub level: LogLevel,
    /// `logging.file` / `LOG_FILE`, default `./logs/discord_bot.log`.
    pub file: PathBuf,
    /// `logging.max_size_mb` / `LOG_MAX_SIZE_MB`, default 10: the size at which the file rotates,
    /// in MiB (fractions allowed, such as 0.5).
    pub max_size_mb: f64,
    /// `logging.backup_count` / `LOG_BACKUP_COUNT`, default 5: rotated files kept.
    pub backup_count: u32,
    /// `logging.format` / `LOG_FORMAT`, default text.
    #[serde(deserialize_with = "units::word")]
    pub format: LogFormat,
}

/// A log level as configured (`DEBUG`, `INFO`, `WARNING` or `WARN`, `ERROR`; any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARNING or WARN.
    #[serde(rename = "WARNING", alias = "WARN")]
    Warn,
    /// ERROR.
    Error,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `cache.*`: deprecated and read by nothing. These were the Python version's client cache
/// settings; a Rust client sets its own (`ClientBuilder::cache_ttl`, `cache_capacity` in
/// coach-plans-client). Setting either gives a [`ConfigWarning::Deprecated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// `cache.ttl_seconds` / `CACHE_TTL_SECONDS`, default 3600. Deprecated.
    #[serde(rename = "ttl_seconds", with = "units::whole_seconds")]
    pub ttl: Duration,
    /// `cache.max_size` / `MAX_CACHE_SIZE`, default 100. Deprecated.
    pub max_size: usize,
}

/// `mock.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// `mock.enabled` / `MOCK_MODE` (`true`, `1`, `yes`), default false.
    pub enabled: bool,
    /// `mock.seed_days` / `MOCK_SEED_DAYS`, default 5: days before today to seed.
    pub seed_days: u32,
}

/// `plans.*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlansConfig {
    /// `plans.timezone` / `PLANS_TIMEZONE`, default `America/New_York`: what "today" means.
    pub timezone: String,
    /// `plans.max_chart_attachments` / `MAX_CHART_ATTACHMENTS`, default 10.
    pub max_chart_attachments: usize,
}

/// `charts.*`: downloading chart images from Discord's CDN and keeping them (SPEC 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChartsConfig {
    /// `charts.allowed_hosts` / `CHART_ALLOWED_HOSTS` (comma-separated `host[:port]`; the file
    /// may give a list), default `cdn.discordapp.com,media.discordapp.net`: the only hosts
    /// chart images are downloaded from. An entry without a port allows only the scheme's
    /// default port.
    pub allowed_hosts: Vec<ChartHost>,
    /// `charts.max_bytes` / `CHART_MAX_BYTES`, default 26214400 (25 MiB): the largest chart
    /// image downloaded.
    pub max_bytes: u64,
    /// `charts.store` / `CHART_STORE`, default `./data/charts`: the directory archived chart
    /// images are kept in (with the `directory` backend), and the one their blobs are moved in
    /// from at startup (with the `database` backend).
    pub store: PathBuf,
    /// `charts.backend` / `CHART_BACKEND`, default `auto`: where archived chart images are
    /// kept; see [`ChartsConfig::backend_in_use`].
    #[serde(deserialize_with = "units::word")]
    pub backend: ChartBackend,
}

/// Where archived chart images are kept (`charts.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartBackend {
    /// `database` when `database.url` (PostgreSQL) is set, `directory` otherwise.
    Auto,
    /// Files in the directory `charts.store`.
    Directory,
    /// The PostgreSQL database of `database.url`, so every replica on it serves every chart;
    /// `database.url` is required.
    Database,
}

impl ChartsConfig {
    /// The backend actually used with this database configuration: [`ChartBackend::Auto`]
    /// resolved to [`ChartBackend::Database`] when `database.url` is set, to
    /// [`ChartBackend::Directory`] otherwise; never `Auto`.
    pub fn backend_in_use(&self, database: &DatabaseConfig) -> ChartBackend {
        match self.backend {
            ChartBackend::Auto if database.url.is_some() => ChartBackend::Database,
            ChartBackend::Auto => ChartBackend::Directory,
            chosen => chosen,
        }
    }
}

impl Config {
    /// Every default of SPEC 9. Not a valid configuration on its own outside mock mode: the bot
    /// token has no default.
    pub fn defaults() -> Self {
        Self {
            discord: DiscordConfig::default(),
            database: DatabaseConfig::default(),
            api: ApiConfig::default(),
            logging: LoggingConfig::default(),
            cache: CacheConfig::default(),
            mock: MockConfig::default(),
            plans: PlansConfig::default(),
            charts: ChartsConfig::default(),
            coaches: Roster::default().coaches().to_vec(),
            warnings: Vec::new(),
        }
    }

    /// What loading found worth a warning but not an error (a deprecated setting that is set),
    /// one line each. Configuration is loaded before logging starts, so the server logs these
    /// at WARN once it has a logger.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The coach roster.
    pub fn roster(&self) -> Roster {
        // Loading built this roster once already, so it cannot fail here.
        Roster::new(self.coaches.clone()).unwrap_or_default()
    }

    /// Every setting as YAML, in the file's layout, with secrets shown as `***` (or `null` when
    /// unset) and deprecated settings left out (nothing reads them). What
    /// `coach-plans check-config` prints.
    pub fn to_masked_yaml(&self) -> String {
        serde_yaml::to_value(self)
            .and_then(|mut tree| {
                settings::drop_deprecated(&mut tree);
                serde_yaml::to_string(&tree)
            })
            .unwrap_or_else(|e| format!("# the configuration could not be printed: {e}\n"))
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            bot_token: None,
            command_prefix: "!".to_owned(),
            reconnect_attempts: 5,
            reconnect_delay: Duration::from_secs(5),
            channels: Vec::new(),
            admin_user_ids: Vec::new(),
            admin_role_ids: Vec::new(),
            gateway_url: None,
            api_url: None,
            slash_commands: SlashCommands::Global,
            message_content_intent: true,
            backfill_max_age_hours: 72,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/coach_plans.db"),
            connection_timeout: Duration::from_secs(10),
            pool_size: 8,
            page_cache_kib: 1024,
            mmap_mib: 0,
            retry_max_delay: Duration::from_secs(60),
            state_dir: None,
            url: None,
            statement_timeout: Duration::from_secs(30),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 5000,
            cors_origins: Vec::new(),
            auth_token: None,
            read_cache_kib: 4096,
            public_url: None,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            file: PathBuf::from("./logs/discord_bot.log"),
            max_size_mb: 10.0,
            backup_count: 5,
            format: LogFormat::Text,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            max_size: 100,
        }
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            seed_days: 5,
        }
    }
}

impl Default for PlansConfig {
    fn default() -> Self {
        Self {
            timezone: "America/New_York".to_owned(),
            max_chart_attachments: 10,
        }
    }
}

impl Default for ChartsConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: ChartHost::discord_cdn(),
            max_bytes: 26_214_400,
            store: PathBuf::from("./data/charts"),
            backend: ChartBackend::Auto,
        }
    }
}

impl ApiConfig {
    /// The URL the API is reached at, without a trailing slash: `api.public_url` when set,
    /// else `http://HOST:PORT` with the port actually bound (so port 0 works). HOST is
    /// `api.host` when it is a host name; for an IP address it is the bound address's, except
    /// that an unspecified address (`0.0.0.0`, `::`), which no client can connect to, becomes
    /// the loopback address of its family (`127.0.0.1`, `[::1]`).
    pub fn public_url_or(&self, bound: std::net::SocketAddr) -> String {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        if self.host.parse::<IpAddr>().is_err() && !self.host.is_empty() {
            return format!("http://{}:{}", self.host, bound.port());
        }
        let ip = match bound.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", std::net::SocketAddr::new(ip, bound.port()))
    }

    /// The addresses `host:port` stands for, resolved the way `coach-plans serve` resolves
    /// them when it binds (a host name is looked up, which may ask DNS). `check-config` calls
    /// this so that a name that does not resolve is reported before `serve` is tried.
    pub fn socket_addrs(&self) -> Result<Vec<std::net::SocketAddr>, ConfigError> {
        use std::net::ToSocketAddrs as _;
        let not_resolved = |why: String| {
            ConfigError::invalid(
                "api.host",
                format!(
                    "'{}' does not resolve to an address to listen on ({why})",
                    settings::shorten(&self.host)
                ),
            )
        };
        let addrs: Vec<_> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| not_resolved(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(not_resolved("no addresses".to_owned()));
        }
        Ok(addrs)
    }
}

impl LogLevel {
    /// The level's name as configured: DEBUG, INFO, WARNING, ERROR.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARNING",
            Self::Error => "ERROR",
        }
    }
}
