//! Turning driver errors into [`StoreError`]s: what callers act on is whether the database is
//! unreachable for now, corrupt, or something else.

use coach_plans_storage::StoreError;
use rusqlite::ErrorCode;

/// Classifies a SQLite error.
pub(crate) fn sql_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OutOfMemory,
        ) => StoreError::Unavailable(Box::new(error)),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt(error.to_string())
        }
        _ => StoreError::Other(Box::new(error)),
    }
}

/// A connection that could not be had from the pool in time: the database is busy or gone.
pub(crate) fn pool_error(error: r2d2::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A stored value this build cannot read.
pub(crate) fn corrupt(table: &str, id: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{table} row {id}: {what}"))
}
