//! The contract every [`ChartStore`] meets, run by each store's tests through
//! [`chart_store_contract_tests!`](crate::chart_store_contract_tests).

use std::io::Write as _;

use coach_plans_model::Sha256;

use crate::{BlobStats, ChartStore, ChartStoreError, DirChartStore, MemoryChartStore, sha256_of};

/// What a chart store contract case runs against: the store, and what its tests can do to it
/// behind its back. A store that cannot be damaged or broken from outside says so, and the
/// cases that need it check what they can.
pub trait ChartFixture {
    /// The store under test.
    fn store(&self) -> &dyn ChartStore;
    /// Replaces the stored bytes of `sha256` with `bytes`, as a damaged disk would; `false`
    /// when this store cannot be damaged from outside.
    fn damage(&self, sha256: &Sha256, bytes: &[u8]) -> bool;
    /// Makes every later write fail (as a full or read-only disk would); `false` when this
    /// store cannot be broken from outside.
    fn break_writes(&self) -> bool;
    /// Temporary files the store holds now (writers in progress, leftovers).
    fn temp_files(&self) -> usize;
}

impl ChartFixture for MemoryChartStore {
    fn store(&self) -> &dyn ChartStore {
        self
    }

    fn damage(&self, sha256: &Sha256, bytes: &[u8]) -> bool {
        MemoryChartStore::damage(self, sha256, bytes)
    }

    fn break_writes(&self) -> bool {
        false
    }

    fn temp_files(&self) -> usize {
        0
    }
}

/// A directory store, with what must outlive it (its temporary directory).
impl<G> ChartFixture for (DirChartStore, G) {
    fn store(&self) -> &dyn ChartStore {
        &self.0
    }

    fn damage(&self, sha256: &Sha256, bytes: &[u8]) -> bool {
        std::fs::write(self.0.path_of(sha256), bytes).is_ok()
    }

    /// Puts a file where the store's `tmp/` directory was: nothing can be written there,
    /// whoever runs the tests (root ignores permission bits).
    fn break_writes(&self) -> bool {
        let tmp = self.0.dir().join("tmp");
        std::fs::remove_dir_all(&tmp).is_ok() && std::fs::write(&tmp, "not a directory").is_ok()
    }

    fn temp_files(&self) -> usize {
        self.0.temp_files().unwrap_or(usize::MAX)
    }
}

/// Expands to one `#[test]` per chart store contract case. `$make` is evaluated afresh in each
/// test and gives a [`ChartFixture`]: a `MemoryChartStore`, or `(DirChartStore, guard)`.
///
/// ```
/// mod memory {
///     coach_plans_storage::chart_store_contract_tests!(
///         coach_plans_storage::MemoryChartStore::new()
///     );
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! chart_store_contract_tests {
    ($make:expr $(,)?) => {
        $crate::__chart_store_contract_tests! {
            { $make }
            a_blob_reads_back_byte_for_byte,
            the_same_bytes_are_stored_once,
            different_bytes_get_different_names,
            an_empty_file_is_refused,
            a_large_blob_streams_through_the_writer,
            an_uncommitted_writer_leaves_nothing,
            a_damaged_blob_is_never_served_and_can_be_fetched_again,
            an_unknown_blob_is_absent,
            a_store_that_cannot_write_says_why,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __chart_store_contract_tests {
    ({ $make:expr } $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let fixture = $make;
                $crate::contract::charts::$case(&fixture);
            }
        )*
    };
}

/// A PNG signature and `n` bytes after it, different for each `seed`.
fn image(seed: u8, n: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

/// A stored blob reads back byte for byte under the SHA-256 of its bytes.
pub fn a_blob_reads_back_byte_for_byte(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let bytes = image(1, 1000);
    let blob = store.put(&bytes).unwrap();
    assert_eq!(blob.sha256, sha256_of(&bytes));
    assert_eq!(blob.size, bytes.len() as u64);
    assert!(blob.newly_written);
    assert!(store.contains(&blob.sha256).unwrap());
    assert_eq!(store.get(&blob.sha256).unwrap(), Some(bytes));
}

/// Storing the same bytes again writes nothing and gives the same name.
pub fn the_same_bytes_are_stored_once(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let bytes = image(2, 500);
    let first = store.put(&bytes).unwrap();
    let second = store.put(&bytes).unwrap();
    assert_eq!(second.sha256, first.sha256);
    assert!(
        !second.newly_written,
        "the second put found the blob stored"
    );
    let mut writer = store.writer().unwrap();
    writer.write_all(&bytes).unwrap();
    let third = writer.commit().unwrap();
    assert_eq!((third.sha256, third.newly_written), (first.sha256, false));
    assert_eq!(
        store.stats().unwrap(),
        BlobStats {
            count: 1,
            bytes: bytes.len() as u64
        }
    );
    assert_eq!(fixture.temp_files(), 0);
}

/// Different bytes (one bit apart) are different blobs.
pub fn different_bytes_get_different_names(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let a = image(3, 100);
    let mut b = a.clone();
    b[50] ^= 1;
    let (blob_a, blob_b) = (store.put(&a).unwrap(), store.put(&b).unwrap());
    assert_ne!(blob_a.sha256, blob_b.sha256);
    assert_eq!(store.get(&blob_a.sha256).unwrap(), Some(a));
    assert_eq!(store.get(&blob_b.sha256).unwrap(), Some(b));
    assert_eq!(store.stats().unwrap().count, 2);
}

/// An empty file is not an image: refused, and nothing is left behind.
pub fn an_empty_file_is_refused(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    assert!(matches!(store.put(b""), Err(ChartStoreError::Empty)));
    let writer = store.writer().unwrap();
    assert!(matches!(writer.commit(), Err(ChartStoreError::Empty)));
    assert!(!store.contains(&sha256_of(b"")).unwrap());
    assert_eq!(store.stats().unwrap(), BlobStats::default());
    assert_eq!(fixture.temp_files(), 0);
}

/// A 5 MB image written in pieces is stored whole and reads back identically.
pub fn a_large_blob_streams_through_the_writer(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let bytes = image(4, 5 * 1024 * 1024);
    let mut writer = store.writer().unwrap();
    for piece in bytes.chunks(64 * 1024 + 7) {
        writer.write_all(piece).unwrap();
    }
    let blob = writer.commit().unwrap();
    assert_eq!(blob.sha256, sha256_of(&bytes));
    assert_eq!(blob.size, bytes.len() as u64);
    assert_eq!(
        store.get(&blob.sha256).unwrap().as_deref(),
        Some(&bytes[..])
    );
    assert_eq!(store.stats().unwrap().bytes, bytes.len() as u64);
    assert_eq!(fixture.temp_files(), 0);
}

/// A writer dropped without committing (a download cut short) leaves nothing behind.
pub fn an_uncommitted_writer_leaves_nothing(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let bytes = image(5, 10_000);
    let mut writer = store.writer().unwrap();
    writer.write_all(&bytes).unwrap();
    writer.flush().unwrap();
    drop(writer);
    assert!(!store.contains(&sha256_of(&bytes)).unwrap());
    assert_eq!(store.get(&sha256_of(&bytes)).unwrap(), None);
    assert_eq!(store.stats().unwrap(), BlobStats::default());
    assert_eq!(fixture.temp_files(), 0);
}

/// Bytes damaged behind the store's back are never served: `Corrupt`; the blob can be removed
/// and stored again.
pub fn a_damaged_blob_is_never_served_and_can_be_fetched_again(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let bytes = image(6, 2000);
    let blob = store.put(&bytes).unwrap();
    let mut damaged = bytes.clone();
    damaged[1000] ^= 0xff;
    if !fixture.damage(&blob.sha256, &damaged) {
        return;
    }
    match store.get(&blob.sha256) {
        Err(ChartStoreError::Corrupt { sha256, found }) => {
            assert_eq!(sha256, blob.sha256);
            assert_eq!(found, sha256_of(&damaged));
        }
        other => panic!("damaged bytes must not be served, got {other:?}"),
    }
    assert!(store.remove(&blob.sha256).unwrap());
    assert!(!store.contains(&blob.sha256).unwrap());
    let again = store.put(&bytes).unwrap();
    assert_eq!((again.sha256, again.newly_written), (blob.sha256, true));
    assert_eq!(store.get(&blob.sha256).unwrap(), Some(bytes.clone()));

    // Storing the good bytes over a damaged copy repairs it too.
    assert!(fixture.damage(&blob.sha256, &damaged));
    let repaired = store.put(&bytes).unwrap();
    assert_eq!(
        (repaired.sha256, repaired.newly_written),
        (blob.sha256, true)
    );
    assert_eq!(store.get(&blob.sha256).unwrap(), Some(bytes));
    assert_eq!(store.stats().unwrap().count, 1);
    assert_eq!(fixture.temp_files(), 0);
}

/// A blob never stored is absent: not contained, not read, not removed.
pub fn an_unknown_blob_is_absent(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let unknown = sha256_of(b"never stored");
    assert!(!store.contains(&unknown).unwrap());
    assert_eq!(store.get(&unknown).unwrap(), None);
    assert!(!store.remove(&unknown).unwrap());
}

/// A store that cannot write answers an I/O error naming where, and never panics; what it
/// held still reads.
pub fn a_store_that_cannot_write_says_why(fixture: &dyn ChartFixture) {
    let store = fixture.store();
    let kept = store.put(&image(7, 100)).unwrap();
    if !fixture.break_writes() {
        return;
    }
    let put = store.put(&image(8, 100));
    let writer = store.writer().map(|_| ());
    for result in [put.map(|_| ()), writer] {
        match result {
            Err(error @ ChartStoreError::Io { .. }) => {
                assert!(error.to_string().contains("tmp"), "{error}")
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }
    assert!(store.get(&kept.sha256).unwrap().is_some());
}
