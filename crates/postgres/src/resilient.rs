//! The fallback of SPEC 5.1 around PostgreSQL, in one call for the server: the same fallback,
//! with the same rules, that protects SQLite.

use std::path::PathBuf;
use std::sync::Arc;

use coach_plans_config::DatabaseConfig;
use coach_plans_storage::{FallbackSettings, HeldChangeRules, ResilientStore, StoreError};

use crate::PostgresStore;
use crate::store::off_runtime;

/// The PostgreSQL store behind the fallback that holds changes while it is unavailable: what
/// the server runs when `database.url` is set.
pub type ResilientPostgres = ResilientStore<PostgresStore>;

/// Opens the database of `database.url` behind the fallback, whose held changes are checked
/// against `rules` when written through. A server that cannot be reached now (down, refusing
/// the login) is not an error: the fallback holds new plans and keeps trying. A refused
/// database (newer schema, another application's tables) is.
pub fn open_resilient(
    config: &DatabaseConfig,
    rules: Arc<dyn HeldChangeRules>,
) -> Result<ResilientPostgres, StoreError> {
    ResilientStore::builder(fallback_settings(config))
        .rules(rules)
        .open(opener(config))
}

/// Where the fallback keeps what it holds while PostgreSQL is unavailable: in
/// `database.state_dir` or, by default, the directory of `database.path` (`./data`), in files
/// named `postgres.journal` and so on; retries back off up to `database.retry_max_delay`.
pub fn fallback_settings(config: &DatabaseConfig) -> FallbackSettings {
    let state_dir = config.state_dir.clone().unwrap_or_else(|| {
        config
            .path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    });
    FallbackSettings {
        state_dir,
        name: "postgres".to_owned(),
        retry_max_delay: config.retry_max_delay,
    }
}

/// Connects to (and migrates) the database of `config` each time it is called: the opener the
/// fallback calls at start and again while the database has never opened (from whatever thread
/// asks, a runtime's included: see `off_runtime`).
pub fn opener(
    config: &DatabaseConfig,
) -> impl Fn() -> Result<PostgresStore, StoreError> + Send + Sync + 'static {
    let config = config.clone();
    move || off_runtime(|| PostgresStore::open(&config).map(|(store, _)| store))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn held_changes_are_kept_in_the_state_dir_or_beside_the_sqlite_default() {
        let config = DatabaseConfig::default();
        assert_eq!(
            fallback_settings(&config).journal_path(),
            Path::new("./data/postgres.journal")
        );
        let config = DatabaseConfig {
            state_dir: Some(PathBuf::from("/run/state")),
            ..config
        };
        assert_eq!(
            fallback_settings(&config).journal_path(),
            Path::new("/run/state/postgres.journal")
        );
    }
}
