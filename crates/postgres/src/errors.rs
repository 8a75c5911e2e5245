//! Turning driver errors into [`StoreError`]s: what callers act on is whether the database is
//! unreachable for now (so the fallback holds a write), the stored data is unreadable, or
//! something else. Every message names the database by its URL with the password masked.

use std::fmt;

use coach_plans_storage::{Cause, StoreError};
use postgres::error::SqlState;

/// An error with the database it concerns (its URL, password masked).
#[derive(Debug)]
pub(crate) struct AtDatabase {
    pub(crate) shown: String,
    pub(crate) source: Cause,
}

impl fmt::Display for AtDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.shown, self.source)
    }
}

impl std::error::Error for AtDatabase {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The driver's error with the server's detail and hint, which its `Display` leaves out
/// (`db error: ERROR: canceling statement due to statement timeout`).
#[derive(Debug)]
struct Described(postgres::Error);

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                write!(
                    f,
                    "{} ({}): {}",
                    db.severity(),
                    db.code().code(),
                    db.message()
                )?;
                if let Some(detail) = db.detail() {
                    write!(f, "; {detail}")?;
                }
                if let Some(hint) = db.hint() {
                    write!(f, "; hint: {hint}")?;
                }
                Ok(())
            }
            None => match std::error::Error::source(&self.0) {
                Some(cause) => write!(f, "{}: {cause}", self.0),
                None => write!(f, "{}", self.0),
            },
        }
    }
}

impl std::error::Error for Described {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Whether a driver error means the database cannot be reached or written right now: the
/// connection failed or was closed (by a restart, `pg_terminate_backend`, the network), the
/// server is starting, shutting down or read-only, a statement ran past the statement
/// timeout, a lock or resource ran out, or the login was refused (a wrong password, a missing
/// database: fixed by an operator, meanwhile the fallback holds changes as SQLite's does).
pub(crate) fn is_unavailable(error: &postgres::Error) -> bool {
    let Some(code) = error.code() else {
        // No SQLSTATE: I/O, TLS, connect, timeout, closed connection, authentication.
        return error.as_db_error().is_none()
            && !matches!(
                error.to_string().as_str(),
                s if s.starts_with("error serializing")
                    || s.starts_with("error deserializing")
                    || s.starts_with("invalid column")
                    || s.starts_with("query returned")
            );
    };
    let class = &code.code()[..2];
    matches!(class, "08" | "53" | "57" | "58" | "28" | "3D")
        || [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::READ_ONLY_SQL_TRANSACTION,
        ]
        .contains(code)
}

/// Classifies a driver error; `shown` names the database.
pub(crate) fn sql_error(shown: &str, error: postgres::Error) -> StoreError {
    let unavailable = is_unavailable(&error);
    let cause = Box::new(AtDatabase {
        shown: shown.to_owned(),
        source: Box::new(Described(error)),
    });
    if unavailable {
        StoreError::Unavailable(cause)
    } else {
        StoreError::Other(cause)
    }
}

/// A connection that could not be had from the pool in time: the database is down, refuses
/// us, or every connection is busy.
pub(crate) fn pool_error(shown: &str, error: r2d2::Error) -> StoreError {
    StoreError::Unavailable(Box::new(AtDatabase {
        shown: shown.to_owned(),
        source: Box::new(error),
    }))
}

/// A stored value this build cannot read.
pub(crate) fn corrupt(table: &str, id: i64, what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{table} row {id}: {what}"))
}
