//! Logging (SPEC 10) through log4rs: console and a size-rotated file, text or JSON lines.

use coach_plans_config::{LogFormat, LogLevel, LoggingConfig};
use log::LevelFilter;
use log4rs::append::Append;
use log4rs::config::{Appender, Config, Logger, Root};
use log4rs::encode::Encode;
use log4rs::encode::json::JsonEncoder;
use log4rs::encode::pattern::PatternEncoder;
use log4rs::filter::{Filter, Response};

use crate::log_writer::{BatchedAppender, Rotation};

/// Text lines: UTC time with microseconds, level, target, the request id when serving one.
const TEXT_PATTERN: &str =
    "{d(%Y-%m-%dT%H:%M:%S%.6f+00:00)(utc)} {l:<5} {t} [{X(request_id)(-)}] {m}{n}";

/// Our own log targets start with this (`coach_plans`, `coach_plans_api::…`, …). Every other
/// target is a library's, held at WARN unless the level is DEBUG (SPEC 10): deciding by what is
/// ours rather than by a list of libraries keeps a new dependency's INFO lines out too.
const OWN_TARGET_PREFIX: &str = "coach_plans";

/// Lets through our own records at the configured level and libraries' at `library_level`.
#[derive(Debug)]
struct LibraryLevel {
    library_level: LevelFilter,
}

impl Filter for LibraryLevel {
    fn filter(&self, record: &log::Record<'_>) -> Response {
        if record.target().starts_with(OWN_TARGET_PREFIX) || record.level() <= self.library_level {
            Response::Neutral
        } else {
            Response::Reject
        }
    }
}

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
    let log_config = pipeline(config.level, Box::new(sink)).map_err(|e| fail(e.to_string()))?;
    log4rs::init_config(log_config).map_err(|e| fail(e.to_string()))
}

/// The log4rs configuration: everything to `sink`, our records at `configured`, libraries' at
/// WARN (or DEBUG when `configured` is DEBUG).
fn pipeline(
    configured: LogLevel,
    sink: Box<dyn Append>,
) -> Result<Config, log4rs::config::runtime::ConfigErrors> {
    let root_level = level(configured);
    let library_level = if root_level >= LevelFilter::Debug {
        root_level
    } else {
        root_level.min(LevelFilter::Warn)
    };
    // The API logs what these targets report, once per connection and at the right level.
    let replaced = coach_plans_api::REPLACED_LIBRARY_LOG_TARGETS
        .iter()
        .map(|name| Logger::builder().build(*name, LevelFilter::Off));
    Config::builder()
        .appender(
            Appender::builder()
                .filter(Box::new(LibraryLevel { library_level }))
                .build("out", sink),
        )
        .loggers(replaced)
        .build(Root::builder().appender("out").build(root_level))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An appender that keeps the targets and levels it is given.
    #[derive(Debug, Default, Clone)]
    struct Kept(Arc<Mutex<Vec<String>>>);

    impl Append for Kept {
        fn append(&self, record: &log::Record<'_>) -> anyhow::Result<()> {
            if let Ok(mut kept) = self.0.lock() {
                kept.push(format!("{} {}", record.level(), record.target()));
            }
            Ok(())
        }
        fn flush(&self) {}
    }

    fn written(configured: LogLevel, records: &[(log::Level, &str)]) -> Vec<String> {
        let kept = Kept::default();
        let config = pipeline(configured, Box::new(kept.clone())).unwrap_or_else(|e| panic!("{e}"));
        let logger = log4rs::Logger::new(config);
        for (level, target) in records {
            log::Log::log(
                &logger,
                &log::Record::builder()
                    .level(*level)
                    .target(target)
                    .args(format_args!("x"))
                    .build(),
            );
        }
        kept.0.lock().map(|k| k.clone()).unwrap_or_default()
    }

    #[test]
    fn libraries_are_held_at_warn_whatever_their_name_and_ours_follow_the_level() {
        let records = [
            (log::Level::Info, "twilight_http_ratelimiting::in_memory"),
            (log::Level::Info, "twilight_gateway_queue"),
            (log::Level::Info, "some_new_dependency"),
            (log::Level::Warn, "twilight_gateway_queue"),
            (log::Level::Info, "coach_plans_bot::runner"),
            (log::Level::Info, "coach_plans::access"),
            (log::Level::Debug, "coach_plans_api::gate"),
        ];
        assert_eq!(
            written(LogLevel::Info, &records),
            [
                "WARN twilight_gateway_queue",
                "INFO coach_plans_bot::runner",
                "INFO coach_plans::access",
            ]
        );
        assert_eq!(
            written(LogLevel::Debug, &records).len(),
            records.len(),
            "DEBUG lets libraries through too"
        );
        assert_eq!(
            written(LogLevel::Error, &records),
            Vec::<String>::new(),
            "nothing below ERROR"
        );
    }
}
