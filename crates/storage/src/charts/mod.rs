//! Where chart images live: blobs named by the SHA-256 of their bytes.
//!
//! [`ChartStore`] is the trait; [`DirChartStore`] keeps blobs in a local directory (the
//! default), [`MemoryChartStore`] in memory (tests). Every implementation keeps three promises,
//! checked by the contract suite ([`chart_store_contract_tests!`](crate::chart_store_contract_tests)):
//! - content-addressed: a blob's name is the SHA-256 of its bytes, so the same image posted
//!   twice is kept once;
//! - atomic: a blob is there whole or not at all (a writer dropped without
//!   [`BlobWriter::commit`], or a crash, leaves nothing a reader can see);
//! - never serves bytes whose hash does not match their name: [`ChartStore::get`] checks, and
//!   answers [`ChartStoreError::Corrupt`] instead.

use std::io;
use std::path::PathBuf;

use coach_plans_model::Sha256;
use sha2::Digest as _;

mod dir;
mod memory;

pub use dir::DirChartStore;
pub use memory::MemoryChartStore;

/// Where chart images are kept, by the SHA-256 of their bytes. Calls block (files, later the
/// network); async callers run them off their runtime's worker threads.
pub trait ChartStore: Send + Sync + 'static {
    /// Starts writing a blob whose size is not known up front (a download): bytes are hashed
    /// as they are written, and the blob exists once [`BlobWriter::commit`] returns. A writer
    /// dropped without committing leaves nothing behind.
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError>;

    /// The bytes of the blob `sha256`, checked against their name first: bytes whose hash
    /// differs are never returned, the answer is [`ChartStoreError::Corrupt`] (drop the blob
    /// with [`ChartStore::remove`] and fetch the image again). `None` when there is no such
    /// blob.
    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError>;

    /// Whether a blob of this name is stored; its bytes are not checked (that is
    /// [`ChartStore::get`]'s job).
    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError>;

    /// Removes the blob `sha256` (a corrupt one, so that it can be fetched again). Returns
    /// whether there was one.
    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError>;

    /// How many blobs are stored and their total size. May walk the whole store.
    fn stats(&self) -> Result<BlobStats, ChartStoreError>;

    /// Stores `bytes` and returns their name. Storing bytes already there writes nothing and
    /// says so ([`StoredBlob::newly_written`] is `false`), unless the stored copy is damaged:
    /// then the good bytes replace it. Empty input is refused with [`ChartStoreError::Empty`]:
    /// an empty file is not an image.
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError>;
}

/// A blob being written: [`std::io::Write`] the bytes, then [`commit`](BlobWriter::commit).
pub trait BlobWriter: io::Write + Send {
    /// Makes the blob durable under the SHA-256 of what was written and returns its name and
    /// size. Bytes already stored are not written again (a damaged copy is replaced). Nothing written is refused with
    /// [`ChartStoreError::Empty`] and leaves nothing behind.
    fn commit(self: Box<Self>) -> Result<StoredBlob, ChartStoreError>;
}

/// A blob as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its name: the SHA-256 of its bytes.
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this call wrote it; `false` when the same bytes were stored already.
    pub newly_written: bool,
}

/// What a chart store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobStats {
    /// Blobs stored.
    pub count: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Why a chart store call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChartStoreError {
    /// Nothing was written: an empty file is not an image, so it is not stored.
    #[error("an empty file is not an image; nothing was stored")]
    Empty,
    /// The stored bytes of this blob do not hash to its name (damaged on disk); they were not
    /// served. Remove the blob and fetch the image again.
    #[error(
        "the stored chart {sha256} is damaged: its bytes hash to {found}; they were not served"
    )]
    Corrupt {
        /// The blob's name.
        sha256: Sha256,
        /// What its bytes hash to.
        found: Sha256,
    },
    /// Reading or writing failed (disk full, no permission, a file where a directory should
    /// be); names the path.
    #[error("chart store: {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

impl ChartStoreError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// The SHA-256 of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> Sha256 {
    let mut hasher = Hasher::new();
    hasher.update(bytes);
    hasher.finish()
}

/// SHA-256 fed piece by piece, as a writer receives the bytes.
#[derive(Default)]
struct Hasher {
    state: sha2::Sha256,
    size: u64,
}

impl Hasher {
    fn new() -> Self {
        Self::default()
    }

    fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.size += bytes.len() as u64;
    }

    fn finish(self) -> Sha256 {
        Sha256::from_bytes(self.state.finalize().into())
    }
}

/// The name a blob's bytes must hash to, checked: `Corrupt` when they hash to another.
fn verified(sha256: &Sha256, bytes: Vec<u8>) -> Result<Vec<u8>, ChartStoreError> {
    let found = sha256_of(&bytes);
    if found == *sha256 {
        Ok(bytes)
    } else {
        Err(ChartStoreError::Corrupt {
            sha256: *sha256,
            found,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_the_published_test_vectors() {
        assert_eq!(
            super::sha256_of(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            super::sha256_of(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
