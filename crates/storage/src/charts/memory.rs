//! Chart blobs in memory, for tests.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use coach_plans_model::Sha256;

use super::{BlobStats, BlobWriter, ChartStore, ChartStoreError, Hasher, StoredBlob, verified};

/// Chart blobs in memory, lost when the process ends.
#[derive(Debug, Default, Clone)]
pub struct MemoryChartStore {
    blobs: Arc<Mutex<HashMap<Sha256, Vec<u8>>>>,
}

impl MemoryChartStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn blobs(&self) -> MutexGuard<'_, HashMap<Sha256, Vec<u8>>> {
        // Every change is a single insert or remove: a panic elsewhere cannot leave half of one.
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the bytes kept under `sha256` behind the store's back, as a damaged disk
    /// would; returns whether there was such a blob. For tests of what `get` does then.
    #[cfg(feature = "testing")]
    pub fn damage(&self, sha256: &Sha256, bytes: &[u8]) -> bool {
        match self.blobs().get_mut(sha256) {
            Some(stored) => {
                *stored = bytes.to_vec();
                true
            }
            None => false,
        }
    }
}

impl MemoryChartStore {
    fn new_writer(&self) -> MemoryWriter {
        MemoryWriter {
            store: self.clone(),
            bytes: Vec::new(),
            hasher: Hasher::new(),
        }
    }
}

impl ChartStore for MemoryChartStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        Ok(Box::new(self.new_writer()))
    }

    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        let mut writer = self.new_writer();
        writer.hasher.update(bytes);
        writer.bytes.extend_from_slice(bytes);
        Box::new(writer).commit()
    }

    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        let bytes = self.blobs().get(sha256).cloned();
        bytes.map(|bytes| verified(sha256, bytes)).transpose()
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        Ok(self.blobs().contains_key(sha256))
    }

    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        Ok(self.blobs().remove(sha256).is_some())
    }

    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        let blobs = self.blobs();
        Ok(BlobStats {
            count: blobs.len() as u64,
            bytes: blobs.values().map(|b| b.len() as u64).sum(),
        })
    }
}

struct MemoryWriter {
    store: MemoryChartStore,
    bytes: Vec<u8>,
    hasher: Hasher,
}

impl io::Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter for MemoryWriter {
    fn commit(self: Box<Self>) -> Result<StoredBlob, ChartStoreError> {
        let Self {
            store,
            bytes,
            hasher,
        } = *self;
        if bytes.is_empty() {
            return Err(ChartStoreError::Empty);
        }
        let size = bytes.len() as u64;
        let sha256 = hasher.finish();
        let mut blobs = store.blobs();
        // A damaged copy (tests make them) is replaced by the good bytes.
        let newly_written = blobs.get(&sha256) != Some(&bytes);
        if newly_written {
            blobs.insert(sha256, bytes);
        }
        Ok(StoredBlob {
            sha256,
            size,
            newly_written,
        })
    }
}
