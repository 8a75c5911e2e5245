//! The log sink: records are encoded on the thread that logs them (so the time, the level and the
//! request id are exact) and written by one writer thread to standard error and the size-rotated
//! file, in order, in batches.
//!
//! log4rs's own appenders write and flush each record with its own system calls on the logging
//! thread; with an access line per request that halved the API's throughput. Here a busy server
//! writes many lines per system call and its request threads never wait for the disk or wake the
//! writer (it collects lines for a millisecond at a time while they keep coming); an idle one
//! writes each line at once. Either way a line reaches the file within about a millisecond.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use log4rs::append::Append;
use log4rs::encode::Encode;
use log4rs::encode::writer::simple::SimpleWriter;

/// Rotation of the log file, as Python's `RotatingFileHandler` does it: when a line would take
/// the file past `max_bytes`, `file.{n}` becomes `file.{n+1}` (the oldest beyond `backups` is
/// deleted), the file becomes `file.1`, and a new file starts.
#[derive(Debug, Clone)]
pub(crate) struct Rotation {
    pub(crate) path: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) backups: u32,
}

/// How long the writer collects lines before writing them while the server is busy: lines
/// reach the file within about this long.
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

/// A log4rs appender that hands encoded lines to the writer thread.
pub(crate) struct BatchedAppender {
    encoder: Box<dyn Encode>,
    /// `None` only while dropping: closing the channel ends the writer.
    sender: Option<Sender<Message>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for BatchedAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedAppender").finish_non_exhaustive()
    }
}

impl BatchedAppender {
    /// Opens (or creates, with its directory) the log file and starts the writer thread.
    pub(crate) fn start(encoder: Box<dyn Encode>, rotation: Rotation) -> io::Result<Self> {
        if let Some(dir) = rotation.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&rotation.path)?;
        let size = file.metadata()?.len();
        let (sender, receiver) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("coach-plans-log".into())
            .spawn(move || {
                Writer {
                    file: BufWriter::with_capacity(64 * 1024, file),
                    size,
                    console: BufWriter::with_capacity(64 * 1024, io::stderr()),
                    rotation,
                }
                .run(receiver);
            })?;
        Ok(Self {
            encoder,
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    fn send(&self, message: Message) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|sender| sender.send(message).is_ok())
    }
}

impl Append for BatchedAppender {
    fn append(&self, record: &log::Record<'_>) -> anyhow::Result<()> {
        let mut line = SimpleWriter(Vec::with_capacity(256));
        // Messages quote what users send (names, plan text, paths, headers): a newline or an
        // escape sequence in them must not forge a line or drive a terminal.
        // The message is formatted once, here; the encoder copies the text.
        let message = record.args().to_string();
        let message = escape_controls(&message);
        self.encoder.encode(
            &mut line,
            &log::Record::builder()
                .level(record.level())
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .args(format_args!("{message}"))
                .build(),
        )?;
        if !self.send(Message::Line(line.0)) {
            anyhow::bail!("the log writer has stopped");
        }
        Ok(())
    }

    /// Waits until every line logged so far is written and flushed.
    fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.send(Message::Flush(done)) {
            let _ = wait.recv();
        }
    }
}

impl Drop for BatchedAppender {
    fn drop(&mut self) {
        // The writer writes what is queued, flushes and ends when the channel closes.
        self.sender.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

struct Writer {
    file: BufWriter<File>,
    size: u64,
    console: BufWriter<io::Stderr>,
    rotation: Rotation,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Message>) {
        while let Ok(first) = receiver.recv() {
            self.batch(first, &receiver);
            // While lines keep coming, collect them for a moment instead of blocking on the
            // channel: a writer asleep in `recv` costs every logging thread a wake-up call.
            loop {
                std::thread::sleep(BATCH_PAUSE);
                match receiver.try_recv() {
                    Ok(next) => self.batch(next, &receiver),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return self.finish(),
                }
            }
        }
        self.finish();
    }

    fn finish(&mut self) {
        let _ = self.file.flush();
        let _ = self.console.flush();
    }

    /// Writes `first` and everything queued behind it, then flushes and answers flush requests.
    fn batch(&mut self, first: Message, receiver: &Receiver<Message>) {
        let mut waiting = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => self.write(&line),
                Message::Flush(done) => waiting.push(done),
            }
            next = receiver.try_recv().ok();
        }
        // Nothing to report to if these fail: the console and the file are the reports.
        self.finish();
        for done in waiting {
            let _ = done.send(());
        }
    }

    fn write(&mut self, line: &[u8]) {
        let _ = self.console.write_all(line);
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.rotation.max_bytes {
            match self.rotate() {
                Ok(file) => {
                    self.file = BufWriter::with_capacity(64 * 1024, file);
                    self.size = 0;
                }
                Err(error) => {
                    let _ = writeln!(
                        self.console,
                        "coach-plans: cannot rotate {}: {error}",
                        self.rotation.path.display()
                    );
                }
            }
        }
        if self.file.write_all(line).is_ok() {
            self.size += len;
        }
    }

    /// Shifts the backups and starts a new file.
    fn rotate(&mut self) -> io::Result<File> {
        self.file.flush()?;
        let path = &self.rotation.path;
        let numbered = |n: u32| -> PathBuf {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.rotation.backups == 0 {
            std::fs::remove_file(path)?;
        } else {
            remove_if_present(&numbered(self.rotation.backups))?;
            for n in (1..self.rotation.backups).rev() {
                rename_if_present(&numbered(n), &numbered(n + 1))?;
            }
            std::fs::rename(path, numbered(1))?;
        }
        open_append(path)
    }
}

/// `message` with every character that could break a log line or reach a terminal as a
/// control written as an escape: C0 and C1 controls other than tab (`\n`, `\r`, `\u{1b}`),
/// DEL, line and paragraph separators, and bidirectional controls (which reorder how a line
/// reads). Borrowed, without a copy, when there is none (the common case).
pub(crate) fn escape_controls(message: &str) -> Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
    }
    // Bytes below 0x80 that are not controls cannot start an escape: skip them fast.
    let first = message
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii() && !c.is_ascii_control() || c == '\t') && needs_escape(c));
    let Some((at, _)) = first else {
        return Cow::Borrowed(message);
    };
    let mut escaped = String::with_capacity(message.len() + 16);
    escaped.push_str(&message[..at]);
    for c in message[at..].chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c if needs_escape(c) => {
                use std::fmt::Write as _;
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log4rs::encode::pattern::PatternEncoder;

    fn record_line(appender: &BatchedAppender, message: &str) {
        appender
            .append(
                &log::Record::builder()
                    .level(log::Level::Info)
                    .target("test")
                    .args(format_args!("{message}"))
                    .build(),
            )
            .unwrap_or_else(|e| panic!("append failed: {e}"));
    }

    #[test]
    fn user_text_cannot_forge_a_line_or_reach_the_terminal() {
        assert_eq!(
            escape_controls("plain text, tab\tok"),
            "plain text, tab\tok"
        );
        assert!(matches!(escape_controls("café 📈"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("dana\n2026-01-01T00:00:00.000000+00:00 ERROR forged\u{1b}[31m"),
            "dana\\n2026-01-01T00:00:00.000000+00:00 ERROR forged\\u{1b}[31m"
        );
        assert_eq!(escape_controls("a\rb\u{7f}\u{85}"), "a\\rb\\u{7f}\\u{85}");
        assert_eq!(
            escape_controls("x\u{202e}y\u{2028}z"),
            "x\\u{202e}y\\u{2028}z"
        );

        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.log");
        let appender = BatchedAppender::start(
            Box::new(PatternEncoder::new("{l} {m}{n}")),
            Rotation {
                path: path.clone(),
                max_bytes: 1 << 20,
                backups: 0,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        record_line(&appender, "posted by dana\nERROR forged line\u{1b}[2J");
        appender.flush();
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            written,
            "INFO posted by dana\\nERROR forged line\\u{1b}[2J\n"
        );
    }

    #[test]
    fn lines_rotate_at_the_size_keeping_the_configured_backups() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("logs/app.log");
        let appender = BatchedAppender::start(
            Box::new(PatternEncoder::new("{m}{n}")),
            Rotation {
                path: path.clone(),
                max_bytes: 100,
                backups: 2,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for n in 0..30 {
            record_line(&appender, &format!("line {n:02} ........."));
        }
        appender.flush();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let live = read(&path);
        let one = read(&dir.path().join("logs/app.log.1"));
        assert!(live.ends_with("line 29 .........\n"), "{live}");
        assert!(
            one.ends_with("line 24 .........\n"),
            "newest backup is .1: {one}"
        );
        assert!(dir.path().join("logs/app.log.2").exists());
        assert!(
            !dir.path().join("logs/app.log.3").exists(),
            "only two backups"
        );
        for file in ["app.log", "app.log.1", "app.log.2"] {
            let size = std::fs::metadata(dir.path().join("logs").join(file))
                .map(|m| m.len())
                .unwrap_or(0);
            assert!(size <= 100, "{file}: {size}");
        }
    }
}
