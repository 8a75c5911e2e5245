//! Chart blobs as files in a local directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use coach_plans_model::Sha256;

use super::{BlobStats, BlobWriter, ChartStore, ChartStoreError, Hasher, StoredBlob, verified};

/// Chart blobs as files in a directory: `<dir>/ab/abcdef…` (fanned out by the first two hex
/// characters of the name, so no directory grows past a few thousand entries), written through
/// `<dir>/tmp/`: a temporary file is written and synced, renamed into place, and its directory
/// synced, so a blob is whole or absent even across a crash or power loss.
///
/// Several processes may share a directory (the server and a command run beside it): temporary
/// files are named by process, and opening the store removes only those a crash left behind,
/// untouched for [`STALE_TEMP_FILE`](Self::STALE_TEMP_FILE); until then they are ignored.
#[derive(Debug)]
pub struct DirChartStore {
    dir: PathBuf,
    tmp: PathBuf,
    /// The start of this store's temporary file names: process id and opening time, so no two
    /// stores (nor a later process given the same id) share one.
    temp_prefix: String,
    /// Numbers temporary files within this store.
    next_temp: AtomicU64,
}

impl DirChartStore {
    /// The blobs of a directory store in `dir`, without opening it (nothing is created or
    /// changed): the files `ab/abcdef…` named by a SHA-256 whose first two hex characters name
    /// their directory, with their paths and metadata, in no particular order. Anything else (`tmp/`,
    /// stray files) is not a blob. A missing directory holds none. Their bytes are not checked.
    pub fn blob_files(dir: &Path) -> Result<Vec<(Sha256, PathBuf, fs::Metadata)>, ChartStoreError> {
        let fans = match fs::read_dir(dir) {
            Ok(fans) => fans,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(ChartStoreError::io(dir)(error)),
        };
        let mut blobs = Vec::new();
        for fan in fans {
            let fan = fan.map_err(ChartStoreError::io(dir))?;
            let fan_name = fan.file_name();
            let Some(prefix) = fan_name.to_str().filter(|n| n.len() == 2) else {
                continue;
            };
            if !fan.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let fan_path = fan.path();
            for blob in fs::read_dir(&fan_path).map_err(ChartStoreError::io(&fan_path))? {
                let blob = blob.map_err(ChartStoreError::io(&fan_path))?;
                let Some(sha256) = blob
                    .file_name()
                    .to_str()
                    .filter(|n| n.starts_with(prefix))
                    .and_then(|n| Sha256::parse(n).ok())
                else {
                    continue;
                };
                let meta = blob.metadata().map_err(ChartStoreError::io(blob.path()))?;
                if meta.is_file() {
                    blobs.push((sha256, blob.path(), meta));
                }
            }
        }
        Ok(blobs)
    }

    /// Where blobs are kept unless told otherwise, relative to the working directory.
    pub const DEFAULT_DIR: &'static str = "./data/charts";

    /// How long a temporary file must have been left untouched before opening a store
    /// removes it as a crash's leftover. A writer in progress touches its file with every
    /// write, so only abandoned ones get this old.
    pub const STALE_TEMP_FILE: Duration = Duration::from_secs(60 * 60);

    /// Opens the store in `dir`, creating it and its `tmp/` when missing, and removes the
    /// temporary files a crash left there (never committed, untouched for
    /// [`STALE_TEMP_FILE`](Self::STALE_TEMP_FILE)). A directory that cannot be created or
    /// written is [`ChartStoreError::Io`] naming it.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, ChartStoreError> {
        let dir = dir.into();
        let tmp = dir.join("tmp");
        fs::create_dir_all(&tmp).map_err(ChartStoreError::io(&tmp))?;
        let leftovers = fs::read_dir(&tmp).map_err(ChartStoreError::io(&tmp))?;
        let now = SystemTime::now();
        for entry in leftovers {
            let path = entry.map_err(ChartStoreError::io(&tmp))?.path();
            let stale = fs::metadata(&path)
                .and_then(|meta| meta.modified())
                .is_ok_and(|at| {
                    now.duration_since(at).unwrap_or_default() >= Self::STALE_TEMP_FILE
                });
            if !stale {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => log::info!(
                    "removed {}, a temporary chart file left by an interrupted download",
                    path.display()
                ),
                Err(error) => log::warn!(
                    "cannot remove the leftover temporary chart file {}: {error}",
                    path.display()
                ),
            }
        }
        let opened = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Ok(Self {
            dir,
            tmp,
            temp_prefix: format!("{}-{opened:x}", std::process::id()),
            next_temp: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds (or would hold) the blob `sha256`.
    pub fn path_of(&self, sha256: &Sha256) -> PathBuf {
        let name = sha256.to_string();
        self.dir.join(&name[..2]).join(name)
    }

    /// Temporary files in `tmp/` now: writers in progress, or what a crash left.
    pub fn temp_files(&self) -> Result<usize, ChartStoreError> {
        let entries = fs::read_dir(&self.tmp).map_err(ChartStoreError::io(&self.tmp))?;
        Ok(entries.count())
    }

    fn read(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        let path = self.path_of(sha256);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(ChartStoreError::io(path)(error)),
        }
    }
}

/// The SHA-256 of a file's bytes, read in pieces.
fn hash_file(path: &Path) -> io::Result<Sha256> {
    use std::io::Read as _;
    let mut file = File::open(path)?;
    let mut hasher = Hasher::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hasher.finish()),
            n => hasher.update(&buffer[..n]),
        }
    }
}

/// Syncs a directory, so the names just created or renamed in it survive power loss.
fn sync_dir(dir: &Path) -> Result<(), ChartStoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ChartStoreError::io(dir))
}

impl DirChartStore {
    fn new_writer(&self) -> Result<DirWriter, ChartStoreError> {
        let n = self.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = self.tmp.join(format!("{}-{n}.partial", self.temp_prefix));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(ChartStoreError::io(&temp))?;
        Ok(DirWriter {
            store_dir: self.dir.clone(),
            temp,
            file: Some(BufWriter::new(file)),
            hasher: Hasher::new(),
        })
    }
}

impl ChartStore for DirChartStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        Ok(Box::new(self.new_writer()?))
    }

    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        let mut writer = self.new_writer()?;
        let temp = writer.temp.clone();
        writer
            .file
            .as_mut()
            .map_or(Ok(()), |file| file.write_all(bytes))
            .map_err(ChartStoreError::io(temp))?;
        writer.hasher.update(bytes);
        writer.finish()
    }

    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        self.read(sha256)?
            .map(|bytes| verified(sha256, bytes))
            .transpose()
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        let path = self.path_of(sha256);
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(ChartStoreError::io(path)(error)),
        }
    }

    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        let path = self.path_of(sha256);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    sync_dir(parent)?;
                }
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(ChartStoreError::io(path)(error)),
        }
    }

    /// Walks every fan-out directory; files whose names are not blob names are not counted.
    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        let mut stats = BlobStats::default();
        for (_, _, meta) in Self::blob_files(&self.dir)? {
            stats.count += 1;
            stats.bytes += meta.len();
        }
        Ok(stats)
    }
}

/// A blob being written to a temporary file; removed unless committed.
struct DirWriter {
    store_dir: PathBuf,
    temp: PathBuf,
    /// `None` once committed (or given up on).
    file: Option<BufWriter<File>>,
    hasher: Hasher,
}

impl io::Write for DirWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("the chart writer was already committed"));
        };
        let written = file.write(buf).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", self.temp.display()))
        })?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl DirWriter {
    fn finish(&mut self) -> Result<StoredBlob, ChartStoreError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| ChartStoreError::io(&self.temp)(io::Error::other("committed twice")))?;
        let file = file
            .into_inner()
            .map_err(|error| ChartStoreError::io(&self.temp)(error.into_error()))?;
        let hasher = std::mem::take(&mut self.hasher);
        let size = hasher.size;
        if size == 0 {
            return Err(ChartStoreError::Empty);
        }
        file.sync_all().map_err(ChartStoreError::io(&self.temp))?;
        drop(file);
        let sha256 = hasher.finish();
        let name = sha256.to_string();
        let fan = self.store_dir.join(&name[..2]);
        let target = fan.join(&name);
        // The same bytes are stored already, unless that copy is damaged: then the rename
        // below replaces it, atomically.
        if target.is_file() && hash_file(&target).is_ok_and(|found| found == sha256) {
            return Ok(StoredBlob {
                sha256,
                size,
                newly_written: false,
            });
        }
        if !fan.is_dir() {
            fs::create_dir_all(&fan).map_err(ChartStoreError::io(&fan))?;
            sync_dir(&self.store_dir)?;
        }
        fs::rename(&self.temp, &target).map_err(ChartStoreError::io(&target))?;
        sync_dir(&fan)?;
        Ok(StoredBlob {
            sha256,
            size,
            newly_written: true,
        })
    }
}

impl BlobWriter for DirWriter {
    fn commit(mut self: Box<Self>) -> Result<StoredBlob, ChartStoreError> {
        // Whatever happens, Drop removes the temporary file if it is still there.
        self.finish()
    }
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        self.file.take();
        match fs::remove_file(&self.temp) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => log::warn!(
                "cannot remove the temporary chart file {}: {error}",
                self.temp.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that never ran its `Drop` (a crash), leaving its temporary file.
    fn crash_while_writing(store: &DirChartStore) {
        let mut writer = store.writer().unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_all(b"half an image")
            .unwrap_or_else(|e| panic!("{e}"));
        writer.flush().unwrap_or_else(|e| panic!("{e}"));
        std::mem::forget(writer);
    }

    #[test]
    fn a_crash_leftover_in_tmp_is_ignored_and_cleaned_once_stale() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = DirChartStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        crash_while_writing(&store);
        assert_eq!(store.temp_files().unwrap_or_else(|e| panic!("{e}")), 1);
        assert_eq!(
            store.stats().unwrap_or_else(|e| panic!("{e}")),
            BlobStats::default(),
            "a temporary file is not a blob"
        );

        // Fresh, it may be another process's download in progress: opening keeps it.
        let store = DirChartStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.temp_files().unwrap_or_else(|e| panic!("{e}")), 1);
        assert!(store.put(b"abc").is_ok(), "a new writer takes another name");

        // Untouched for longer than STALE_TEMP_FILE: removed at the next open.
        let tmp = dir.path().join("tmp");
        for entry in fs::read_dir(&tmp).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let long_ago = SystemTime::now() - DirChartStore::STALE_TEMP_FILE * 2;
            File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(long_ago))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let store = DirChartStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.temp_files().unwrap_or_else(|e| panic!("{e}")), 0);
        assert_eq!(store.stats().unwrap_or_else(|e| panic!("{e}")).count, 1);
    }

    #[test]
    fn blobs_fan_out_by_the_first_two_hex_characters() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = DirChartStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let blob = store.put(b"abc").unwrap_or_else(|e| panic!("{e}"));
        let name = blob.sha256.to_string();
        let path = dir.path().join("ba").join(&name);
        assert_eq!(store.path_of(&blob.sha256), path);
        assert_eq!(fs::read(&path).unwrap_or_else(|e| panic!("{e}")), b"abc");
        // Stray files are not blobs.
        fs::write(dir.path().join("ba").join("notes.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.path().join("README"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.stats().unwrap_or_else(|e| panic!("{e}")),
            BlobStats { count: 1, bytes: 3 }
        );
    }

    #[test]
    fn a_store_that_cannot_be_created_names_the_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("a-file");
        fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
        match DirChartStore::open(file.join("charts")) {
            Err(error @ ChartStoreError::Io { .. }) => {
                assert!(error.to_string().contains("a-file"), "{error}")
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }
}
