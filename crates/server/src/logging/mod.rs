//! Logging (SPEC 10) through log4rs: console and a size-rotated file, text or JSON lines.
//!
//! log4rs routes and filters the records; the lines themselves are written here, by hand, into
//! one reused buffer per thread. With an access line per request, log4rs's `PatternEncoder`
//! (which parses its date format on every line, measures the padded level by grapheme and looks
//! the request id up in a `log-mdc` hash map) and the message formatted twice cost the API a
//! third of its throughput; see docs/performance.md.

use std::cell::Cell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use coach_plans_config::{LogFormat, LogLevel, LoggingConfig};
use log::LevelFilter;
use log4rs::append::Append;
use log4rs::config::{Appender, Config, Logger, Root};
use log4rs::filter::{Filter, Response};

mod writer;

use writer::{BatchedAppender, Rotation};

/// How a record becomes one line. Either way the message has its control characters escaped
/// (see [`escape_controls_into`]) and the line carries the id of the request being served, if
/// any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineFormat {
    /// `2024-05-10T16:00:00.123456+00:00 INFO  target [request id, or -] message`: UTC time
    /// with microseconds, the level padded to five characters. The same line as log4rs's
    /// pattern `{d(%Y-%m-%dT%H:%M:%S%.6f+00:00)(utc)} {l:<5} {t} [{X(request_id)(-)}] {m}{n}`
    /// (a test compares them).
    Text,
    /// One object per line with the fields of log4rs's `JsonEncoder`, in its order: `time`,
    /// `level`, `message`, `module_path`, `file`, `line` (the last three when known), `target`,
    /// `thread` (its name or null), `thread_id` (a number per thread), `mdc` (`request_id` when
    /// serving a request). `time` is UTC with microseconds, as in text lines.
    Json,
}

impl LineFormat {
    /// Appends `record` to `line` as one line, newline included.
    pub(crate) fn write_line(self, record: &log::Record<'_>, line: &mut String) {
        match self {
            Self::Text => write_text(record, line),
            Self::Json => write_json(record, line),
        }
    }
}

impl From<LogFormat> for LineFormat {
    fn from(format: LogFormat) -> Self {
        match format {
            LogFormat::Text => Self::Text,
            LogFormat::Json => Self::Json,
        }
    }
}

fn write_text(record: &log::Record<'_>, line: &mut String) {
    write_timestamp(line);
    line.push(' ');
    line.push_str(match record.level() {
        log::Level::Error => "ERROR",
        log::Level::Warn => "WARN ",
        log::Level::Info => "INFO ",
        log::Level::Debug => "DEBUG",
        log::Level::Trace => "TRACE",
    });
    line.push(' ');
    line.push_str(record.target());
    line.push_str(" [");
    coach_plans_api::with_current_request_id(|id| line.push_str(id.unwrap_or("-")));
    line.push_str("] ");
    write_message(record, line);
    line.push('\n');
}

fn write_json(record: &log::Record<'_>, line: &mut String) {
    line.push_str("{\"time\":\"");
    write_timestamp(line);
    line.push_str("\",\"level\":\"");
    line.push_str(record.level().as_str());
    line.push_str("\",\"message\":");
    // The message is escaped first, as in text lines, then quoted for JSON.
    let mut message = String::new();
    write_message(record, &mut message);
    push_json_string(line, &message);
    if let Some(module_path) = record.module_path() {
        line.push_str(",\"module_path\":");
        push_json_string(line, module_path);
    }
    if let Some(file) = record.file() {
        line.push_str(",\"file\":");
        push_json_string(line, file);
    }
    if let Some(number) = record.line() {
        let _ = write!(line, ",\"line\":{number}");
    }
    line.push_str(",\"target\":");
    push_json_string(line, record.target());
    line.push_str(",\"thread\":");
    match std::thread::current().name() {
        Some(name) => push_json_string(line, name),
        None => line.push_str("null"),
    }
    let _ = write!(line, ",\"thread_id\":{}", thread_number());
    line.push_str(",\"mdc\":{");
    coach_plans_api::with_current_request_id(|id| {
        if let Some(id) = id {
            push_json_string(line, coach_plans_api::REQUEST_ID_LOG_KEY);
            line.push(':');
            push_json_string(line, id);
        }
    });
    line.push_str("}}\n");
}

/// The record's message, escaped, formatted once and straight into `line`.
fn write_message(record: &log::Record<'_>, line: &mut String) {
    match record.args().as_str() {
        Some(text) => escape_controls_into(text, line),
        None => {
            // Formatted in place and checked in one pass: cheaper than escaping each of the
            // pieces the arguments write. Only a message that needs escapes is copied.
            let start = line.len();
            let _ = line.write_fmt(*record.args());
            if !is_plain(&line[start..]) {
                let raw = line.split_off(start);
                escape_controls_into(&raw, line);
            }
        }
    }
}

/// A number for the calling thread, unique in the process (JSON lines' `thread_id`).
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

/// Appends the time now, UTC, as `2024-05-10T16:00:00.123456+00:00`. The part up to the
/// second is formatted once a second per thread and copied otherwise.
fn write_timestamp(line: &mut String) {
    thread_local! {
        /// The second last formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS`.
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [b'0'; 19])) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let second = now.as_secs();
    let (cached_second, mut prefix) = SECOND.with(Cell::get);
    if cached_second != second {
        prefix = second_prefix(second);
        SECOND.with(|cell| cell.set((second, prefix)));
    }
    line.push_str(std::str::from_utf8(&prefix).unwrap_or("0000-00-00T00:00:00"));
    line.push('.');
    let micros = now.subsec_micros();
    let mut divisor = 100_000;
    while divisor > 0 {
        line.push(char::from(b'0' + ((micros / divisor) % 10) as u8));
        divisor /= 10;
    }
    line.push_str("+00:00");
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix second, UTC.
fn second_prefix(second: u64) -> [u8; 19] {
    let mut prefix = [b'0'; 19];
    let formatted = i64::try_from(second)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default();
    if formatted.len() == prefix.len() {
        prefix.copy_from_slice(formatted.as_bytes());
    }
    prefix
}

/// Whether a character could break a log line or reach a terminal as a control: C0 and C1
/// controls other than tab (`\n`, `\r`, `\u{1b}`), DEL, line and paragraph separators, and
/// bidirectional controls (which reorder how a line reads).
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Appends `text` with every character that [`needs_escape`] written as an escape (`\n`,
/// `\r`, `\u{1b}`, ...). Messages quote what users send (names, plan text, paths, headers):
/// a newline or an escape sequence in them must not forge a line or drive a terminal.
pub(crate) fn escape_controls_into(text: &str, out: &mut String) {
    if is_plain(text) {
        out.push_str(text);
        return;
    }
    let bytes = text.as_bytes();
    let mut clean_from = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        // Printable ASCII and tab, nearly every byte of every message, are decided here.
        if byte.is_ascii() && (byte == b'\t' || !byte.is_ascii_control()) {
            at += 1;
            continue;
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        if needs_escape(c) {
            out.push_str(&text[clean_from..at]);
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
            }
            clean_from = at + c.len_utf8();
        }
        at += c.len_utf8();
    }
    out.push_str(&text[clean_from..]);
}

/// Whether `text` is printable ASCII and tabs only, as nearly every message is: decided in one
/// pass without branches, which the compiler vectorizes.
fn is_plain(text: &str) -> bool {
    text.bytes()
        .fold(true, |plain, b| plain & matches!(b, b' '..=b'~' | b'\t'))
}

/// Appends `text` as a JSON string (RFC 8259: quotes, backslashes and C0 controls escaped).
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[clean_from..at]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        clean_from = at + 1;
    }
    out.push_str(&text[clean_from..]);
    out.push('"');
}

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

/// Starts logging to the console (standard error, so standard output stays for the ready line)
/// and to the configured file, rotated at `max_size_mb` keeping `backup_count` old files
/// (`discord_bot.log.1` is the newest), as the Python version's RotatingFileHandler did.
/// One writer thread writes both, in batches (see [`writer`]).
pub(crate) fn init(config: &LoggingConfig) -> Result<(), LoggingError> {
    let fail = |message: String| LoggingError {
        path: config.file.display().to_string(),
        message,
    };
    let sink = Arc::new(
        BatchedAppender::start(
            LineFormat::from(config.format),
            Rotation {
                path: config.file.clone(),
                max_bytes: (config.max_size_mb * 1024.0 * 1024.0) as u64,
                backups: config.backup_count,
            },
        )
        .map_err(|e| fail(e.to_string()))?,
    );
    let dispatch = Dispatch::new(config.level, sink).map_err(|e| fail(e.to_string()))?;
    let max_level = dispatch.others.max_log_level().max(dispatch.access_level);
    log::set_boxed_logger(Box::new(dispatch)).map_err(|e| fail(e.to_string()))?;
    log::set_max_level(max_level);
    Ok(())
}

/// The process's logger: access lines (one per request, [`coach_plans_api::ACCESS_TARGET`])
/// go straight to the sink at the configured level; every other record goes through log4rs,
/// which routes and filters it (libraries held at WARN, the targets the API replaces off).
/// log4rs's way costs an atomic load, a walk of its logger tree hashing each part of the target,
/// and a filter call per record: for the access line, a fifth of its cost (issue 11).
struct Dispatch {
    access_level: LevelFilter,
    access: Arc<dyn Append>,
    others: log4rs::Logger,
}

impl Dispatch {
    /// Records at `configured` to `sink`, by the rules of [`pipeline`].
    fn new(
        configured: LogLevel,
        sink: Arc<dyn Append>,
    ) -> Result<Self, log4rs::config::runtime::ConfigErrors> {
        let config = pipeline(configured, Box::new(SharedSink(sink.clone())))?;
        Ok(Self {
            access_level: level(configured),
            access: sink,
            others: log4rs::Logger::new(config),
        })
    }
}

impl log::Log for Dispatch {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if metadata.target() == coach_plans_api::ACCESS_TARGET {
            metadata.level() <= self.access_level
        } else {
            log::Log::enabled(&self.others, metadata)
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target() == coach_plans_api::ACCESS_TARGET {
            if record.level() <= self.access_level
                && let Err(error) = self.access.append(record)
            {
                // As log4rs reports a failing appender: nowhere else to say it.
                let _ = writeln!(std::io::stderr(), "log4rs: {error}");
            }
        } else {
            log::Log::log(&self.others, record);
        }
    }

    fn flush(&self) {
        // The one sink is log4rs's appender too: flushing it flushes both ways.
        log::Log::flush(&self.others);
    }
}

/// The sink as log4rs's appender, shared with [`Dispatch`].
#[derive(Debug)]
struct SharedSink(Arc<dyn Append>);

impl Append for SharedSink {
    fn append(&self, record: &log::Record<'_>) -> anyhow::Result<()> {
        self.0.append(record)
    }

    fn flush(&self) {
        self.0.flush();
    }
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
        // The process's logger: access lines straight to the sink, the rest through log4rs.
        let logger =
            Dispatch::new(configured, Arc::new(kept.clone())).unwrap_or_else(|e| panic!("{e}"));
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

    /// `record` as log4rs's own encoder writes it.
    fn log4rs_line(encoder: &dyn log4rs::encode::Encode, record: &log::Record<'_>) -> String {
        let mut out = log4rs::encode::writer::simple::SimpleWriter(Vec::new());
        encoder
            .encode(&mut out, record)
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out.0).unwrap_or_default()
    }

    fn our_line(format: LineFormat, record: &log::Record<'_>) -> String {
        let mut line = String::new();
        format.write_line(record, &mut line);
        line
    }

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_controls_into(text, &mut out);
        out
    }

    #[test]
    fn text_lines_are_what_the_log4rs_pattern_wrote() {
        let pattern = log4rs::encode::pattern::PatternEncoder::new(
            "{d(%Y-%m-%dT%H:%M:%S%.6f+00:00)(utc)} {l:<5} {t} [{X(request_id)(-)}] {m}{n}",
        );
        for level in [
            log::Level::Error,
            log::Level::Warn,
            log::Level::Info,
            log::Level::Debug,
            log::Level::Trace,
        ] {
            let status = 200;
            let both = |record: &log::Record<'_>| {
                (
                    our_line(LineFormat::Text, record),
                    log4rs_line(&pattern, record),
                )
            };
            let (ours, theirs) = both(
                &log::Record::builder()
                    .level(level)
                    .target("coach_plans::access")
                    .args(format_args!("GET /health?n=1 {status} 0.042ms, café 📈"))
                    .build(),
            );
            // The same but for the time, which moved on between the two.
            assert_eq!(ours.get(32..), theirs.get(32..), "{ours}");
            assert_eq!(ours.len(), theirs.len());
            let (time, their_time) = (&ours[..32], &theirs[..32]);
            assert_eq!(
                time.get(..17),
                their_time.get(..17),
                "{time} vs {their_time}"
            );
            assert_eq!(time.get(19..20), Some("."));
            assert!(time[20..26].bytes().all(|b| b.is_ascii_digit()), "{time}");
            assert!(time.ends_with("+00:00"), "{time}");
        }
    }

    #[test]
    fn the_time_is_utc_with_microseconds() {
        let before = jiff::Timestamp::now();
        let mut line = String::new();
        write_timestamp(&mut line);
        let after = jiff::Timestamp::now();
        let written: jiff::Timestamp = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        let micro = jiff::SignedDuration::from_micros(1);
        assert!(before - micro <= written && written <= after, "{line}");
        assert_eq!(line.len(), "2024-05-10T16:00:00.123456+00:00".len());
    }

    #[test]
    fn json_lines_have_the_fields_of_the_log4rs_json_encoder() {
        let record = log::Record::builder()
            .level(log::Level::Warn)
            .target("coach_plans_bot::handler")
            .module_path(Some("coach_plans_bot::handler"))
            .file(Some("crates/bot/src/handler.rs"))
            .line(Some(42))
            .args(format_args!("name \"dana\\\" said\nFORGED\u{1b}[2J\ttab"))
            .build();
        let theirs: serde_json::Value = serde_json::from_str(&log4rs_line(
            &log4rs::encode::json::JsonEncoder::new(),
            &record,
        ))
        .unwrap_or_default();
        let line = our_line(LineFormat::Json, &record);
        assert!(
            line.ends_with("}\n") && line.matches('\n').count() == 1,
            "{line}"
        );
        let ours: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&ours), keys(&theirs));
        for same in [
            "level",
            "module_path",
            "file",
            "line",
            "target",
            "thread",
            "mdc",
        ] {
            assert_eq!(ours[same], theirs[same], "{same}");
        }
        assert!(ours["thread_id"].is_u64());
        assert!(ours["time"].as_str().is_some_and(|t| t.ends_with("+00:00")));
        // The message is escaped as in text lines, then quoted.
        assert_eq!(
            ours["message"],
            "name \"dana\\\" said\\nFORGED\\u{1b}[2J\ttab"
        );
    }

    #[test]
    fn json_strings_survive_every_character() {
        let nasty: String = (0u32..0x300).filter_map(char::from_u32).collect();
        let mut quoted = String::new();
        push_json_string(&mut quoted, &nasty);
        let back: String = serde_json::from_str(&quoted).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, nasty);
    }

    #[test]
    fn user_text_cannot_forge_a_line_or_reach_the_terminal() {
        assert_eq!(escaped("plain text, tab\tok"), "plain text, tab\tok");
        assert_eq!(escaped("café 📈 日本 שלום"), "café 📈 日本 שלום");
        assert_eq!(
            escaped("dana\n2026-01-01T00:00:00.000000+00:00 ERROR forged\u{1b}[31m"),
            "dana\\n2026-01-01T00:00:00.000000+00:00 ERROR forged\\u{1b}[31m"
        );
        assert_eq!(escaped("a\rb\u{7f}\u{85}"), "a\\rb\\u{7f}\\u{85}");
        assert_eq!(escaped("x\u{202e}y\u{2028}z"), "x\\u{202e}y\\u{2028}z");
        // Escaped whether the message is one piece of text or formatted from arguments.
        let name = "dana\nERROR forged";
        let line = our_line(
            LineFormat::Text,
            &log::Record::builder()
                .level(log::Level::Info)
                .target("t")
                .args(format_args!("posted by {name}\u{1b}[2J"))
                .build(),
        );
        assert!(
            line.ends_with(" INFO  t [-] posted by dana\\nERROR forged\\u{1b}[2J\n"),
            "{line}"
        );
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("t")
            .args(format_args!("constant\nline"))
            .build();
        assert!(our_line(LineFormat::Text, &record).ends_with("constant\\nline\n"));
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
            written(LogLevel::Warn, &records),
            ["WARN twilight_gateway_queue"],
            "no access lines at WARN"
        );
        assert_eq!(
            written(LogLevel::Error, &records),
            Vec::<String>::new(),
            "nothing below ERROR"
        );
    }
}
