//! The directory chart store, opened when it first can be: a chart directory that cannot be
//! created at start (a full or read-only disk, a file in its place) must not stop the server,
//! any more than an unreadable database does (SPEC 5.1). Until it opens, every call fails with
//! the reason, so archiving attempts fail and are retried, and chart requests answer errors;
//! the first call after the cause is fixed opens it.

use std::path::PathBuf;
use std::sync::OnceLock;

use coach_plans_model::Sha256;
use coach_plans_service::{
    BlobStats, BlobWriter, ChartStore, ChartStoreError, DirChartStore, StoredBlob,
};

/// A [`DirChartStore`] on `dir`, opened at the first call that can open it.
#[derive(Debug)]
pub(crate) struct LazyDirChartStore {
    dir: PathBuf,
    opened: OnceLock<DirChartStore>,
}

impl LazyDirChartStore {
    /// A store on `dir`, tried at once: the error says why it cannot be used yet.
    pub(crate) fn new(dir: impl Into<PathBuf>) -> (Self, Option<ChartStoreError>) {
        let store = Self {
            dir: dir.into(),
            opened: OnceLock::new(),
        };
        let error = store.store().err();
        (store, error)
    }

    fn store(&self) -> Result<&DirChartStore, ChartStoreError> {
        if let Some(store) = self.opened.get() {
            return Ok(store);
        }
        let store = DirChartStore::open(&self.dir)?;
        Ok(self.opened.get_or_init(|| store))
    }
}

impl ChartStore for LazyDirChartStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        self.store()?.writer()
    }

    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        self.store()?.get(sha256)
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.store()?.contains(sha256)
    }

    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.store()?.remove(sha256)
    }

    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        self.store()?.stats()
    }

    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        self.store()?.put(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_directory_fails_each_call_until_it_is_freed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let blocked = dir.path().join("data");
        std::fs::write(&blocked, b"a file where the directory should be")
            .unwrap_or_else(|e| panic!("{e}"));
        let (store, error) = LazyDirChartStore::new(blocked.join("charts"));
        assert!(error.is_some(), "the reason is reported at once");
        assert!(matches!(
            store.put(b"\x89PNG\r\n\x1a\n"),
            Err(ChartStoreError::Io { .. })
        ));

        std::fs::remove_file(&blocked).unwrap_or_else(|e| panic!("{e}"));
        let stored = store
            .put(b"\x89PNG\r\n\x1a\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.get(&stored.sha256).unwrap_or_else(|e| panic!("{e}")),
            Some(b"\x89PNG\r\n\x1a\n".to_vec())
        );
    }
}
