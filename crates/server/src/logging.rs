//! Logging (SPEC 10) through log4rs: console and a size-rotated file, text or JSON lines.

use std::path::Path;

use coach_plans_config::{LogFormat, LogLevel, LoggingConfig};
use log::LevelFilter;
use log4rs::append::console::{ConsoleAppender, Target};
use log4rs::append::rolling_file::RollingFileAppender;
use log4rs::append::rolling_file::policy::compound::CompoundPolicy;
use log4rs::append::rolling_file::policy::compound::roll::Roll;
use log4rs::append::rolling_file::policy::compound::roll::delete::DeleteRoller;
use log4rs::append::rolling_file::policy::compound::roll::fixed_window::FixedWindowRoller;
use log4rs::append::rolling_file::policy::compound::trigger::size::SizeTrigger;
use log4rs::config::{Appender, Config, Logger, Root};
use log4rs::encode::Encode;
use log4rs::encode::json::JsonEncoder;
use log4rs::encode::pattern::PatternEncoder;

/// Text lines: UTC time with microseconds, level, target, the request id when serving one.
const TEXT_PATTERN: &str =
    "{d(%Y-%m-%dT%H:%M:%S%.6f+00:00)(utc)} {l:<5} {t} [{X(request_id)(-)}] {m}{n}";

/// Libraries whose own logs go through our pipeline at WARN at most (they are chatty below).
const LIBRARIES: &[&str] = &[
    "actix_server",
    "actix_web",
    "actix_http",
    "mio",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tokio_websockets",
    "twilight_gateway",
    "twilight_http",
    "twilight_model",
    "r2d2",
    "tokio",
];

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot log to {path}: {message}")]
pub(crate) struct LoggingError {
    path: String,
    message: String,
}

fn level(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Warn => LevelFilter::Warn,
        LogLevel::Error => LevelFilter::Error,
    }
}

fn encoder(format: LogFormat) -> Box<dyn Encode> {
    match format {
        LogFormat::Text => Box::new(PatternEncoder::new(TEXT_PATTERN)),
        LogFormat::Json => Box::new(JsonEncoder::new()),
    }
}

/// Starts logging to the console (standard error, so standard output stays for the ready line)
/// and to the configured file, rotated at `max_size_mb` keeping `backup_count` old files
/// (`discord_bot.log.1` is the newest), as the Python version's RotatingFileHandler did.
pub(crate) fn init(config: &LoggingConfig) -> Result<log4rs::Handle, LoggingError> {
    let fail = |message: String| LoggingError {
        path: config.file.display().to_string(),
        message,
    };
    let file = rolling_file(&config.file, config).map_err(|e| fail(e.to_string()))?;
    let console = ConsoleAppender::builder()
        .target(Target::Stderr)
        .encoder(encoder(config.format))
        .build();
    let root_level = level(config.level);
    let library_level = root_level.min(LevelFilter::Warn);
    let loggers = LIBRARIES
        .iter()
        .map(|name| Logger::builder().build(*name, library_level));
    let log_config = Config::builder()
        .appender(Appender::builder().build("console", Box::new(console)))
        .appender(Appender::builder().build("file", Box::new(file)))
        .loggers(loggers)
        .build(
            Root::builder()
                .appenders(["console", "file"])
                .build(root_level),
        )
        .map_err(|e| fail(e.to_string()))?;
    log4rs::init_config(log_config).map_err(|e| fail(e.to_string()))
}

fn rolling_file(
    path: &Path,
    config: &LoggingConfig,
) -> Result<RollingFileAppender, Box<dyn std::error::Error + Send + Sync>> {
    let trigger = SizeTrigger::new((config.max_size_mb * 1024.0 * 1024.0) as u64);
    let roller: Box<dyn Roll> = if config.backup_count == 0 {
        Box::new(DeleteRoller::new())
    } else {
        let pattern = format!("{}.{{}}", path.display());
        Box::new(
            FixedWindowRoller::builder()
                .base(1)
                .build(&pattern, config.backup_count)?,
        )
    };
    let policy = CompoundPolicy::new(Box::new(trigger), roller);
    Ok(RollingFileAppender::builder()
        .encoder(encoder(config.format))
        .build(path, Box::new(policy))?)
}
