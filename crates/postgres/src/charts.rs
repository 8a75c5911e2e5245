//! Archived chart images in PostgreSQL ([`PostgresChartStore`]): the storage crate's
//! [`ChartStore`] on the table `chart_blobs` (migration 3), so that every replica on one
//! database serves every chart (SPEC 16). The promises are the directory store's: a blob is
//! named by the SHA-256 of its bytes, is there whole or not at all (one transaction each), and
//! bytes that do not hash to their name are never served.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use coach_plans_config::DatabaseConfig;
use coach_plans_model::Sha256;
use coach_plans_storage::{
    BlobStats, BlobWriter, ChartStore, ChartStoreError, StoreError, StoredBlob, sha256_of,
};
use postgres::types::Type;

use crate::PostgresStore;
use crate::errors::sql_error;
use crate::rows::{Param, col};
use crate::store::off_runtime;

/// The table the blobs are kept in, as errors name it.
const TABLE: &str = "chart_blobs";

/// Chart images in the PostgreSQL database of `database.url`, one row of `chart_blobs` per
/// blob (its SHA-256 in hex, its bytes, their size, when it was stored).
///
/// Every call blocks on the database; from a thread that drives a tokio runtime it is made on
/// a thread of its own (as every call of this crate is). A blob being written is buffered in
/// memory and sent in one transaction at [`BlobWriter::commit`]: downloads are capped by
/// `charts.max_bytes` (25 MiB by default), and a writer dropped without committing has sent
/// nothing. Errors from the database are [`ChartStoreError::Io`] naming the table, with the
/// database's URL (password masked) and the server's reason.
#[derive(Debug, Clone)]
pub struct PostgresChartStore {
    store: Arc<PostgresStore>,
}

impl PostgresChartStore {
    /// The most connections the chart store's own pool holds (fewer when `database.pool_size`
    /// is smaller): chart requests are rare next to plan requests, and each is one statement.
    pub const MAX_POOL_SIZE: u32 = 4;

    /// Connects to the database of `database.url` and brings it to the latest schema, as
    /// [`PostgresStore::open`] does (the same refusals), with a pool of its own of up to
    /// [`MAX_POOL_SIZE`](Self::MAX_POOL_SIZE) connections. A database that cannot be reached
    /// is [`ChartStoreError::Io`] saying why.
    pub fn open(config: &DatabaseConfig) -> Result<Self, ChartStoreError> {
        let config = DatabaseConfig {
            pool_size: config.pool_size.clamp(1, Self::MAX_POOL_SIZE),
            ..config.clone()
        };
        off_runtime(|| PostgresStore::open(&config))
            .map(|(store, _)| Self {
                store: Arc::new(store),
            })
            .map_err(database_error)
    }

    /// The database's URL with its password masked.
    pub fn shown(&self) -> &str {
        self.store.shown()
    }
}

/// A database error as the chart store's callers see one: an I/O error on the table.
fn database_error(error: StoreError) -> ChartStoreError {
    ChartStoreError::Io {
        path: PathBuf::from(TABLE),
        source: io::Error::other(error),
    }
}

/// Stores `bytes` under their SHA-256 in one transaction: nothing is written when a good copy
/// is there, a damaged copy is replaced.
fn store_bytes(store: &PostgresStore, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
    if bytes.is_empty() {
        return Err(ChartStoreError::Empty);
    }
    let sha256 = sha256_of(bytes);
    let name = sha256.to_string();
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let stored_size = i64::try_from(size).map_err(|_| {
        database_error(StoreError::Other(
            format!("a chart of {size} bytes is too large").into(),
        ))
    })?;
    let stored_at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string();
    let newly_written = store
        .write(|tx, shown| {
            // The stored copy is checked on the server (its SHA-256 computed there), so
            // storing an image already kept moves no bytes back.
            let found = tx
                .query_typed_opt(
                    "SELECT encode(sha256(bytes), 'hex') FROM chart_blobs
                     WHERE sha256 = $1 FOR UPDATE",
                    &[(&name, Type::TEXT)],
                )
                .map_err(|e| sql_error(shown, e))?;
            let found: Option<String> = found.map(|row| col(&row, 0)).transpose()?;
            let params: [Param<'_>; 4] = [
                (&name, Type::TEXT),
                (&bytes, Type::BYTEA),
                (&stored_size, Type::INT8),
                (&stored_at, Type::TEXT),
            ];
            match found {
                Some(hash) if hash == name => Ok(false),
                Some(hash) => {
                    log::warn!(
                        "the stored chart {name} was damaged (its bytes hash to {hash}); replaced by the good bytes"
                    );
                    tx.execute_typed(
                        "UPDATE chart_blobs SET bytes = $2, size = $3, stored_at = $4
                         WHERE sha256 = $1",
                        &params,
                    )
                    .map_err(|e| sql_error(shown, e))?;
                    Ok(true)
                }
                // Of two writers of one new image, the second waits for the first to commit,
                // inserts nothing and is told the image was stored already.
                None => tx
                    .execute_typed(
                        "INSERT INTO chart_blobs (sha256, bytes, size, stored_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
                        &params,
                    )
                    .map(|inserted| inserted > 0)
                    .map_err(|e| sql_error(shown, e)),
            }
        })
        .map_err(database_error)?;
    Ok(StoredBlob {
        sha256,
        size,
        newly_written,
    })
}

impl ChartStore for PostgresChartStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        Ok(Box::new(PostgresWriter {
            store: Arc::clone(&self.store),
            bytes: Vec::new(),
        }))
    }

    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        let name = sha256.to_string();
        let bytes: Option<Vec<u8>> = off_runtime(|| {
            self.store
                .conn()?
                .query_typed_opt(
                    "SELECT bytes FROM chart_blobs WHERE sha256 = $1",
                    &[(&name, Type::TEXT)],
                )
                .map_err(|e| sql_error(self.shown(), e))?
                .map(|row| col(&row, 0))
                .transpose()
        })
        .map_err(database_error)?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let found = sha256_of(&bytes);
        if found == *sha256 {
            Ok(Some(bytes))
        } else {
            Err(ChartStoreError::Corrupt {
                sha256: *sha256,
                found,
            })
        }
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        let name = sha256.to_string();
        off_runtime(|| {
            self.store
                .conn()?
                .query_typed_opt(
                    "SELECT 1 FROM chart_blobs WHERE sha256 = $1",
                    &[(&name, Type::TEXT)],
                )
                .map(|row| row.is_some())
                .map_err(|e| sql_error(self.shown(), e))
        })
        .map_err(database_error)
    }

    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        let name = sha256.to_string();
        self.store
            .write(|tx, shown| {
                tx.execute_typed(
                    "DELETE FROM chart_blobs WHERE sha256 = $1",
                    &[(&name, Type::TEXT)],
                )
                .map(|removed| removed > 0)
                .map_err(|e| sql_error(shown, e))
            })
            .map_err(database_error)
    }

    /// One aggregate over the table (its `size` column; no blob is read).
    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        let (count, bytes): (i64, i64) = off_runtime(|| {
            let row = self
                .store
                .conn()?
                .query_typed_one(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0)::BIGINT FROM chart_blobs",
                    &[],
                )
                .map_err(|e| sql_error(self.shown(), e))?;
            Ok::<_, StoreError>((col(&row, 0)?, col(&row, 1)?))
        })
        .map_err(database_error)?;
        Ok(BlobStats {
            count: u64::try_from(count).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }

    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        store_bytes(&self.store, bytes)
    }
}

/// A blob being written: its bytes in memory until [`BlobWriter::commit`] sends them.
struct PostgresWriter {
    store: Arc<PostgresStore>,
    bytes: Vec<u8>,
}

impl io::Write for PostgresWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter for PostgresWriter {
    fn commit(self: Box<Self>) -> Result<StoredBlob, ChartStoreError> {
        store_bytes(&self.store, &self.bytes)
    }
}
