//! `coach-plans migrate [--dry-run]`: open the configured database, upgrading its schema in
//! place after a backup, and say what was done.

use coach_plans_config::Config;
use coach_plans_postgres::PostgresStore;
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::StoreError;

use super::{fail, say};
use crate::exit::Exit;

pub(crate) fn run(config: &Config, dry_run: bool) -> Exit {
    say!(
        "database: {}",
        crate::wiring::database_name(&config.database)
    );
    let result = match (config.database.url.is_some(), dry_run) {
        (false, true) => preview(config),
        (false, false) => migrate(config),
        (true, true) => preview_postgres(config),
        (true, false) => migrate_postgres(config),
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(error) if error.is_refused_database() => {
            fail!("{error}");
            Exit::IncompatibleDatabase
        }
        Err(error) => {
            fail!("migration failed: {error}");
            Exit::Failure
        }
    }
}

fn preview(config: &Config) -> Result<(), StoreError> {
    let status = SqliteStore::inspect(&config.database.path)?;
    match status.version {
        None if !status.exists => {
            say!("schema version: none (the file does not exist; it would be created)")
        }
        None => say!("schema version: none (an empty database)"),
        Some(version) => say!("schema version: {version} (this build: {})", status.latest),
    }
    say_pending(&status.pending);
    if status.needs_backup() {
        say!(
            "would back up the file first, beside it, as {}.v{}-backup-<UTC time>",
            config
                .database
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            status.version.unwrap_or_default()
        );
    }
    say!("dry run: nothing was changed");
    Ok(())
}

fn migrate(config: &Config) -> Result<(), StoreError> {
    let (_store, report) = SqliteStore::open(&config.database)?;
    say_applied(report.before, report.after, &report.applied);
    match &report.backup {
        Some(backup) => say!("backup: {}", backup.display()),
        None => say!("backup: none needed"),
    }
    Ok(())
}

/// What migrating the PostgreSQL database would do, changing nothing. A PostgreSQL database is
/// not backed up by coach-plans (that is the server's own tooling, such as pg_dump); each
/// migration runs in one transaction.
fn preview_postgres(config: &Config) -> Result<(), StoreError> {
    let status = PostgresStore::inspect(&config.database)?;
    match status.version {
        None => say!("schema version: none (an empty database)"),
        Some(version) => say!("schema version: {version} (this build: {})", status.latest),
    }
    say_pending(&status.pending);
    say!("dry run: nothing was changed");
    Ok(())
}

fn migrate_postgres(config: &Config) -> Result<(), StoreError> {
    let (_store, report) = PostgresStore::open(&config.database)?;
    say_applied(report.before, report.after, &report.applied);
    Ok(())
}

/// The migrations a dry run found to apply, either store.
fn say_pending(pending: &[(i64, &str)]) {
    if pending.is_empty() {
        say!("up to date: nothing to do");
    }
    for (version, summary) in pending {
        say!("would apply migration {version}: {summary}");
    }
}

/// What a migration did, either store.
fn say_applied(before: Option<i64>, after: i64, applied: &[i64]) {
    match before {
        Some(version) => say!("schema version before: {version}"),
        None => say!("schema version before: none (new database)"),
    }
    say!("schema version after: {after}");
    if applied.is_empty() {
        say!("up to date: nothing to do");
    } else {
        let applied: Vec<String> = applied.iter().map(i64::to_string).collect();
        say!("applied migrations: {}", applied.join(", "));
    }
}
