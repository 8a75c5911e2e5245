//! The log sink: records are written as lines on the thread that logs them (so the time, the
//! level and the request id are exact), appended to one shared buffer, and written by one writer
//! thread to standard error and the size-rotated file, in order, in batches.
//!
//! log4rs's own appenders write and flush each record with its own system calls on the logging
//! thread; with an access line per request that halved the API's throughput. Here a logging
//! thread formats into a buffer it reuses, then holds a lock only to copy the line's bytes: no
//! allocation, no system call and, while the server is busy, no wake-up (the writer swaps the
//! buffer out every [`BATCH_PAUSE`] while lines keep coming, and waits to be woken only when they
//! stop). An idle server's lines are written at once. Either way a line reaches the file within
//! about 5 ms.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use log4rs::append::Append;

use crate::logging::LineFormat;

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
/// reach the file within about this long. At 1 ms the writer's own wake-ups and writes cost
/// 0.26 µs of CPU per request on the 2-core bench machine at 110,000 requests/s; at 5 ms,
/// 0.11 µs (issue 11; `docs/performance.md`).
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// The buffer each side starts with; a burst may grow it, and the writer shrinks its buffer
/// back when it grew past [`KEPT_BUFFER_BYTES`].
const BUFFER_BYTES: usize = 64 * 1024;
const KEPT_BUFFER_BYTES: usize = 1024 * 1024;

/// What logging threads and the writer share, under one lock held only for a copy or a swap.
#[derive(Default)]
struct Pending {
    /// Whole lines the writer has not taken yet.
    bytes: Vec<u8>,
    /// Lines appended so far, and how many of them are written.
    appended: u64,
    written: u64,
    /// The writer waits on `Shared::lines_ready` and must be woken for new lines.
    writer_waiting: bool,
    /// Threads waiting in `flush`.
    flushers: usize,
    /// The appender is being dropped: the writer writes what is left and ends.
    closing: bool,
    /// The writer has ended.
    writer_gone: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    lines_ready: Condvar,
    batch_written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding the lock; if something did, the bytes are still lines.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A log4rs appender that formats lines and hands them to the writer thread.
pub(crate) struct BatchedAppender {
    format: LineFormat,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for BatchedAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedAppender")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl BatchedAppender {
    /// Opens (or creates, with its directory) the log file and starts the writer thread, which
    /// writes to standard error and the file.
    pub(crate) fn start(format: LineFormat, rotation: Rotation) -> io::Result<Self> {
        Self::start_with_console(format, rotation, Box::new(io::stderr()))
    }

    /// As [`Self::start`], with another console.
    fn start_with_console(
        format: LineFormat,
        rotation: Rotation,
        console: Box<dyn io::Write + Send>,
    ) -> io::Result<Self> {
        if let Some(dir) = rotation.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&rotation.path)?;
        let metadata = file.metadata()?;
        let size = metadata.len();
        // Only a regular file rotates: renaming `/dev/null`, a FIFO or a terminal aside and
        // creating a regular file in its place would break every other program that uses it.
        let rotates = metadata.is_file();
        let shared = Arc::new(Shared::default());
        shared.lock().bytes.reserve(BUFFER_BYTES);
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("coach-plans-log".into())
            .spawn(move || {
                let outputs = Outputs {
                    file,
                    size,
                    rotates,
                    console,
                    rotation,
                };
                write_until_closed(&writer_shared, outputs);
            })?;
        Ok(Self {
            format,
            shared,
            writer: Some(writer),
        })
    }

    /// Appends one whole line for the writer.
    fn push(&self, line: &str) -> anyhow::Result<()> {
        let mut pending = self.shared.lock();
        if pending.writer_gone {
            anyhow::bail!("the log writer has stopped");
        }
        pending.bytes.extend_from_slice(line.as_bytes());
        pending.appended += 1;
        if pending.writer_waiting {
            pending.writer_waiting = false;
            drop(pending);
            self.shared.lines_ready.notify_one();
        }
        Ok(())
    }
}

impl Append for BatchedAppender {
    fn append(&self, record: &log::Record<'_>) -> anyhow::Result<()> {
        thread_local! {
            /// The line being formatted on this thread, its capacity kept from line to line.
            static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
        }
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                self.format.write_line(record, &mut line);
                let pushed = self.push(&line);
                if line.capacity() > BUFFER_BYTES {
                    *line = String::with_capacity(512);
                }
                pushed
            }
            // A message whose formatting logs: the inner record gets a buffer of its own.
            Err(_) => {
                let mut line = String::new();
                self.format.write_line(record, &mut line);
                self.push(&line)
            }
        })
    }

    /// Waits until every line logged so far is written.
    fn flush(&self) {
        let mut pending = self.shared.lock();
        let target = pending.appended;
        pending.flushers += 1;
        while pending.written < target && !pending.writer_gone {
            pending = self
                .shared
                .batch_written
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        pending.flushers -= 1;
    }
}

impl Drop for BatchedAppender {
    fn drop(&mut self) {
        // The writer writes what is queued and ends.
        self.shared.lock().closing = true;
        self.shared.lines_ready.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Marks the writer gone when it ends, however it ends, so that nobody waits for it.
struct WriterGone<'a>(&'a Shared);

impl Drop for WriterGone<'_> {
    fn drop(&mut self) {
        self.0.lock().writer_gone = true;
        self.0.batch_written.notify_all();
    }
}

/// The writer thread: takes the pending lines, writes them, and repeats until closed.
fn write_until_closed(shared: &Shared, mut outputs: Outputs) {
    let _gone = WriterGone(shared);
    let mut batch: Vec<u8> = Vec::with_capacity(BUFFER_BYTES);
    loop {
        let (upto, closing) = {
            let mut pending = shared.lock();
            while pending.bytes.is_empty() && !pending.closing {
                pending.writer_waiting = true;
                pending = shared
                    .lines_ready
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.writer_waiting = false;
            std::mem::swap(&mut pending.bytes, &mut batch);
            (pending.appended, pending.closing)
        };
        outputs.write(&batch);
        batch.clear();
        if batch.capacity() > KEPT_BUFFER_BYTES {
            batch = Vec::with_capacity(BUFFER_BYTES);
        }
        {
            let mut pending = shared.lock();
            pending.written = upto;
            if pending.flushers > 0 {
                shared.batch_written.notify_all();
            }
            if closing && pending.bytes.is_empty() {
                return;
            }
        }
        // While lines keep coming, collect them for a moment instead of waiting to be woken:
        // a waiting writer costs the next logging thread a wake-up call.
        std::thread::sleep(BATCH_PAUSE);
    }
}

/// Where lines go: the console and the rotated file.
struct Outputs {
    file: File,
    size: u64,
    /// Whether the log path is a regular file, the only kind that rotates.
    rotates: bool,
    console: Box<dyn io::Write + Send>,
    rotation: Rotation,
}

impl Outputs {
    /// Writes whole lines: all to the console, and to the file, rotating it before a line that
    /// would take it past the size (a line longer than the size gets a file of its own).
    fn write(&mut self, lines: &[u8]) {
        // Nothing to report to if these fail: the console and the file are the reports.
        let _ = self.console.write_all(lines);
        if !self.rotates || self.size + lines.len() as u64 <= self.rotation.max_bytes {
            // The usual case, without looking for line ends.
            if self.file.write_all(lines).is_ok() {
                self.size += lines.len() as u64;
            }
            return;
        }
        let mut rest = lines;
        while !rest.is_empty() {
            // The longest run of lines that fits; at least one line in an empty file.
            let mut run = 0;
            for line in rest.split_inclusive(|&b| b == b'\n') {
                let after = self.size + (run + line.len()) as u64;
                if after > self.rotation.max_bytes && self.size + run as u64 > 0 {
                    break;
                }
                run += line.len();
            }
            if run == 0 {
                match self.rotate() {
                    Ok(file) => {
                        self.file = file;
                        self.size = 0;
                        continue;
                    }
                    Err(error) => {
                        let _ = writeln!(
                            self.console,
                            "coach-plans: cannot rotate {}: {error}",
                            self.rotation.path.display()
                        );
                        // Keep logging to the file we have rather than lose the lines.
                        run = rest.len();
                    }
                }
            }
            if self.file.write_all(&rest[..run]).is_ok() {
                self.size += run as u64;
            }
            rest = &rest[run..];
        }
    }

    /// Shifts the backups and starts a new file.
    fn rotate(&mut self) -> io::Result<File> {
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

    /// An appender of text lines to `path`, rotated at `max_bytes`, with a silent console.
    fn text_appender(path: &Path, max_bytes: u64, backups: u32) -> BatchedAppender {
        let rotation = Rotation {
            path: path.to_owned(),
            max_bytes,
            backups,
        };
        BatchedAppender::start_with_console(LineFormat::Text, rotation, Box::new(io::sink()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

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

    /// What follows the time in a text line (`2024-05-10T16:00:00.123456+00:00 `).
    fn after_time(line: &str) -> &str {
        line.get(33..).unwrap_or_default()
    }

    #[test]
    fn user_text_cannot_forge_a_line_in_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.log");
        let appender = text_appender(&path, 1 << 20, 0);
        record_line(&appender, "posted by dana\nERROR forged line\u{1b}[2J");
        appender.flush();
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(written.lines().count(), 1, "{written}");
        assert_eq!(
            after_time(&written),
            "INFO  test [-] posted by dana\\nERROR forged line\\u{1b}[2J\n"
        );
    }

    #[test]
    fn lines_rotate_at_the_size_keeping_the_configured_backups() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("logs/app.log");
        // Each line is 66 bytes: three fit in 200.
        let appender = text_appender(&path, 200, 2);
        for n in 0..30 {
            record_line(&appender, &format!("line {n:02} ........."));
        }
        appender.flush();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let live = read(&path);
        let one = read(&dir.path().join("logs/app.log.1"));
        assert_eq!(live.lines().next().map(str::len), Some(65), "{live}");
        assert!(live.ends_with("line 29 .........\n"), "{live}");
        assert!(
            one.ends_with("line 26 .........\n"),
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
            assert!(size <= 200, "{file}: {size}");
        }
    }

    #[test]
    fn a_log_path_that_is_not_a_regular_file_never_rotates() {
        // `LOG_FILE=/dev/null` once rotated: /dev/null became a regular file holding the log, and
        // every program on the machine that read it got log lines. A link to it in a temporary
        // directory shows the same without risking the machine if rotation came back.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("null.log");
        std::os::unix::fs::symlink("/dev/null", &path).unwrap_or_else(|e| panic!("{e}"));
        let appender = text_appender(&path, 100, 2);
        for n in 0..20 {
            record_line(&appender, &format!("line {n:02} ........."));
        }
        appender.flush();
        let link = std::fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(link.file_type().is_symlink(), "the link was replaced");
        assert!(!dir.path().join("null.log.1").exists(), "rotated");
    }

    #[test]
    fn a_line_longer_than_the_size_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.log");
        let appender = text_appender(&path, 100, 3);
        record_line(&appender, "short");
        record_line(&appender, &"long ".repeat(40));
        record_line(&appender, "after");
        appender.flush();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
        assert!(read("app.log.2").ends_with("short\n"));
        assert!(read("app.log.1").trim_end().ends_with("long"));
        assert!(read("app.log").ends_with("after\n"));
    }

    #[test]
    fn lines_from_many_threads_are_all_written_whole() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.log");
        let appender = Arc::new(text_appender(&path, 1 << 30, 0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let appender = appender.clone();
                std::thread::spawn(move || {
                    for n in 0..5_000 {
                        record_line(&appender, &format!("thread {t} line {n}"));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .unwrap_or_else(|_| panic!("a logging thread panicked"));
        }
        appender.flush();
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let own: Vec<&str> = lines
                .iter()
                .map(|l| after_time(l))
                .filter(|l| l.starts_with(&format!("INFO  test [-] thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..5_000)
                .map(|n| format!("INFO  test [-] thread {t} line {n}"))
                .collect();
            assert_eq!(own, expected, "thread {t}'s lines, whole and in order");
        }
    }
}
