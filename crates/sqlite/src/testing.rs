//! Test support (feature `testing`), shared by this crate's tests and the end-to-end tests.

use std::path::Path;

use coach_plans_storage::StoreError;
use rusqlite::Connection;

/// Creates or upgrades the database at `path` to schema `version` only, as the build that
/// introduced that version left it: the starting point of tests of the later migrations.
pub fn migrate_up_to(path: &Path, version: i64) -> Result<(), StoreError> {
    crate::migrations::migrate_up_to(path, std::time::Duration::from_secs(5), version).map(|_| ())
}

/// Holds `BEGIN EXCLUSIVE` on a database file, as another process would, until dropped: writes
/// wait for it and fail once their busy timeout passes; reads go on (WAL).
#[derive(Debug)]
pub struct Locker(Connection);

impl Locker {
    /// Takes the lock on the database at `path`. Panics when it cannot: a test that cannot
    /// set up its fault cannot say anything.
    pub fn lock(path: &Path) -> Self {
        let conn = Connection::open(path)
            .unwrap_or_else(|e| panic!("cannot open {} to lock it: {e}", path.display()));
        conn.execute_batch("BEGIN EXCLUSIVE")
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        Self(conn)
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}
