//! The fallback of SPEC 5.1 around SQLite, in one call for the server.

use std::sync::Arc;

use coach_plans_config::DatabaseConfig;
use coach_plans_storage::{FallbackSettings, HeldChangeRules, ResilientStore, StoreError};

use crate::SqliteStore;
use crate::store::split;

/// The SQLite store behind the fallback that holds changes while it is unavailable: what the
/// server runs.
pub type ResilientSqlite = ResilientStore<SqliteStore>;

/// Opens the configured database behind the fallback, whose held changes are checked against
/// `rules` when written through. A database that cannot be opened now is not an error (the
/// fallback holds new plans and keeps trying); a refused one (newer schema, not a coach-plans
/// database) is. See [`ResilientStore`] and [`ResilientStore::builder`] for a fallback put
/// together by hand.
pub fn open_resilient(
    config: &DatabaseConfig,
    rules: Arc<dyn HeldChangeRules>,
) -> Result<ResilientSqlite, StoreError> {
    ResilientStore::builder(fallback_settings(config))
        .rules(rules)
        .open(opener(config))
}

/// Where the fallback around the database of `config` keeps what it holds: in
/// `database.state_dir` or, by default, the database's own directory, in files named after the
/// database file (`plans.db.journal`); retries back off up to `database.retry_max_delay`.
pub fn fallback_settings(config: &DatabaseConfig) -> FallbackSettings {
    let (db_dir, name) = split(&config.path);
    FallbackSettings {
        state_dir: config
            .state_dir
            .clone()
            .unwrap_or_else(|| db_dir.to_path_buf()),
        name,
        retry_max_delay: config.retry_max_delay,
    }
}

/// Opens (creating or upgrading) the database of `config` each time it is called: the opener
/// the fallback calls at start and again while the database has never opened.
pub fn opener(
    config: &DatabaseConfig,
) -> impl Fn() -> Result<SqliteStore, StoreError> + Send + Sync + 'static {
    let config = config.clone();
    move || SqliteStore::open(&config).map(|(store, _)| store)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn held_changes_are_kept_beside_the_database_unless_a_state_dir_is_set() {
        let config = DatabaseConfig {
            path: PathBuf::from("/var/lib/coach-plans/plans.db"),
            ..DatabaseConfig::default()
        };
        assert_eq!(
            fallback_settings(&config).journal_path(),
            Path::new("/var/lib/coach-plans/plans.db.journal")
        );
        let config = DatabaseConfig {
            state_dir: Some(PathBuf::from("/run/state")),
            ..config
        };
        assert_eq!(
            fallback_settings(&config).journal_path(),
            Path::new("/run/state/plans.db.journal")
        );
    }
}
