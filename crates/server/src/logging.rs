//! Logging (SPEC 10) through log4rs: console and a size-rotated file, text or JSON lines.

use coach_plans_config::{LogFormat, LogLevel, LoggingConfig};
use log::LevelFilter;
use log4rs::config::{Appender, Config, Logger, Root};
use log4rs::encode::Encode;
use log4rs::encode::json::JsonEncoder;
use log4rs::encode::pattern::PatternEncoder;

use crate::log_writer::{BatchedAppender, Rotation};

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
/// One writer thread writes both, in batches (see [`crate::log_writer`]).
pub(crate) fn init(config: &LoggingConfig) -> Result<log4rs::Handle, LoggingError> {
    let fail = |message: String| LoggingError {
        path: config.file.display().to_string(),
        message,
    };
    let sink = BatchedAppender::start(
        encoder(config.format),
        Rotation {
            path: config.file.clone(),
            max_bytes: (config.max_size_mb * 1024.0 * 1024.0) as u64,
            backups: config.backup_count,
        },
    )
    .map_err(|e| fail(e.to_string()))?;
    let root_level = level(config.level);
    let library_level = root_level.min(LevelFilter::Warn);
    // The API logs what these targets report, once per connection and at the right level.
    let replaced = coach_plans_api::REPLACED_LIBRARY_LOG_TARGETS
        .iter()
        .map(|name| Logger::builder().build(*name, LevelFilter::Off));
    let loggers = LIBRARIES
        .iter()
        .map(|name| Logger::builder().build(*name, library_level))
        .chain(replaced);
    let log_config = Config::builder()
        .appender(Appender::builder().build("out", Box::new(sink)))
        .loggers(loggers)
        .build(Root::builder().appender("out").build(root_level))
        .map_err(|e| fail(e.to_string()))?;
    log4rs::init_config(log_config).map_err(|e| fail(e.to_string()))
}
