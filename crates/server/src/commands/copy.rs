//! `coach-plans copy --from URL --to URL`: every plan, chart and history entry, ids and
//! archive state included, from one database to another (`sqlite:PATH` or `postgres://…`),
//! written in one transaction into an empty target, read back and compared before the commit,
//! and compared again afterwards by counts and a content digest.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use coach_plans_config::{Config, DatabaseConfig, DatabaseUrl, mask_url_password};
use coach_plans_postgres::{PostgresStore, is_postgres_url};
use coach_plans_sqlite::SqliteStore;
use coach_plans_storage::StoreError;
use coach_plans_storage::tables::{TableStore, Tables};
use indicatif::{ProgressBar, ProgressStyle};

use super::{fail, say};
use crate::exit::Exit;

/// Where `--from` or `--to` points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Sqlite(PathBuf),
    Postgres(DatabaseUrl),
}

impl Location {
    /// `sqlite:PATH`, `postgres://…` or `postgresql://…`; the message never repeats a
    /// password.
    fn parse(input: &str) -> Result<Self, String> {
        if let Some(path) = input.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(
                    "sqlite: needs a file path, such as sqlite:./data/coach_plans.db".to_owned(),
                );
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if is_postgres_url(input) {
            Ok(Self::Postgres(DatabaseUrl::new(input)))
        } else {
            Err(format!(
                "'{}' is not a database: use sqlite:PATH or a postgres:// URL",
                mask_url_password(input)
            ))
        }
    }

    fn shown(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => url.masked(),
        }
    }

    /// Opens (creating or upgrading) the database with the timeouts and pool settings of
    /// `database`.
    fn open(&self, database: &DatabaseConfig) -> Result<Box<dyn TableStore>, StoreError> {
        match self {
            Self::Sqlite(path) => {
                let config = DatabaseConfig {
                    path: path.clone(),
                    url: None,
                    ..database.clone()
                };
                Ok(Box::new(SqliteStore::open(&config)?.0))
            }
            Self::Postgres(url) => {
                let config = DatabaseConfig {
                    url: Some(url.clone()),
                    ..database.clone()
                };
                Ok(Box::new(PostgresStore::open(&config)?.0))
            }
        }
    }
}

pub(crate) fn run(config: &Config, from: &str, to: &str) -> Exit {
    let (from, to) = match (Location::parse(from), Location::parse(to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(error), _) => {
            fail!("--from: {error}");
            return Exit::Config;
        }
        (_, Err(error)) => {
            fail!("--to: {error}");
            return Exit::Config;
        }
    };
    if from == to {
        fail!("--from and --to name the same database ({})", from.shown());
        return Exit::Config;
    }
    match copy(config, &from, &to) {
        Ok(()) => Exit::Ok,
        Err(error) if error.is_refused_database() => {
            fail!("{error}");
            Exit::IncompatibleDatabase
        }
        Err(error) => {
            fail!("copy failed: {error}");
            Exit::Failure
        }
    }
}

/// One line with the counts and the digest of `tables`.
fn summary(tables: &Tables) -> String {
    format!(
        "{} plan(s), {} chart(s), {} history entr{}; digest {}",
        tables.plans.len(),
        tables.charts.len(),
        tables.history.len(),
        if tables.history.len() == 1 {
            "y"
        } else {
            "ies"
        },
        tables.digest()
    )
}

fn copy(config: &Config, from: &Location, to: &Location) -> Result<(), StoreError> {
    let source = from.open(&config.database)?;
    let tables = source.read_tables()?;
    say!("from {}: {}", from.shown(), summary(&tables));
    let target = to.open(&config.database)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(u64::try_from(tables.rows()).unwrap_or(u64::MAX));
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} rows")
        {
            bar.set_style(style);
        }
        bar
    });
    let written = target.write_tables(&tables, &mut |rows| {
        if let Some(bar) = &bar {
            bar.set_position(u64::try_from(rows).unwrap_or(u64::MAX));
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    written?;
    let copied = target.read_tables()?;
    if copied != tables {
        return Err(StoreError::Other(
            format!(
                "{} was written, but reads back as {} instead of {}",
                to.shown(),
                summary(&copied),
                summary(&tables)
            )
            .into(),
        ));
    }
    say!("to {}: {}", to.shown(), summary(&copied));
    say!("copied and verified: the same rows and the same digest");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_sqlite_paths_or_postgres_urls_and_errors_hide_passwords() {
        assert_eq!(
            Location::parse("sqlite:/srv/plans.db"),
            Ok(Location::Sqlite(PathBuf::from("/srv/plans.db")))
        );
        assert_eq!(
            Location::parse("sqlite:///srv/plans.db"),
            Ok(Location::Sqlite(PathBuf::from("/srv/plans.db")))
        );
        assert!(matches!(
            Location::parse("postgresql://coach:pw@db/plans"),
            Ok(Location::Postgres(_))
        ));
        let error = Location::parse("mysql://coach:s3cret@db/plans")
            .err()
            .unwrap_or_default();
        assert!(
            error.contains("sqlite:PATH or a postgres:// URL"),
            "{error}"
        );
        assert!(!error.contains("s3cret"), "{error}");
        assert!(Location::parse("sqlite:").is_err());
    }
}
