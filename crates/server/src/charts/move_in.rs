//! Moving in: with the `database` chart backend, the blobs a chart directory (`charts.store`)
//! holds from before (a server that kept its charts on disk, a move from SQLite with
//! `coach-plans copy`) are copied into the database at startup, in the background, so no
//! archived chart is lost. Only blobs the database lacks are sent; the directory is read, never
//! changed or deleted; a blob whose bytes do not hash to its name (damaged on disk) or cannot be
//! read is skipped and logged.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use coach_plans_model::Sha256;
use coach_plans_service::{ChartStore, ChartStoreError, DirChartStore};
use coach_plans_storage::sha256_of;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What one pass over the directory did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MoveInReport {
    /// Blobs copied into the store.
    pub(crate) copied: u64,
    /// Blobs the store held already.
    pub(crate) present: u64,
    /// Blobs left behind: unreadable, or damaged (their bytes hash to another name).
    pub(crate) skipped: u64,
    /// Whether the pass was stopped (the server is shutting down) before it went through
    /// every blob.
    pub(crate) stopped: bool,
}

/// The blobs of the directory store in `dir`, in path order (the directory store's own
/// listing, without opening it).
fn blobs_in(dir: &Path) -> Result<Vec<(Sha256, PathBuf)>, ChartStoreError> {
    let mut blobs: Vec<(Sha256, PathBuf)> = DirChartStore::blob_files(dir)?
        .into_iter()
        .map(|(sha256, path, _)| (sha256, path))
        .collect();
    blobs.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(blobs)
}

/// Copies the blobs of the directory store in `dir` that `into` lacks into it, checking each
/// against its name first. Stops early (saying so) once `stop` says to. An error of `into`
/// (the database is down) ends the pass: what was copied stays, the rest is for the next pass.
pub(crate) fn move_in(
    dir: &Path,
    into: &dyn ChartStore,
    stop: &AtomicBool,
) -> Result<MoveInReport, ChartStoreError> {
    let mut report = MoveInReport::default();
    for (sha256, path) in blobs_in(dir)? {
        if stop.load(Ordering::Relaxed) {
            report.stopped = true;
            break;
        }
        if into.contains(&sha256)? {
            report.present += 1;
            continue;
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                log::warn!(
                    "charts: cannot read {} to move it into the chart store; skipped: {error}",
                    path.display()
                );
                report.skipped += 1;
                continue;
            }
        };
        let found = sha256_of(&bytes);
        if found != sha256 {
            log::warn!(
                "charts: {} is damaged (its bytes hash to {found}); not moved into the chart store",
                path.display()
            );
            report.skipped += 1;
            continue;
        }
        if into.put(&bytes)?.newly_written {
            report.copied += 1;
        } else {
            // Stored meanwhile by another replica, or by the archiver.
            report.present += 1;
        }
    }
    Ok(report)
}

/// The move-in running in the background; [`MoveInTask::stop`] ends it.
pub(crate) struct MoveInTask {
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl MoveInTask {
    /// Moves the blobs of `dir` into `into` on a blocking thread, once; when `into` fails (the
    /// database is down) tries again after a wait that starts at a second and doubles up to
    /// `retry_max_delay` (`database.retry_max_delay`). Logs what it did.
    pub(crate) fn spawn(
        dir: PathBuf,
        into: Arc<dyn ChartStore>,
        retry_max_delay: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            dir,
            into,
            retry_max_delay,
            Arc::clone(&stop),
            Arc::clone(&wake),
        ));
        Self { stop, wake, task }
    }

    /// Stops the move-in (between two blobs) and waits until it has.
    pub(crate) async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        if let Err(error) = self.task.await
            && error.is_panic()
        {
            log::error!("charts: moving chart images in stopped with a panic: {error}");
        }
    }
}

async fn run(
    dir: PathBuf,
    into: Arc<dyn ChartStore>,
    retry_max_delay: Duration,
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
) {
    let mut delay = Duration::from_secs(1);
    loop {
        let pass = {
            let (dir, into, stop) = (dir.clone(), Arc::clone(&into), Arc::clone(&stop));
            tokio::task::spawn_blocking(move || move_in(&dir, into.as_ref(), &stop)).await
        };
        match pass {
            Ok(Ok(report)) => {
                log_report(&dir, report);
                return;
            }
            Ok(Err(error)) => log::warn!(
                "charts: cannot move the chart images of {} into the chart store yet: {error}; trying again in {} s",
                dir.display(),
                delay.as_secs_f64()
            ),
            Err(error) => {
                log::error!("charts: moving chart images in stopped: {error}");
                return;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = wake.notified() => return,
        }
        delay = (delay * 2).min(retry_max_delay.max(Duration::from_secs(1)));
    }
}

fn log_report(dir: &Path, report: MoveInReport) {
    let MoveInReport {
        copied,
        present,
        skipped,
        stopped,
    } = report;
    if copied + present + skipped == 0 {
        return;
    }
    let dir = dir.display();
    if stopped {
        log::info!(
            "charts: stopped moving chart images from {dir} into the chart store: {copied} copied so far; the rest are moved at the next start"
        );
    } else {
        log::info!(
            "charts: moved {copied} chart image(s) from {dir} into the chart store ({present} there already, {skipped} skipped); the directory is left as it is"
        );
    }
}

#[cfg(test)]
mod tests {
    use coach_plans_service::{DirChartStore, MemoryChartStore};

    use super::*;

    fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every file under `dir`, with its bytes.
    fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut found = Vec::new();
        let mut dirs = vec![dir.to_owned()];
        while let Some(next) = dirs.pop() {
            for entry in ok(fs::read_dir(&next)) {
                let path = ok(entry).path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push((path.clone(), ok(fs::read(&path))));
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn the_blobs_the_store_lacks_are_copied_and_damaged_ones_skipped_leaving_the_directory() {
        let dir = ok(tempfile::tempdir());
        let old = ok(DirChartStore::open(dir.path()));
        let kept = ok(old.put(b"\x89PNG\r\n\x1a\nkept"));
        let moved = ok(old.put(b"\x89PNG\r\n\x1a\nmoved"));
        let damaged = ok(old.put(b"\x89PNG\r\n\x1a\ndamaged"));
        ok(fs::write(old.path_of(&damaged.sha256), b"bit rot"));
        ok(fs::write(dir.path().join("README"), b"not a blob"));
        let before = files(dir.path());

        let into = MemoryChartStore::new();
        ok(into.put(b"\x89PNG\r\n\x1a\nkept"));
        let report = ok(move_in(dir.path(), &into, &AtomicBool::new(false)));
        assert_eq!(
            report,
            MoveInReport {
                copied: 1,
                present: 1,
                skipped: 1,
                stopped: false
            }
        );
        assert_eq!(
            ok(into.get(&moved.sha256)),
            Some(b"\x89PNG\r\n\x1a\nmoved".to_vec())
        );
        assert!(ok(into.get(&kept.sha256)).is_some());
        assert!(
            !ok(into.contains(&damaged.sha256)),
            "bad bytes are not moved"
        );
        assert_eq!(files(dir.path()), before, "the directory is left as it was");

        // A second pass finds everything there.
        let again = ok(move_in(dir.path(), &into, &AtomicBool::new(false)));
        assert_eq!((again.copied, again.present), (0, 2));
    }

    #[test]
    fn a_missing_directory_holds_nothing_to_move_and_is_not_created() {
        let dir = ok(tempfile::tempdir());
        let missing = dir.path().join("charts");
        let into = MemoryChartStore::new();
        let report = ok(move_in(&missing, &into, &AtomicBool::new(false)));
        assert_eq!(report, MoveInReport::default());
        assert!(!missing.exists());
    }

    #[test]
    fn a_stopped_move_in_copies_nothing_more() {
        let dir = ok(tempfile::tempdir());
        let old = ok(DirChartStore::open(dir.path()));
        ok(old.put(b"GIF89a one"));
        let into = MemoryChartStore::new();
        let report = ok(move_in(dir.path(), &into, &AtomicBool::new(true)));
        assert!(report.stopped);
        assert_eq!(ok(into.stats()).count, 0);
    }
}
